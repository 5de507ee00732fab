"""An invitation code from ``recall.sent`` is dated by the day in England the invitation went."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from services.registers.events import HANDLERS
from shared.events.envelope import Envelope
from shared.events.schemas import InviteCode, RecallSent
from tests.registers.helpers import PRACTICE, code, patient, registers_app


async def test_invitation_sent_after_midnight_bst_is_dated_that_day(sqlite_url: str) -> None:
    invite = code("HYPINVITE_COD")
    async with registers_app(sqlite_url) as (app, client, headers):
        base = f"/v1/practices/{PRACTICE}"
        ids = (await client.put(f"{base}/patients", json={"patients": [patient(9)]}, headers=headers)).json()["ids"]
        pid = next(iter(ids.values()))
        for at in (datetime(2026, 6, 30, 23, 30, tzinfo=UTC),  # 00:30 BST on 1 July
                   datetime(2026, 12, 31, 23, 30, tzinfo=UTC)):  # 23:30 GMT on 31 December
            sent = RecallSent(practice_ods=PRACTICE, patient_id=pid, recall_id=uuid.uuid4().hex, channel="letter",
                              conditions=["HYP_REG"], sent_at=at,
                              invite_codes=[InviteCode(code=invite, register_id="HYP_REG")])
            async with app.state.runtime.sessions() as s, s.begin():
                await HANDLERS["recall.sent"](s, Envelope.wrap(sent, source="/services/recall"), sent)
        rows = (await client.get(f"{base}/patients/{pid}/records", headers=headers)).json()
        assert sorted(r["effective_date"] for r in rows if r["code"] == invite) == ["2026-07-01", "2026-12-31"]

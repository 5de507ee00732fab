"""Through the real broker: registers announces patients, recall consumes them, sends two invitations seven
days apart, and registers writes both invitation codes into the record from ``recall.sent``."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from services.recall.app import create_app
from services.recall.settings import recall_settings
from services.registers.app import create_app as registers_app
from shared.broker import LocalBroker
from shared.identifiers import synthetic_nhs_number
from shared.settings import settings_for
from shared.testing import bearer, running
from tests.recall.conftest import PRACTICE, TEMPLATES, Clock, StandIn, feed, gap

DM_INVITE = "1110921000000100"  # DMINVITE_COD


async def until(check, seconds: float = 30):  # type: ignore[no-untyped-def]
    for _ in range(int(seconds * 10)):
        if (v := await check()):
            return v
        await asyncio.sleep(0.1)
    raise AssertionError("not reached in time")


async def test_two_invitations_reach_the_record_through_the_broker(
    tmp_path: Path, broker: LocalBroker, standin: StandIn
) -> None:
    clock = Clock(datetime(2026, 4, 1, 10, 0, tzinfo=UTC))
    reg_cfg = settings_for("registers", database_url=f"sqlite+aiosqlite:///{tmp_path / 'reg.db'}",
                           kafka_bootstrap=broker.bootstrap, environment="test",
                           consumer_group=f"reg-{uuid.uuid4().hex[:8]}")
    reg = registers_app(reg_cfg)
    rec_cfg = recall_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'rec.db'}",
                              kafka_bootstrap=broker.bootstrap, environment="test", notify_base_url=standin.url,
                              consumer_group=f"rec-{uuid.uuid4().hex[:8]}")
    app = create_app(rec_cfg, now=clock, registers_transport=httpx.ASGITransport(app=reg))
    rh = bearer(reg_cfg, scopes=["records:read", "records:write"], practices=[PRACTICE])
    h = bearer(rec_cfg, scopes=["recall:read", "recall:write"], practices=[PRACTICE])
    async with running(reg) as rc, running(app) as client:
        client.app = app  # type: ignore[attr-defined]
        nhs = synthetic_nhs_number(77)
        r = await rc.put(f"/v1/practices/{PRACTICE}/patients", headers=rh, json={"patients": [
            {"nhs_number": nhs, "date_of_birth": "1960-04-20", "sex": "male", "registered_on": "2010-01-01",
             "contact": {"mobile": "07700900123"}}]})
        pid = r.json()["ids"][nhs]
        # patient.registered arrives through the broker
        async def known() -> bool:
            async with app.state.runtime.sessions() as s:
                from services.recall.store.models import RecallPatient
                return await s.get(RecallPatient, (PRACTICE, pid)) is not None
        await until(known)
        await feed(client, gap(pid, "DM020", "DM_REG"))
        clinics = {"clinics": [{"name": "dm", "registers": ["DM_REG"], "capacity": {m: 5 for m in range(1, 13)}}]}
        await client.put(f"/v1/practices/{PRACTICE}/recall/clinics", json=clinics, headers=h)
        c = (await client.post(f"/v1/practices/{PRACTICE}/recall/campaigns", headers=h, json={
            "name": "dm", "strategy": "asap", "templates": TEMPLATES, "invite_codes": {"DM_REG": DM_INVITE}})).json()
        base = f"/v1/practices/{PRACTICE}/recall/campaigns/{c['id']}/runs?wait=true"
        assert (await client.post(base, headers=h)).json()["sent"] == 1
        clock.at += timedelta(days=7)
        assert (await client.post(base + "&stage=2", headers=h)).json()["sent"] == 1

        async def coded() -> list[str] | None:
            rows = (await rc.get(f"/v1/practices/{PRACTICE}/patients/{pid}/records", headers=rh)).json()
            dates = sorted(e["effective_date"] for e in rows if e["code"] == DM_INVITE)
            return dates if len(dates) == 2 else None
        # "at least two invitations ... at least 7 days apart": both codes in the record, a week apart
        assert await until(coded) == ["2026-04-01", "2026-04-08"]

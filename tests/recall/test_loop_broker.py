"""The whole loop on the real broker, registers, indicators and recall each with its own database (SQLite and
PostgreSQL): a gap opens in indicators, recall plans and sends the first invitation, the second at least seven
days later, registers writes both invitation codes into the record, and indicators shows the "no response to
two invitations" PCA. A patient whose review is coded between the two invitations gets no second one. A patient
the practice invited by letter outside recall (the invitation code in the record) gets recall's second invitation
as their next, never a first: "Since 2019/20 this PCA is automatic once the second invite is coded" (QOF_RULES.md,
PCA reason 3).

QOF 2026/27 HYP010, rule 8 (the rule set's text of the business rule): "Reject patients with two invitations at
least 7 days apart in the service year after their latest blood pressure in the 12 months (or with no blood
pressure in the 12 months)" -> PCA field HYPBPINV.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from services.recall.app import create_app as recall_app
from services.recall.settings import recall_settings
from services.recall.store.models import Gap
from services.registers.app import create_app as registers_app
from shared.broker import LocalBroker
from shared.identifiers import synthetic_nhs_number
from shared.testing import bearer, running
from tests.conftest import _create_pg_database, _drop_pg_database
from tests.indicators.service.helpers import indicators_app
from tests.recall.conftest import TEMPLATES, Clock, StandIn
from tests.registers.helpers import settings as registers_settings

HYP = "10725009"  # HYP_COD: benign hypertension
SYS, DIA = "100151000000109", "100161000000107"  # SYSBP_COD, DIABP_COD
HYP_INVITE = "1066941000000104"  # HYPINVITE_COD: hypertension monitoring invitation SMS text message
INDICATORS_TODAY = date(2026, 10, 20)


async def until(probe: Callable[[], Awaitable[Any]], what: str, seconds: float = 40.0) -> Any:
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        if value := await probe():
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"not reached in {seconds:.0f} s: {what}")


@pytest.fixture
async def three_databases(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[str, str, str]]:
    """One database each for registers, indicators and recall, all on the backend of ``database_url``."""
    if database_url.startswith("sqlite"):
        yield tuple(f"sqlite+aiosqlite:///{tmp_path / f'{n}.db'}" for n in ("reg", "ind", "rec"))  # type: ignore[misc]
        return
    made = [await _create_pg_database() for _ in range(2)]
    try:
        yield made[0][1], made[1][1], database_url
    finally:
        for name, _url in made:
            await _drop_pg_database(name)


async def test_gap_to_pca_through_the_broker(
    three_databases: tuple[str, str, str], broker: LocalBroker, standin: StandIn
) -> None:
    reg_db, ind_db, rec_db = three_databases
    # The session's broker carries every test's events: a practice of this run's own keeps them apart.
    practice = "A81041" if rec_db.startswith("sqlite") else "A81042"
    clock = Clock(datetime(2026, 10, 5, 9, 0, tzinfo=UTC))  # 10:00 BST
    reg_cfg = registers_settings(reg_db, broker.bootstrap)
    reg = registers_app(reg_cfg)
    rec_cfg = recall_settings(database_url=rec_db, kafka_bootstrap=broker.bootstrap, environment="test",
                              notify_base_url=standin.url, consumer_group=f"recall-test-{uuid.uuid4().hex[:8]}")
    rec = recall_app(rec_cfg, now=clock, registers_transport=httpx.ASGITransport(app=reg))
    rh = bearer(reg_cfg, scopes=["records:read", "records:write"], practices=[practice])
    h = bearer(rec_cfg, scopes=["recall:read", "recall:write"], practices=[practice])
    async with running(reg) as rc, running(rec) as client, \
            indicators_app(ind_db, broker.bootstrap, today=INDICATORS_TODAY) as (ind_app, ic, _ih):
        ih = bearer(ind_app.state.settings, scopes=["indicators:read"], practices=[practice])
        base_r, base = f"/v1/practices/{practice}", f"/v1/practices/{practice}/recall"
        people = [{"nhs_number": synthetic_nhs_number(800 + n), "given_name": name, "family_name": "Loop",
                   "date_of_birth": "1960-05-17", "sex": "female", "registered_on": "2010-01-01",
                   "contact": {"mobile": f"0770090080{n}"}} for n, name in ((1, "Ann"), (2, "Bea"), (3, "Cai"))]
        ids = (await rc.put(f"{base_r}/patients", headers=rh, json={"patients": people})).json()["ids"]
        ann, bea, cai = (ids[p["nhs_number"]] for p in people)
        r = await rc.post(f"{base_r}/records", headers=rh, json={"entries": [
            {"entry_id": f"dx-{p['nhs_number']}", "nhs_number": p["nhs_number"], "code": HYP,
             "effective_date": "2015-06-01"} for p in people] + [
            # Cai's first invitation: a letter the practice sent on 28 September and coded itself
            {"entry_id": "letter-cai", "nhs_number": people[2]["nhs_number"], "code": HYP_INVITE,
             "effective_date": "2026-09-28"}]})
        assert r.status_code == 200, r.text

        async def open_gaps() -> set[str]:
            async with rec.state.runtime.sessions() as s:
                rows = (await s.execute(select(Gap.patient_id, Gap.invited_on).where(
                    Gap.practice_ods == practice, Gap.indicator_id == "HYP010", Gap.open.is_(True)))).all()
            found = {pid for pid, _ in rows}
            letter = {pid: dates for pid, dates in rows}.get(cai)
            return found if found == {ann, bea, cai} and letter == ["2026-09-28"] else set()

        # registers -> code.recorded -> indicators -> patient.gap.changed -> recall
        await until(open_gaps, "HYP010 gaps published by indicators and held by recall")

        clinics = {"clinics": [{"name": "cardiovascular", "registers": ["HYP_REG"],
                                "capacity": {m: 5 for m in range(1, 13)}}]}
        assert (await client.put(f"{base}/clinics", json=clinics, headers=h)).status_code == 200
        c = (await client.post(f"{base}/campaigns", headers=h, json={
            "name": "Hypertension 2026-27", "strategy": "asap", "templates": TEMPLATES,
            "invite_codes": {"HYP_REG": HYP_INVITE}})).json()
        assert c["plan"]["planned"] == 3 and c["plan"]["second_from_record"] == 1, c
        runs = f"{base}/campaigns/{c['id']}/runs?wait=true"
        assert (await client.post(runs, headers=h)).json()["sent"] == 2  # Ann and Bea: Cai has had a first

        # Bea's blood pressure is coded two days later: HYP010 closes for her in indicators, and recall hears it.
        r = await rc.post(f"{base_r}/records", headers=rh, json={"entries": [
            {"entry_id": f"bp-{n}", "nhs_number": people[1]["nhs_number"], "code": code, "value": v,
             "effective_date": "2026-10-07"} for n, code, v in (("s", SYS, 128), ("d", DIA, 78))]})
        assert r.status_code == 200, r.text

        async def bea_closed() -> bool:
            async with rec.state.runtime.sessions() as s:
                g = await s.get(Gap, (practice, bea, "HYP010", "qof-2026-27"))
            return g is not None and not g.open
        await until(bea_closed, "Bea's closed gap reaching recall")

        clock.at += timedelta(days=7)
        pre = (await client.get(f"{base}/campaigns/{c['id']}/preview?stage=2", headers=h)).json()
        assert pre["moves_into_pca"] == sorted([ann, cai])  # shown before the run
        second = (await client.post(runs + "&stage=2", headers=h)).json()
        assert second["sent"] == 2, second

        async def invites(pid: str, want: int) -> list[str] | None:
            rows = (await rc.get(f"{base_r}/patients/{pid}/records", headers=rh)).json()
            dates = sorted(e["effective_date"] for e in rows if e["code"] == HYP_INVITE)
            return dates if len(dates) == want else None
        assert await until(lambda: invites(ann, 2), "both of Ann's invitation codes in registers") == \
            ["2026-10-05", "2026-10-12"]
        assert await invites(bea, 1) == ["2026-10-05"]
        assert await until(lambda: invites(cai, 2), "Cai's letter and recall's second") == \
            ["2026-09-28", "2026-10-12"]

        async def pca() -> dict[str, Any] | None:
            body = (await ic.get(f"/v1/practices/{practice}/indicators/HYP010", headers=ih)).json()
            return body if body.get("pcas", {}).get("HYPBPINV") == 2 else None
        hyp010 = await until(pca, "the no-response PCA in indicators")
        # Ann and Cai are excepted (not in the denominator); Bea's BP of 128/78 meets the indicator.
        assert (hyp010["numerator"], hyp010["denominator"]) == (1, 1), hyp010
        assert hyp010["qof_year"] == "2026/27" and hyp010["achievement_date"] == INDICATORS_TODAY.isoformat()

        sent = [e["reference"].split(":")[1:3] for e in standin.log()]
        assert sorted(sent) == sorted([[ann, "1"], [bea, "1"], [ann, "2"], [cai, "2"]])

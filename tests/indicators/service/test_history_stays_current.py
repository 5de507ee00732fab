"""Stored month ends follow the dated record (SQLite and PostgreSQL, through the API).

Rule (project principle): "Everything is as of a date. A figure for a date is computed from the dated record
as it stood on that date (registration, death, diagnosis and resolution dates), never from today's state; a
year is named in every answer; nothing is clamped silently."

Rule text, DM020 (PCD output description): "Select patients whose latest IFCC-HbA1c in the 12 months up to and
including PPED is ≤ 58 mmol/mol", for patients "registered at the achievement date". A result entered today
but dated 15 July belongs to the record as it stood on every month end from 31 July on, and not to the month
ends before; a deregistration dated 15 September removes the patient from 30 September on; a result dated
today changes no month that has closed.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

from sqlalchemy import update

from services.indicators.service.releases import rescore_all
from services.indicators.store.models import SNAPSHOTS
from shared.events.schemas import PatientDeregistered
from tests.indicators.service.helpers import HBA1C, PRACTICE, deliver, diabetic, indicators_app, recorded, retracted

BASE = f"/v1/practices/{PRACTICE}"
TODAY = date(2026, 12, 3)
CLOSED = [f"2026-{m:02d}" for m in range(4, 12)]  # April to November 2026


async def _load(app: Any) -> None:
    await diabetic(app, "d0", 50.0, when=date(2026, 5, 10))
    for i in range(3):
        await diabetic(app, f"n{i}")


async def dm020(client: Any, headers: dict[str, str]) -> dict[str, tuple[str, int, int]]:
    """Month -> (achievement date, denominator, numerator) of DM020 in 2026/27, and last year's final."""
    body = (await client.get(f"{BASE}/history?indicator=DM020", headers=headers)).json()
    assert body["qof_year"] == "2026/27"
    return {
        f"{h['ruleset']}:{m['month']}": (m["achievement_date"], m["denominator"], m["numerator"])
        for h in body["indicators"] for m in h["months"]
    }


def closed(h: dict[str, tuple[str, int, int]]) -> dict[str, tuple[str, int, int]]:
    return {k: v for k, v in h.items() if k.split(":")[1] in CLOSED or k.startswith("qof-2025-26")}


async def test_a_back_dated_result_changes_its_month_and_later_ones_not_earlier_ones(database_url: str) -> None:
    async with indicators_app(database_url, today=TODAY) as (app, client, headers):
        await _load(app)
        before = await dm020(client, headers)
        assert before["qof-2026-27:2026-06"] == ("2026-06-30", 4, 1)
        assert before["qof-2026-27:2026-07"] == ("2026-07-31", 4, 1)

        await deliver(app, recorded("n0", ("n0-late", HBA1C, date(2026, 7, 15), 48.0)))
        after = await dm020(client, headers)
        for key, (day, den, num) in closed(before).items():
            moved = key.startswith("qof-2026-27") and day >= "2026-07-31"
            assert after[key] == (day, den, num + 1 if moved else num), key
        assert after["qof-2026-27:2026-12"][2] == 2  # today's figure too

        # the correction goes away again: the stored month ends follow
        await deliver(app, retracted("n0", "n0-late"))
        assert closed(await dm020(client, headers)) == closed(before)


async def test_a_back_dated_deregistration_removes_the_patient_from_that_month_end_on(database_url: str) -> None:
    async with indicators_app(database_url, today=TODAY) as (app, client, headers):
        await _load(app)
        before = await dm020(client, headers)
        await deliver(app, PatientDeregistered(practice_ods=PRACTICE, patient_id="n1", date_of_birth=date(1960, 5, 1),
                                               sex="female", registered_on=date(2010, 1, 1),
                                               deregistered_on=date(2026, 9, 15)))
        after = await dm020(client, headers)
        for key, (day, den, num) in closed(before).items():
            gone = key.startswith("qof-2026-27") and day >= "2026-09-30"
            assert after[key] == (day, den - 1 if gone else den, num), key


async def test_a_result_dated_today_changes_no_closed_month(database_url: str) -> None:
    async with indicators_app(database_url, today=TODAY) as (app, client, headers):
        await _load(app)
        before = await dm020(client, headers)
        await deliver(app, recorded("n2", ("n2-today", HBA1C, TODAY, 48.0)))
        after = await dm020(client, headers)
        assert closed(after) == closed(before)
        assert after["qof-2026-27:2026-12"] == (TODAY.isoformat(), 4, 2)


async def test_a_full_recompute_redoes_the_stored_month_ends(database_url: str) -> None:
    async with indicators_app(database_url, today=TODAY) as (app, client, headers):
        await _load(app)
        before = await dm020(client, headers)
        async with app.state.runtime.sessions() as s, s.begin():  # a stored month end that no longer matches
            await s.execute(update(SNAPSHOTS).where(SNAPSHOTS.c.month == "2026-08").values(numerator=0))
        assert (await dm020(client, headers))["qof-2026-27:2026-08"][2] == 0
        r = await client.post(f"{BASE}/recompute?mode=sync", headers=headers)
        assert r.status_code == 200, r.text
        assert closed(await dm020(client, headers)) == closed(before)


async def test_a_codelist_release_rescoring_every_practice_redoes_the_stored_month_ends(database_url: str) -> None:
    """A switch of codelist release re-scores every practice as a full recompute does, month ends included."""
    async with indicators_app(database_url, today=TODAY) as (app, client, headers):
        await _load(app)
        before = await dm020(client, headers)
        async with app.state.runtime.sessions() as s, s.begin():
            await s.execute(update(SNAPSHOTS).where(SNAPSHOTS.c.month == "2026-08").values(numerator=0))
        assert await rescore_all(app.state.runtime.sessions, app.state.kernel) == [PRACTICE]
        assert closed(await dm020(client, headers)) == closed(before)


async def test_a_contract_change_redoes_the_stored_month_ends(database_url: str) -> None:
    """A practice that changes its contract is recomputed in full, month ends included: months held for a rule
    set of the earlier contract may have missed the stale marks the reads under the other contract cleared."""
    async with indicators_app(database_url, today=TODAY) as (app, client, headers):
        await _load(app)
        before = await dm020(client, headers)
        async with app.state.runtime.sessions() as s, s.begin():
            await s.execute(update(SNAPSHOTS).where(SNAPSHOTS.c.month == "2026-08").values(numerator=0))
        r = await client.put(f"{BASE}/contract", json={"ruleset_id": "qof-2026-27"}, headers=headers)
        assert r.status_code == 200, r.text
        assert closed(await dm020(client, headers)) == closed(before)


async def test_a_read_recomputing_month_ends_never_holds_up_the_consumer(database_url: str) -> None:
    """Issue 11: "reading must never slow the applying of events". While a history read rescores the month ends
    a back-dated result made stale, another back-dated result is applied at once: the read writes its figures
    and clears the mark it read only once they are computed, so it holds no lock the consumer needs meanwhile
    (on SQLite, the write lock; on PostgreSQL, the mark's row), and the newer mark survives for the next read."""
    from services.indicators.service import month_ends

    async with indicators_app(database_url, today=TODAY) as (app, client, headers):
        await _load(app)
        await dm020(client, headers)  # the month ends are computed and stored once
        await deliver(app, recorded("n0", ("n0-late", HBA1C, date(2026, 7, 15), 48.0)))  # marks them stale

        scoring, go_on = asyncio.Event(), asyncio.Event()
        original = month_ends.achievement

        async def paused(*args: Any, **kwargs: Any) -> Any:
            scoring.set()
            await go_on.wait()
            return await original(*args, **kwargs)

        month_ends.achievement = paused  # type: ignore[assignment]
        try:
            read = asyncio.ensure_future(dm020(client, headers))
            await asyncio.wait_for(scoring.wait(), 10)  # the read is recomputing the stale month ends
            applied = deliver(app, recorded("n1", ("n1-late", HBA1C, date(2026, 8, 20), 47.0)))
            await asyncio.wait_for(applied, 10)  # the consumer's batch did not wait for the read
        finally:
            go_on.set()
            month_ends.achievement = original  # type: ignore[assignment]
        await read
        now = await dm020(client, headers)  # the newer result's mark stayed: this read includes it
        assert now["qof-2026-27:2026-08"] == ("2026-08-31", 4, 3)
        assert now["qof-2026-27:2026-07"] == ("2026-07-31", 4, 2)

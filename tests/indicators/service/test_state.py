"""Per-patient state from events: each event re-evaluates its patient, gaps and aggregates are announced,
and a full recompute gives the same answer as the incremental path (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from services.indicators.store.models import IndicatorState, Outcome
from shared.codelists import shipped_library
from tests.indicators.service.helpers import (
    DM,
    DMINVITE,
    DMRES,
    HBA1C,
    PRACTICE,
    deliver,
    diabetic,
    indicator,
    indicators_app,
    on_register,
    outbox,
    recorded,
    registered,
    retracted,
)


async def _outcomes(app, pid: str) -> dict[str, tuple[str, str | None]]:
    async with app.state.runtime.sessions() as s:
        rows = (await s.execute(select(Outcome).where(Outcome.patient_id == pid))).scalars()
        return {r.indicator_id: (r.status, r.field) for r in rows}


async def test_events_drive_outcomes_gaps_and_aggregates(database_url: str) -> None:
    async with indicators_app(database_url) as (app, client, headers):
        await diabetic(app, "p1")
        assert (await _outcomes(app, "p1"))["DM020"] == ("denominator_only", None)
        opened = [e for e in await outbox(app, "patient.gap.changed") if e["indicator_id"] == "DM020"]
        assert opened[-1]["open"] is True and opened[-1]["patient_id"] == "p1"
        assert opened[-1]["action"] and opened[-1]["register_id"] == "DM_REG"

        await deliver(app, recorded("p1", ("p1-a1c", HBA1C, date(2025, 11, 2), 52.0)))
        assert (await _outcomes(app, "p1"))["DM020"] == ("numerator", None)
        closed = [e for e in await outbox(app, "patient.gap.changed") if e["indicator_id"] == "DM020"]
        assert closed[-1]["open"] is False
        updates = [e for e in await outbox(app, "indicator.updated") if e["indicator_id"] == "DM020"]
        assert updates[-1]["numerator"] == 1 and updates[-1]["denominator"] == 1
        assert "patient_id" not in updates[-1]

        # Retraction reopens the gap; a value correction on the same entry id closes it again.
        await deliver(app, retracted("p1", "p1-a1c"))
        assert (await _outcomes(app, "p1"))["DM020"][0] == "denominator_only"
        await deliver(app, recorded("p1", ("p1-a1c", HBA1C, date(2025, 11, 2), 50.0)))
        assert (await _outcomes(app, "p1"))["DM020"][0] == "numerator"

        # "Latest diabetes diagnosis not followed by a later resolved code": a DMRES_COD entry takes the
        # patient off the diabetes register, and so out of the DM indicators.
        await deliver(app, recorded("p1", ("p1-res", DMRES, date(2025, 12, 1), None)))
        assert "DM020" not in await _outcomes(app, "p1")

        body = (await client.get(f"/v1/practices/{PRACTICE}/achievement", headers=headers)).json()
        assert indicator(body, "DM020")["denominator"] == 0 and indicator(body, "DM020")["points"] == 0


async def test_events_before_the_patient_are_kept_until_it_arrives(database_url: str) -> None:
    async with indicators_app(database_url) as (app, _client, _headers):
        await deliver(app, recorded("late", ("late-dx", DM, date(2015, 6, 1), None),
                                    ("late-a1c", HBA1C, date(2025, 12, 1), 48.0)),
                      on_register("late"))
        assert await _outcomes(app, "late") == {}
        await deliver(app, registered("late"))
        assert (await _outcomes(app, "late"))["DM020"][0] == "numerator"


async def test_only_changed_indicators_are_announced(database_url: str) -> None:
    async with indicators_app(database_url) as (app, _client, _headers):
        await diabetic(app, "a", 50.0)
        before = len(await outbox(app, "indicator.updated"))
        # An entry no rule reads (anaemia, in no shipped cluster) changes nothing: no aggregate event.
        assert "271737000" not in shipped_library().all_codes()
        await deliver(app, recorded("a", ("a-other", "271737000", date(2025, 12, 1), None)))
        assert len(await outbox(app, "indicator.updated")) == before
        await deliver(app, recorded("a", ("a-a1c", HBA1C, date(2025, 12, 1), 80.0)))
        moved = (await outbox(app, "indicator.updated"))[before:]
        assert {e["indicator_id"] for e in moved} == {"DM020"}  # DM021 (2025/26) is for the frail only


async def test_full_recompute_equals_incremental(database_url: str) -> None:
    async with indicators_app(database_url) as (app, client, headers):
        for i, a1c in enumerate([50.0, 60.0, 80.0, None, 57.0, 90.0]):
            await diabetic(app, f"d{i}", a1c)
        await deliver(app, registered("x1", dob=date(1990, 1, 1)), registered("x2", dob=date(2001, 2, 2)))
        async with app.state.runtime.sessions() as s:
            before = {(r.patient_id, r.indicator_id, r.status, r.field) for r in
                      (await s.execute(select(Outcome))).scalars()}
            state_before = {(r.indicator_id, r.numerator, r.denominator, r.points) for r in
                            (await s.execute(select(IndicatorState))).scalars()}
        ach_before = (await client.get(f"/v1/practices/{PRACTICE}/achievement", headers=headers)).json()
        r = await client.post(f"/v1/practices/{PRACTICE}/recompute", headers=headers)
        assert r.status_code == 200 and r.json()["status"] == "done" and r.json()["patients"] == 8
        async with app.state.runtime.sessions() as s:
            after = {(r.patient_id, r.indicator_id, r.status, r.field) for r in
                     (await s.execute(select(Outcome))).scalars()}
            state_after = {(r.indicator_id, r.numerator, r.denominator, r.points) for r in
                           (await s.execute(select(IndicatorState))).scalars()}
        assert before == after and state_before == state_after
        ach_after = (await client.get(f"/v1/practices/{PRACTICE}/achievement", headers=headers)).json()
        assert ach_before["indicators"] == ach_after["indicators"]
        job = (await client.post(f"/v1/practices/{PRACTICE}/recompute?mode=async", headers=headers))
        assert job.status_code == 202
        for _ in range(100):
            status = (await client.get(job.headers["Location"], headers=headers)).json()
            if status["status"] in ("done", "failed"):
                break
            await __import__("asyncio").sleep(0.05)
        assert status["status"] == "done"


async def test_stale_practices_are_refreshed_when_the_date_moves(sqlite_url: str) -> None:
    from services.indicators.service.jobs import refresh_stale
    from services.indicators.store.models import Snapshot
    from tests.indicators.service.helpers import kernel

    async with indicators_app(sqlite_url) as (app, _client, _headers):
        await diabetic(app, "s1", 50.0)
        sessions = app.state.runtime.sessions
        assert await refresh_stale(sessions, kernel()) == 0
        k = kernel()
        k.today = lambda: date(2026, 2, 20)
        try:
            assert await refresh_stale(sessions, k) == 1
            async with sessions() as s:
                months = set((await s.execute(select(Snapshot.month))).scalars())
            assert {"2026-01", "2026-02"} <= months
        finally:
            k.today = lambda: date(2026, 1, 15)


async def test_a_batch_of_events_rescores_the_practice_once(database_url: str) -> None:
    """Each event re-evaluates its patient at once; the practice's aggregates are re-scored once per batch, from a
    durable mark, so a stop between the two loses nothing."""
    from services.indicators.service.evaluation import rescore_pending
    from services.indicators.store.models import PENDING_RESCORES
    from shared.events.envelope import Envelope

    async with indicators_app(database_url) as (app, _client, _headers):
        await diabetic(app, "a", 50.0)
        before = len(await outbox(app, "indicator.updated"))
        rt, spec = app.state.runtime, app.state.spec
        # The consumer's per-event transactions, without the end-of-batch hook (as if the process stopped there).
        for n, value in enumerate([80.0, 81.0, 82.0]):
            payload = recorded("a", (f"a-b{n}", HBA1C, date(2025, 12, 1 + n), value))
            async with rt.sessions() as s, s.begin():
                await spec.handlers[payload.event_type](s, Envelope.wrap(payload, source="/tests"), payload)
                await spec.after_unit(s)
        async with rt.sessions() as s:
            marked = [r[0] for r in await s.execute(select(PENDING_RESCORES.c.practice_ods))]
        assert marked == [PRACTICE]
        assert len(await outbox(app, "indicator.updated")) == before  # not re-scored per event
        assert await rescore_pending(rt, app.state.kernel) == 1  # DM020 moved: announced once for the batch
        moved = (await outbox(app, "indicator.updated"))[before:]
        assert [e["indicator_id"] for e in moved] == ["DM020"]
        async with rt.sessions() as s:
            assert (await s.execute(select(PENDING_RESCORES))).first() is None
        assert await rescore_pending(rt, app.state.kernel) == 0


async def test_gap_events_carry_the_invitations_in_the_record_and_what_closed_the_gap(database_url: str) -> None:
    """DM020 rule 8: "Reject patients whose latest IFCC-HbA1c in the 12 months was above target and was followed
    by two invitations at least 7 days apart, or who had two such invitations and no IFCC-HbA1c in the 12 months";
    DMINVITE1_DAT is the earliest invite on or after the start of the year, DMINVITE2_DAT the earliest "at least 7
    days after the first invitation" (QOF_RULES.md §2.2). An invitation the practice codes outside recall is one
    of them: the open gap's event says its date, and the gap the second invitation closes says it closed as a PCA.
    """
    def dm020(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [e for e in events if e["indicator_id"] == "DM020" and e["ruleset"] == "qof-2025-26"]

    async with indicators_app(database_url) as (app, _client, _headers):
        await diabetic(app, "inv")
        (opened,) = dm020(await outbox(app, "patient.gap.changed"))
        assert opened["open"] is True and opened["invited_on"] == [] and opened["closed_as"] is None

        # a first invitation by letter, coded in the record: the gap stays open and says so
        await deliver(app, recorded("inv", ("inv-l1", DMINVITE, date(2025, 11, 3), None)))
        events = dm020(await outbox(app, "patient.gap.changed"))
        assert len(events) == 2 and events[-1]["open"] is True
        assert events[-1]["invited_on"] == ["2025-11-03"] and events[-1]["invitations_this_year"] == 1
        # redelivered or unrelated: the invitations did not change, nothing more is said
        await deliver(app, recorded("inv", ("inv-l1", DMINVITE, date(2025, 11, 3), None)))
        assert len(dm020(await outbox(app, "patient.gap.changed"))) == 2

        # six days later does not count as the second; seven days later does, and the PCA closes the gap
        await deliver(app, recorded("inv", ("inv-l2", DMINVITE, date(2025, 11, 9), None)))
        assert len(dm020(await outbox(app, "patient.gap.changed"))) == 2
        await deliver(app, recorded("inv", ("inv-l3", DMINVITE, date(2025, 11, 10), None)))
        closed = dm020(await outbox(app, "patient.gap.changed"))[-1]
        assert closed["open"] is False and closed["closed_as"] == "pca"
        assert "two invitations" in closed["reason"]

        # off the register: the gap that reopened (a retraction) closes as "left"
        await deliver(app, retracted("inv", "inv-l3"))
        assert dm020(await outbox(app, "patient.gap.changed"))[-1]["open"] is True
        await deliver(app, recorded("inv", ("inv-res", DMRES, date(2025, 12, 1), None)))
        left = dm020(await outbox(app, "patient.gap.changed"))[-1]
        assert left["open"] is False and left["closed_as"] == "left" and "population" in left["reason"]

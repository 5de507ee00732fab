"""The codes a practice has recorded, kept beside its entries, say what the entries themselves say.

Issue 8: "where a success rule needs codes the practice has never recorded ..., the achievement says so".
Every achievement answer reads which codes the practice recorded up to the date scored; the answer is kept in
``practice_codes`` as entries arrive instead of being read off the whole record each time, so after any mix of
new entries, corrections and retractions it must equal what the live entries give: each code with the date of
its earliest live entry. The check here is against that definition, worked out from ``coded_events``.
"""

from __future__ import annotations

from datetime import date

from fastapi import FastAPI
from sqlalchemy import func, select

from services.indicators.store.models import CodedEvent, PracticeCode
from tests.indicators.service.helpers import (
    DM,
    HBA1C,
    PRACTICE,
    SAME_PCN,
    deliver,
    indicator,
    indicators_app,
    on_register,
    recorded,
    registered,
    retracted,
)
from tests.indicators.service.test_batch_unit import apply_batch, wrap

DSEP = "415270003"  # DSEP_COD: referral to a diabetes structured education programme (DM014's success rule)
BMI = "60621009"  # a body mass index observation: no rule here reads it
BASE = f"/v1/practices/{PRACTICE}"


async def held(app: FastAPI) -> dict[tuple[str, str], date]:
    async with app.state.runtime.sessions() as s:
        rows = await s.execute(select(PracticeCode.practice_ods, PracticeCode.code, PracticeCode.first_date))
        return {(p, c): d for p, c, d in rows}


async def from_entries(app: FastAPI) -> dict[tuple[str, str], date]:
    ec = CodedEvent
    async with app.state.runtime.sessions() as s:
        rows = await s.execute(select(ec.practice_ods, ec.code, func.min(ec.effective_date))
                               .where(ec.retracted.is_(False)).group_by(ec.practice_ods, ec.code))
        return {(p, c): d for p, c, d in rows}


async def test_recorded_codes_follow_entries_corrections_and_retractions(database_url: str) -> None:
    async with indicators_app(database_url) as (app, _client, _headers):
        await apply_batch(app, wrap(
            registered("a"), registered("b"), registered("z", practice=SAME_PCN),
            recorded("a", ("a-dx", DM, date(2015, 6, 1), None), ("a-1", HBA1C, date(2025, 10, 1), 50.0),
                     ("a-2", HBA1C, date(2025, 6, 1), 61.0)),
            recorded("b", ("b-1", HBA1C, date(2025, 8, 1), 52.0), ("b-bmi", BMI, date(2024, 1, 5), 31.0)),
            recorded("z", ("z-1", HBA1C, date(2024, 3, 1), 49.0), practice=SAME_PCN),
            on_register("a"),
        ))
        assert (await held(app))[("A81001", HBA1C)] == date(2025, 6, 1)
        assert (await held(app))[("A81017", HBA1C)] == date(2024, 3, 1)  # each practice its own
        assert await held(app) == await from_entries(app)

        # the earliest HbA1c is corrected to a later date; the BMI entry is corrected into an HbA1c
        await apply_batch(app, wrap(recorded("a", ("a-2", HBA1C, date(2025, 9, 1), 61.0)),
                                    recorded("b", ("b-bmi", HBA1C, date(2025, 11, 1), 55.0))))
        assert (await held(app))[("A81001", HBA1C)] == date(2025, 8, 1)  # b-1 is now the earliest
        assert ("A81001", BMI) not in await held(app)
        assert await held(app) == await from_entries(app)

        # retractions: the earliest HbA1c goes, then every DM diagnosis; an entry recorded and retracted in one batch
        await deliver(app, retracted("b", "b-1"))  # a single event: handled on its own
        assert (await held(app))[("A81001", HBA1C)] == date(2025, 9, 1)
        await apply_batch(app, wrap(recorded("b", ("b-dsep", DSEP, date(2025, 7, 1), None)),
                                    retracted("b", "b-dsep"), retracted("a", "a-dx")))
        codes = await held(app)
        assert ("A81001", DSEP) not in codes and ("A81001", DM) not in codes
        assert codes == await from_entries(app)

        # re-recorded after a retraction: live again
        await deliver(app, recorded("a", ("a-dx", DM, date(2015, 6, 1), None)))
        assert (await held(app))[("A81001", DM)] == date(2015, 6, 1)
        assert await held(app) == await from_entries(app)


async def test_the_never_recorded_finding_goes_when_a_code_is_recorded_and_returns_when_retracted(
    database_url: str,
) -> None:
    """DM014's success rule needs DSEP_COD: with no referral ever recorded "a 0% here is a coding gap"."""
    async with indicators_app(database_url) as (app, client, headers):
        await deliver(app, registered("a", registered_on=date(2025, 6, 1)),
                      recorded("a", ("a-dx", DM, date(2025, 7, 1), None)), on_register("a"))

        async def never(on: str | None = None) -> bool:
            query = f"?on={on}" if on else ""
            body = (await client.get(f"{BASE}/achievement{query}", headers=headers)).json()
            return any(f["kind"] == "never-recorded" and "DSEP_COD" in f["clusters"]
                       for f in indicator(body, "DM014")["findings"])

        assert await never()
        await deliver(app, recorded("a", ("a-dsep", DSEP, date(2025, 9, 1), None)))
        assert not await never()
        assert await never("2025-08-31")  # as of a date before the referral, it had never been recorded
        await deliver(app, retracted("a", "a-dsep"))
        assert await never()

"""The tallies every achievement answer is scored from equal the stored outcomes they count.

The achievement of an indicator is worked from how many of the register's patients stand in each outcome
(numerator, denominator only, PCA or exclusion, by field). Those counts are kept per practice as outcomes are
replaced; after new patients, changed results, retractions, deregistration, a consumer batch and a full
recompute they must be exactly the ``GROUP BY`` of the outcomes themselves.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

from fastapi import FastAPI
from sqlalchemy import func, literal_column, select

from services.indicators.service.evaluation import refresh
from services.indicators.store.models import Outcome, OutcomeTally
from tests.indicators.service.helpers import (
    DM,
    HBA1C,
    PRACTICE,
    SAME_PCN,
    deliver,
    indicators_app,
    on_register,
    recorded,
    registered,
    retracted,
)
from tests.indicators.service.test_batch_unit import apply_batch, wrap


async def tallies(app: FastAPI) -> Counter[tuple[object, ...]]:
    t = OutcomeTally
    async with app.state.runtime.sessions() as s:
        rows = await s.execute(select(t.practice_ods, t.ruleset_id, t.indicator_id, t.status, t.field,
                                      t.achievement_date, t.patients))
        return Counter({tuple(r[:6]): r[6] for r in rows})


async def counted(app: FastAPI) -> Counter[tuple[object, ...]]:
    o = Outcome
    fld = func.coalesce(o.field, literal_column("''"))
    async with app.state.runtime.sessions() as s:
        rows = await s.execute(select(o.practice_ods, o.ruleset_id, o.indicator_id, o.status, fld,
                                      o.achievement_date, func.count())
                               .group_by(o.practice_ods, o.ruleset_id, o.indicator_id, o.status, fld,
                                         o.achievement_date))
        return Counter({tuple(r[:6]): r[6] for r in rows})


async def test_tallies_equal_the_outcomes_after_every_kind_of_change(database_url: str) -> None:
    async with indicators_app(database_url) as (app, _client, _headers):
        dx = date(2015, 6, 1)
        await apply_batch(app, wrap(
            registered("a"), registered("b"), registered("c"), registered("z", practice=SAME_PCN),
            recorded("a", ("a-dx", DM, dx, None), ("a-1", HBA1C, date(2025, 10, 1), 50.0)),
            recorded("b", ("b-dx", DM, dx, None), ("b-1", HBA1C, date(2025, 10, 1), 75.0)),
            recorded("c", ("c-dx", DM, dx, None)),
            recorded("z", ("z-dx", DM, dx, None), ("z-1", HBA1C, date(2025, 11, 1), 52.0), practice=SAME_PCN),
            on_register("a"), on_register("b"), on_register("c"), on_register("z", practice=SAME_PCN),
        ))
        first = await tallies(app)
        assert first and first == await counted(app)
        dm020 = {k[3]: n for k, n in first.items() if k[0] == PRACTICE and k[2] == "DM020"}
        assert dm020 == {"numerator": 1, "denominator_only": 2}  # a in target; b out of it; c with no result

        await deliver(app, recorded("b", ("b-1", HBA1C, date(2025, 10, 1), 49.0)))  # corrected into target
        await deliver(app, retracted("a", "a-1"))
        await deliver(app, registered("c", deregistered_on=date(2025, 12, 1)))
        after = await tallies(app)
        assert after == await counted(app)
        dm020 = {k[3]: n for k, n in after.items() if k[0] == PRACTICE and k[2] == "DM020"}
        assert dm020 == {"numerator": 1, "denominator_only": 1}
        assert {k: n for k, n in after.items() if k[0] == SAME_PCN} == \
            {k: n for k, n in first.items() if k[0] == SAME_PCN}  # the other practice untouched

        kernel = app.state.kernel
        async with app.state.runtime.sessions() as s, s.begin():
            await refresh(s, kernel, PRACTICE, None)  # a full recompute replaces every outcome of the practice
        assert await tallies(app) == await counted(app) == after

"""The vaccination improvement route's baseline: the practice's own final achievement in its previous years.

An indicator with an improvement route (2026/27: VI001-VI003) pays the higher of its thresholds and a scale on
the practice's gain over its baseline, the mean of its final (31 March) achievement in the ``baseline_years``
previous QOF years. Those finals are computed from the dated record, each on its own year's rule set, and kept
as month-end snapshots (``month_ends``); a year that cannot be computed leaves no baseline (nothing guessed).
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.indicators.domain import Indicator
from services.indicators.domain.scoring import improvement_baseline
from services.indicators.service.kernel import Kernel
from services.indicators.store.models import SNAPSHOTS


def improvement_indicators(kernel: Kernel, ruleset_id: str) -> list[Indicator]:
    """The rule set's indicators with an improvement route that can be scored (have their codelists)."""
    engine = kernel.engine(ruleset_id)
    return [
        i for i in engine.ruleset.indicators
        if i.improvement is not None and engine.readiness[i.id].readiness != "incomplete"
    ]


def finals_before(start: date, years: int) -> list[date]:
    """The last days (31 March) of the ``years`` QOF years before the one starting on ``start``, latest first."""
    return [start.replace(year=start.year - k) - timedelta(days=1) for k in range(years)]


def baseline_finals(kernel: Kernel, ruleset_id: str) -> list[date]:
    """The previous years' finals the rule set's improvement baselines need (none without such an indicator)."""
    start = kernel.ruleset(ruleset_id).settings.start
    years = max((i.improvement.baseline_years for i in improvement_indicators(kernel, ruleset_id) if i.improvement),
                default=0)
    return [d for d in finals_before(start, years) if kernel.qof_ruleset_for(d)]


async def improvement_baselines(session: AsyncSession, kernel: Kernel, practice: str, day: date) -> dict[str, float]:
    """Indicator id -> baseline % for the improvement indicators of ``day``'s year, from the stored finals."""
    rid = kernel.qof_ruleset_for(day)
    indicators = improvement_indicators(kernel, rid) if rid else []
    if not rid or not indicators:
        return {}
    start = kernel.ruleset(rid).settings.start
    sn = SNAPSHOTS.c
    rows = await session.execute(
        select(sn.indicator_id, sn.achievement_date, sn.achievement_pct).where(
            sn.practice_ods == practice,
            sn.indicator_id.in_([i.id for i in indicators]),
            sn.achievement_date.in_(finals_before(start, max(i.improvement.baseline_years for i in indicators
                                                             if i.improvement))),
        )
    )
    pct = {(iid, d): p for iid, d, p in rows}
    out: dict[str, float] = {}
    for ind in indicators:
        assert ind.improvement is not None
        years = ind.improvement.baseline_years
        base = improvement_baseline([pct.get((ind.id, d)) for d in finals_before(start, years)], years)
        if base is not None:
            out[ind.id] = base
    return out

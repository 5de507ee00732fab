"""What-if: the practice's stored patients scored under another rule set, per-indicator differences.

Follows the domain's ``compare_rulesets`` (same patients, same achievement date and PPED, indicators matched by
id, absent on one side shown as such) but scores through :func:`score_all`, so indicators whose £ cannot be
computed (composite APDF groups) still report points instead of failing the whole comparison.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from services.indicators.service.achievement import Achievement
from services.indicators.service.evaluation import attestations_of, memberships
from services.indicators.service.kernel import Kernel
from services.indicators.service.scoring import Result, count_outcomes, score_all
from services.indicators.store.state import load_patients


@dataclass(frozen=True)
class Delta:
    indicator_id: str
    base: Result | None
    other: Result | None

    @property
    def points_delta(self) -> float:
        return (self.other.score.points if self.other else 0.0) - (self.base.score.points if self.base else 0.0)

    @property
    def pounds_delta(self) -> float:
        return (self.other.pounds or 0.0 if self.other else 0.0) - (self.base.pounds or 0.0 if self.base else 0.0)


async def what_if(session: AsyncSession, kernel: Kernel, base: Achievement, other_id: str) -> list[Delta]:
    engine = kernel.engine(other_id)
    rs = engine.ruleset
    patients = await load_patients(session, base.practice, kernel)
    day, pped = base.period.achievement_date, base.period.pped

    def run() -> list[Result]:
        # the registers of the record at the base's achievement date, as the base was scored on
        held = memberships(kernel, patients, day)
        outcomes = [
            (rs.id, o)
            for p in patients
            if p.patient_id in held
            for o in engine.evaluate(p, day, pped=pped, registers=held[p.patient_id])
        ]
        return score_all(kernel, [(rs, i) for i in rs.indicators], count_outcomes(outcomes), base.figures, attestations)

    attestations = await attestations_of(session, base.practice)
    other = await asyncio.to_thread(run)
    left = {r.indicator.id: r for r in base.results}
    right = {r.indicator.id: r for r in other}
    ids = list(dict.fromkeys([*left, *right]))
    return [Delta(i, left.get(i), right.get(i)) for i in ids]

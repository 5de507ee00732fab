"""What-if: the practice's stored patients scored under another rule set, per-indicator differences.

Follows the domain's ``compare_rulesets`` (same patients, same achievement date and PPED, indicators matched by
id) but scores through :func:`score_all`, so indicators whose £ cannot be computed (composite APDF groups) still
report points instead of failing the whole comparison. Only indicators scorable under both rule sets are
compared (a difference against an indicator that cannot be scored would be a guess); the others are listed as
left out, with the reason.
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
    base: Result
    other: Result

    @property
    def points_delta(self) -> float:
        return self.other.score.points - self.base.score.points

    @property
    def pounds_delta(self) -> float:
        return (self.other.pounds or 0.0) - (self.base.pounds or 0.0)


@dataclass(frozen=True)
class LeftOut:
    indicator_id: str
    reason: str


@dataclass(frozen=True)
class WhatIf:
    deltas: list[Delta]  # indicators scorable under both rule sets
    left_out: list[LeftOut]


async def what_if(session: AsyncSession, kernel: Kernel, base: Achievement, other_id: str) -> WhatIf:
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
    return compare(base.results, other, base.contract.ruleset_id, other_id)


def compare(base: list[Result], other: list[Result], base_id: str, other_id: str) -> WhatIf:
    left = {r.indicator.id: r for r in base}
    right = {r.indicator.id: r for r in other}
    deltas, out = [], []
    for iid in dict.fromkeys([*left, *right]):
        why = _left_out(left.get(iid), base_id) or _left_out(right.get(iid), other_id)
        if why:
            out.append(LeftOut(iid, why))
        else:
            deltas.append(Delta(iid, left[iid], right[iid]))
    return WhatIf(deltas, out)


def _left_out(r: Result | None, ruleset_id: str) -> str:
    if r is None:
        return f"not an indicator of {ruleset_id}"
    if r.readiness == "incomplete":
        return f"not scorable under {ruleset_id}: no codelist for {', '.join(r.missing_clusters)}"
    return ""

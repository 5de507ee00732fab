"""What-if: score the same patients under two rule sets and report per-indicator differences in points and £.

Indicators are matched by id; an indicator present in only one rule set shows the other side as absent
(e.g. DM033 in 2024/25 vs DM036 in 2025/26). Incomplete indicators score 0 and say so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from shared.codelists import CodelistLibrary

from .engine import compile_ruleset
from .records import PatientRecord
from .ruleset import RuleSet
from .scoring import IndicatorScore, PracticeContext, score_practice


@dataclass(frozen=True)
class IndicatorDelta:
    indicator_id: str
    base: IndicatorScore | None
    other: IndicatorScore | None

    @property
    def points_delta(self) -> float:
        return (self.other.points if self.other else 0.0) - (self.base.points if self.base else 0.0)

    @property
    def value_delta(self) -> float:
        return (self.other.value_gbp if self.other else 0.0) - (self.base.value_gbp if self.base else 0.0)


def compare_rulesets(
    patients: Iterable[PatientRecord],
    base: RuleSet,
    other: RuleSet,
    achievement_date: date,
    library: CodelistLibrary,
    practice: PracticeContext,
) -> list[IndicatorDelta]:
    people = list(patients)
    scores = []
    for rs in (base, other):
        engine = compile_ruleset(rs, library)
        outcomes = [o for p in people for o in engine.evaluate(p, achievement_date)]
        scores.append({s.indicator_id: s for s in score_practice(engine, outcomes, practice)})
    ids = list(dict.fromkeys([*scores[0], *scores[1]]))
    return [IndicatorDelta(i, scores[0].get(i), scores[1].get(i)) for i in ids]

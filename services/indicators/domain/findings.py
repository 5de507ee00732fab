"""Silent zeros are findings: what an indicator's figure rests on that the practice should know.

- ``never-recorded``: a success rule (a step that selects the numerator) needs codes of clusters the practice
  has never recorded up to the achievement date, so no patient can pass that rule (e.g. an asthma review
  needs the review, control, exacerbation and written-plan codes: one never used makes the rule unreachable).
  A 0% from such a rule is a coding gap, not a care gap.
- ``stand-in``: a cluster the indicator reads is served by a stand-in codelist (see ``aliases.csv``), so the
  figure counts the codes of the stand-in, not of the published refset.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass
from typing import Any, Literal

from .engine import IndicatorReadiness
from .rules import clusters_in
from .ruleset import Indicator

FindingKind = Literal["never-recorded", "stand-in"]

@dataclass(frozen=True)
class ScoringFinding:
    indicator_id: str
    kind: FindingKind
    clusters: tuple[str, ...]
    text: str


def can_pass(test: Mapping[str, Any], recorded: Set[str]) -> bool:
    """False only when the test cannot pass for any patient, given the clusters the practice ever recorded."""
    ((name, params),) = test.items()
    if name == "all":
        return all(can_pass(t, recorded) for t in params)
    if name == "any":
        return any(can_pass(t, recorded) for t in params)
    if name in ("not", "late_registration", "age", "sex", "on_register", "registered_within"):
        return True  # passes without any code
    if name == "bp_at_target":
        return all(any(c in recorded for c in params[k]) for k in ("systolic", "diastolic"))
    if name in ("has", "latest_value", "latest_is", "invited", "first_within", "first_on_or_after", "near_first",
                "given_at_age"):
        return any(c in recorded for c in ([params["clusters"]] if isinstance(params["clusters"], str)
                                           else params["clusters"]))
    return True


def never_recorded(indicator: Indicator, recorded: Set[str]) -> list[tuple[str, tuple[str, ...]]]:
    """(rule number, clusters never recorded) for each success rule that no patient of the practice can pass."""
    out = []
    for step in indicator.rules:
        if step.if_true.outcome != "numerator" or can_pass(step.test, recorded):
            continue
        out.append((step.number, tuple(sorted(clusters_in(step.test) - set(recorded)))))
    return out


def findings_for(
    indicator: Indicator, readiness: IndicatorReadiness, recorded: Set[str] | None
) -> list[ScoringFinding]:
    """The findings of one scorable indicator; ``recorded`` (clusters the practice ever recorded) None: not
    known, so only the stand-ins are said."""
    out: list[ScoringFinding] = []
    if recorded is not None and indicator.kind == "patient":
        blocked = never_recorded(indicator, recorded)
        successes = sum(1 for s in indicator.rules if s.if_true.outcome == "numerator")
        for number, clusters in blocked:
            whole = " No patient can reach the numerator: a 0% here is a coding gap." if len(blocked) == successes \
                else ""
            out.append(ScoringFinding(
                indicator.id, "never-recorded", clusters,
                f"rule {number} needs {', '.join(clusters)}, which the practice has never recorded.{whole}",
            ))
    if readiness.stand_ins:
        notes = {c.cluster: c.note for c in readiness.clusters if c.status == "stand-in"}
        detail = "; ".join(f"{c}: {notes[c]}" if notes.get(c) else c for c in readiness.stand_ins)
        out.append(ScoringFinding(
            indicator.id, "stand-in", readiness.stand_ins,
            f"counted with stand-in codelists, not the published refsets ({detail})",
        ))
    return out

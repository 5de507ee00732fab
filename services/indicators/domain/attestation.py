"""Attestation indicators (QI013, QI014, QI016–QI019): practice-declared evidence, all-or-nothing points.

QI points are entered manually in CQRS before 31 March (QOF_RULES.md §6 [S]); binary scoring is [U].
QI014 needs two network meetings: one at the start and one towards the end
of the QI activity, both in the year.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from .errors import IndicatorsError
from .money import indicator_value
from .ruleset import Indicator, YearSettings


@dataclass(frozen=True)
class AttestationEvidence:
    activity: str = ""  # what was done
    plan: str = ""  # the QI plan / approach
    network_meetings: tuple[date, ...] = field(default_factory=tuple)
    declared_on: date | None = None


@dataclass(frozen=True)
class AttestationScore:
    indicator_id: str
    achieved: bool
    points: float
    value_gbp: float
    reasons: tuple[str, ...]


def score_attestation(
    indicator: Indicator, evidence: AttestationEvidence, settings: YearSettings, *, cpi: float
) -> AttestationScore:
    if indicator.kind != "attestation" or indicator.attestation is None:
        raise IndicatorsError(
            f"{indicator.id} is not an attestation indicator",
            hint="score patient indicators with score_indicator",
        )
    spec = indicator.attestation
    reasons: list[str] = []
    if "activity" in spec.evidence and not evidence.activity.strip():
        reasons.append("no QI activity described")
    if "plan" in spec.evidence and not evidence.plan.strip():
        reasons.append("no plan recorded")
    if spec.min_meetings:
        in_year = sorted(d for d in evidence.network_meetings if settings.start <= d <= settings.pped)
        if len(set(in_year)) < spec.min_meetings:
            reasons.append(f"{len(set(in_year))} of {spec.min_meetings} network meetings in the year")
    if evidence.declared_on is not None and evidence.declared_on > settings.pped:
        reasons.append("declared after 31 March")
    ok = not reasons
    pts = float(indicator.points.value) if ok else 0.0
    # QI points are not prevalence-adjusted: CPI only
    return AttestationScore(
        indicator.id, ok, pts, indicator_value(pts, settings.pound_per_point.value, cpi, None), tuple(reasons)
    )

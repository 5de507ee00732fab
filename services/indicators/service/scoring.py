"""Practice achievement from outcome counts: the same scoring for the stored state and for live runs.

Counts are ``(rule set, indicator) -> (status, field) -> patients``; the stored path gets them from one
``GROUP BY`` over the outcomes table, live runs (another date, year-end, what-if, benchmarks) count the
engine's outcomes in memory. Both then go through the domain's ``score_indicator`` and ``score_attestation``.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass, field
from datetime import date
from itertools import repeat
from typing import NamedTuple

from services.indicators.domain import (
    AttestationEvidence,
    Indicator,
    IndicatorScore,
    IndicatorsError,
    PatientOutcome,
    PracticeContext,
    RuleSet,
    load_contract,
    score_attestation,
    score_indicator,
)
from services.indicators.domain.engine import standing_of
from services.indicators.domain.findings import ScoringFinding, findings_for
from services.indicators.domain.scoring import incomplete_score
from services.indicators.service.kernel import Kernel

Counts = dict[tuple[str, str], dict[tuple[str, str | None], int]]

STORED_STATUS = {
    "numerator": "numerator",
    "denominator_only": "denominator_only",
    "pca": "pca",
    "excluded_from_population": "excluded",
}
ENGINE_STATUS = {v: k for k, v in STORED_STATUS.items()}


class _Stub(NamedTuple):
    indicator_id: str
    status: str
    field: str | None


@dataclass(frozen=True)
class Result:
    """One indicator of the practice's contract, scored (or named incomplete / attestation)."""

    ruleset: RuleSet
    indicator: Indicator
    readiness: str  # ready | stand-in | provisional (a lower bound) | incomplete | attestation
    score: IndicatorScore
    pounds: float | None
    missing_clusters: tuple[str, ...] = ()
    stand_in_clusters: tuple[str, ...] = ()
    money_note: str = ""
    attestation_reasons: tuple[str, ...] = ()
    readiness_note: str = ""
    improvement_note: str = ""  # an improvement route: the baseline it was scored on, or why there is none
    findings: tuple[ScoringFinding, ...] = ()  # never-recorded success codes, stand-ins

    @property
    def pcas_total(self) -> int:
        return sum(self.score.pcas.values())

    @property
    def standing(self) -> str:
        """How far the figures can be relied on: confirmed, provisional (a lower bound) or incomplete."""
        return standing_of(self.readiness)


@dataclass(frozen=True)
class PracticeFigures:
    achievement_date: date
    list_size: int
    register_sizes: Mapping[str, int] = field(default_factory=dict)  # prevalence group -> register size
    # register id -> members on the date: every register defined for the date's QOF year, 0 when empty
    by_register: Mapping[str, int] = field(default_factory=dict)
    baselines: Mapping[str, float] = field(default_factory=dict)  # indicator id -> improvement baseline %

    def context(self) -> PracticeContext:
        return PracticeContext(
            list_size=self.list_size, register_sizes=dict(self.register_sizes), baselines=dict(self.baselines)
        )


def figures(kernel: Kernel, day: date, list_size: int, by_register: Mapping[str, int]) -> PracticeFigures:
    groups = {g: by_register.get(reg, 0) for g, reg in kernel.group_register.items()}
    defined = {d.id: 0 for d in kernel.register_rules.compiled_on(day).definitions}
    return PracticeFigures(day, list_size, groups, defined | dict(by_register))


def count_outcomes(pairs: Iterable[tuple[str, PatientOutcome]]) -> Counts:
    counts: Counts = defaultdict(lambda: defaultdict(int))  # type: ignore[arg-type]
    for ruleset_id, o in pairs:
        counts[(ruleset_id, o.indicator_id)][(STORED_STATUS[o.status], o.field)] += 1
    return counts


def contract_indicators(
    kernel: Kernel, practice: str, ruleset_id: str, local_scheme_id: str | None
) -> list[tuple[RuleSet, Indicator]]:
    kernel.engine(ruleset_id)
    if local_scheme_id:
        kernel.engine(local_scheme_id)
    return load_contract(practice, ruleset_id, local_scheme_id).indicators()


def score_all(
    kernel: Kernel,
    indicators: Iterable[tuple[RuleSet, Indicator]],
    counts: Counts,
    practice: PracticeFigures,
    attestations: Mapping[tuple[str, str], AttestationEvidence] | None = None,
    recorded_codes: Set[str] | None = None,
) -> list[Result]:
    """``recorded_codes``: every code the practice recorded up to the date, to say which success rules no
    patient can pass (None: not looked up, only stand-ins are said)."""
    ctx = practice.context()
    recorded: dict[str, set[str]] = {}
    out: list[Result] = []
    for rs, ind in indicators:
        readiness = kernel.engine(rs.id).readiness[ind.id]
        if readiness.readiness == "attestation":
            out.append(_attestation(rs, ind, ctx, (attestations or {}).get((rs.id, ind.id))))
            continue
        if readiness.readiness == "incomplete":
            out.append(Result(rs, ind, "incomplete", incomplete_score(ind, readiness.missing), None, readiness.missing,
                              readiness_note="; ".join(readiness.not_a_lower_bound)))
            continue
        by_status = counts.get((rs.id, ind.id), {})
        stubs = [repeat(_Stub(ind.id, ENGINE_STATUS[s], f), n) for (s, f), n in by_status.items()]
        outcomes = [x for chunk in stubs for x in chunk]
        note = ""
        try:
            score = score_indicator(ind, outcomes, ctx, rs.settings)  # type: ignore[arg-type]
            pounds: float | None = score.value_gbp
        except IndicatorsError as exc:
            plain = dataclasses.replace(
                ind, prevalence_adjusted=dataclasses.replace(ind.prevalence_adjusted, value=False)
            )
            score = score_indicator(plain, outcomes, ctx, rs.settings)  # type: ignore[arg-type]
            pounds, note = None, exc.message
        if recorded_codes is not None and rs.id not in recorded:
            code_clusters = kernel.engine(rs.id).code_clusters
            recorded[rs.id] = {c for code in recorded_codes for c in code_clusters.get(code, ())}
        found = findings_for(ind, readiness, recorded.get(rs.id))
        # provisional: scored with its missing PCA clusters empty, a lower bound that names them
        out.append(Result(rs, ind, readiness.readiness, score, pounds, readiness.missing, readiness.stand_ins, note,
                          readiness_note=lower_bound_note(readiness.missing),
                          improvement_note=improvement_note(ind, practice.baselines), findings=tuple(found)))
    return out


def improvement_note(ind: Indicator, baselines: Mapping[str, float]) -> str:
    route = ind.improvement
    if route is None:
        return ""
    if ind.id in baselines:
        return (f"improvement route on the practice's own baseline of {baselines[ind.id]:.2f} % (its "
                f"{route.baseline_years} previous years' final achievement, from the record): the higher route paid")
    return (f"improvement route not scored: no baseline (the final achievement of the {route.baseline_years} "
            "previous years is not computed from the record yet, or a year cannot be)")


def lower_bound_note(missing: tuple[str, ...]) -> str:
    if not missing:
        return ""
    return (f"lower bound: no codes for {', '.join(missing)} (PCA / invitation steps only); patients those "
            "steps would adjust out are counted in the denominator, so achievement, points and £ can only rise")


def _attestation(rs: RuleSet, ind: Indicator, ctx: PracticeContext, evidence: AttestationEvidence | None) -> Result:
    cpi = ctx.list_size / rs.settings.national_average_list_size.value
    att = score_attestation(ind, evidence or AttestationEvidence(), rs.settings, cpi=cpi)
    reasons = att.reasons if evidence is not None else ("no attestation recorded",)
    score = IndicatorScore(
        ind.id,
        "scored",
        0,
        0,
        0,
        {},
        {},
        100.0 if att.achieved else None,
        att.points,
        float(ind.points.value),
        cpi,
        None,
        att.value_gbp,
    )
    return Result(rs, ind, "attestation", score, att.value_gbp, attestation_reasons=reasons)

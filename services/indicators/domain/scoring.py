"""Indicator scoring: counts, achievement, points (linear between thresholds) and £ (QOF_RULES.md §4).

``achievement = numerator ÷ (denominator)`` where the denominator already excludes PCAs and exclusions.
Points are 0 at or below the lower threshold, the maximum at or above the upper threshold, linear between,
and 0 for an empty denominator. Register indicators score full points when the register is not empty.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from .engine import CompiledRuleSet, PatientOutcome
from .errors import IndicatorsError
from .money import apdf as apdf_of
from .money import cpi as cpi_of
from .money import indicator_value
from .ruleset import ImprovementRoute, Indicator, YearSettings


@dataclass(frozen=True)
class PracticeContext:
    """Practice figures for money. Give ``cpi``/``apdf`` directly, or the sizes they are computed from."""

    list_size: float
    register_sizes: Mapping[str, float] = field(default_factory=dict)  # prevalence group (e.g. "AF") → count
    cpi: float | None = None
    apdf: Mapping[str, float] = field(default_factory=dict)  # prevalence group → APDF override
    national_prevalence: Mapping[str, float] = field(default_factory=dict)  # fraction overrides
    # indicator id -> the practice's own baseline % for an improvement route (absent: no baseline)
    baselines: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class IndicatorScore:
    indicator_id: str
    status: str  # "scored" | "incomplete"
    register_size: int
    denominator: int
    numerator: int
    pcas: Mapping[str, int]
    exclusions: Mapping[str, int]
    achievement_pct: float | None
    points: float
    max_points: float
    cpi: float | None
    apdf: float | None
    value_gbp: float
    missing_clusters: tuple[str, ...] = ()


def points_for(achievement_pct: float | None, max_points: float, lower: float, upper: float) -> float:
    if achievement_pct is None or achievement_pct <= lower:
        return 0.0
    if achievement_pct >= upper:
        return float(max_points)
    return (achievement_pct - lower) / (upper - lower) * max_points


def improvement_baseline(previous_years_pct: Sequence[float | None], years: int = 2) -> float | None:
    """The practice's own baseline: the mean achievement of its ``years`` previous QOF years (most recent
    first); None when any of them cannot be computed from the record (nothing is guessed)."""
    recent = list(previous_years_pct[:years])
    if len(recent) < years or any(p is None for p in recent):
        return None
    return sum(p for p in recent if p is not None) / years


def improvement_points(
    achievement_pct: float | None, baseline_pct: float | None, max_points: float, route: ImprovementRoute
) -> float:
    """Points on the improvement route: nothing up to ``lower_gain_pp`` above the baseline, all at
    ``upper_gain_pp`` above it, linear between (the shape of the threshold scale; its upper end is [U])."""
    if achievement_pct is None or baseline_pct is None:
        return 0.0
    return points_for(
        achievement_pct - baseline_pct, max_points, route.lower_gain_pp.value, route.upper_gain_pp.value
    )


def points_with_improvement(
    achievement_pct: float | None,
    baseline_pct: float | None,
    max_points: float,
    lower: float,
    upper: float,
    route: ImprovementRoute | None,
) -> float:
    """The higher of the threshold route and (where the indicator has one) the improvement route."""
    by_threshold = points_for(achievement_pct, max_points, lower, upper)
    if route is None:
        return by_threshold
    return max(by_threshold, improvement_points(achievement_pct, baseline_pct, max_points, route))


def _money(
    indicator: Indicator, points: float, ctx: PracticeContext, settings: YearSettings
) -> tuple[float, float | None]:
    c = ctx.cpi if ctx.cpi is not None else cpi_of(ctx.list_size, settings.national_average_list_size.value)
    a: float | None = None
    if indicator.prevalence_adjusted.value:
        group = indicator.prevalence_group
        if group is not None and group in ctx.apdf:
            a = ctx.apdf[group]
        else:
            if group is None:
                raise IndicatorsError(
                    f"{indicator.id}: no prevalence group for the APDF",
                    hint="give the indicator a prevalence group, or pass PracticeContext(apdf={...}) explicitly",
                )
            nat = ctx.national_prevalence.get(group, settings.national_prevalence.by_group.get(group))
            if nat is None or group not in ctx.register_sizes:
                raise IndicatorsError(
                    f"{indicator.id}: cannot compute the APDF for {group}",
                    hint="give PracticeContext.register_sizes[group] (and national prevalence)",
                )
            a = apdf_of(ctx.register_sizes[group], ctx.list_size, nat)
    return indicator_value(points, settings.pound_per_point.value, c, a), a


def score_indicator(
    indicator: Indicator,
    outcomes: Iterable[PatientOutcome],
    practice: PracticeContext,
    settings: YearSettings,
    *,
    register_size: int | None = None,
) -> IndicatorScore:
    """Score one indicator from the outcomes of all the practice's patients (others' are ignored)."""
    counts: Counter[str] = Counter()
    pcas: Counter[str] = Counter()
    excl: Counter[str] = Counter()
    for o in outcomes:
        if o.indicator_id != indicator.id:
            continue
        counts[o.status] += 1
        if o.status == "pca":
            pcas[o.field or "?"] += 1
        elif o.status == "excluded_from_population":
            excl[o.field or "?"] += 1
    num = counts["numerator"]
    den = num + counts["denominator_only"]
    reg = register_size if register_size is not None else sum(counts.values())
    if indicator.kind == "register":
        pct = 100.0 if num > 0 else None
        pts = float(indicator.points.value) if num > 0 else 0.0
        den = num
    else:
        pct = 100.0 * num / den if den else None
        assert indicator.lower_threshold and indicator.upper_threshold
        pts = points_with_improvement(
            pct,
            practice.baselines.get(indicator.id),
            indicator.points.value,
            indicator.lower_threshold.value,
            indicator.upper_threshold.value,
            indicator.improvement,
        )
    c = (
        practice.cpi
        if practice.cpi is not None
        else cpi_of(practice.list_size, settings.national_average_list_size.value)
    )
    value, a = _money(indicator, pts, practice, settings) if pts else (0.0, None)
    return IndicatorScore(
        indicator.id,
        "scored",
        reg,
        den,
        num,
        dict(pcas),
        dict(excl),
        pct,
        pts,
        float(indicator.points.value),
        c,
        a,
        value,
    )


def incomplete_score(indicator: Indicator, missing: tuple[str, ...]) -> IndicatorScore:
    return IndicatorScore(
        indicator.id,
        "incomplete",
        0,
        0,
        0,
        {},
        {},
        None,
        0.0,
        float(indicator.points.value),
        None,
        None,
        0.0,
        missing,
    )


def score_practice(
    engine: CompiledRuleSet, outcomes: Iterable[PatientOutcome], practice: PracticeContext
) -> list[IndicatorScore]:
    """Scores for every patient-level and register indicator of the rule set; incomplete ones say why."""
    grouped: dict[str, list[PatientOutcome]] = {}
    for o in outcomes:
        grouped.setdefault(o.indicator_id, []).append(o)
    out: list[IndicatorScore] = []
    for ind in engine.ruleset.indicators:
        r = engine.readiness[ind.id]
        if r.readiness == "attestation":
            continue
        if r.readiness == "incomplete":
            out.append(incomplete_score(ind, r.missing))
        else:
            out.append(score_indicator(ind, grouped.get(ind.id, []), practice, engine.ruleset.settings))
    return out

"""Response and request bodies of the indicators API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal, overload

from pydantic import BaseModel, ConfigDict, Field

from services.indicators.domain import Sourced
from services.indicators.domain.findings import ScoringFinding
from services.indicators.service.achievement import Achievement
from services.indicators.service.freshness import Freshness
from services.indicators.service.scoring import Result


class Provenance(BaseModel):
    value: Any
    confidence: Literal["V", "S", "U"] = Field(description="V verified, S secondary source, U unverified")
    source: str
    note: str = ""


@overload
def prov(s: Sourced[Any]) -> Provenance: ...
@overload
def prov(s: None) -> None: ...
@overload
def prov(s: Sourced[Any] | None) -> Provenance | None: ...
def prov(s: Sourced[Any] | None) -> Provenance | None:
    return None if s is None else Provenance(value=s.value, confidence=s.confidence, source=s.source, note=s.note)


class FindingOut(BaseModel):
    indicator_id: str
    kind: str = Field(description="never-recorded (a success rule needs codes the practice never recorded) | "
                      "stand-in (a cluster is served by a stand-in codelist)")
    clusters: list[str]
    text: str


class IndicatorOut(BaseModel):
    indicator_id: str
    ruleset: str
    wording: str
    group: str
    domain: str
    kind: str
    readiness: str = Field(
        description="ready | stand-in | provisional (scored without some PCA clusters: a lower bound) | "
        "incomplete (never scored) | attestation"
    )
    standing: str = Field(description="confirmed | provisional (points and £ are a lower bound: a PCA or "
                          "invitation codelist is missing) | incomplete. Not the freshness flag of the same name, "
                          "which says the figures are still catching up with events")
    missing_clusters: list[str] = Field(description="Clusters with no codes (provisional: its PCA steps')")
    readiness_note: str = Field("", description="Provisional: what the lower bound leaves out; incomplete: why "
                                "the missing clusters do not allow a lower bound")
    improvement_note: str = Field("", description="An indicator with an improvement route (2026/27 VI001-VI003): "
                                  "the practice's own baseline it was scored on, or why there is none")
    stand_in_clusters: list[str]
    register_size: int
    denominator: int
    numerator: int
    pcas: dict[str, int] = Field(description="Personalised care adjustments per PCA field")
    exclusions: dict[str, int] = Field(description="Patients outside the population per exclusion field")
    achievement_pct: float | None
    points: float
    max_points: float
    pounds: float | None
    cpi: float | None
    apdf: float | None
    lower_threshold: Provenance | None
    upper_threshold: Provenance | None
    points_provenance: Provenance
    prevalence_adjusted: Provenance
    rules_provenance: Provenance
    money_note: str = ""
    attestation_reasons: list[str] = []
    findings: list[FindingOut] = Field([], description="What the figure rests on that the practice should know "
                                       "(a 0% from codes never recorded, stand-in codelists)")
    freshness: FreshnessOut | None = Field(default=None, description="Set on the one-indicator answer")


def indicator_out(r: Result) -> IndicatorOut:
    s, i = r.score, r.indicator
    return IndicatorOut(
        indicator_id=i.id,
        ruleset=r.ruleset.id,
        wording=i.wording,
        group=i.group,
        domain=i.domain,
        kind=i.kind,
        readiness=r.readiness,
        standing=r.standing,
        missing_clusters=list(r.missing_clusters),
        readiness_note=r.readiness_note,
        improvement_note=r.improvement_note,
        stand_in_clusters=list(r.stand_in_clusters),
        register_size=s.register_size,
        denominator=s.denominator,
        numerator=s.numerator,
        pcas=dict(s.pcas),
        exclusions=dict(s.exclusions),
        achievement_pct=None if s.achievement_pct is None else round(s.achievement_pct, 2),
        points=round(s.points, 2),
        max_points=s.max_points,
        pounds=None if r.pounds is None else round(r.pounds, 2),
        cpi=None if s.cpi is None else round(s.cpi, 4),
        apdf=None if s.apdf is None else round(s.apdf, 4),
        lower_threshold=prov(i.lower_threshold),
        upper_threshold=prov(i.upper_threshold),
        points_provenance=prov(i.points),
        prevalence_adjusted=prov(i.prevalence_adjusted),
        rules_provenance=prov(i.chain),
        money_note=r.money_note,
        attestation_reasons=list(r.attestation_reasons),
        findings=[finding_out(f) for f in r.findings],
    )


def finding_out(f: ScoringFinding) -> FindingOut:
    return FindingOut(indicator_id=f.indicator_id, kind=f.kind, clusters=list(f.clusters), text=f.text)


def data_quality_of(a: Achievement) -> list[FindingOut]:
    """The scoring findings of every indicator, in the order of the indicators."""
    return [finding_out(f) for r in a.results for f in r.findings]


class Subtotal(BaseModel):
    key: str
    points: float
    max_points: float
    pounds: float


class Standing(BaseModel):
    """The points of the indicators of one standing, kept apart from the others'."""

    indicators: list[str]
    points: float
    max_points: float
    pounds: float


class Totals(BaseModel):
    points: float
    max_points: float
    pounds: float
    incomplete_indicators: list[str]
    confirmed: Standing = Field(description="Indicators scored with every cluster they read")
    provisional: Standing = Field(
        description="Scored without some PCA / invitation clusters: their points and £ are a lower bound"
    )
    incomplete: Standing = Field(description="Not scored (a register, population or success cluster is missing)")
    by_domain: list[Subtotal]
    by_group: list[Subtotal]


class FreshnessOut(BaseModel):
    as_of: datetime | None = Field(description="Time of the newest event applied for this practice (null: none yet)")
    applied_at: datetime | None = Field(description="When that batch of events was applied and re-scored")
    pending_events: int = Field(description="Events of this practice received and not yet applied")
    provisional: bool = Field(description="True while the figures are catching up (events pending or re-scoring). "
                              "Not the same as an indicator's standing 'provisional' (a lower bound because a "
                              "PCA or invitation codelist is missing): this one passes once the events are applied")


def freshness_out(f: Freshness | None) -> FreshnessOut:
    if f is None:
        return FreshnessOut(as_of=None, applied_at=None, pending_events=0, provisional=False)
    return FreshnessOut(as_of=f.as_of, applied_at=f.applied_at, pending_events=f.pending_events,
                        provisional=f.provisional)


FRESHNESS = Field(description="As of when these figures stand and whether they are still catching up")


class YearOut(BaseModel):
    """Which QOF year an answer is for and whether it is closed: said by every answer for a date."""

    qof_year: str = Field(description="The QOF year scored, e.g. 2025/26 (1 April 2025 to 31 March 2026)")
    year_closed: bool = Field(description="True when that year's end (PPED) is before today")
    note: str = Field("", description="What the answer must say, e.g. that no rule set covers today's year")


def year_out(a: Achievement) -> dict[str, Any]:
    """The :class:`YearOut` fields of an achievement, to spread into any answer built on it."""
    return {"qof_year": a.period.qof_year, "year_closed": a.period.closed, "note": a.period.note}


class OneIndicatorOut(IndicatorOut, YearOut):
    """One indicator's answer: the year and the date it is for, and how fresh the figures are."""

    achievement_date: date


def one_indicator_out(a: Achievement, r: Result) -> OneIndicatorOut:
    return OneIndicatorOut(
        **indicator_out(r).model_dump(exclude={"freshness"}),
        **year_out(a),
        achievement_date=a.period.achievement_date,
        freshness=freshness_out(a.freshness),
    )


class AchievementOut(YearOut):
    practice: str
    ruleset: str
    local_scheme: str | None
    view: str = Field(description="today | year-end | on")
    achievement_date: date
    pped: date
    register_sizes: dict[str, int] = Field(
        description="Patients on each register on the achievement date, derived from the dated record "
        "(the registers service's GET registers?on= gives the same): every register defined for that QOF year, "
        "0 when no patient is on it"
    )
    registers_not_scored: dict[str, str] = Field(
        {}, description="The registers of register_sizes that no indicator scored here reads (e.g. OSTEO_REG "
        "from 2025/26, when OST004 was retired), each with why: counted, but nothing is scored or paid on them"
    )
    list_size: int = Field(description="Patients registered on the achievement date (the CPI list size)")
    cpi: float
    source: str = Field(description="stored (kept current from events) or live (computed for this date)")
    freshness: FreshnessOut = FRESHNESS
    totals: Totals
    data_quality: list[FindingOut] = Field(
        [], description="Scoring findings of every indicator: success rules needing codes the practice never "
        "recorded, clusters served by stand-ins; GET data-quality lists the same (the record's own findings: the "
        "registers service's quality report)"
    )
    indicators: list[IndicatorOut]


def _subtotals(results: list[Result], key: str) -> list[Subtotal]:
    acc: dict[str, list[float]] = {}
    for r in results:
        k = getattr(r.indicator, key) or "-"
        a = acc.setdefault(k, [0.0, 0.0, 0.0])
        a[0] += r.score.points
        a[1] += r.score.max_points
        a[2] += r.pounds or 0.0
    return [
        Subtotal(key=k, points=round(a[0], 2), max_points=a[1], pounds=round(a[2], 2)) for k, a in sorted(acc.items())
    ]


def _standing(results: list[Result], standing: str) -> Standing:
    mine = [r for r in results if r.standing == standing]
    return Standing(
        indicators=[r.indicator.id for r in mine],
        points=round(sum(r.score.points for r in mine), 2),
        max_points=sum(r.score.max_points for r in mine),
        pounds=round(sum(r.pounds or 0.0 for r in mine), 2),
    )


def registers_not_scored(a: Achievement) -> dict[str, str]:
    """The registers counted on the date that no indicator of the rule sets scored reads, with why."""
    rulesets = {r.ruleset.id: r.ruleset for r in a.results}
    read = frozenset().union(*(rs.registers_read for rs in rulesets.values()))
    scored = ", ".join(sorted(rulesets)) or "none (no indicator is scored)"
    return {
        reg: f"no indicator of QOF {a.period.qof_year} ({scored}) reads {reg}: its patients are counted, "
        "nothing is scored or paid on it this year"
        for reg in sorted(a.figures.by_register)
        if reg not in read
    }


def achievement_out(a: Achievement) -> AchievementOut:
    rs = a.contract
    results = a.results
    settings = a.results[0].ruleset.settings if a.results else None
    cpi = a.figures.list_size / settings.national_average_list_size.value if settings else 0.0
    totals = Totals(
        points=round(sum(r.score.points for r in results), 2),
        max_points=sum(r.score.max_points for r in results),
        pounds=round(sum(r.pounds or 0.0 for r in results), 2),
        incomplete_indicators=[r.indicator.id for r in results if r.readiness == "incomplete"],
        confirmed=_standing(results, "confirmed"),
        provisional=_standing(results, "provisional"),
        incomplete=_standing(results, "incomplete"),
        by_domain=_subtotals(results, "domain"),
        by_group=_subtotals(results, "group"),
    )
    return AchievementOut(
        practice=a.practice,
        ruleset=rs.ruleset_id,
        local_scheme=rs.local_scheme_id,
        view=a.period.view,
        **year_out(a),
        achievement_date=a.period.achievement_date,
        pped=a.period.pped,
        register_sizes=dict(sorted(a.figures.by_register.items())),
        registers_not_scored=registers_not_scored(a),
        list_size=a.figures.list_size,
        cpi=round(cpi, 4),
        source=a.source,
        freshness=freshness_out(a.freshness),
        totals=totals,
        data_quality=data_quality_of(a),
        indicators=[indicator_out(r) for r in results],
    )


class ContractIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ruleset_id: str = Field(description="A QOF year rule set, e.g. qof-2025-26")
    local_scheme_id: str | None = Field(None, description="Optional local scheme replacing some QOF indicators")


class ContractOut(BaseModel):
    practice: str
    ruleset_id: str
    local_scheme_id: str | None
    opted_out: list[str]
    default: bool = Field(description="True when no contract was recorded and the default rule set applies")
    scored_on: str = Field(description="The QOF rule set scored today: on 1 April a practice moves to the new "
                           "year's rule set on its own where one exists")
    scored_local_scheme: str | None = Field(description="The local scheme scored today (only while it covers today)")
    qof_year: str = Field(description="The QOF year scored today, e.g. 2026/27")
    note: str = Field("", description="Said when the recorded rule set is not the one scored today, or when no "
                      "rule set covers today's year")


class AttestationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    activity: str = Field("", max_length=4000, description="The QI activity undertaken")
    plan: str = Field("", max_length=4000, description="The QI plan / approach")
    network_meetings: list[date] = Field(default_factory=list, max_length=50)
    declared_on: date | None = None


class AttestationOut(BaseModel):
    practice: str
    ruleset: str
    indicator_id: str
    achieved: bool
    points: float
    max_points: float
    pounds: float | None
    reasons: list[str]

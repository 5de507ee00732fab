"""ICB benchmarks for analytics tokens: aggregates only, small numbers suppressed."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from services.indicators.api.deps import Analyst, KernelDep, ScoringRead, require_ruleset
from services.indicators.service.benchmarks import Row, all_benchmarks, benchmarks, practices_of
from services.indicators.service.freshness import Freshness, freshness_of
from services.indicators.service.kernel import Kernel, qof_year_label
from services.indicators.service.scoring import lower_bound_note
from shared.auth import Principal
from shared.disclosure import describe
from shared.organisations import Organisation
from shared.problems import forbidden, invalid, not_found
from shared.service import RuntimeDep

router = APIRouter(prefix="/v1/icbs/{icb}", tags=["benchmarks"], dependencies=[ScoringRead])


class BenchmarkRow(BaseModel):
    level: str = Field(description="practice | pcn | icb (the ICB total, on the whole ICB's counts)")
    code: str = Field(description="Practice, PCN or ICB ODS code")
    pcn: str | None
    practices: int
    register_size: int | None
    denominator: int | None
    numerator: int | None
    pcas: int | None
    achievement_pct: float | None = Field(
        description="From the rounded counts shown; withheld when a count is suppressed")
    suppressed: bool
    as_of: datetime | None = Field(description="Practice rows: time of the newest event applied; PCN rows: the "
                                   "oldest of their practices")
    behind: bool = Field(description="Still catching up (events pending or re-scoring): figures are provisional")
    pending_events: int = Field(description="Events received and not yet applied, of this row's practices")


class StandingOut(BaseModel):
    """The indicator's standing under the active codelist release: the same for every row."""

    standing: str = Field(description="confirmed | provisional (scored without some PCA / invitation clusters: "
                          "every row's achievement is a lower bound) | incomplete (not scored: no rows)")
    missing_clusters: list[str] = Field(description="Clusters with no codes (provisional: its PCA steps')")
    standing_note: str = Field(description="Provisional: what the lower bound leaves out; incomplete: why")


def standing_out(kernel: Kernel, ruleset: str, indicator_id: str) -> dict[str, Any]:
    """The :class:`StandingOut` fields of one indicator, to spread into an answer about it."""
    r = kernel.engine(ruleset).readiness[indicator_id]
    note = lower_bound_note(r.missing) if r.lower_bound else "; ".join(r.not_a_lower_bound)
    return StandingOut(standing=r.standing, missing_clusters=list(r.missing), standing_note=note).model_dump()


class BenchmarksOut(StandingOut):
    icb: str
    indicator_id: str
    ruleset: str
    suppression: str
    practices_behind: list[str] = Field(description="Practices whose figures are still catching up")
    rows: list[BenchmarkRow]


def row_out(r: Row, fresh: dict[str, Freshness], orgs: dict[str, Organisation], behind: list[str]) -> BenchmarkRow:
    """One row with how fresh it is: a practice's own time, a PCN's or the ICB's oldest practice."""
    members = [r.code] if r.kind == "practice" else [p for p in fresh if r.kind == "icb" or orgs[p].pcn_ods == r.code]
    times = [fresh[p].as_of for p in members]
    as_of = None if not times or None in times else min(t for t in times if t is not None)
    return BenchmarkRow(
        level=r.kind,
        code=r.code,
        pcn=r.pcn,
        practices=r.practices,
        register_size=r.register_size,
        denominator=r.denominator,
        numerator=r.numerator,
        pcas=r.pcas,
        achievement_pct=r.achievement_pct,
        suppressed=r.suppressed,
        as_of=as_of,
        behind=any(p in behind for p in members),
        pending_events=sum(fresh[p].pending_events for p in members),
    )


def check_icb(principal: Principal, icb: str) -> None:
    if (principal.icb or "").upper() != icb.upper():
        raise forbidden(f"This token does not grant access to ICB {icb}")
    if not practices_of(icb):
        raise not_found(f"ICB {icb}")


@router.get("/benchmarks", response_model=BenchmarksOut, summary="Per-practice and per-PCN aggregates of an ICB")
async def get_benchmarks(
    icb: str,
    rt: RuntimeDep,
    kernel: KernelDep,
    principal: Analyst,
    indicator: Annotated[str, Query(min_length=2, max_length=20, description="e.g. DM020")],
    ruleset: Annotated[
        str | None, Query(description="Rule set, e.g. qof-2025-26 (default: the one scored today)")
    ] = None,
) -> BenchmarksOut:
    ruleset = ruleset or kernel.qof_ruleset_in_force(kernel.today()) or kernel.default_ruleset
    check_icb(principal, icb)
    require_ruleset(kernel, ruleset, "ruleset")
    if indicator.upper() not in {i.id for i in kernel.ruleset(ruleset).indicators}:
        raise invalid(
            [{"field": "indicator", "reason": f"{indicator} is not an indicator of {ruleset}", "location": "query"}]
        )
    async with rt.sessions() as s:
        rows = await benchmarks(s, icb, indicator.upper(), ruleset)
        orgs = practices_of(icb)
        fresh = await freshness_of(s, orgs)
    behind = sorted(p for p, f in fresh.items() if f.provisional)

    return BenchmarksOut(
        icb=icb.upper(),
        indicator_id=indicator.upper(),
        ruleset=ruleset,
        suppression=describe(),
        practices_behind=behind,
        rows=[row_out(r, fresh, orgs, behind) for r in rows],
        **standing_out(kernel, ruleset, indicator.upper()),
    )


class IndicatorBenchmarks(StandingOut):
    indicator_id: str
    wording: str
    group: str
    rows: list[BenchmarkRow] = Field(description="Practices, PCNs, then the ICB total")


class AllBenchmarksOut(BaseModel):
    icb: str
    ruleset: str
    qof_year: str
    suppression: str
    practices: list[str] = Field(description="The ICB's practices (ODS codes)")
    practices_behind: list[str] = Field(description="Practices whose figures are still catching up")
    indicators: list[IndicatorBenchmarks] = Field(description="Every patient-level and register indicator of the "
                                                  "rule set, with a row for each practice that has figures")


@router.get("/benchmarks/indicators", response_model=AllBenchmarksOut,
            summary="Every indicator at once: per-practice, per-PCN and ICB-total aggregates, small numbers withheld")
async def get_all_benchmarks(
    icb: str,
    rt: RuntimeDep,
    kernel: KernelDep,
    principal: Analyst,
    ruleset: Annotated[str | None, Query(description="Default: the QOF year containing today")] = None,
) -> AllBenchmarksOut:
    check_icb(principal, icb)
    rid = ruleset or kernel.qof_ruleset_in_force(kernel.today()) or kernel.default_ruleset
    require_ruleset(kernel, rid, "ruleset")
    rs = kernel.ruleset(rid)
    async with rt.sessions() as s:
        found = await all_benchmarks(s, icb, rid)
        orgs = practices_of(icb)
        fresh = await freshness_of(s, orgs)
    behind = sorted(p for p, f in fresh.items() if f.provisional)
    return AllBenchmarksOut(
        icb=icb.upper(),
        ruleset=rid,
        qof_year=qof_year_label(rs.settings.start),
        suppression=describe(),
        practices=sorted(orgs),
        practices_behind=behind,
        indicators=[
            IndicatorBenchmarks(indicator_id=i.id, wording=i.wording, group=i.group,
                                rows=[row_out(r, fresh, orgs, behind) for r in found.get(i.id, [])],
                                **standing_out(kernel, rid, i.id))
            for i in rs.indicators
            if i.kind != "attestation"
        ],
    )

"""ICB benchmarks for analytics tokens: aggregates only, small numbers suppressed."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from services.indicators.api.deps import Analyst, KernelDep, require_ruleset
from services.indicators.service.benchmarks import benchmarks, practices_of
from services.indicators.service.freshness import freshness_of
from shared.disclosure import describe
from shared.problems import forbidden, invalid, not_found
from shared.service import RuntimeDep

router = APIRouter(prefix="/v1/icbs/{icb}", tags=["benchmarks"])


class BenchmarkRow(BaseModel):
    level: str = Field(description="practice | pcn")
    code: str = Field(description="Practice or PCN ODS code")
    pcn: str | None
    practices: int
    register_size: int | None
    denominator: int | None
    numerator: int | None
    pcas: int | None
    achievement_pct: float | None = Field(description="From unrounded counts; withheld when a count is suppressed")
    suppressed: bool
    as_of: datetime | None = Field(description="Practice rows: time of the newest event applied; PCN rows: the "
                                   "oldest of their practices")
    behind: bool = Field(description="Still catching up (events pending or re-scoring): figures are provisional")


class BenchmarksOut(BaseModel):
    icb: str
    indicator_id: str
    ruleset: str
    suppression: str
    practices_behind: list[str] = Field(description="Practices whose figures are still catching up")
    rows: list[BenchmarkRow]


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
    if (principal.icb or "").upper() != icb.upper():
        raise forbidden(f"This token does not grant access to ICB {icb}")
    if not practices_of(icb):
        raise not_found(f"ICB {icb}")
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

    def as_of(code: str, kind: str) -> datetime | None:
        if kind == "practice":
            return fresh[code].as_of
        times = [f.as_of for p, f in fresh.items() if orgs[p].pcn_ods == code]
        return None if not times or None in times else min(t for t in times if t is not None)

    def late(code: str, kind: str) -> bool:
        return code in behind if kind == "practice" else any(orgs[p].pcn_ods == code for p in behind)
    return BenchmarksOut(
        icb=icb.upper(),
        indicator_id=indicator.upper(),
        ruleset=ruleset,
        suppression=describe(),
        practices_behind=behind,
        rows=[
            BenchmarkRow(
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
                as_of=as_of(r.code, r.kind),
                behind=late(r.code, r.kind),
            )
            for r in rows
        ],
    )

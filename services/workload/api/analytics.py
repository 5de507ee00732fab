"""ICB-wide aggregates for analytics tokens: counts of 7 or fewer suppressed, the rest rounded to 5."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from services.workload.api.deps import ByQ, FromQ, ToQ, WorkloadDep, dimensions, period
from services.workload.domain.reports import Tally, aggregate
from services.workload.schemas import AggregateOut, ProtectedGroupOut
from services.workload.store import repo
from services.workload.store.models import audit_log
from shared.audit import audit
from shared.auth import Principal, require_scope
from shared.disclosure import BASE, THRESHOLD, protect_count, protect_measure
from shared.organisations import practices_in_icb
from shared.problems import forbidden
from shared.service import RuntimeDep

router = APIRouter(prefix="/v1/icbs/{icb}/workload", tags=["workload analytics"])
Analyst = Annotated[Principal, Depends(require_scope("analytics:read"))]
ICB_DIMENSIONS = ("provider", "month", "category", "specialty")


def _protected(key: dict[str, str], tally: Tally) -> ProtectedGroupOut:
    count = protect_count(tally.items)
    return ProtectedGroupOut(
        key=key,
        items=count.value,
        suppressed=count.suppressed,
        hours=protect_measure(tally.items, tally.minutes / 60),
        cost=protect_measure(tally.items, float(tally.cost), 10),
    )


@router.get(
    "/aggregate",
    response_model=AggregateOut,
    summary="Transferred work across the ICB's practices (aggregates only, small numbers suppressed)",
)
async def icb_aggregate(
    icb: str,
    principal: Analyst,
    rt: RuntimeDep,
    wl: WorkloadDep,
    period_from: FromQ = None,
    period_to: ToQ = None,
    by: ByQ = "provider,category",
) -> AggregateOut:
    code = icb.upper()
    if not ("admin" in principal.scopes or (principal.icb or "").upper() == code):
        raise forbidden(f"This token does not grant access to ICB {code}")
    dims = dimensions(by, ICB_DIMENSIONS)
    start, end = period(period_from, period_to)
    practices = frozenset(o.practice_ods for o in practices_in_icb(code))
    async with rt.sessions() as session, session.begin():
        facts = await repo.facts(session, practices, repo.ItemFilter(start, end))
        await audit(session, audit_log, principal, "aggregate", f"icb:{code}", detail=",".join(dims))
    report = aggregate(facts, dims, wl.rates)
    return AggregateOut(
        icb_ods=code,
        period_from=start,
        period_to=end,
        by=dims,
        disclosure_control=f"counts of {THRESHOLD} or fewer are suppressed (null, suppressed: true) "
        "with their "
        f"hours and cost; other counts and hours are rounded to the nearest {BASE}, costs to "
        "the nearest 10 pounds, so groups need not add up to the total",
        practices_in_icb=len(practices),
        groups=[_protected(g.key, g.tally) for g in report.groups],
        total=_protected({}, report.total),
    )

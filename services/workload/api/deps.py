"""Dependencies shared by the workload routers."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import Depends, Query, Request

from services.workload.domain.reports import DIMENSIONS
from services.workload.service import Workload, period_problem
from shared.auth import Principal, practice_access
from shared.problems import invalid


def workload(request: Request) -> Workload:
    return request.app.state.workload  # type: ignore[no-any-return]


WorkloadDep = Annotated[Workload, Depends(workload)]
Reader = Annotated[Principal, Depends(practice_access("workload:read"))]
Writer = Annotated[Principal, Depends(practice_access("workload:write"))]
FromQ = Annotated[date | None, Query(alias="from", description="First day received (inclusive)")]
ToQ = Annotated[date | None, Query(alias="to", description="Last day received (inclusive)")]
ByQ = Annotated[str, Query(description=f"Comma-separated dimensions: {', '.join(DIMENSIONS)}")]


def dimensions(by: str, allowed: tuple[str, ...] = DIMENSIONS) -> list[str]:
    dims = [d.strip() for d in by.split(",") if d.strip()]
    bad = [d for d in dims if d not in allowed]
    if bad or not dims or len(set(dims)) != len(dims):
        raise invalid(
            [{"field": "by", "reason": f"give one or more distinct dimensions from: {', '.join(allowed)}"}]
        )
    return dims


def period(
    period_from: date | None,
    period_to: date | None,
    *,
    default_days: int | None = None,
    today: date | None = None,
) -> tuple[date | None, date | None]:
    """Check a period; with ``default_days`` fill a missing end with today and a missing start before it."""
    if default_days is not None:
        period_to = period_to or (today or date.today())
        period_from = period_from or period_to - timedelta(days=default_days)
    period_problem(period_from, period_to)
    return period_from, period_to

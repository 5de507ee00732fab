"""Achievement, points and £ per indicator; monthly history, year-end projection and what-if."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from services.indicators.api.deps import KernelDep, Reader, ScoringRead, require_ruleset
from services.indicators.api.schemas import (
    AchievementOut,
    OneIndicatorOut,
    YearOut,
    achievement_out,
    one_indicator_out,
    year_out,
)
from services.indicators.service.achievement import achievement
from services.indicators.service.kernel import Kernel
from services.indicators.service.month_ends import fill_month_ends
from services.indicators.service.trends import history, history_rulesets, projection
from services.indicators.service.whatif import what_if
from shared.problems import not_found
from shared.service import Runtime, RuntimeDep

router = APIRouter(prefix="/v1/practices/{ods}", tags=["achievement"], dependencies=[ScoringRead])

View = Literal["today", "year-end"]
OnQuery = Annotated[
    date | None,
    Query(description="Achievement date (default today), scored on the QOF rule set of its year; a date no rule "
          "set covers is a 422 naming the years that exist"),
]
ViewQuery = Annotated[View, Query(description="today: how am I doing now; year-end: at the PPED (31 March)")]


@router.get("/achievement", response_model=AchievementOut, summary="Achievement, points and £ per indicator")
async def get_achievement(
    ods: str, rt: RuntimeDep, kernel: KernelDep, _p: Reader, on: OnQuery = None, view: ViewQuery = "today"
) -> AchievementOut:
    await month_ends(rt, kernel, ods.upper(), baselines_only=True)
    async with rt.sessions() as s:
        a = await achievement(s, kernel, ods.upper(), on=on, view=view)
    return achievement_out(a)


@router.get("/indicators/{indicator_id}", response_model=OneIndicatorOut, summary="One indicator's achievement")
async def get_indicator(
    ods: str,
    indicator_id: str,
    rt: RuntimeDep,
    kernel: KernelDep,
    _p: Reader,
    on: OnQuery = None,
    view: ViewQuery = "today",
) -> OneIndicatorOut:
    await month_ends(rt, kernel, ods.upper(), baselines_only=True)
    async with rt.sessions() as s:
        a = await achievement(s, kernel, ods.upper(), on=on, view=view)
    r = a.result(indicator_id)
    if r is None:
        raise not_found(f"Indicator {indicator_id} in this practice's contract")
    return one_indicator_out(a, r)


async def month_ends(rt: Runtime, kernel: Kernel, practice: str, *, baselines_only: bool = False) -> None:
    """Month ends not yet held are computed from the record first (a practice's first look at its history;
    ``baselines_only``: the previous years' finals an improvement route needs, before scoring)."""
    async with rt.sessions() as s, s.begin():
        await fill_month_ends(s, kernel, practice, baselines_only=baselines_only)


class MonthOut(BaseModel):
    month: str
    achievement_date: date = Field(description="The month end (computed from the record once the month is over), "
                                   "or the day the current month's figure is for")
    achievement_pct: float | None
    points: float
    pounds: float | None
    numerator: int
    denominator: int


class IndicatorHistory(BaseModel):
    indicator_id: str
    ruleset: str
    months: list[MonthOut]


class HistoryOut(YearOut):
    practice: str
    indicators: list[IndicatorHistory] = Field(description="This year's months, and last year's final on its own "
                                               "rule set")


@router.get("/history", response_model=HistoryOut,
            summary="Month-end achievement per indicator since 1 April, and last year's final")
async def get_history(
    ods: str,
    rt: RuntimeDep,
    kernel: KernelDep,
    _p: Reader,
    indicator: Annotated[str | None, Query(description="Only this indicator")] = None,
) -> HistoryOut:
    await month_ends(rt, kernel, ods.upper())
    async with rt.sessions() as s:
        a = await achievement(s, kernel, ods.upper())
        hist = await history(s, ods.upper(), history_rulesets(kernel, a))
    out = [
        IndicatorHistory(indicator_id=iid, ruleset=rid, months=[MonthOut(**m.__dict__) for m in months])
        for (rid, iid), months in sorted(hist.items())
        if indicator is None or iid == indicator.upper()
    ]
    return HistoryOut(practice=ods.upper(), **year_out(a), indicators=out)


class ProjectedOut(BaseModel):
    indicator_id: str
    ruleset: str
    current_pct: float | None
    current_points: float
    projected_pct: float | None
    projected_points: float
    projected_pounds: float | None
    max_points: float
    method: str = Field(description="seasonal (last year's month ends), linear (this year's month ends) or "
                        "carry-forward (one month only)")
    from_month: int | None
    months_used: list[str] = Field(description="This year's months (YYYY-MM) the projection drew on")


class ProjectionOut(YearOut):
    practice: str
    achievement_date: date
    pped: date
    projected_points: float
    projected_pounds: float
    indicators: list[ProjectedOut]


@router.get("/projection", response_model=ProjectionOut, summary="Year-end projection from the monthly history")
async def get_projection(ods: str, rt: RuntimeDep, kernel: KernelDep, _p: Reader) -> ProjectionOut:
    await month_ends(rt, kernel, ods.upper())
    async with rt.sessions() as s:
        a = await achievement(s, kernel, ods.upper())
        items = await projection(s, kernel, a)
    return ProjectionOut(
        practice=a.practice,
        **year_out(a),
        achievement_date=a.period.achievement_date,
        pped=a.period.pped,
        projected_points=round(sum(i.projected_points for i in items), 2),
        projected_pounds=round(sum(i.projected_pounds or 0.0 for i in items), 2),
        indicators=[ProjectedOut(**i.__dict__) for i in items],
    )


class DeltaOut(BaseModel):
    indicator_id: str
    base_points: float
    other_points: float
    points_delta: float
    base_pounds: float | None
    other_pounds: float | None
    pounds_delta: float
    base_readiness: str
    other_readiness: str


class LeftOutOut(BaseModel):
    indicator_id: str
    reason: str = Field(description="Why it is not compared: not in one rule set, or not scorable under it")


class WhatIfOut(YearOut):
    practice: str
    base: str
    other: str
    achievement_date: date
    points_delta: float = Field(description="Over the compared indicators only")
    pounds_delta: float = Field(description="Over the compared indicators only")
    indicators: list[DeltaOut] = Field(description="Indicators scorable under both rule sets")
    left_out: list[LeftOutOut] = Field(description="Indicators not compared, and why")


def _pounds(p: float | None) -> float | None:
    return None if p is None else round(p, 2)


@router.get("/what-if", response_model=WhatIfOut, summary="Score the practice's patients under another rule set")
async def get_what_if(
    ods: str,
    rt: RuntimeDep,
    kernel: KernelDep,
    _p: Reader,
    ruleset: Annotated[str, Query(description="Rule set to compare with, e.g. qof-2024-25")],
    on: OnQuery = None,
) -> WhatIfOut:
    require_ruleset(kernel, ruleset, "ruleset")
    async with rt.sessions() as s:
        a = await achievement(s, kernel, ods.upper(), on=on)
        w = await what_if(s, kernel, a, ruleset)
    items = [
        DeltaOut(
            indicator_id=d.indicator_id,
            base_points=round(d.base.score.points, 2),
            other_points=round(d.other.score.points, 2),
            points_delta=round(d.points_delta, 2),
            base_pounds=_pounds(d.base.pounds),
            other_pounds=_pounds(d.other.pounds),
            pounds_delta=round(d.pounds_delta, 2),
            base_readiness=d.base.readiness,
            other_readiness=d.other.readiness,
        )
        for d in w.deltas
    ]
    return WhatIfOut(
        practice=a.practice,
        **year_out(a),
        base=a.contract.ruleset_id,
        other=ruleset,
        achievement_date=a.period.achievement_date,
        points_delta=round(sum(d.points_delta for d in w.deltas), 2),
        pounds_delta=round(sum(d.pounds_delta for d in w.deltas), 2),
        indicators=items,
        left_out=[LeftOutOut(indicator_id=x.indicator_id, reason=x.reason) for x in w.left_out],
    )

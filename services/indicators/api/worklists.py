"""Worklists: open gaps per indicator with the why-trace, the cross-indicator next-best list, time-sensitive gaps.

Each takes ``?on=`` as achievement does: the worklist for that date, from the record as it stood then, on the
QOF rule set of its year (named with the achievement date in the answer)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from services.indicators.api.achievement import OnQuery, month_ends
from services.indicators.api.deps import KernelDep, Reader, ScoringRead, decode_cursor, page_of
from services.indicators.api.schemas import FRESHNESS, FreshnessOut, YearOut, freshness_out, year_out
from services.indicators.service.achievement import Achievement, achievement
from services.indicators.service.kernel import Kernel
from services.indicators.service.worklists import (
    Item,
    indicator_worklist,
    next_best,
    time_sensitive,
    value_of,
)
from services.indicators.store.models import audit_log
from shared.audit import audit
from shared.problems import not_found
from shared.service import Runtime, RuntimeDep

router = APIRouter(prefix="/v1/practices/{ods}", tags=["worklists"], dependencies=[ScoringRead])


def live_on(kernel: Kernel, on: date | None) -> Kernel | None:
    """For a worklist asked for a date, the kernel to evaluate the record with when the stored outcomes are not
    for that date (with no date the stored outcomes are read, as before)."""
    return None if on is None else kernel


async def scored(s: AsyncSession, rt: Runtime, kernel: Kernel, practice: str, on: date | None) -> Achievement:
    """The achievement a worklist is for, with the improvement baselines the achievement route reads (computed
    from the record first where not held), so that a worklist's £ is the achievement's whichever is read first."""
    await month_ends(rt, kernel, practice, baselines_only=True)
    return await achievement(s, kernel, practice, on=on)


Limit = Annotated[int, Query(ge=1, le=1000)]


class EvidenceOut(BaseModel):
    cluster: str
    code: str
    date: date
    value: float | None
    term: str


class FindingOut(BaseModel):
    rule: str = Field(description="The success rule (one that selects the numerator) this finding is about")
    text: str = Field(description="What it found, e.g. 'latest IFCC-HbA1c 71 mmol/mol on 2025-09-02 (target ≤ 58)'")
    evidence: list[EvidenceOut] = Field(description="The entries it rests on, latest first")
    window_from: date | None = Field(description="First date searched (inclusive)")
    window_to: date | None = Field(description="Last date searched (inclusive)")


class GapItem(BaseModel):
    patient_id: str
    indicator_id: str
    why: dict[str, Any] = Field(description="The rule step that decided, with the code, date and value")
    because: str | None = Field(description="In one line: what the success rules found, and the invitations so far")
    unmet: list[FindingOut] = Field(
        description="Per success rule that did not select the patient: the latest relevant entry (value, date) "
        "or its absence in the window"
    )
    closes: str | None = Field(description="What would close the gap")
    invites_so_far: int
    invited_on: list[date] = Field(description="The invitations counted so far")
    invites_needed: int | None
    one_more_invite_makes_pca: bool
    deadline: date | None
    deadline_text: str | None
    days_left: int | None


def gap_item(i: Item) -> GapItem:
    g = i.gap or {}
    return GapItem(
        patient_id=i.patient_id,
        indicator_id=i.indicator_id,
        why=i.trace,
        because=g.get("why") or None,
        unmet=[FindingOut.model_validate(f) for f in i.trace.get("unmet") or []],
        closes=g.get("closes"),
        invites_so_far=int(g.get("invites_so_far") or 0),
        invited_on=g.get("invited_on") or [],
        invites_needed=g.get("invites_needed"),
        one_more_invite_makes_pca=bool(g.get("one_more_invite_makes_pca")),
        deadline=g.get("deadline"),
        deadline_text=g.get("deadline_text") or None,
        days_left=i.days_left,
    )


class WorklistOut(YearOut):
    practice: str
    indicator_id: str
    achievement_date: date
    freshness: FreshnessOut = FRESHNESS
    numerator: int
    denominator: int
    achievement_pct: float | None
    lower_threshold: float | None
    upper_threshold: float | None
    patients_to_lower_threshold: int
    patients_to_upper_threshold: int
    open_gaps: int
    pounds_to_upper_threshold: float | None
    pounds_per_remaining_patient: float | None
    pounds_next_patient: float | None
    items: list[GapItem]
    next_cursor: str | None


@router.get(
    "/indicators/{indicator_id}/worklist",
    response_model=WorklistOut,
    summary="Patients in the denominator but not the numerator, why, and what closes the gap",
)
async def worklist(
    ods: str,
    indicator_id: str,
    rt: RuntimeDep,
    kernel: KernelDep,
    principal: Reader,
    cursor: str | None = None,
    limit: Limit = 100,
    on: OnQuery = None,
) -> WorklistOut:
    offset = decode_cursor(cursor)
    practice = ods.upper()
    async with rt.sessions() as s, s.begin():
        a = await scored(s, rt, kernel, practice, on)
        r = a.result(indicator_id)
        if r is None:
            raise not_found(f"Indicator {indicator_id} in this practice's contract")
        items = await indicator_worklist(s, a, r, a.period.achievement_date, from_record=live_on(kernel, on))
        await audit(s, audit_log, principal, "worklist.read", r.indicator.id, practice=practice)
    v = value_of(r, a)
    page, next_cursor = page_of(items, offset, limit)
    ind = r.indicator
    return WorklistOut(
        practice=practice,
        **year_out(a),
        indicator_id=ind.id,
        achievement_date=a.period.achievement_date,
        freshness=freshness_out(a.freshness),
        numerator=r.score.numerator,
        denominator=r.score.denominator,
        achievement_pct=None if r.score.achievement_pct is None else round(r.score.achievement_pct, 2),
        lower_threshold=ind.lower_threshold.value if ind.lower_threshold else None,
        upper_threshold=ind.upper_threshold.value if ind.upper_threshold else None,
        patients_to_lower_threshold=v.patients_to_lower,
        patients_to_upper_threshold=v.patients_to_upper,
        open_gaps=v.open_gaps,
        pounds_to_upper_threshold=v.gbp_to_upper,
        pounds_per_remaining_patient=v.gbp_per_patient,
        pounds_next_patient=v.gbp_next_patient,
        items=[gap_item(i) for i in page],
        next_cursor=next_cursor,
    )


class RankedGap(BaseModel):
    indicator_id: str
    pounds: float
    closes: str | None
    days_left: int | None


class RankedPatient(BaseModel):
    patient_id: str
    pounds: float = Field(description="Sum over the patient's open gaps of each indicator's £ per remaining patient")
    gaps: list[RankedGap]


EXPIRED = Field(description="Open gaps left out because their deadline has passed (nothing left to unlock)")


class NextBestOut(YearOut):
    practice: str
    achievement_date: date
    freshness: FreshnessOut = FRESHNESS
    expired_gaps: int = EXPIRED
    items: list[RankedPatient]
    next_cursor: str | None


@router.get(
    "/worklist/next-best",
    response_model=NextBestOut,
    summary="Patients ranked by the £ one review could unlock across all their open gaps",
)
async def worklist_next_best(
    ods: str,
    rt: RuntimeDep,
    kernel: KernelDep,
    principal: Reader,
    cursor: str | None = None,
    limit: Limit = 100,
    on: OnQuery = None,
) -> NextBestOut:
    offset = decode_cursor(cursor)
    practice = ods.upper()
    async with rt.sessions() as s, s.begin():
        a = await scored(s, rt, kernel, practice, on)
        ranked, expired = await next_best(s, a, a.period.achievement_date, from_record=live_on(kernel, on))
        await audit(s, audit_log, principal, "worklist.read", "next-best", practice=practice)
    page, next_cursor = page_of(ranked, offset, limit)
    return NextBestOut(
        practice=practice,
        **year_out(a),
        achievement_date=a.period.achievement_date,
        freshness=freshness_out(a.freshness),
        expired_gaps=expired,
        items=[
            RankedPatient(
                patient_id=x.patient_id,
                pounds=x.gbp,
                gaps=[
                    RankedGap(
                        indicator_id=g["indicator_id"], pounds=g["gbp"], closes=g["closes"], days_left=g["days_left"]
                    )
                    for g in x.gaps
                ],
            )
            for x in page
        ],
        next_cursor=next_cursor,
    )


class TimeSensitiveOut(YearOut):
    practice: str
    achievement_date: date
    freshness: FreshnessOut = FRESHNESS
    expired_gaps: int = EXPIRED
    items: list[GapItem]
    next_cursor: str | None


@router.get(
    "/worklist/time-sensitive", response_model=TimeSensitiveOut, summary="Open gaps with a deadline, soonest first"
)
async def worklist_time_sensitive(
    ods: str,
    rt: RuntimeDep,
    kernel: KernelDep,
    principal: Reader,
    cursor: str | None = None,
    limit: Limit = 100,
    on: OnQuery = None,
) -> TimeSensitiveOut:
    offset = decode_cursor(cursor)
    practice = ods.upper()
    async with rt.sessions() as s, s.begin():
        a = await scored(s, rt, kernel, practice, on)
        items, expired = await time_sensitive(s, a, a.period.achievement_date, from_record=live_on(kernel, on))
        await audit(s, audit_log, principal, "worklist.read", "time-sensitive", practice=practice)
    page, next_cursor = page_of(items, offset, limit)
    return TimeSensitiveOut(
        practice=practice,
        **year_out(a),
        achievement_date=a.period.achievement_date,
        freshness=freshness_out(a.freshness),
        expired_gaps=expired,
        items=[gap_item(i) for i in page],
        next_cursor=next_cursor,
    )

"""Worklists: who is in the denominator but not the numerator, why, what closes the gap, and what it is worth.

``gbp_per_patient`` of an indicator is the £ still to earn up to the upper threshold divided by the patients
needed to reach it (PCIT's "value per remaining patient"); below the lower threshold each of those patients is
worth the same share, so the ranking does not stall at 0 £ while the practice climbs to the threshold.

A worklist for another date (``?on=``) is the record as it stood that day: when the achievement for it was
scored live (the stored outcomes are for another date), the open gaps are evaluated live too.
"""

from __future__ import annotations

import asyncio
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.indicators.service.achievement import Achievement, value_factor
from services.indicators.service.evaluation import THREAD_ABOVE, evaluate, gap_json, periods, trace_json
from services.indicators.service.kernel import Kernel
from services.indicators.service.scoring import STORED_STATUS, Result
from services.indicators.store.models import OUTCOMES
from services.indicators.store.state import load_patients


@dataclass(frozen=True)
class Value:
    patients_to_lower: int
    patients_to_upper: int
    open_gaps: int
    gbp_to_upper: float | None
    gbp_per_patient: float | None
    gbp_next_patient: float | None  # the marginal £ of one more patient in the numerator


def needed(numerator: int, denominator: int, threshold_pct: float) -> int:
    """Patients to add to the numerator so that achievement reaches ``threshold_pct``."""
    if denominator == 0:
        return 0
    return max(0, math.ceil(threshold_pct * denominator / 100 - numerator - 1e-9))


def value_of(r: Result, a: Achievement) -> Value:
    s, ind = r.score, r.indicator
    open_gaps = s.denominator - s.numerator
    if ind.kind != "patient" or ind.lower_threshold is None or ind.upper_threshold is None:
        return Value(0, 0, open_gaps, None, None, None)
    lo, hi = ind.lower_threshold.value, ind.upper_threshold.value
    to_lo, to_hi = needed(s.numerator, s.denominator, lo), needed(s.numerator, s.denominator, hi)
    factor = value_factor(r, a.figures)
    if factor is None or s.denominator == 0:
        return Value(to_lo, to_hi, open_gaps, None, None, None)
    remaining = (s.max_points - s.points) * factor
    per = remaining / to_hi if to_hi else 0.0
    nxt_pct = 100.0 * (s.numerator + 1) / s.denominator
    nxt = (
        (min(s.max_points, max(0.0, (nxt_pct - lo) / (hi - lo) * s.max_points)) - s.points) * factor
        if s.numerator < s.denominator
        else 0.0
    )
    return Value(to_lo, to_hi, open_gaps, round(remaining, 2), round(per, 2), round(max(0.0, nxt), 2))


def _days_left(gap: dict[str, Any] | None, today: date) -> int | None:
    if not gap or not gap.get("deadline"):
        return None
    return (date.fromisoformat(gap["deadline"]) - today).days


@dataclass(frozen=True)
class Item:
    patient_id: str
    indicator_id: str
    trace: dict[str, Any]
    gap: dict[str, Any] | None
    days_left: int | None
    ruleset_id: str = ""


@dataclass(frozen=True)
class GapRow:
    """An open gap as the outcomes table holds it."""

    patient_id: str
    ruleset_id: str
    indicator_id: str
    trace: dict[str, Any]
    gap: dict[str, Any] | None
    deadline: date | None


async def live_gaps(session: AsyncSession, kernel: Kernel, a: Achievement) -> list[GapRow]:
    """The open gaps on ``a``'s achievement date, from the record as it stood that day (the stored outcomes are
    for another date)."""
    patients = await load_patients(session, a.practice, kernel)
    period_of = periods(kernel, a.contract, on=a.period.achievement_date)
    if len(patients) > THREAD_ABOVE:
        pairs = await asyncio.to_thread(evaluate, kernel, a.contract, patients, period_of)
    else:
        pairs = evaluate(kernel, a.contract, patients, period_of)
    return [
        GapRow(o.patient_id, rid, o.indicator_id, trace_json(o.trace), gap_json(o.gap),
               o.gap.deadline if o.gap else None)
        for rid, o in pairs
        if STORED_STATUS[o.status] == "denominator_only"
    ]


async def open_gaps(
    session: AsyncSession,
    a: Achievement,
    indicator: tuple[str, str] | None = None,
    *,
    deadline_only: bool = False,
    from_record: Kernel | None = None,
) -> list[GapRow]:
    """Open gaps of the practice, by patient: from the stored outcomes, or with ``from_record`` (the kernel)
    evaluated from the record on ``a``'s date when ``a`` was scored live (a date the stored outcomes are not
    for)."""
    if from_record is not None and a.source == "live":
        rows = await live_gaps(session, from_record, a)
        return sorted(
            (x for x in rows
             if (indicator is None or (x.ruleset_id, x.indicator_id) == indicator)
             and (not deadline_only or x.deadline is not None)),
            key=lambda x: x.patient_id,
        )
    oc = OUTCOMES.c
    q = select(oc.patient_id, oc.ruleset_id, oc.indicator_id, oc.trace, oc.gap, oc.deadline).where(
        oc.practice_ods == a.practice, oc.status == "denominator_only"
    )
    if indicator is not None:
        q = q.where(oc.ruleset_id == indicator[0], oc.indicator_id == indicator[1])
    if deadline_only:
        q = q.where(oc.deadline.is_not(None))
    return [GapRow(*x) for x in await session.execute(q.order_by(oc.patient_id))]


async def indicator_worklist(
    session: AsyncSession, a: Achievement, r: Result, today: date, *, from_record: Kernel | None = None
) -> list[Item]:
    rows = await open_gaps(session, a, (r.ruleset.id, r.indicator.id), from_record=from_record)
    return [Item(x.patient_id, x.indicator_id, x.trace, x.gap, _days_left(x.gap, today)) for x in rows]


@dataclass(frozen=True)
class Ranked:
    patient_id: str
    gbp: float
    gaps: list[dict[str, Any]]


@dataclass(frozen=True)
class Workable:
    """The open gaps one review could still close (deadline not passed), and how many were left out as expired."""

    items: list[Item]
    expired: int


async def workable_gaps(
    session: AsyncSession, a: Achievement, today: date, *, deadline_only: bool = False,
    from_record: Kernel | None = None,
) -> Workable:
    """One selection for next-best and time-sensitive, so the two lists always agree: open gaps of the scored
    indicators of the practice's contract, less those whose deadline is before ``today``."""
    wanted = {(r.ruleset.id, r.indicator.id) for r in a.results if r.readiness != "incomplete"}
    items: list[Item] = []
    expired = 0
    for x in await open_gaps(session, a, deadline_only=deadline_only, from_record=from_record):
        if (x.ruleset_id, x.indicator_id) not in wanted:
            continue
        days = _days_left(x.gap, today)
        if days is not None and days < 0:
            expired += 1
            continue
        items.append(Item(x.patient_id, x.indicator_id, x.trace, x.gap, days, x.ruleset_id))
    return Workable(items, expired)


async def next_best(
    session: AsyncSession, a: Achievement, today: date, *, from_record: Kernel | None = None
) -> tuple[list[Ranked], int]:
    """Patients ranked by the £ their workable gaps unlock; a gap past its deadline counts for nothing and is
    left out (returned as a count)."""
    values = {(r.ruleset.id, r.indicator.id): value_of(r, a) for r in a.results if r.readiness != "incomplete"}
    per: dict[str, list[dict[str, Any]]] = defaultdict(list)
    w = await workable_gaps(session, a, today, from_record=from_record)
    for i in w.items:
        v = values[(i.ruleset_id, i.indicator_id)]
        per[i.patient_id].append(
            {
                "indicator_id": i.indicator_id,
                "gbp": v.gbp_per_patient or 0.0,
                "closes": (i.gap or {}).get("closes"),
                "days_left": i.days_left,
            }
        )
    ranked = [Ranked(pid, round(sum(g["gbp"] for g in gaps), 2), gaps) for pid, gaps in per.items()]
    ranked.sort(key=lambda x: (-x.gbp, x.patient_id))
    return ranked, w.expired


async def time_sensitive(
    session: AsyncSession, a: Achievement, today: date, *, from_record: Kernel | None = None
) -> tuple[list[Item], int]:
    """Workable gaps with a deadline, soonest first (the same gaps next-best counts), and the expired count."""
    w = await workable_gaps(session, a, today, deadline_only=True, from_record=from_record)
    items = sorted(
        (i for i in w.items if i.days_left is not None), key=lambda i: (i.days_left or 0, i.patient_id, i.indicator_id)
    )
    return items, w.expired

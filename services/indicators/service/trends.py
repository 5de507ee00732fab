"""Monthly history from the stored snapshots (month ends from the record: ``month_ends``), and the year-end
projection over it (engine ``project_year_end``)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.indicators.domain import MonthPoint, points_for, project_year_end
from services.indicators.service.achievement import Achievement, value_factor
from services.indicators.service.kernel import Kernel
from services.indicators.store.models import Snapshot


@dataclass(frozen=True)
class MonthFigure:
    month: str
    achievement_date: date  # the month end, or the day a snapshot of the current month was taken
    achievement_pct: float | None
    points: float
    pounds: float | None
    numerator: int
    denominator: int


@dataclass(frozen=True)
class ProjectedIndicator:
    indicator_id: str
    ruleset: str
    current_pct: float | None
    current_points: float
    projected_pct: float | None
    projected_points: float
    projected_pounds: float | None
    max_points: float
    method: str
    from_month: int | None
    months_used: list[str]  # this year's months (YYYY-MM) the projection drew on


def qof_month(start: date, month: str) -> int:
    y, m = (int(x) for x in month.split("-"))
    return (y * 12 + m) - (start.year * 12 + start.month) + 1


async def history(
    session: AsyncSession, practice: str, ruleset_ids: list[str]
) -> dict[tuple[str, str], list[MonthFigure]]:
    rows = (
        await session.execute(
            select(Snapshot)
            .where(Snapshot.practice_ods == practice, Snapshot.ruleset_id.in_(ruleset_ids))
            .order_by(Snapshot.month)
        )
    ).scalars()
    out: dict[tuple[str, str], list[MonthFigure]] = defaultdict(list)
    for r in rows:
        out[(r.ruleset_id, r.indicator_id)].append(
            MonthFigure(r.month, r.achievement_date, r.achievement_pct, r.points, r.pounds, r.numerator, r.denominator)
        )
    return out


def last_year_ruleset(kernel: Kernel, a: Achievement) -> str | None:
    """The QOF rule set of the year before the one ``a`` scores (its history is last year's)."""
    start = kernel.ruleset(a.contract.ruleset_id).settings.start
    return kernel.qof_ruleset_for(start - timedelta(days=1))


def history_rulesets(kernel: Kernel, a: Achievement) -> list[str]:
    """The rule sets whose snapshots make up the history of ``a``'s year: its own, and last year's."""
    before = last_year_ruleset(kernel, a)
    return sorted({r.ruleset.id for r in a.results} | ({before} if before else set()))


async def projection(session: AsyncSession, kernel: Kernel, a: Achievement) -> list[ProjectedIndicator]:
    """Each patient indicator projected to 31 March from this year's month ends (and today's figure for the
    current month); seasonally when last year's twelve month ends are held for it."""
    before = last_year_ruleset(kernel, a)
    hist = await history(session, a.practice, history_rulesets(kernel, a))
    before_start = kernel.ruleset(before).settings.start if before else None
    out = []
    for r in a.results:
        ind, s = r.indicator, r.ruleset.settings
        if r.readiness in ("incomplete", "attestation") or ind.kind != "patient":
            continue
        by_month: dict[int, tuple[str, float]] = {
            qof_month(s.start, m.month): (m.month, m.achievement_pct)
            for m in hist.get((r.ruleset.id, ind.id), [])
            if m.achievement_pct is not None and 1 <= qof_month(s.start, m.month) <= 12
        }
        current = r.score.achievement_pct
        if current is not None:  # the current month: today's figure, not an earlier snapshot of it
            label = a.period.achievement_date.strftime("%Y-%m")
            by_month[min(12, max(1, qof_month(s.start, label)))] = (label, current)
        last: dict[int, float] = {
            qof_month(before_start, m.month): m.achievement_pct
            for m in hist.get((before or "", ind.id), [])
            if before_start and m.achievement_pct is not None and 1 <= qof_month(before_start, m.month) <= 12
        }
        last_year = [last[k] for k in range(1, 13)] if len(last) == 12 else None
        if not by_month:
            out.append(
                ProjectedIndicator(
                    ind.id, r.ruleset.id, current, r.score.points, None, 0.0, None, r.score.max_points, "none",
                    None, [],
                )
            )
            continue
        months = sorted(by_month.items())
        p = project_year_end([MonthPoint(k, v) for k, (_, v) in months], last_year=last_year)
        used = [lbl for _, (lbl, _) in months] if p.method == "linear" else [by_month[p.from_month][0]]
        assert ind.lower_threshold and ind.upper_threshold
        pts = points_for(p.achievement_pct, ind.points.value, ind.lower_threshold.value, ind.upper_threshold.value)
        factor = value_factor(r, a.figures)
        out.append(
            ProjectedIndicator(
                ind.id,
                r.ruleset.id,
                current,
                r.score.points,
                round(p.achievement_pct, 2),
                round(pts, 2),
                None if factor is None else round(pts * factor, 2),
                r.score.max_points,
                p.method,
                p.from_month,
                used,
            )
        )
    return out

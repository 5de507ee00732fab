"""Monthly history from the stored snapshots, and the year-end projection over it (engine ``project_year_end``)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.indicators.domain import MonthPoint, points_for, project_year_end
from services.indicators.service.achievement import Achievement, value_factor
from services.indicators.store.models import Snapshot


@dataclass(frozen=True)
class MonthFigure:
    month: str
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
            MonthFigure(r.month, r.achievement_pct, r.points, r.pounds, r.numerator, r.denominator)
        )
    return out


async def projection(session: AsyncSession, a: Achievement) -> list[ProjectedIndicator]:
    ids = sorted({r.ruleset.id for r in a.results})
    hist = await history(session, a.practice, ids)
    out = []
    for r in a.results:
        ind, s = r.indicator, r.ruleset.settings
        if r.readiness in ("incomplete", "attestation") or ind.kind != "patient":
            continue
        months = hist.get((r.ruleset.id, ind.id), [])
        points = [
            MonthPoint(qof_month(s.start, m.month), m.achievement_pct)
            for m in months
            if m.achievement_pct is not None and 1 <= qof_month(s.start, m.month) <= 12
        ]
        last = {
            qof_month(s.start, m.month) + 12: m.achievement_pct
            for m in months
            if m.achievement_pct is not None and -11 <= qof_month(s.start, m.month) <= 0
        }
        last_year = [last[k] for k in range(1, 13)] if len(last) == 12 else None
        current = r.score.achievement_pct
        if not points and current is not None:
            points = [
                MonthPoint(min(12, max(1, qof_month(s.start, a.period.achievement_date.strftime("%Y-%m")))), current)
            ]
        if not points:
            out.append(
                ProjectedIndicator(
                    ind.id, r.ruleset.id, current, r.score.points, None, 0.0, None, r.score.max_points, "none", None
                )
            )
            continue
        p = project_year_end(points, last_year=last_year)  # type: ignore[arg-type]
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
            )
        )
    return out

"""Geometry for the inline SVG charts (no script, no external library): indicator bars and the trajectory."""

from __future__ import annotations

import calendar
import math
from dataclasses import dataclass
from datetime import date, timedelta

BAR_WIDTH = 240.0


@dataclass(frozen=True)
class Bar:
    width: float
    fill: float  # achieved
    lower_x: float | None
    upper_x: float | None
    projected_x: float | None
    label: str  # for screen readers


def _x(pct: float | None) -> float | None:
    return None if pct is None else round(max(0.0, min(100.0, pct)) / 100 * BAR_WIDTH, 1)


def bar(pct: float | None, lower: float | None, upper: float | None, projected: float | None) -> Bar:
    parts = [f"achieved {pct:.1f}%" if pct is not None else "no patients in the denominator"]
    if lower is not None and upper is not None:
        parts.append(f"thresholds {lower:g}% and {upper:g}%")
    if projected is not None:
        parts.append(f"projected {projected:.1f}% at year end")
    return Bar(BAR_WIDTH, _x(pct) or 0.0, _x(lower), _x(upper), _x(projected), ", ".join(parts))


@dataclass(frozen=True)
class Tick:
    at: float
    label: str


@dataclass(frozen=True)
class LineChart:
    width: float
    height: float
    left: float
    top: float
    plot_w: float
    plot_h: float
    actual: str  # SVG polyline points
    actual_dots: list[tuple[float, float, str]]
    projection: str | None  # dashed polyline from today to the year end
    projection_end: tuple[float, float, str] | None
    max_line_y: float | None  # the points available, when within the scale
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    summary: str


def _nice_ceiling(value: float) -> float:
    if value <= 0:
        return 10.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def month_end(month: str) -> date:
    y, m = (int(x) for x in month.split("-"))
    return date(y, m, calendar.monthrange(y, m)[1])


def trajectory(months: list[tuple[str, float]], start: date, max_points: float, projected: float | None,
               today: date, points_today: float, width: float = 640, height: float = 260) -> LineChart:
    """Points at each month end (the current month at today), then the projection to 31 March dashed."""
    end = date(start.year + 1, 3, 31)
    left, top, right, bottom = 56.0, 16.0, 16.0, 36.0
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _, v in months] + [points_today] + ([projected] if projected is not None else [])
    y_max = _nice_ceiling(max(values) * 1.2 if values else 10.0)
    span = (end - start).days

    def x(d: date) -> float:
        return round(left + plot_w * max(0, min(span, (d - start).days)) / span, 1)

    def y(v: float) -> float:
        return round(top + plot_h * (1 - min(v, y_max) / y_max), 1)

    series = [(min(month_end(m), today), v) for m, v in months if month_end(m) >= start]
    if not series or series[-1][0] != today:
        series = [s for s in series if s[0] < today] + [(today, points_today)]
    dots = [(x(d), y(v), f"{d.isoformat()}: {v:.1f} points") for d, v in series]
    proj = proj_end = None
    if projected is not None:
        proj = f"{x(today)},{y(points_today)} {x(end)},{y(projected)}"
        proj_end = (x(end), y(projected), f"projected {projected:.1f} points on {end.isoformat()}")
    x_ticks = []
    d = start
    while d <= end:
        x_ticks.append(Tick(x(d), d.strftime("%b")))
        d = (d.replace(day=28) + timedelta(days=4)).replace(day=1)
    y_ticks = [Tick(y(y_max * k / 4), f"{y_max * k / 4:g}") for k in range(5)]
    summary = (f"Points achieved: {points_today:.1f} of {max_points:g} on {today.isoformat()}"
               + (f"; projected {projected:.1f} by {end.isoformat()}" if projected is not None else ""))
    return LineChart(width, height, left, top, plot_w, plot_h, " ".join(f"{a},{b}" for a, b, _ in dots), dots,
                     proj, proj_end, y(max_points) if max_points <= y_max else None, x_ticks, y_ticks, summary)

"""Year-end projection from an in-year trajectory (pure).

Input: this year's monthly achievement points (month 1 = April … 12 = March, achievement % at month end).

Method:
* **seasonal** (when last year's 12 monthly values are given): projected = this year's latest value + (last
  year's March value − last year's value at the same month). QOF achievement is strongly seasonal (recalls
  cluster in Q4), and last year's remaining uplift is the best simple predictor of this year's.
* **linear** otherwise: least-squares line through this year's points, evaluated at month 12.
* With a single point and no history the latest value is carried forward.
The result is clamped to 0–100 %.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from .errors import IndicatorsError


@dataclass(frozen=True)
class MonthPoint:
    month: int  # 1 = April … 12 = March
    achievement_pct: float


@dataclass(frozen=True)
class Projection:
    achievement_pct: float
    method: Literal["seasonal", "linear", "carry-forward"]
    from_month: int


def project_year_end(
    history: Sequence[MonthPoint], *, last_year: Sequence[float] | None = None
) -> Projection:
    if not history:
        raise IndicatorsError("no monthly points to project from", hint="give at least one MonthPoint")
    pts = sorted(history, key=lambda p: p.month)
    if any(not 1 <= p.month <= 12 for p in pts):
        raise IndicatorsError("months run from 1 (April) to 12 (March)")
    latest = pts[-1]
    if last_year is not None:
        if len(last_year) != 12:
            raise IndicatorsError("last_year needs 12 monthly values (April … March)")
        value = latest.achievement_pct + (last_year[11] - last_year[latest.month - 1])
        return Projection(_clamp(value), "seasonal", latest.month)
    if len(pts) == 1:
        return Projection(_clamp(latest.achievement_pct), "carry-forward", latest.month)
    n = len(pts)
    mx = sum(p.month for p in pts) / n
    my = sum(p.achievement_pct for p in pts) / n
    sxx = sum((p.month - mx) ** 2 for p in pts)
    slope = sum((p.month - mx) * (p.achievement_pct - my) for p in pts) / sxx if sxx else 0.0
    return Projection(_clamp(my + slope * (12 - mx)), "linear", latest.month)


def _clamp(v: float) -> float:
    return max(0.0, min(100.0, v))

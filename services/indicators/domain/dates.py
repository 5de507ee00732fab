"""QOF date arithmetic: calendar months, the service year and business-rule windows.

A window such as ``12m`` means, as in the business rules, "in the 12 months leading up to and including the
payment period end date": from PPED − 12 months *exclusive* to PPED *inclusive*. Supported spellings:

* ``<n>y<n>m<n>d`` (any part optional, e.g. ``12m``, ``5y``, ``3y6m``, ``15m``) relative to PPED;
* ``service_year`` – quality service start date (1 April) to PPED, both inclusive;
* ``ever`` – anything up to and including the achievement date.

Events dated after the achievement date are never seen by the rules (see the engine), so every window
also ends at the achievement date for in-year runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from .errors import RuleSetError

_WINDOW = re.compile(r"^(?:(\d+)y)?(?:(\d+)m)?(?:(\d+)d)?$")
FAR_PAST = date(1, 1, 1)


def add_months(d: date, months: int) -> date:
    """``d`` moved by whole calendar months, the day clamped to the month's length (31 Mar − 1 m = 28 Feb)."""
    y, m = divmod(d.year * 12 + (d.month - 1) + months, 12)
    m += 1
    for day in (d.day, 30, 29, 28):
        try:
            return date(y, m, min(d.day, day))
        except ValueError:
            continue
    raise ValueError(d)  # unreachable: the 28th exists in every month


def qof_year_end(on: date) -> date:
    """PPED of the QOF year containing ``on`` (31 March)."""
    return date(on.year if on.month <= 3 else on.year + 1, 3, 31)


@dataclass(frozen=True)
class Span:
    """Dates ``start`` < d <= ``end`` when ``start_exclusive``, else ``start`` <= d <= ``end``."""

    start: date
    end: date
    start_exclusive: bool

    def __contains__(self, d: date) -> bool:
        return (d > self.start if self.start_exclusive else d >= self.start) and d <= self.end


@dataclass(frozen=True)
class Window:
    """A parsed window spec; resolve it against the run's dates with :meth:`span`."""

    spec: str
    years: int = 0
    months: int = 0
    days: int = 0

    @property
    def is_relative(self) -> bool:
        return self.spec not in ("ever", "service_year")

    def span(self, dates: RunDates) -> Span:
        if self.spec == "ever":
            return Span(FAR_PAST, dates.achievement_date, False)
        if self.spec == "service_year":
            return Span(dates.service_start, min(dates.pped, dates.achievement_date), False)
        start = add_months(dates.pped, -(self.years * 12 + self.months)) - timedelta(days=self.days)
        return Span(start, min(dates.pped, dates.achievement_date), True)

    def span_before(self, anchor: date) -> Span:
        """The same length ending at ``anchor`` (used by register rules, which run on any date)."""
        if self.spec == "ever":
            return Span(FAR_PAST, anchor, False)
        start = add_months(anchor, -(self.years * 12 + self.months)) - timedelta(days=self.days)
        return Span(start, anchor, True)


@lru_cache(maxsize=256)
def parse_window(spec: str, where: str = "") -> Window:
    spec = str(spec).strip()
    if spec in ("ever", "service_year"):
        return Window(spec)
    m = _WINDOW.match(spec)
    if not spec or not m or not any(m.groups()):
        raise RuleSetError(
            f"bad window {spec!r}",
            where=where,
            hint="use e.g. '12m', '5y', '3y6m', '279d', 'service_year' or 'ever'",
        )
    y, mo, d = (int(g) if g else 0 for g in m.groups())
    return Window(spec, y, mo, d)


@dataclass(frozen=True)
class RunDates:
    """The dates one evaluation runs on. ``pped`` defaults to the 31 March closing that year."""

    achievement_date: date
    pped: date
    service_start: date

    @classmethod
    def for_achievement(cls, achievement_date: date, pped: date | None = None) -> RunDates:
        pped = pped or qof_year_end(achievement_date)
        return cls(achievement_date, pped, date(pped.year - 1, 4, 1))

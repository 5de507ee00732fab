"""Counts, staff time and cost of logged items, grouped by provider, month, category and specialty."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal

from services.workload.domain.rates import RateCard

Dimension = Literal["provider", "month", "category", "specialty", "site", "staff_role", "status"]
DIMENSIONS: tuple[str, ...] = ("provider", "month", "category", "specialty", "site", "staff_role", "status")
UNSPECIFIED = "unspecified"


@dataclass(frozen=True)
class ItemFacts:
    """What reports need of an item: no free text, no patient data."""

    item_id: str
    practice_ods: str
    received_on: date
    provider_ods: str
    provider_name: str
    site: str | None
    specialty: str | None
    category: str
    clause_key: str | None
    contract_year: str
    staff_role: str | None
    minutes: int | None
    status: str
    raised_on: date | None = None

    def value(self, dimension: str) -> str:
        match dimension:
            case "provider":
                return self.provider_ods
            case "month":
                return self.received_on.strftime("%Y-%m")
            case "category":
                return self.category
            case "specialty":
                return self.specialty or UNSPECIFIED
            case "site":
                return self.site or UNSPECIFIED
            case "staff_role":
                return self.staff_role or UNSPECIFIED
            case "status":
                return self.status
        raise ValueError(f"unknown dimension {dimension}")


@dataclass
class Tally:
    items: int = 0
    minutes: int = 0
    cost: Decimal = Decimal(0)
    items_without_time: int = 0

    def add(self, item: ItemFacts, rates: RateCard) -> None:
        self.items += 1
        if item.minutes is None:
            self.items_without_time += 1
        else:
            self.minutes += item.minutes
        self.cost += rates.cost(item.staff_role, item.minutes)

    @property
    def hours(self) -> Decimal:
        return (Decimal(self.minutes) / 60).quantize(Decimal("0.01"))


@dataclass
class Group:
    key: dict[str, str]
    tally: Tally = field(default_factory=Tally)


@dataclass
class TrendPoint:
    month: str
    tally: Tally
    change: int | None  # items versus the previous month in the series


@dataclass
class Report:
    by: tuple[str, ...]
    groups: list[Group]
    total: Tally
    trend: list[TrendPoint]
    provider_names: dict[str, str]


def aggregate(items: Iterable[ItemFacts], by: Sequence[str], rates: RateCard) -> Report:
    for dimension in by:
        if dimension not in DIMENSIONS:
            raise ValueError(f"unknown dimension {dimension!r}; use: {', '.join(DIMENSIONS)}")
    groups: dict[tuple[str, ...], Group] = {}
    months: dict[str, Tally] = defaultdict(Tally)
    total = Tally()
    names: dict[str, str] = {}
    for item in items:
        key = tuple(item.value(d) for d in by)
        group = groups.get(key)
        if group is None:
            group = groups[key] = Group(dict(zip(by, key, strict=True)))
        group.tally.add(item, rates)
        months[item.value("month")].add(item, rates)
        total.add(item, rates)
        names.setdefault(item.provider_ods, item.provider_name)
    ordered = [groups[k] for k in sorted(groups)]
    return Report(tuple(by), ordered, total, monthly_trend(months), names)


def monthly_trend(months: dict[str, Tally]) -> list[TrendPoint]:
    """Every month from the first to the last with items, gaps filled with zero."""
    if not months:
        return []
    keys = sorted(months)
    first, last = _month(keys[0]), _month(keys[-1])
    points: list[TrendPoint] = []
    previous: int | None = None
    current = first
    while current <= last:
        label = current.strftime("%Y-%m")
        tally = months.get(label, Tally())
        points.append(TrendPoint(label, tally, None if previous is None else tally.items - previous))
        previous = tally.items
        current = date(current.year + (current.month == 12), current.month % 12 + 1, 1)
    return points


def _month(label: str) -> date:
    year, month = label.split("-")
    return date(int(year), int(month), 1)

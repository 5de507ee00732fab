"""NHS Standard Contract clauses as versioned reference data, one edition per contract year."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class Clause:
    key: str
    number: str
    title: str
    requirement: str
    verified: bool
    contractual: bool = True
    note: str | None = None
    sources: tuple[str, ...] = ()
    deadline: dict[str, int] = field(default_factory=dict)

    def citation(self) -> str:
        return f"{self.number} {self.title}"


@dataclass(frozen=True)
class ContractYear:
    year: str
    starts: date
    ends: date
    edition: str
    clauses: dict[str, Clause]

    def covers(self, day: date) -> bool:
        return self.starts <= day <= self.ends


@dataclass(frozen=True)
class ClauseResolution:
    year: ContractYear
    clause: Clause | None
    latest_held: bool  # True when the item's date is outside every edition held and the nearest was used


@dataclass(frozen=True)
class ClauseBook:
    version: str
    years: tuple[ContractYear, ...]  # sorted by start date
    sources: dict[str, str]

    def year(self, label: str) -> ContractYear | None:
        return next((y for y in self.years if y.year == label), None)

    def edition_for(self, day: date) -> tuple[ContractYear, bool]:
        """The edition in force on ``day``; outside the years held, the nearest edition (flagged)."""
        for edition in self.years:
            if edition.covers(day):
                return edition, False
        if day < self.years[0].starts:
            return self.years[0], True
        return self.years[-1], True

    def resolve(self, day: date, clause_key: str | None, default_key: str | None) -> ClauseResolution:
        """The clause an item cites: the one given, else the category's default. Raises ``ValueError``."""
        edition, fallback = self.edition_for(day)
        key = clause_key or default_key
        if key is None:
            return ClauseResolution(edition, None, fallback)
        clause = edition.clauses.get(key)
        if clause is None:
            raise ValueError(
                f"no clause {key!r} in the {edition.year} contract data; use one of: "
                f"{', '.join(sorted(edition.clauses))}"
            )
        return ClauseResolution(edition, clause, fallback)

    def source_urls(self, clause: Clause) -> list[str]:
        return [self.sources.get(s, s) for s in clause.sources]


def contract_year_label(day: date) -> str:
    """The NHS financial year of ``day``: 1 April to 31 March, e.g. 2025-05-01 -> 2025/26."""
    start = day.year if day.month >= 4 else day.year - 1
    return f"{start}/{str(start + 1)[-2:]}"

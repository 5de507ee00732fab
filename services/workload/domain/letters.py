"""What goes into a letter to a provider and into an escalation summary for the ICB (content, not layout)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from services.workload.domain.clauses import ClauseBook
from services.workload.domain.rates import RateCard
from services.workload.domain.reports import ItemFacts
from services.workload.domain.taxonomy import Status, Taxonomy


@dataclass(frozen=True)
class LetterLine:
    reference: str
    received_on: date
    category: str
    specialty: str
    site: str
    clause: str
    minutes: int | None
    status: str


@dataclass(frozen=True)
class ClauseNote:
    year: str
    number: str
    title: str
    requirement: str
    verified: bool
    items: int
    sources: tuple[str, ...]


@dataclass(frozen=True)
class ProviderLetter:
    practice_ods: str
    practice_name: str
    provider_ods: str
    provider_name: str
    period_from: date
    period_to: date
    written_on: date
    lines: tuple[LetterLine, ...]
    clauses: tuple[ClauseNote, ...]
    total_minutes: int
    total_cost: Decimal
    edition_note: str | None = None


def reference(item_id: str) -> str:
    """Short item reference for correspondence (the first block of the item's id)."""
    return item_id.split("-", 1)[0].upper()


def provider_letter(
    items: Sequence[ItemFacts],
    *,
    practice_ods: str,
    practice_name: str,
    provider_ods: str,
    period_from: date,
    period_to: date,
    written_on: date,
    taxonomy: Taxonomy,
    clauses: ClauseBook,
    rates: RateCard,
) -> ProviderLetter:
    ordered = sorted(items, key=lambda i: (i.received_on, i.item_id))
    lines: list[LetterLine] = []
    cited: Counter[tuple[str, str]] = Counter()
    for item in ordered:
        citation = "-"
        if item.clause_key:
            year = clauses.year(item.contract_year)
            clause = year.clauses.get(item.clause_key) if year else None
            if clause:
                citation = f"{clause.number} ({item.contract_year})"
                cited[(item.contract_year, item.clause_key)] += 1
        lines.append(
            LetterLine(
                reference(item.item_id),
                item.received_on,
                taxonomy.label(item.category),
                item.specialty or "-",
                item.site or "-",
                citation,
                item.minutes,
                item.status.replace("_", " "),
            )
        )
    notes: list[ClauseNote] = []
    for (year_label, key), count in sorted(cited.items()):
        year = clauses.year(year_label)
        assert year is not None
        clause = year.clauses[key]
        notes.append(
            ClauseNote(
                year_label,
                clause.number,
                clause.title,
                clause.requirement,
                clause.verified,
                count,
                tuple(clauses.source_urls(clause)),
            )
        )
    name = ordered[0].provider_name if ordered else provider_ods
    outside = sorted({i.contract_year for i in ordered if i.clause_key and not _covered(i, clauses)})
    edition_note = (
        f"Items received after the last contract year we hold are cited against the {', '.join(outside)} "
        "edition; please read them against the edition now in force."
        if outside
        else None
    )
    return ProviderLetter(
        practice_ods,
        practice_name,
        provider_ods,
        name,
        period_from,
        period_to,
        written_on,
        tuple(lines),
        tuple(notes),
        sum(i.minutes or 0 for i in ordered),
        sum((rates.cost(i.staff_role, i.minutes) for i in ordered), Decimal(0)),
        edition_note,
    )


def _covered(item: ItemFacts, clauses: ClauseBook) -> bool:
    year = clauses.year(item.contract_year)
    return year is not None and year.covers(item.received_on)


@dataclass(frozen=True)
class EscalationRow:
    provider_ods: str
    provider_name: str
    items: int
    hours: Decimal
    cost: Decimal
    open_items: int
    unanswered: int  # raised with the provider more than ``response_days`` ago, no response yet
    top_categories: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Escalation:
    practice_ods: str
    practice_name: str
    icb_ods: str | None
    icb_name: str | None
    period_from: date
    period_to: date
    written_on: date
    response_days: int
    rows: tuple[EscalationRow, ...]
    total_items: int
    total_hours: Decimal
    total_cost: Decimal


def escalation(
    items: Sequence[ItemFacts],
    *,
    practice_ods: str,
    practice_name: str,
    icb_ods: str | None,
    icb_name: str | None,
    period_from: date,
    period_to: date,
    written_on: date,
    response_days: int,
    taxonomy: Taxonomy,
    rates: RateCard,
) -> Escalation:
    by_provider: dict[str, list[ItemFacts]] = defaultdict(list)
    for item in items:
        by_provider[item.provider_ods].append(item)
    rows = []
    for ods, group in by_provider.items():
        minutes = sum(i.minutes or 0 for i in group)
        categories = Counter(taxonomy.label(i.category) for i in group).most_common(3)
        unanswered = sum(
            1
            for i in group
            if i.status == Status.RAISED
            and i.raised_on is not None
            and (written_on - i.raised_on).days > response_days
        )
        rows.append(
            EscalationRow(
                ods,
                group[0].provider_name,
                len(group),
                (Decimal(minutes) / 60).quantize(Decimal("0.1")),
                sum((rates.cost(i.staff_role, i.minutes) for i in group), Decimal(0)),
                sum(1 for i in group if i.status != Status.RESOLVED),
                unanswered,
                tuple(categories),
            )
        )
    rows.sort(key=lambda r: (-r.items, r.provider_ods))
    total_minutes = sum(i.minutes or 0 for i in items)
    return Escalation(
        practice_ods,
        practice_name,
        icb_ods,
        icb_name,
        period_from,
        period_to,
        written_on,
        response_days,
        tuple(rows),
        len(items),
        (Decimal(total_minutes) / 60).quantize(Decimal("0.1")),
        sum((r.cost for r in rows), Decimal(0)),
    )

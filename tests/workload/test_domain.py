"""Pure logic: disclosure control, identifier checks, clause editions, status flow, report arithmetic."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from services.workload import refdata
from services.workload.domain.clauses import contract_year_label
from services.workload.domain.privacy import identifier_problem
from services.workload.domain.reports import ItemFacts, aggregate
from services.workload.domain.taxonomy import transition_problem
from services.workload.service import Workload
from services.workload.settings import workload_settings
from shared.disclosure import protect_count, protect_measure, round_to


@pytest.mark.parametrize(
    ("count", "shown"),
    [(0, None), (1, None), (7, None), (8, 10), (12, 10), (13, 15), (22, 20), (23, 25), (100, 100)],
)
def test_counts_of_seven_or_fewer_are_suppressed_and_others_rounded_to_five(
    count: int, shown: int | None
) -> None:
    protected = protect_count(count)
    assert protected.value == shown
    assert protected.suppressed is (shown is None)


def test_measures_follow_their_count() -> None:
    assert protect_measure(7, 123.0) is None
    assert protect_measure(8, 123.0) == 125
    assert round_to(12.5) == 15


@pytest.mark.parametrize(
    "text",
    [
        "patient 943 476 5919 needs bloods",
        "NHS no 9434765919",
        "943-476-5919",
        "call 07700 900123",
        "write to jo@example.org",
        "lives at NE1 4LP",
        "DOB 1 Jan 1950",
    ],
)
def test_free_text_with_identifiers_is_refused(text: str) -> None:
    assert identifier_problem(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "Asked to repeat U&E in 2 weeks",
        "B12 3rd dose requested",
        "Letter dated 12/10/2025 asked for ECG",
        "SC11.5 breach, 3 days late",
    ],
)
def test_ordinary_free_text_is_accepted(text: str) -> None:
    assert identifier_problem(text) is None


def test_every_category_default_clause_exists_in_every_contract_year() -> None:
    book = refdata.clause_book()
    for category in refdata.taxonomy().categories:
        for year in book.years:
            assert category.default_clause is None or category.default_clause in year.clauses, category.key
    assert len(refdata.taxonomy().active_keys()) == 17


def test_clause_edition_follows_the_contract_year() -> None:
    book = refdata.clause_book()
    assert contract_year_label(date(2025, 3, 31)) == "2024/25"
    assert contract_year_label(date(2025, 4, 1)) == "2025/26"
    resolved = book.resolve(date(2024, 6, 1), None, "discharge_summary")
    assert (resolved.year.year, resolved.clause and resolved.clause.number, resolved.latest_held) == (
        "2024/25",
        "SC11.5",
        False,
    )
    later = book.resolve(date(2026, 11, 1), "clinic_letter", None)
    assert later.year.year == "2025/26" and later.latest_held
    with pytest.raises(ValueError, match="no clause"):
        book.resolve(date(2025, 6, 1), "sc99", None)


def test_unverified_clauses_say_where_they_come_from() -> None:
    for year in refdata.clause_book().years:
        for clause in year.clauses.values():
            assert clause.verified or clause.sources, clause.key
            assert all(url.startswith("http") for url in refdata.clause_book().source_urls(clause))


def test_status_moves_forward_only() -> None:
    assert transition_problem("logged", "raised_with_provider") is None
    assert transition_problem("logged", "resolved") is None
    assert "forward" in (transition_problem("resolved", "logged") or "")
    assert "unknown" in (transition_problem("logged", "closed") or "")


def _fact(n: int, **kw: object) -> ItemFacts:
    base: dict[str, object] = dict(
        item_id=f"id-{n}",
        practice_ods="A81001",
        received_on=date(2025, 5 + n % 3, 1),
        provider_ods="RTD" if n % 2 else "RR8",
        provider_name="P",
        site=None,
        specialty=None,
        category="other",
        clause_key=None,
        contract_year="2025/26",
        staff_role="admin",
        minutes=10 * n,
        status="logged",
    )
    base.update(kw)
    return ItemFacts(**base)  # type: ignore[arg-type]


def test_report_groups_add_up_to_the_total() -> None:
    facts = [_fact(n) for n in range(1, 12)] + [_fact(99, minutes=None, staff_role=None)]
    report = aggregate(facts, ["provider", "month"], refdata.default_rates())
    assert sum(g.tally.items for g in report.groups) == report.total.items == 12
    assert sum(g.tally.minutes for g in report.groups) == report.total.minutes == sum(range(1, 12)) * 10
    assert sum((g.tally.cost for g in report.groups), Decimal(0)) == report.total.cost
    assert report.total.items_without_time == 1
    assert sum(p.tally.items for p in report.trend) == 12
    assert [p.month for p in report.trend] == ["2025-05", "2025-06", "2025-07"]


def test_hourly_rates_are_settings_with_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QOF_WORKLOAD_HOURLY_RATES", '{"admin": 30, "physician_associate": 70}')
    settings = workload_settings(None, kafka_enabled=False, environment="test")
    card = Workload.load(settings).rates
    assert card.rates["admin"] == Decimal(30) and card.rates["gp_partner"] == Decimal(160)
    assert card.cost("physician_associate", 30) == Decimal("35.00")
    assert card.overridden == {"admin", "physician_associate"}

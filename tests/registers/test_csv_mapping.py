"""Pure CSV mapping: header styles, dates, derived ids, row errors."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from services.registers.domain.csv_mapping import HeaderError, map_header, map_rows, parse_date, read_csv

SAMPLES = Path(__file__).parent / "samples"


@pytest.mark.parametrize("headers", [
    ["NHS Number", "SNOMED Code", "Date"],
    ["nhs_number", "concept_id", "Effective Date"],
    ["NHS number", "SNOMED CT Concept ID", "Event Date"],
    ["  NHS NUMBER ", "Code", "event_date"],
])
def test_header_styles(headers: list[str]) -> None:
    mapped = map_header(headers)
    assert mapped.columns == {"nhs_number": 0, "code": 1, "effective_date": 2}


def test_specific_code_column_wins_over_a_generic_one() -> None:
    mapped = map_header(["Code", "NHS Number", "SNOMED CT Concept ID", "Date", "Numeric Value", "Units",
                         "User", "Entry Id"])
    assert mapped.columns["code"] == 2
    assert mapped.names == {"code": "SNOMED CT Concept ID", "nhs_number": "NHS Number",
                            "effective_date": "Date", "value": "Numeric Value", "unit": "Units",
                            "recorded_by": "User", "entry_id": "Entry Id"}


def test_missing_and_repeated_columns() -> None:
    with pytest.raises(HeaderError) as missing:
        map_header(["NHS Number", "Term"])
    assert [e.column for e in missing.value.errors] == ["code", "effective_date"]
    with pytest.raises(HeaderError):
        map_header(["NHS Number", "Code", "Date", "code"])


@pytest.mark.parametrize(("text", "expected"), [
    ("2024-03-01", date(2024, 3, 1)), ("01/03/2024", date(2024, 3, 1)), ("01-Mar-2024", date(2024, 3, 1)),
    ("1-MAR-2024", date(2024, 3, 1)), ("01/03/2024 14:05", date(2024, 3, 1)),
    ("2024-03-01T14:05:00Z", date(2024, 3, 1)), ("01 March 2024", date(2024, 3, 1)),
    ("31/02/2024", None), ("03/2024", None), ("", None),
])
def test_dates(text: str, expected: date | None) -> None:
    assert parse_date(text) == expected


def test_preamble_is_skipped_and_ids_are_derived_deterministically() -> None:
    text = (SAMPLES / "emis_search_export.csv").read_text()
    header, rows = read_csv(text)
    assert header.row == 4 and [n for n, _ in rows] == [5, 6, 7, 8, 9, 10]
    first, errors = map_rows(rows, header)
    again, _ = map_rows(read_csv(text)[1], header)
    assert errors == []
    assert [r.entry.entry_id for r in first] == [r.entry.entry_id for r in again]
    assert len({r.entry.entry_id for r in first}) == 6
    assert first[0].entry.nhs_number == "9990001219" and first[1].entry.value == 58.0


def test_row_errors_name_row_and_column() -> None:
    header, rows = read_csv("NHS Number,Code,Date,Value,Kind,Id\n"
                            "9990001219,44054006,2024-01-01,,condition,a\n"
                            "9990001219,44054006,2024-01-02,,condition,a\n"
                            ",44054006,2024-01-01,abc,thing,b\n")
    mapped, errors = map_rows(rows, header)
    assert len(mapped) == 1 and mapped[0].entry.kind == "condition"
    assert [(e.row, e.column) for e in errors] == [(3, "Id"), (4, "NHS Number"), (4, "Value"), (4, "Kind")]

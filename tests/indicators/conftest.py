"""Hand-built patients for the golden tests; codes are real members of the project codelists."""

from __future__ import annotations

from datetime import date

import pytest

from services.indicators.domain import CodedEvent, PatientRecord, compile_ruleset, load_ruleset
from shared.codelists import CatalogueRow, CodelistLibrary, read_catalogue

PPED_25 = date(2025, 3, 31)
PPED_26 = date(2026, 3, 31)

DM = "111552007"  # DM_COD: Diabetes mellitus without complication
HBA1C = "1049301000000100"  # IFCCHBAM_COD
DMINVITE = "1066911000000100"  # DMINVITE_COD
DMPCADEC = "716031000000106"  # DMPCADEC_COD
DMPCAPU = "717421000000100"  # DMPCAPU_COD
DMMAX = "407569005"  # DMMAX_COD
FRUCT = "1006751000000102"  # SERFRUC_COD
MODFRAIL, SEVFRAIL, MILDFRAIL = "925831000000107", "925861000000102", "925791000000100"
HYP = "10725009"  # HYP_COD: Benign hypertension
SYS, DIA = "100151000000109", "100161000000107"  # SYSBP_COD sitting systolic / DIABP_COD sitting diastolic
HOME = "413153004"  # HOMEBP_COD: Blood pressure recorded by patient at home
HYPINVITE = "1066951000000101"  # HYPINVITE_COD
HTMAX = "407567007"  # HTMAX_COD
HYPPCADEC = "716771000000106"  # HYPPCADEC_COD


def ev(code: str, d: date, value: float | None = None) -> CodedEvent:
    return CodedEvent(code, d, value)


def patient(
    *events: CodedEvent,
    dob: date = date(1960, 5, 1),
    registers: tuple[str, ...] = ("DM_REG",),
    registered_on: date = date(2010, 1, 1),
    sex: str = "F",
    pid: str = "p1",
) -> PatientRecord:
    return PatientRecord(pid, dob, sex, registered_on, registers=frozenset(registers), events=events)  # type: ignore[arg-type]


@pytest.fixture()
def library() -> CodelistLibrary:
    """A fresh library per test, so test exports never leak into the shared default library."""
    rows: list[CatalogueRow] = read_catalogue()
    return CodelistLibrary(rows)


@pytest.fixture()
def q25(library: CodelistLibrary):
    return compile_ruleset(load_ruleset("qof-2024-25"), library)


@pytest.fixture()
def q26(library: CodelistLibrary):
    return compile_ruleset(load_ruleset("qof-2025-26"), library)


def outcome(engine, p: PatientRecord, indicator: str, on: date = PPED_26):
    found = [o for o in engine.evaluate(p, on) if o.indicator_id == indicator]
    return found[0] if found else None

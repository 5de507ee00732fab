"""Hand-built patients for the golden tests; codes are real members of the project codelists."""

from __future__ import annotations

import zlib
from datetime import date

import pytest

from services.indicators.domain import CodedEvent, PatientRecord, compile_ruleset, load_ruleset
from shared.codelists import CatalogueRow, CodelistLibrary, read_catalogue
from shared.identifiers import snomed_problem, verhoeff_check_digit

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


def bp(d: date, s: float, di: float, home: bool = False) -> tuple[CodedEvent, ...]:
    """A systolic and a diastolic reading on one day (plus a home-reading code when ``home``)."""
    out = (ev(SYS, d, s), ev(DIA, d, di))
    return (*out, ev(HOME, d)) if home else out


def test_code(cluster: str) -> str:
    """A Verhoeff-valid SNOMED CT concept id (long format, made-up namespace 1000099) standing for ``cluster``
    in test codelists, for clusters whose refset is not public."""
    item = str(zlib.crc32(cluster.encode()) % 900_000 + 100_000)
    base = f"{item}1000099" + "10"
    code = base + verhoeff_check_digit(base)
    assert snomed_problem(code) is None
    return code


T = test_code
test_code.__test__ = False  # type: ignore[attr-defined]


def with_test_codelists(library: CodelistLibrary, ruleset_id: str = "qof-2025-26"):
    """Compile ``ruleset_id`` after adding a one-code local test codelist for every cluster the library lacks,
    so the rule LOGIC can be tested where the real codelists are not public."""
    rs = load_ruleset(ruleset_id)
    missing = sorted({c for r in compile_ruleset(rs, library).readiness.values() for c in r.missing})
    for cluster in missing:
        library.add_export(
            cluster, "test", f"code,term\n{test_code(cluster)},{cluster} (test)\n", source="test", kind="local"
        )
    return compile_ruleset(rs, library)


@pytest.fixture()
def full26(library: CodelistLibrary):
    """2025/26 with test codelists for the missing clusters (real codelists everywhere else)."""
    return with_test_codelists(library, "qof-2025-26")


@pytest.fixture()
def full25(library: CodelistLibrary):
    return with_test_codelists(library, "qof-2024-25")


def st(engine, p: PatientRecord, indicator: str, on: date = PPED_26) -> tuple[str, str | None] | None:
    """(status, field) of one indicator for one patient, or None if the patient is not in its population."""
    o = outcome(engine, p, indicator, on)
    return None if o is None else (o.status, o.field)


NUM = ("numerator", None)
DEN = ("denominator_only", None)


@pytest.fixture(scope="session")
def golden_engines(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Every QOF year compiled on the shipped codelists plus a test-only release (``golden.test_release``)."""
    from .golden import YEARS, test_release

    library = test_release(tmp_path_factory.mktemp("test-release"))
    return {rid: compile_ruleset(load_ruleset(rid), library) for rid in YEARS}

"""Registers for the indicators engine: the platform's one definition, plus the composite registers.

The disease registers are defined once, in :mod:`shared.qof.registers` (``REGISTERS``, evaluated with
``compile_registers(library).evaluate(events, dob, on)``), and used by the registers service too. This module
adds only what the indicator populations need on top of them, as *derived* registers built from shared ones
(PCD output descriptions, 5 Dec 2024; QOF_RULES.md §2.1):

* ``CHOL_REG``: CHD, PAD, stroke/TIA, or CKD G3a-G5 aged >= 18 (CKD_REG already carries the age limit);
* ``CHOL2_REG``: CHD, PAD, stroke or TIA;
* ``CD_REG``: CHD or stroke/TIA (the 2026/27 cardiovascular-disease BP indicators CD001/CD002);
* ``SMOK1_REG``: a comorbidity of CHD, PAD, stroke/TIA, hypertension, diabetes, COPD, asthma, CKD or SMI;
* ``SMOK2_REG``: aged 15 or over;
* ``CS_REG``: females aged 25 to 64 on the achievement date.

``registers_for`` and ``RegisterEvaluator`` derive a patient's register ids from coded entries; the engine
itself takes ``PatientRecord.registers`` as input (as held by the registers service).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Literal

from shared.codelists import CodelistLibrary
from shared.qof.age import age_in_years
from shared.qof.registers import (
    REGISTERS,
    CodeEvent,
    CompiledRegisters,
    RegisterAvailability,
    RegisterDefinition,
    compile_registers,
    definitions_for,
    qof_year_of,
)

from .provenance import Sourced
from .records import CodedEvent, PatientRecord

_PCD = "PCD output descriptions 2024-12-05 (QOF_RULES.md §2.1)"


@dataclass(frozen=True)
class DerivedRegister:
    """A register made from shared ones (``of``: on any of them) and/or demographic limits."""

    id: str
    of: tuple[str, ...] = ()
    min_age: int | None = None
    max_age: int | None = None
    sex: Literal["F", "M"] | None = None
    provenance: Sourced[str] | None = None

    def holds(self, on_registers: frozenset[str], age: int, sex: str) -> bool:
        if self.of and on_registers.isdisjoint(self.of):
            return False
        if self.min_age is not None and age < self.min_age:
            return False
        if self.max_age is not None and age > self.max_age:
            return False
        return self.sex is None or sex == self.sex


DERIVED: tuple[DerivedRegister, ...] = (
    DerivedRegister(
        "CHOL_REG",
        of=("CHD_REG", "PAD_REG", "STIA_REG", "CKD_REG"),
        provenance=Sourced("CHD, PAD, stroke/TIA, or CKD G3a-G5 aged >= 18", "V", _PCD),
    ),
    DerivedRegister(
        "CHOL2_REG",
        of=("CHD_REG", "PAD_REG", "STIA_REG"),
        provenance=Sourced("CHD, PAD, stroke or TIA", "V", _PCD),
    ),
    DerivedRegister(
        "CD_REG",
        of=("CHD_REG", "STIA_REG"),
        provenance=Sourced(
            "CHD or stroke/TIA (CD001/CD002, 2026/27; register name TBC)",
            "S",
            "../shared/reference/qof-2026-27/indicators_2026_27.csv",
        ),
    ),
    DerivedRegister(
        "SMOK1_REG",
        of=(
            "CHD_REG", "PAD_REG", "STIA_REG", "HYP_REG", "DM_REG",
            "COPD_REG", "AST_REG", "CKD_REG", "MH1_REG",
        ),
        provenance=Sourced("co-morbidity register for the smoking indicators", "V", _PCD),
    ),
    DerivedRegister(
        "SMOK2_REG", min_age=15, provenance=Sourced("patients aged 15 years and over", "V", _PCD)
    ),
    DerivedRegister(
        "CS_REG",
        min_age=25,
        max_age=64,
        sex="F",
        provenance=Sourced("females aged 25 to 64 years on the achievement date", "V", _PCD),
    ),
)
DERIVED_BY_ID = {d.id: d for d in DERIVED}


def with_derived(registers: frozenset[str], age: int, sex: str) -> frozenset[str]:
    """``registers`` (shared register ids, e.g. as held by the registers service) plus the derived ones."""
    derived = {d.id for d in DERIVED if d.holds(registers, age, sex)}
    return registers | derived if derived else registers


def register_ids() -> frozenset[str]:
    """Every register id an indicator population may name: the shared registers and the derived ones."""
    return frozenset(r.id for r in REGISTERS) | frozenset(DERIVED_BY_ID)


class RegisterEvaluator:
    """The shared register definitions compiled against one codelist library, plus the derived registers.

    ``incomplete`` maps each register that cannot be fully tested with this library to the clusters it lacks
    (``availability`` holds the shared status: ``partial`` registers are evaluated without the untestable
    condition, ``unavailable`` ones never hold). Derived registers follow their parts.

    ``qof_year`` (``"2026-27"``) takes that year's definitions (``shared.qof.registers.definitions_for``): a
    rule set's registers are those of its own year. Without it (and without ``rules``), the definitions in
    force up to 2025/26.
    """

    def __init__(
        self,
        library: CodelistLibrary,
        rules: Iterable[RegisterDefinition] | None = None,
        *,
        qof_year: str | None = None,
    ) -> None:
        if rules is not None and qof_year is not None:
            raise ValueError("give either rules or qof_year, not both")
        if rules is None:
            rules = definitions_for(qof_year) if qof_year else REGISTERS
        self.qof_year = qof_year
        self.rules: tuple[RegisterDefinition, ...] = tuple(rules)
        self.compiled: CompiledRegisters = compile_registers(library, self.rules)
        self.availability: dict[str, RegisterAvailability] = dict(self.compiled.available)
        self.incomplete: dict[str, list[str]] = {
            rid: list(a.missing) for rid, a in self.availability.items() if a.status != "complete"
        }
        for d in DERIVED:
            missing = sorted({c for part in d.of for c in self.incomplete.get(part, ())})
            if missing:
                self.incomplete[d.id] = missing

    def diagnosed(self, events: Iterable[CodedEvent], date_of_birth: date, on: date) -> dict[str, date]:
        """Shared registers the patient is on at ``on``, each with the date of its first diagnosis code."""
        return self.compiled.evaluate((CodeEvent(e.code, e.date, e.value) for e in events), date_of_birth, on)

    def registers(self, patient: PatientRecord, on: date) -> frozenset[str]:
        shared = frozenset(self.diagnosed(patient.events, patient.date_of_birth, on))
        return with_derived(shared, age_in_years(patient.date_of_birth, on), patient.sex)


def registers_for(
    patient_events: Iterable[CodedEvent],
    dob: date,
    on_date: date,
    library: CodelistLibrary,
    *,
    evaluator: RegisterEvaluator | None = None,
    qof_year: str | None = None,
) -> frozenset[str]:
    """Register ids the patient is on at ``on_date`` from their coded entries (``evaluator`` to reuse;
    ``qof_year`` for that year's definitions, by default the year containing ``on_date``).

    Sex is not known here, so ``CS_REG`` is never derived; use ``RegisterEvaluator.registers`` with a
    :class:`PatientRecord` for that.
    """
    ev = evaluator or RegisterEvaluator(library, qof_year=qof_year or qof_year_of(on_date))
    patient = PatientRecord("-", dob, "U", dob, events=tuple(patient_events))
    return ev.registers(patient, on_date)

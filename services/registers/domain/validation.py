"""Checks on coded entries before anything is stored (pure: the caller supplies patients and today).

Errors reject the whole batch; flags are accepted entries worth a look (an unknown code, an implausible
but possible value) that the data-quality report lists.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from services.registers.schemas import EntryIn, PatientIn
from shared.codelists import CodelistLibrary
from shared.identifiers import nhs_number_problem, normalise_nhs_number, snomed_problem

RANGES_FILE = Path(__file__).parent / "data" / "plausible_values.csv"
# Codes with no row in plausible_values.csv: no laboratory or clinical measurement in the units that
# clinical systems export (mmol/L, ng/L, 10*9/L, mL/min...) reaches ten million.
MAX_MAGNITUDE = 10_000_000.0


@dataclass(frozen=True)
class PatientFacts:
    patient_id: str
    date_of_birth: date
    died_on: date | None


@dataclass(frozen=True)
class EntryProblem:
    index: int
    entry_id: str
    field: str
    reason: str

    def as_dict(self) -> dict[str, object]:
        return {"index": self.index, "entry_id": self.entry_id, "field": self.field, "reason": self.reason}


@dataclass(frozen=True)
class ValueRange:
    measurement: str
    unit: str
    impossible_below: float
    impossible_above: float
    implausible_below: float
    implausible_above: float


@lru_cache(maxsize=4)
def range_rows(path: Path = RANGES_FILE) -> tuple[tuple[str, ValueRange], ...]:
    with path.open(newline="") as fh:
        return tuple(
            (
                r["cluster"],
                ValueRange(
                    r["measurement"],
                    r["unit"],
                    float(r["impossible_below"]),
                    float(r["impossible_above"]),
                    float(r["implausible_below"]),
                    float(r["implausible_above"]),
                ),
            )
            for r in csv.DictReader(fh)
        )


def value_ranges(library: CodelistLibrary) -> dict[str, ValueRange]:
    """Code -> plausible range, from the clusters named in ``plausible_values.csv``."""
    ranges: dict[str, ValueRange] = {}
    for cluster, rng in range_rows():
        if library.has(cluster):
            for code in library.get(cluster).codes:
                ranges[code] = rng
    return ranges


@dataclass
class EntryChecker:
    today: date
    known_codes: frozenset[str]
    ranges: dict[str, ValueRange]

    def problems(self, index: int, entry: EntryIn, patient: PatientFacts | None) -> list[EntryProblem]:
        found: list[EntryProblem] = []

        def bad(field: str, reason: str) -> None:
            found.append(EntryProblem(index, entry.entry_id, field, reason))

        nhs = normalise_nhs_number(entry.nhs_number)
        nhs_problem = nhs_number_problem(nhs)
        if nhs_problem:
            bad("nhs_number", nhs_problem)
        elif patient is None:
            bad(
                "nhs_number",
                "no patient with this NHS number is registered at the practice: send the patient first",
            )
        code_problem = snomed_problem(entry.code)
        if code_problem:
            bad("code", code_problem)
        if entry.effective_date > self.today:
            bad("effective_date", "the date is in the future")
        if patient is not None:
            if entry.effective_date < patient.date_of_birth:
                bad("effective_date", "the date is before the patient's date of birth")
            if patient.died_on and entry.effective_date > patient.died_on:
                bad("effective_date", "the date is after the patient's date of death")
        rng = self.ranges.get(entry.code)
        if entry.value is None:
            pass
        elif not math.isfinite(entry.value):
            bad("value", "the value is not a finite number")
        elif rng is not None and not (rng.impossible_below <= entry.value <= rng.impossible_above):
            bad(
                "value",
                f"{entry.value:g} {rng.unit} is not a possible {rng.measurement.lower()} "
                f"(accepted {rng.impossible_below:g}-{rng.impossible_above:g})",
            )
        elif rng is None and abs(entry.value) > MAX_MAGNITUDE:
            bad("value", f"{entry.value:g} is not a clinical value: beyond ±{MAX_MAGNITUDE:,.0f}, the "
                "magnitude accepted for a code with no published plausible range")
        return found

    def flags(self, entry: EntryIn) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        if entry.code not in self.known_codes:
            out.append(
                ("unknown-code", "the code is valid SNOMED CT but in none of the platform's codelists")
            )
        rng = self.ranges.get(entry.code)
        if (
            rng is not None
            and entry.value is not None
            and not (rng.implausible_below <= entry.value <= rng.implausible_above)
        ):
            out.append(
                (
                    "implausible-value",
                    f"{entry.value:g} {rng.unit} is outside the usual range for {rng.measurement.lower()}",
                )
            )
        return out


def patient_date_problems(p: PatientIn, today: date) -> list[tuple[str, str]]:
    """(field, reason) for a patient's dates that cannot be: born in the future, events before birth."""
    found: list[tuple[str, str]] = []
    if p.date_of_birth > today:
        found.append(("date_of_birth", f"the date of birth is after today ({today.isoformat()})"))
    for name, when in (("registered_on", p.registered_on), ("deregistered_on", p.deregistered_on),
                       ("died_on", p.died_on)):
        if when is not None and when < p.date_of_birth:
            found.append((name, "the date is before the patient's date of birth"))
        elif name == "died_on" and when is not None and when > today:
            found.append((name, f"the date of death is after today ({today.isoformat()})"))
    if p.deregistered_on is not None and p.deregistered_on < p.registered_on:
        found.append(("deregistered_on", "the date is before the registration date"))
    return found

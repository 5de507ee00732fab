"""A synthetic practice (and a set of practices for ICS demos) as ``PatientIn``/``EntryIn``-shaped dicts."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from shared.identifiers import synthetic_nhs_number
from shared.organisations import MAPPINGS, practices_in_icb
from shared.synthetic import people
from shared.synthetic.codes import codebook
from shared.synthetic.conditions import risk_table
from shared.synthetic.history import YEAR, HistoryWriter, Person
from shared.synthetic.population import MAX_AGE, england_pyramid

HistoryDepth = Literal["full", "recent"]
# synthetic_nhs_number yields distinct numbers for sequence numbers up to this bound.
MAX_SEQ = 90_908
# Records of patients who died or left in the last 18 months stay in the extract, on top of the living list.
DEATH_SHARE = 0.012
LEAVER_SHARE = 0.015
# Dates of birth and of registration are drawn back from this fixed day, not from the day the practice is
# generated, so the demo's patients keep their dates whenever it runs (docs/examples/bundle.json is demo patient
# 1 as drawn from it) and age as real people do. A practice generated as of an earlier day draws from that day.
DEMOGRAPHICS_ANCHOR = date(2026, 12, 3)


def _mortality(age: int) -> float:
    """Rough annual mortality by age (Gompertz), only used to age the recently dead."""
    return min(0.3, 0.00005 * math.exp(0.09 * age))


@dataclass(frozen=True)
class SyntheticPatient:
    seq: int
    patient: dict[str, Any]
    entries: list[dict[str, Any]]
    conditions: dict[str, str]  # register key (national prevalence group) -> ISO diagnosis date
    problem: str | None  # the deliberate coding problem seeded in this record, if any


def qof_year_start(day: date) -> date:
    return date(day.year if day.month >= 4 else day.year - 1, 4, 1)


class SyntheticPractice:
    """``patients`` people on one practice list, with coded histories up to ``as_of``.

    Output depends only on (ods, patients, seed, as_of, first_seq): the same arguments give the same dicts.
    ``history="recent"`` keeps diagnoses whenever they were made plus everything since the start of the
    previous QOF year; its entries are a subset of the full history's, with the same entry ids.
    """

    def __init__(self, ods: str = "A81001", patients: int = 2000, *, seed: int = 1,
                 history: HistoryDepth = "full", as_of: date | None = None, first_seq: int = 1) -> None:
        if patients < 0:
            raise ValueError("patients must not be negative")
        if first_seq < 0 or first_seq + patients - 1 > MAX_SEQ:
            raise ValueError(f"sequence numbers must stay within 0..{MAX_SEQ} for distinct NHS numbers")
        self.ods = ods.upper()
        self.size = patients
        self.seed = seed
        self.history = history
        self.as_of = as_of or date.today()
        self.first_seq = first_seq
        self._as_of_ord = self.as_of.toordinal()
        self._recent_from = date(qof_year_start(self.as_of).year - 1, 4, 1).toordinal()

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[SyntheticPatient]:
        return self.histories()

    def patients(self) -> Iterator[dict[str, Any]]:
        for i in range(1, self.size + 1):
            yield self._demographics(i)[1]

    def entries(self) -> Iterator[dict[str, Any]]:
        for record in self.histories():
            yield from record.entries

    def histories(self) -> Iterator[SyntheticPatient]:
        book, risks = codebook(), risk_table()
        iso: dict[int, str] = {}
        recent = self.history == "recent"
        for i in range(1, self.size + 1):
            person, patient = self._demographics(i)
            rng = random.Random(f"{self.seed}:{self.ods}:{i}:history")
            hist = HistoryWriter(rng, book, risks, person, self._as_of_ord).write()
            nhs = patient["nhs_number"]
            prefix = f"syn-{self.ods}-{i}-"
            entries = []
            for n, (day, code, kind, value, unit, by) in enumerate(hist.rows, 1):
                if recent and day < self._recent_from and kind != "condition":
                    continue
                when = iso.get(day)
                if when is None:
                    when = iso[day] = date.fromordinal(day).isoformat()
                entries.append({"entry_id": prefix + str(n), "nhs_number": nhs, "code": code,
                                "effective_date": when, "value": value, "unit": unit, "kind": kind,
                                "recorded_by": by})
            conditions = {k: date.fromordinal(d).isoformat() for k, d in hist.conditions.items()}
            yield SyntheticPatient(i, patient, entries, conditions, hist.problem)

    def _demographics(self, i: int) -> tuple[Person, dict[str, Any]]:
        rng = random.Random(f"{self.seed}:{self.ods}:{i}:demographics")
        as_of = self._as_of_ord
        anchor = min(as_of, DEMOGRAPHICS_ANCHOR.toordinal())
        pyramid = england_pyramid()
        died = left = None
        u = rng.random()
        if u < DEATH_SHARE:
            # The recently dead are old: draw their ages from the pyramid weighted by mortality.
            while True:
                sex, age = pyramid.sample(rng)
                if rng.random() < _mortality(age) / _mortality(MAX_AGE):
                    break
            died = as_of - rng.randint(1, 540)
        else:
            sex, age = pyramid.sample(rng)
            if u < DEATH_SHARE + LEAVER_SHARE:
                left = as_of - rng.randint(1, 540)
        dob = anchor - int(age * YEAR) - rng.randint(1, 364)
        # A baby drawn to leave or die up to 540 days back would go before birth: move it to after birth.
        if left is not None and left < dob:
            left = dob + (as_of - dob) // 2
        if died is not None and died < dob:
            died = dob + (as_of - dob) // 2
        years_here = rng.expovariate(1 / 11)
        registered = max(dob, anchor - int(years_here * YEAR) - rng.randint(0, 30))
        registered = min(registered, (died or left or as_of) - 1)
        registered = max(registered, dob)
        given, family = people.names(rng, sex)
        seq = self.first_seq + i - 1
        gone = left or died
        contact = people.contact(rng, seq, given, family, age)
        patient = {
            "nhs_number": synthetic_nhs_number(seq),
            "given_name": given,
            "family_name": family,
            "date_of_birth": date.fromordinal(dob).isoformat(),
            "sex": sex,
            "registered_on": date.fromordinal(registered).isoformat(),
            "deregistered_on": date.fromordinal(gone).isoformat() if gone else None,
            "died_on": date.fromordinal(died).isoformat() if died else None,
            "contact": contact,
        }
        channel = contact["preferred_channel"]
        # the age drawn is the age on the anchor: the years since then are added
        person = Person(seq=i, sex=sex, age=age + int((as_of - anchor) / YEAR), dob=dob, end=died or left or as_of,
                        birth_month=date.fromordinal(dob).month, channel=channel)
        return person, patient


class SyntheticIcs:
    """Several practices of one ICB (real ODS codes, synthetic patients) with distinct NHS numbers."""

    def __init__(self, icb: str = "QHM", practices: int = 5, patients: int = 20_000, *, seed: int = 1,
                 history: HistoryDepth = "recent", as_of: date | None = None) -> None:
        rows = list(practices_in_icb(icb))
        if not rows:
            raise ValueError(f"no practices for ICB {icb} in {MAPPINGS.name}")
        rng = random.Random(f"{seed}:{icb.upper()}:ics")
        chosen = sorted(rng.sample(rows, min(practices, len(rows))), key=lambda r: r.practice_ods)
        # List sizes vary between practices: weights from 0.5x to 1.6x the mean.
        weights = [rng.uniform(0.5, 1.6) for _ in chosen]
        sizes = [int(patients * w / sum(weights)) for w in weights]
        sizes[-1] += patients - sum(sizes)
        self.icb = icb.upper()
        self.rows = chosen
        self.practices: list[SyntheticPractice] = []
        first = 1
        for row, size in zip(chosen, sizes, strict=True):
            self.practices.append(SyntheticPractice(row.practice_ods, size, seed=seed, history=history, as_of=as_of,
                                                    first_seq=first))
            first += size

    def patients(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for practice in self.practices:
            for patient in practice.patients():
                yield practice.ods, patient

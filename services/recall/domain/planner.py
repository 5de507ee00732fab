"""Recall planning: one invitation per patient for all due reviews, spread over the QOF year within capacity.

Pure rules, no I/O. The practice declares clinics (which registers each covers) and slots per month per clinic;
the planner gives every patient a target month (birthday month, a chosen month, or as soon as due), sends the
first invitation the month before a birthday month, keeps January–March for mop-up, and when a month is full
moves the patients worth least to the nearest month with room. Nothing is dropped silently: patients who fit in
no month are listed as ``unplanned`` with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from services.recall.domain.lifecycle import MIN_DAYS_APART, from_record

Strategy = Literal["birthday", "chosen", "asap"]
MOP_UP_MONTHS = (1, 2, 3)


@dataclass(frozen=True)
class Clinic:
    name: str
    registers: frozenset[str]
    capacity: dict[int, int]  # calendar month (1-12) -> appointment slots in that month


@dataclass(frozen=True)
class Candidate:
    patient_id: str
    date_of_birth: date
    registers: frozenset[str]  # registers with an open review this year
    value: float = 0.0  # £ the reviews are worth, or a clinical priority score
    chosen_month: int | None = None
    vulnerable: str | None = None  # housebound, care home, palliative care, learning disability
    # per register: the invitation dates indicators counts in the record this year (recall's or the practice's)
    invited_on: Mapping[str, tuple[date, ...]] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class Planned:
    patient_id: str
    clinics: tuple[str, ...]
    registers: tuple[str, ...]
    appointment_month: date  # first day of the month the review is booked in
    send_month: date  # first day of the month the first invitation goes
    value: float
    moved: bool  # True when capacity moved the patient from their target month
    stage: int = 1  # 2: the record holds a first invitation on every register already (e.g. a letter coded)
    not_before: date | None = None  # stage 2: at least 7 days after that first invitation


@dataclass(frozen=True)
class Unplanned:
    patient_id: str
    reason: str


@dataclass
class Plan:
    year_start: date
    planned: list[Planned] = field(default_factory=list)
    unplanned: list[Unplanned] = field(default_factory=list)
    vulnerable: list[Candidate] = field(default_factory=list)
    load: dict[date, dict[str, tuple[int, int]]] = field(default_factory=dict)  # month -> clinic -> (used, cap)

    def over_capacity(self) -> list[tuple[date, str]]:
        return [(m, c) for m, per in self.load.items() for c, (used, cap) in per.items() if used > cap]


def qof_year_start(day: date) -> date:
    return date(day.year if day.month >= 4 else day.year - 1, 4, 1)


def ruleset_of(day: date) -> str:
    """The rule set id of the QOF year containing ``day`` (``qof-2026-27``), as gap events name it."""
    start = qof_year_start(day).year
    return f"qof-{start}-{str(start + 1)[2:]}"


def ruleset_year_start(ruleset: str) -> date | None:
    """The first day of the QOF year a rule set id names (``qof-2026-27`` -> 1 April 2026), None if none."""
    m = re.fullmatch(r"qof-(\d{4})-\d{2}", ruleset)
    return date(int(m[1]), 4, 1) if m else None


def year_months(year_start: date) -> list[date]:
    """The twelve months of a QOF year (April to March), as first days."""
    return [_add_months(year_start, i) for i in range(12)]


def _add_months(d: date, n: int) -> date:
    m = d.month - 1 + n
    return date(d.year + m // 12, m % 12 + 1, 1)


def month_in_year(year_start: date, month: int) -> date:
    return date(year_start.year if month >= 4 else year_start.year + 1, month, 1)


def clinics_for(registers: Iterable[str], clinics: Sequence[Clinic]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Clinics an invitation books (practice order) and the registers no clinic covers."""
    regs = set(registers)
    names = tuple(c.name for c in clinics if c.registers & regs)
    covered = set().union(*(c.registers for c in clinics)) if clinics else set()
    return names, tuple(sorted(regs - covered))


def target_month(c: Candidate, strategy: Strategy, year_start: date, today: date, mop_up: bool) -> date:
    current = date(today.year, today.month, 1)
    if strategy == "asap":
        month = current
    else:
        cal = c.chosen_month if strategy == "chosen" and c.chosen_month else c.date_of_birth.month
        if mop_up and cal in MOP_UP_MONTHS:
            cal += 3  # January–March birthdays move to April–June; those months are kept for mop-up
        month = month_in_year(year_start, cal)
    return max(month, current)


def plan(
    candidates: Iterable[Candidate],
    clinics: Sequence[Clinic],
    *,
    strategy: Strategy,
    today: date,
    mop_up: bool = True,
    days_apart: int = MIN_DAYS_APART,
) -> Plan:
    year_start = qof_year_start(today)
    months = year_months(year_start)
    current = date(today.year, today.month, 1)
    routine = [m for m in months if m >= current and not (mop_up and m.month in MOP_UP_MONTHS)]
    if not routine:  # in January–March only the mop-up months are left
        routine = [m for m in months if m >= current]
    out = Plan(year_start=year_start)
    used: dict[tuple[date, str], int] = {}
    by_name = {c.name: c for c in clinics}
    ordered = sorted(candidates, key=lambda c: (-c.value, -len(c.registers), c.patient_id))
    for cand in ordered:
        if cand.vulnerable:
            out.vulnerable.append(cand)
            continue
        names, uncovered = clinics_for(cand.registers, clinics)
        if not names:
            out.unplanned.append(Unplanned(cand.patient_id, f"no clinic covers {', '.join(uncovered)}"))
            continue
        # The invitation is for the reviews its clinics hold (a register no clinic covers is not promised),
        # less those the record shows invited twice already.
        record = from_record(cand.invited_on, cand.registers - set(uncovered), days_apart)
        if not record.registers:
            out.unplanned.append(Unplanned(cand.patient_id, record.twice_text()))
            continue
        names = clinics_for(record.registers, clinics)[0]
        want = target_month(cand, strategy, year_start, today, mop_up)
        month = _first_with_room(want, routine, names, by_name, used)
        if month is None:
            out.unplanned.append(Unplanned(cand.patient_id, "no month left with room in " + ", ".join(names)))
            continue
        for n in names:
            used[(month, n)] = used.get((month, n), 0) + 1
        send = max(_add_months(month, -1), current) if strategy == "birthday" else month
        if record.not_before is not None:
            send = max(send, date(record.not_before.year, record.not_before.month, 1))
        covered = tuple(sorted(record.registers))
        out.planned.append(Planned(cand.patient_id, names, covered, month, send, cand.value, month != want,
                                   record.stage, record.not_before))
    out.load = {
        m: {c.name: (used.get((m, c.name), 0), c.capacity.get(m.month, 0)) for c in clinics} for m in months
    }
    return out


def _first_with_room(
    want: date,
    routine: list[date],
    names: tuple[str, ...],
    clinics: dict[str, Clinic],
    used: dict[tuple[date, str], int],
) -> date | None:
    """The target month if it has room in every clinic, else the nearest routine month that has (later first)."""
    if want not in routine:
        later = [m for m in routine if m >= want]
        want = later[0] if later else routine[-1] if routine else want
    order = sorted(routine, key=lambda m: (abs((m.year - want.year) * 12 + m.month - want.month), m < want))
    for m in order:
        if all(used.get((m, n), 0) < clinics[n].capacity.get(m.month, 0) for n in names):
            return m
    return None

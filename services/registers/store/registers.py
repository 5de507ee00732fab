"""Register membership: recomputed for the patients a write touched, announced as ``register.changed``."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from sqlalchemy import and_, delete, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.registers.domain.knowledge import Knowledge
from services.registers.store.models import CodedEntry, Patient, RegisterMember, events
from shared.events.outbox import enqueue
from shared.events.schemas import RegisterChanged
from shared.qof.registers import CodeEvent

SOURCE = "/services/registers"
CHUNK = 2000
NATIONAL = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "reference"
    / "national_prevalence_england_2020_21_computed.csv"
)


@dataclass(frozen=True)
class NationalPrevalence:
    list_type: str
    age_list_pct: float
    total_list_pct: float
    year: str = "2020-21"


@lru_cache(maxsize=1)
def national_prevalence() -> dict[str, NationalPrevalence]:
    with NATIONAL.open(newline="") as fh:
        return {
            r["GROUP_CODE"]: NationalPrevalence(
                r["PATIENT_LIST_TYPE"],
                float(r["prevalence_pct_of_age_list"]),
                float(r["prevalence_pct_of_total_list"]),
            )
            for r in csv.DictReader(fh)
        }


def on_list(on: date):
    """Registered with the practice on ``on``: registered by then, not deregistered or dead by then."""
    return and_(
        Patient.registered_on <= on,
        or_(Patient.deregistered_on.is_(None), Patient.deregistered_on > on),
        or_(Patient.died_on.is_(None), Patient.died_on > on),
    )


async def compute_memberships(
    session: AsyncSession, practice: str, patient_ids: Iterable[str] | None, *, knowledge: Knowledge, on: date
) -> dict[str, dict[str, date]]:
    """patient id -> {register id -> first diagnosis date}; all listed patients of the practice if None."""
    query = select(Patient.id, Patient.date_of_birth).where(Patient.practice_ods == practice, on_list(on))
    ids = list(patient_ids) if patient_ids is not None else None
    patients: dict[str, date] = {}
    if ids is None:
        patients = {r.id: r.date_of_birth for r in await session.execute(query)}
    else:
        for i in range(0, len(ids), CHUNK):
            patients.update(
                {
                    r.id: r.date_of_birth
                    for r in await session.execute(query.where(Patient.id.in_(ids[i : i + CHUNK])))
                }
            )
    history: dict[str, list[CodeEvent]] = defaultdict(list)
    entry_q = select(
        CodedEntry.patient_id, CodedEntry.code, CodedEntry.effective_date, CodedEntry.value
    ).where(
        CodedEntry.register_relevant.is_(True),
        CodedEntry.retracted.is_(False),
        CodedEntry.effective_date <= on,
    )
    if ids is None:
        result = await session.stream(entry_q.where(CodedEntry.practice_ods == practice))
        async for r in result:
            history[r.patient_id].append(CodeEvent(r.code, r.effective_date, r.value))
    else:
        # Patient ids are already the practice's; filtering on them alone lets the (patient, code) index
        # serve the query (with a practice filter too, SQLite may scan the practice's whole record).
        wanted = list(patients)
        for i in range(0, len(wanted), CHUNK):
            for r in await session.execute(entry_q.where(CodedEntry.patient_id.in_(wanted[i : i + CHUNK]))):
                history[r.patient_id].append(CodeEvent(r.code, r.effective_date, r.value))
    compiled = knowledge.registers_on(on)
    return {pid: compiled.evaluate(history.get(pid, ()), dob, on) for pid, dob in patients.items()}


async def refresh_registers(
    session: AsyncSession, practice: str, patient_ids: set[str] | None, *, knowledge: Knowledge, on: date
) -> int:
    """Bring stored membership up to date for these patients (all if None); returns changes announced."""
    if patient_ids is not None and not patient_ids:
        return 0
    target = await compute_memberships(session, practice, patient_ids, knowledge=knowledge, on=on)
    scope = list(patient_ids) if patient_ids is not None else None
    current: dict[str, dict[str, date]] = defaultdict(dict)
    member_q = select(RegisterMember.patient_id, RegisterMember.register, RegisterMember.since)
    if scope is None:
        rows = list(await session.execute(member_q.where(RegisterMember.practice_ods == practice)))
    else:
        rows = []
        for i in range(0, len(scope), CHUNK):
            rows.extend(
                await session.execute(member_q.where(RegisterMember.patient_id.in_(scope[i : i + CHUNK])))
            )
    for r in rows:
        current[r.patient_id][r.register] = r.since
    changes: list[RegisterChanged] = []
    joins: list[dict[str, object]] = []
    leaves: list[tuple[str, str]] = []
    for pid in set(target) | set(current) | set(scope or ()):
        want, have = target.get(pid, {}), current.get(pid, {})
        for reg in want.keys() - have.keys():
            joins.append({"patient_id": pid, "register": reg, "practice_ods": practice, "since": want[reg]})
            changes.append(
                RegisterChanged(
                    practice_ods=practice, patient_id=pid, register_id=reg, on_register=True, as_of=on
                )
            )
        for reg in have.keys() - want.keys():
            leaves.append((pid, reg))
            changes.append(
                RegisterChanged(
                    practice_ods=practice, patient_id=pid, register_id=reg, on_register=False, as_of=on
                )
            )
    if joins:
        await session.execute(insert(RegisterMember), joins)
    for pid, reg in leaves:
        await session.execute(
            delete(RegisterMember).where(RegisterMember.patient_id == pid, RegisterMember.register == reg)
        )
    await enqueue(session, events, changes, source=SOURCE)
    return len(changes)


async def list_size(session: AsyncSession, practice: str, on: date) -> int:
    return int(
        await session.scalar(
            select(func.count()).select_from(Patient).where(Patient.practice_ods == practice, on_list(on))
        )
        or 0
    )


async def stored_register_sizes(session: AsyncSession, practice: str) -> dict[str, int]:
    rows = await session.execute(
        select(RegisterMember.register, func.count())
        .where(RegisterMember.practice_ods == practice)
        .group_by(RegisterMember.register)
    )
    return {r[0]: int(r[1]) for r in rows}

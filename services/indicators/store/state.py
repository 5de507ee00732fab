"""Reading and writing the per-patient state: patients, coded events, registers, contracts, outcomes."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Table, and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.indicators.domain import CodedEvent as DomainEvent
from services.indicators.domain import InvalidRecord, PatientRecord
from services.indicators.domain.records import Sex
from services.indicators.service.kernel import Kernel
from services.indicators.store.models import (
    CODED_EVENTS,
    OUTCOMES,
    PATIENTS,
    REGISTER_MEMBERS,
    Contract,
    Patient,
    RegisterMember,
)
from services.indicators.store.tallies import retally
from shared.db import bulk_insert

CHUNK = 500
SEX: dict[str, Sex] = {"female": "F", "male": "M", "F": "F", "M": "M"}


@dataclass(frozen=True)
class ContractChoice:
    ruleset_id: str
    local_scheme_id: str | None
    stored: bool


async def contract_of(session: AsyncSession, practice: str, kernel: Kernel) -> ContractChoice:
    row = await session.get(Contract, practice)
    if row is None:  # none recorded: the QOF year scored today, never a closed year by default
        return ContractChoice(kernel.qof_ruleset_in_force(kernel.today()) or kernel.default_ruleset, None, False)
    return ContractChoice(row.ruleset_id, row.local_scheme_id, True)


def registered_on(day: date) -> Any:
    p = PATIENTS.c
    return and_(
        p.registered_on <= day,
        or_(p.deregistered_on.is_(None), p.deregistered_on > day),
        or_(p.died_on.is_(None), p.died_on > day),
    )


async def list_size(session: AsyncSession, practice: str, day: date) -> int:
    q = select(func.count()).select_from(Patient).where(Patient.practice_ods == practice, registered_on(day))
    return int(await session.scalar(q) or 0)


async def register_sizes(session: AsyncSession, practice: str, day: date) -> dict[str, int] | None:
    """Registers service id -> members on ``day``, from the memberships stored by the last evaluation; None
    when those are not all for ``day`` (the caller derives them from the record instead)."""
    rc = REGISTER_MEMBERS.c
    other = await session.scalar(
        select(func.count()).select_from(RegisterMember).where(rc.practice_ods == practice, rc.as_of != day)
    )
    if other:
        return None
    q = (
        select(rc.register_id, func.count())
        .where(rc.practice_ods == practice, rc.as_of == day)
        .group_by(rc.register_id)
    )
    return {r[0]: int(r[1]) for r in await session.execute(q)}


async def _delete_patients(session: AsyncSession, t: Table, practice: str, patient_ids: Iterable[str] | None) -> None:
    """Delete the rows of these patients (all the practice's when None) from a per-patient table."""
    if patient_ids is None:
        await session.execute(delete(t).where(t.c.practice_ods == practice))
    else:
        ids = sorted(set(patient_ids))
        for i in range(0, len(ids), CHUNK):
            await session.execute(delete(t).where(t.c.patient_id.in_(ids[i : i + CHUNK])))


async def replace_memberships(
    session: AsyncSession, practice: str, patient_ids: Iterable[str] | None, day: date,
    held: dict[str, frozenset[str]],
) -> None:
    """Store the register memberships derived for these patients (all when None) at ``day``."""
    t = REGISTER_MEMBERS
    await _delete_patients(session, t, practice, patient_ids)
    rows = [
        {"patient_id": pid, "register_id": reg, "practice_ods": practice, "as_of": day}
        for pid, regs in sorted(held.items())
        for reg in sorted(regs)
    ]
    await bulk_insert(session, t, rows)


async def load_patients(
    session: AsyncSession, practice: str, kernel: Kernel, patient_ids: Iterable[str] | None = None
) -> list[PatientRecord]:
    """Patients of the practice (all, or these) with their live relevant coded events and registration dates.

    Register membership is not read here: it depends on the date scored (``Kernel.registers_on``)."""
    pc, ec = PATIENTS.c, CODED_EVENTS.c
    ids = sorted(set(patient_ids)) if patient_ids is not None else None
    people: list[Any] = []
    events: dict[str, list[DomainEvent]] = defaultdict(list)
    pq = select(pc.patient_id, pc.date_of_birth, pc.sex, pc.registered_on, pc.deregistered_on, pc.died_on)
    eq = select(ec.patient_id, ec.code, ec.effective_date, ec.value).where(
        ec.relevant.is_(True), ec.retracted.is_(False)
    )
    # Given patient ids (the practice's own, from its events) are the only filter: with the practice as well,
    # a planner may read the practice's whole record through its practice index instead of probing each id.
    if ids is None:
        people = list(await session.execute(pq.where(pc.practice_ods == practice)))
        for pid, code, day, value in await session.execute(eq.where(ec.practice_ods == practice)):
            events[pid].append(DomainEvent(code, day, value))
    else:
        for i in range(0, len(ids), CHUNK):
            part = ids[i : i + CHUNK]
            people.extend(await session.execute(pq.where(pc.patient_id.in_(part))))
            for pid, code, day, value in await session.execute(eq.where(ec.patient_id.in_(part))):
                events[pid].append(DomainEvent(code, day, value))
    out = []
    for pid, dob, sex, reg_on, dereg, died in people:
        try:
            out.append(
                PatientRecord(
                    pid,
                    dob,
                    SEX.get(sex, "U"),
                    max(reg_on, dob),
                    dereg,
                    died,  # type: ignore[arg-type]
                    events=tuple(events.get(pid, ())),
                )
            )
        except InvalidRecord:
            continue
    return out


async def reflag_relevant(session: AsyncSession, practice: str, codes: Iterable[str]) -> None:
    """Mark entries whose code a rule set now reads (after a new rule set or codelist release)."""
    t = CODED_EVENTS
    wanted = sorted(codes)
    for i in range(0, len(wanted), 1000):
        await session.execute(
            update(t)
            .where(t.c.practice_ods == practice, t.c.relevant.is_(False), t.c.code.in_(wanted[i : i + 1000]))
            .values(relevant=True)
        )


async def stored_outcomes(
    session: AsyncSession, practice: str, patient_ids: Iterable[str] | None = None
) -> dict[tuple[str, str, str], dict[str, Any]]:
    """(patient, rule set, indicator) -> stored row (status, field, gap, trace, and what the tallies count it by)."""
    oc = OUTCOMES.c
    q = select(oc.patient_id, oc.ruleset_id, oc.indicator_id, oc.status, oc.field, oc.gap, oc.trace,
               oc.achievement_date)
    rows: list[Any] = []
    if patient_ids is None:
        rows = list(await session.execute(q.where(oc.practice_ods == practice)))
    else:
        ids = sorted(set(patient_ids))
        for i in range(0, len(ids), CHUNK):
            rows.extend(await session.execute(q.where(oc.patient_id.in_(ids[i : i + CHUNK]))))
    return {
        (r.patient_id, r.ruleset_id, r.indicator_id): {
            "ruleset_id": r.ruleset_id,
            "indicator_id": r.indicator_id,
            "achievement_date": r.achievement_date,
            "status": r.status,
            "field": r.field,
            "gap": r.gap,
            "trace": r.trace,
        }
        for r in rows
    }


async def replace_outcomes(
    session: AsyncSession,
    practice: str,
    patient_ids: Iterable[str] | None,
    rows: Sequence[dict[str, Any]],
    replaced: Mapping[tuple[str, str, str], dict[str, Any]],
) -> None:
    """The one writer of outcomes: these patients' (all the practice's when None) are replaced by ``rows``,
    and the practice's tallies moved with them. ``replaced``: their stored rows, as :func:`stored_outcomes`
    read them in this transaction."""
    t = OUTCOMES
    ids = None if patient_ids is None else sorted(set(patient_ids))
    await _delete_patients(session, t, practice, ids)
    await retally(session, practice, None if ids is None else replaced.values(), rows)
    if rows and session.bind is not None and session.bind.dialect.name == "postgresql":
        # COPY hands JSON to the server as text
        rows = [{**r, "trace": json.dumps(r["trace"]), "gap": None if r["gap"] is None else json.dumps(r["gap"])}
                for r in rows]
    await bulk_insert(session, t, list(rows))

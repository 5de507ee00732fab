"""Coded-record ingestion: validate all, then write all, in the caller's transaction.

A batch is atomic: any invalid entry raises a 422 problem listing every bad entry and nothing is written.
``entry_id`` (the sender's id) is unique per practice, so re-sending an entry is a no-op, a changed entry is a
correction (new version, ``correction=True`` in its event) and nothing is ever counted twice.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.registers.domain.knowledge import Knowledge
from services.registers.domain.validation import EntryChecker, EntryProblem, PatientFacts
from services.registers.schemas import BatchResult, EntryFlag, EntryIn, RetractResult
from services.registers.store.models import CodedEntry, Patient, events
from services.registers.store.registers import refresh_registers
from shared.db import StatisticsKeeper, bulk_insert, new_id, utcnow
from shared.events.outbox import enqueue
from shared.events.schemas import CodeRecorded, CodeRetracted, RecordedCode
from shared.identifiers import normalise_nhs_number
from shared.problems import Problem, invalid

# A declarative class's table is a Table at run time; the ORM stubs type it as any FromClause.
ENTRIES = cast(Table, CodedEntry.__table__)

SOURCE = "/services/registers"
CHUNK = 5000
STATISTICS = StatisticsKeeper()


def content_hash(e: EntryIn, nhs: str) -> str:
    raw = f"{nhs}|{e.code}|{e.effective_date.isoformat()}|{e.value!r}|{e.unit}|{e.kind}|{e.recorded_by}"
    return hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()


async def patients_by_nhs(
    session: AsyncSession, practice: str, numbers: Sequence[str]
) -> dict[str, PatientFacts]:
    out: dict[str, PatientFacts] = {}
    unique = list(set(numbers))
    for i in range(0, len(unique), CHUNK):
        rows = await session.execute(
            select(Patient.id, Patient.nhs_number, Patient.date_of_birth, Patient.died_on).where(
                Patient.practice_ods == practice, Patient.nhs_number.in_(unique[i : i + CHUNK])
            )
        )
        for r in rows:
            out[r.nhs_number] = PatientFacts(r.id, r.date_of_birth, r.died_on)
    return out


async def ingest_entries(
    session: AsyncSession,
    practice: str,
    entries: Sequence[EntryIn],
    *,
    source: str,
    knowledge: Knowledge,
    today: date,
) -> BatchResult:
    """Validate and store a batch; raise ``Problem`` 422 (nothing written) if any entry is invalid."""
    nhs_numbers = [normalise_nhs_number(e.nhs_number) for e in entries]
    patients = await patients_by_nhs(session, practice, nhs_numbers)
    checker = EntryChecker(today, knowledge.known_codes, knowledge.ranges)
    problems: list[EntryProblem] = []
    seen: dict[str, tuple[int, str]] = {}
    hashes: list[str] = []
    for i, (entry, nhs) in enumerate(zip(entries, nhs_numbers, strict=True)):
        problems.extend(checker.problems(i, entry, patients.get(nhs)))
        digest = content_hash(entry, nhs)
        hashes.append(digest)
        if entry.entry_id in seen and seen[entry.entry_id][1] != digest:
            problems.append(
                EntryProblem(
                    i,
                    entry.entry_id,
                    "entry_id",
                    f"entry_id also used by entry {seen[entry.entry_id][0]} with other content",
                )
            )
        seen.setdefault(entry.entry_id, (i, digest))
    if problems:
        raise invalid(
            [p.as_dict() for p in problems],
            f"{len({p.index for p in problems})} of {len(entries)} entries are invalid; nothing was stored",
        )

    existing: dict[
        str, tuple[str, str, bool, int]
    ] = {}  # entry id -> (platform id, hash, retracted, version)
    ids = list(seen)
    for i in range(0, len(ids), CHUNK):
        rows = await session.execute(
            select(
                CodedEntry.client_entry_id,
                CodedEntry.id,
                CodedEntry.content_hash,
                CodedEntry.retracted,
                CodedEntry.version,
            ).where(CodedEntry.practice_ods == practice, CodedEntry.client_entry_id.in_(ids[i : i + CHUNK]))
        )
        existing.update({r[0]: (r[1], r[2], r[3], r[4]) for r in rows})

    now = utcnow()
    inserts: list[dict[str, object]] = []
    corrections: list[dict[str, object]] = []
    per_patient: dict[str, list[RecordedCode]] = defaultdict(list)
    flags: list[EntryFlag] = []
    unchanged = 0
    done: set[str] = set()
    for i, (entry, nhs, digest) in enumerate(zip(entries, nhs_numbers, hashes, strict=True)):
        if entry.entry_id in done:
            unchanged += 1
            continue
        done.add(entry.entry_id)
        patient = patients[nhs]
        fields = {
            "code": entry.code,
            "effective_date": entry.effective_date,
            "value": entry.value,
            "unit": entry.unit,
            "kind": entry.kind,
            "recorded_by": entry.recorded_by,
            "content_hash": digest,
            "known_code": entry.code in knowledge.known_codes,
            "register_relevant": knowledge.register_relevant(entry.code),
            "updated_at": now,
        }
        current = existing.get(entry.entry_id)
        if current is not None and current[1] == digest:
            unchanged += 1
            continue
        if current is None:
            row_id = new_id()
            inserts.append(
                {
                    **fields,
                    "id": row_id,
                    "practice_ods": practice,
                    "patient_id": patient.patient_id,
                    "client_entry_id": entry.entry_id,
                    "source": source,
                    "retracted": False,
                    "version": 1,
                    "recorded_at": now,
                }
            )
        else:
            row_id = current[0]
            corrections.append({**fields, "b_client_id": entry.entry_id, "retracted": False})
        per_patient[patient.patient_id].append(
            RecordedCode(
                entry_id=row_id,
                code=entry.code,
                effective_date=entry.effective_date,
                value=entry.value,
                unit=entry.unit,
                kind=entry.kind,
                correction=current is not None,
            )
        )
        flags.extend(
            EntryFlag(index=i, entry_id=entry.entry_id, flag=f, detail=d) for f, d in checker.flags(entry)
        )

    await bulk_insert(session, ENTRIES, inserts)
    await STATISTICS.inserted(session, ENTRIES, len(inserts))
    if corrections:
        table = ENTRIES
        # The version is counted in the statement, not from the row read above: concurrent corrections of
        # one entry each count (the row lock orders them).
        stmt = (
            update(table)
            .where(table.c.practice_ods == practice, table.c.client_entry_id == bindparam("b_client_id"))
            .values(version=table.c.version + 1)
        )
        await session.execute(stmt, corrections)
    await enqueue(
        session,
        events,
        (
            CodeRecorded(practice_ods=practice, patient_id=pid, source=source, entries=codes)  # type: ignore[arg-type]
            for pid, codes in per_patient.items()
        ),
        source=SOURCE,
    )
    touched = {
        pid for pid, codes in per_patient.items() if any(knowledge.register_relevant(c.code) for c in codes)
    }
    await refresh_registers(session, practice, touched, knowledge=knowledge, on=today)
    return BatchResult(
        received=len(entries),
        created=len(inserts),
        corrected=len(corrections),
        unchanged=unchanged,
        flags=flags[:1000],
    )


async def retract_entries(
    session: AsyncSession, practice: str, client_ids: Sequence[str], *, knowledge: Knowledge, today: date
) -> RetractResult:
    rows = (
        await session.execute(
            select(
                CodedEntry.id,
                CodedEntry.client_entry_id,
                CodedEntry.patient_id,
                CodedEntry.retracted,
                CodedEntry.register_relevant,
            ).where(
                CodedEntry.practice_ods == practice, CodedEntry.client_entry_id.in_(list(set(client_ids)))
            )
        )
    ).all()
    found = {r.client_entry_id for r in rows}
    missing = [cid for cid in client_ids if cid not in found]
    if missing:
        raise invalid(
            [
                {"index": client_ids.index(m), "field": "entry_ids", "reason": "no such entry", "entry_id": m}
                for m in missing[:1000]
            ],
            "Unknown entry ids; nothing was retracted",
        )
    live = [r for r in rows if not r.retracted]
    if live:
        await session.execute(
            update(CodedEntry)
            .where(
                CodedEntry.practice_ods == practice,
                CodedEntry.client_entry_id.in_([r.client_entry_id for r in live]),
            )
            .values(retracted=True, updated_at=utcnow())
        )
    by_patient: dict[str, list[str]] = defaultdict(list)
    for r in live:
        by_patient[r.patient_id].append(r.id)
    await enqueue(
        session,
        events,
        (
            CodeRetracted(practice_ods=practice, patient_id=pid, entry_ids=ids)
            for pid, ids in by_patient.items()
        ),
        source=SOURCE,
    )
    await refresh_registers(
        session, practice, {r.patient_id for r in live if r.register_relevant}, knowledge=knowledge, on=today
    )
    return RetractResult(retracted=len(live), already_retracted=len(rows) - len(live))


def conflict() -> Problem:
    return Problem(
        409,
        "Conflict",
        "Another request wrote the same entries at the same time; send the batch again (it is idempotent)",
        kind="conflict",
    )

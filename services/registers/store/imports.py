"""Bulk arrivals: FHIR bundles (in the caller's transaction) and CSV import jobs (in the background).

FHIR: Patients are upserted first, so that entries about a patient the bundle creates pass validation in the
same transaction; clinical entries then go through ``ingest_entries``. A ``transaction`` bundle is all or
nothing (``TransactionRefused``); in a ``batch`` or ``collection`` each entry stands alone: entries are
validated with the ``EntryChecker`` beforehand and only the valid ones are ingested.

CSV: the whole file is validated before anything is stored (a job with any invalid row fails and stores
nothing), then it is ingested in chunks of ``CHUNK_ROWS`` rows, one transaction each, the job's progress
written in the same transaction as the rows it counts. Entry ids make a re-run idempotent, which is also the
remedy for a job stopped half-way (the service shut down, or another writer changed a patient meanwhile).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

from fastapi import FastAPI
from sqlalchemy import Table, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.registers.domain.csv_mapping import CsvRow, HeaderError, RowError, map_rows, read_csv
from services.registers.domain.fhir_mapping import Issue, Mapped, ParsedBundle, patient_in, response_bundle
from services.registers.domain.knowledge import Knowledge
from services.registers.domain.validation import EntryChecker
from services.registers.schemas import BatchResult, EntryIn, PatientIn, PatientOut
from services.registers.store.models import CodedEntry, ImportJob, Patient
from services.registers.store.patients import patient_out, upsert_patients
from services.registers.store.records import CHUNK, ingest_entries, patients_by_nhs
from shared.db import utcnow
from shared.identifiers import normalise_nhs_number
from shared.jobs import JobTable, leased, start_sweeper, stop_sweeper
from shared.problems import Problem
from shared.service import Runtime

log = logging.getLogger("qof.registers.imports")
CHUNK_ROWS = 5000
MAX_ERRORS = 1000
STOP_GRACE_SECONDS = 10.0


# --- FHIR bundles ---------------------------------------------------------------------------------------


class TransactionRefused(Exception):
    """A transaction bundle with any refused entry: answered 422, nothing stored."""

    def __init__(self, refused: list[Mapped]) -> None:
        super().__init__(f"{len(refused)} entries refused")
        self.refused = refused


@dataclass(frozen=True)
class BundleReply:
    body: dict[str, Any]
    patients_written: int
    entries_written: int
    # platform patient id -> the fields the bundle changed (for the audit log; values are not kept)
    changed: dict[str, list[str]] = field(default_factory=dict)


# PatientIn field -> the FHIR element it comes from, for reporting what a Patient resource changed.
PATIENT_ELEMENTS = {"given_name": "Patient.name.given", "family_name": "Patient.name.family",
                    "date_of_birth": "Patient.birthDate", "sex": "Patient.gender",
                    "died_on": "Patient.deceasedDateTime"}
CONTACT_ELEMENTS = {"email": "Patient.telecom", "mobile": "Patient.telecom", "address": "Patient.address.line",
                    "postcode": "Patient.address.postalCode"}


def patient_changes(stored: PatientOut, made: PatientIn) -> list[str]:
    """The FHIR elements whose value differs from what the practice holds."""
    changed = [element for name, element in PATIENT_ELEMENTS.items()
               if getattr(stored, name) != getattr(made, name)]
    changed += [element for name, element in CONTACT_ELEMENTS.items()
                if getattr(stored.contact, name) != getattr(made.contact, name) and element not in changed]
    return changed


async def _stored_patients(session: AsyncSession, practice: str,
                           numbers: Sequence[str]) -> dict[str, PatientOut]:
    out: dict[str, PatientOut] = {}
    unique = list(set(numbers))
    for i in range(0, len(unique), CHUNK):
        rows = await session.scalars(
            select(Patient).where(
                Patient.practice_ods == practice, Patient.nhs_number.in_(unique[i : i + CHUNK])
            )
        )
        out.update({p.nhs_number: patient_out(p) for p in rows})
    return out


async def _existing_ids(session: AsyncSession, practice: str, ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    unique = list(set(ids))
    for i in range(0, len(unique), CHUNK):
        found.update(
            await session.scalars(
                select(CodedEntry.client_entry_id).where(
                    CodedEntry.practice_ods == practice, CodedEntry.client_entry_id.in_(unique[i : i + CHUNK])
                )
            )
        )
    return found


def _refuse_on_problems(owners: Sequence[Mapped], entries: Sequence[EntryIn], problem: Problem) -> None:
    for err in problem.errors or []:
        m = owners[int(err["index"])]
        mapped = next(me for me in m.entries if me.entry is entries[int(err["index"])])
        path = mapped.paths.get(str(err["field"]), m.resource_type)
        m.refuse("invalid", path, f"{path}: {err['reason']}")


async def apply_bundle(
    session: AsyncSession,
    practice: str,
    bundle: ParsedBundle,
    mapped: list[Mapped],
    *,
    knowledge: Knowledge,
    today: date,
    register: bool = False,
) -> BundleReply:
    """Store what the bundle holds; raise ``TransactionRefused`` for a refused transaction bundle.

    A Patient whose NHS number the practice does not hold is refused unless ``register``; a Patient the
    practice holds is updated, and the elements it changed are answered as informational issues."""
    atomic = bundle.type == "transaction"

    def settle() -> None:
        if atomic and any(m.refused for m in mapped):
            raise TransactionRefused([m for m in mapped if m.refused])

    settle()
    status: dict[int, int] = {}
    people = [m for m in mapped if m.patient is not None and not m.refused]
    stored = await _stored_patients(session, practice, [m.patient.nhs_number for m in people if m.patient])
    upserts = []
    changes: dict[str, list[str]] = {}
    for m in people:
        assert m.patient is not None
        held = stored.get(m.patient.nhs_number)
        if held is None and not register:
            m.refuse("not-found", "Patient.identifier", "Patient.identifier: no patient with this NHS number "
                     "is registered at the practice; to register them (as of today), send the bundle with "
                     "?register=true", 404)
            continue
        made = patient_in(m.patient, held, today)
        if isinstance(made, list):
            m.issues.extend(made)
            continue
        upserts.append(made)
        status[m.index] = 200 if held else 201
        if held is not None:
            changes[made.nhs_number] = patient_changes(held, made)
            m.warnings.extend(Issue("informational", element, f"{element}: changed from what the practice "
                                    "held", "information") for element in changes[made.nhs_number])
    settle()
    changed: dict[str, list[str]] = {}
    if upserts:
        upserted = await upsert_patients(session, practice, upserts)
        changed = {upserted.ids[nhs]: fields for nhs, fields in changes.items() if fields}

    clinical = [m for m in mapped if m.entries and not m.refused]
    facts = await patients_by_nhs(
        session, practice, [normalise_nhs_number(me.entry.nhs_number) for m in clinical for me in m.entries]
    )
    checker = EntryChecker(today, knowledge.known_codes, knowledge.ranges)
    seen: dict[str, EntryIn] = {}
    for m in clinical:
        for me in m.entries:
            patient = facts.get(normalise_nhs_number(me.entry.nhs_number))
            for p in checker.problems(m.index, me.entry, patient):
                path = me.paths.get(p.field, m.resource_type)
                m.refuse("invalid", path, f"{path}: {p.reason}")
            first = seen.setdefault(me.entry.entry_id, me.entry)
            if first is not me.entry and first != me.entry:
                m.refuse(
                    "invalid",
                    me.paths["entry_id"],
                    f"{me.paths['entry_id']}: another entry of the bundle has the same id with other content",
                )
    settle()

    result = BatchResult(received=0, created=0, corrected=0, unchanged=0)
    while True:  # each pass that storage refuses refuses at least one more entry
        accepted = [m for m in clinical if not m.refused]
        entries = [me.entry for m in accepted for me in m.entries]
        owners = [m for m in accepted for _ in m.entries]
        if not entries:
            break
        existing = await _existing_ids(session, practice, [e.entry_id for e in entries])
        try:
            result = await ingest_entries(
                session, practice, entries, source="fhir", knowledge=knowledge, today=today
            )
        except Problem as exc:
            if exc.status != 422 or not exc.errors:
                raise
            _refuse_on_problems(owners, entries, exc)  # a patient changed meanwhile, by another request
            settle()
            continue
        for flag in result.flags:
            owners[flag.index].warnings.append(
                Issue(
                    "informational",
                    owners[flag.index].resource_type,
                    f"{flag.flag}: {flag.detail}",
                    "warning",
                )
            )
        for m in accepted:
            status[m.index] = 201 if any(me.entry.entry_id not in existing for me in m.entries) else 200
        break

    answers = [
        (m.refused_status, m.issues + m.warnings) if m.refused else (status.get(m.index, 200), m.warnings)
        for m in mapped
    ]
    return BundleReply(
        response_bundle(bundle.response_type, answers), len(upserts), result.created + result.corrected,
        changed,
    )


# --- CSV import jobs ------------------------------------------------------------------------------------


@dataclass
class ImportJobs:
    """This process's running import tasks (kept on ``app.state`` so they are not garbage-collected) and
    the write counts of the jobs it ran, which the job table does not hold."""

    tasks: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    counts: dict[str, BatchResult] = field(default_factory=dict)

    def start(self, job_id: str, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work, name=f"import-{job_id}")
        self.tasks[job_id] = task
        task.add_done_callback(lambda _t: self.tasks.pop(job_id, None))

    def add(self, job_id: str, r: BatchResult) -> None:
        now = self.counts.get(job_id) or BatchResult(received=0, created=0, corrected=0, unchanged=0)
        self.counts[job_id] = BatchResult(
            received=now.received + r.received,
            created=now.created + r.created,
            corrected=now.corrected + r.corrected,
            unchanged=now.unchanged + r.unchanged,
        )
        while len(self.counts) > 10_000:
            self.counts.pop(next(iter(self.counts)))


def import_jobs(app: FastAPI) -> ImportJobs:
    jobs: ImportJobs | None = getattr(app.state, "import_jobs", None)
    if jobs is None:
        jobs = app.state.import_jobs = ImportJobs()
    return jobs


async def create_job(session: AsyncSession, practice: str, created_by: str, kind: str = "csv") -> ImportJob:
    job = ImportJob(
        practice_ods=practice,
        kind=kind,
        status="queued",
        total_rows=0,
        processed_rows=0,
        accepted=0,
        rejected=0,
        errors=[],
        created_by=created_by,
        created_at=utcnow(),
    )
    session.add(job)
    await session.flush()
    return job


async def get_job(session: AsyncSession, practice: str, job_id: str) -> ImportJob | None:
    return await session.scalar(
        select(ImportJob).where(ImportJob.id == job_id, ImportJob.practice_ods == practice)
    )


async def _set(rt: Runtime, job_id: str, **values: Any) -> None:
    async with rt.sessions() as s, s.begin():
        await s.execute(update(ImportJob).where(ImportJob.id == job_id).values(**values))


def _check_rows(
    rows: list[CsvRow], facts: dict[str, Any], checker: EntryChecker, column: dict[str, str]
) -> list[RowError]:
    errors = []
    for r in rows:
        for p in checker.problems(r.row, r.entry, facts.get(r.entry.nhs_number)):
            errors.append(RowError(r.row, column.get(p.field, p.field), p.reason))
    return errors


async def _fail(rt: Runtime, job_id: str, errors: list[RowError], total: int | None = None) -> None:
    errors.sort(key=lambda e: e.row or 0)
    values: dict[str, Any] = {
        "status": "failed",
        "accepted": 0,
        "rejected": len({e.row for e in errors}),
        "errors": [e.as_dict() for e in errors[:MAX_ERRORS]],
        "finished_at": utcnow(),
    }
    if total is not None:
        values["total_rows"] = total
    await _set(rt, job_id, **values)


async def _store_chunk(
    rt: Runtime,
    job_id: str,
    practice: str,
    chunk: list[CsvRow],
    done: int,
    *,
    knowledge: Knowledge,
    today: date,
) -> BatchResult:
    """One chunk and the job's progress, in one transaction; tried again once if another writer stored some
    of the same entries at the same time (the second try sees them and does not store them twice)."""
    for attempt in range(2):
        try:
            async with rt.sessions() as s, s.begin():
                result = await ingest_entries(
                    s, practice, [r.entry for r in chunk], source="csv", knowledge=knowledge, today=today
                )
                await s.execute(
                    update(ImportJob).where(ImportJob.id == job_id).values(processed_rows=done, accepted=done)
                )
            return result
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")


async def _ingest(
    rt: Runtime,
    jobs: ImportJobs,
    job_id: str,
    practice: str,
    rows: list[CsvRow],
    *,
    knowledge: Knowledge,
    today: date,
    progress: list[int],
) -> list[RowError]:
    """Ingest chunk by chunk; the errors of a chunk that validation passed but storage refused (a patient
    changed meanwhile), or none."""
    for i in range(0, len(rows), CHUNK_ROWS):
        chunk = rows[i : i + CHUNK_ROWS]
        try:
            result = await _store_chunk(
                rt, job_id, practice, chunk, progress[0] + len(chunk), knowledge=knowledge, today=today
            )
        except Problem as exc:
            if exc.status != 422:
                raise
            return [
                RowError(chunk[int(e["index"])].row, str(e["field"]), str(e["reason"]))
                for e in exc.errors or []
            ]
        progress[0] += len(chunk)
        rt.events_written()
        jobs.add(job_id, result)
    return []


IMPORT_JOBS = JobTable(
    cast(Table, ImportJob.__table__),
    lambda: {"errors": [RowError(None, "", "the service running this import stopped before it finished; "
                                 "send the file again to complete it (rows already stored are not stored "
                                 "twice)").as_dict()]},
)


async def run_csv_import(
    rt: Runtime, jobs: ImportJobs, job_id: str, practice: str, text: str, *, knowledge: Knowledge, today: date
) -> None:
    """Validate the whole file, then ingest it chunk by chunk; the job row tells the progress. The job's
    lease is renewed meanwhile, so that another instance can tell a crashed import from a running one."""
    async with leased(rt.sessions, IMPORT_JOBS, job_id):
        await _run_csv_import(rt, jobs, job_id, practice, text, knowledge=knowledge, today=today)


async def start_import_sweeper(app: FastAPI) -> None:
    """Fail imports left unfinished by a process that died (at start-up, then every lease period)."""
    jobs = import_jobs(app)
    app.state.import_sweeper = await start_sweeper(app.state.runtime.sessions, IMPORT_JOBS, lambda: set(jobs.tasks))


async def _run_csv_import(
    rt: Runtime, jobs: ImportJobs, job_id: str, practice: str, text: str, *, knowledge: Knowledge, today: date
) -> None:
    total = 0
    progress = [0]
    try:
        await _set(rt, job_id, status="running")
        try:
            header, raw = await asyncio.to_thread(read_csv, text)
        except HeaderError as exc:
            await _fail(rt, job_id, exc.errors)
            return
        total = len(raw)
        await _set(rt, job_id, total_rows=total)
        rows, errors = await asyncio.to_thread(map_rows, raw, header)
        async with rt.sessions() as s, s.begin():
            facts = await patients_by_nhs(s, practice, [r.entry.nhs_number for r in rows])
        checker = EntryChecker(today, knowledge.known_codes, knowledge.ranges)
        errors += await asyncio.to_thread(_check_rows, rows, facts, checker, header.names)
        if not errors:
            errors = await _ingest(
                rt, jobs, job_id, practice, rows, knowledge=knowledge, today=today, progress=progress
            )
        if errors:
            await _fail(rt, job_id, errors)
            log.info("import refused", extra={"job_id": job_id, "rows": total, "invalid_rows": len(errors)})
            return
        await _set(rt, job_id, status="done", processed_rows=total, accepted=total, finished_at=utcnow())
        log.info("import done", extra={"job_id": job_id, "rows": total})
    except asyncio.CancelledError:
        await _fail(
            rt,
            job_id,
            [
                RowError(
                    None,
                    "",
                    f"the service stopped after {progress[0]} of {total} "
                    "rows; send the file again to complete the import (rows "
                    "already stored are not stored twice)",
                )
            ],
            total,
        )
        raise
    except Exception as exc:
        log.error("import failed", extra={"job_id": job_id, "error": type(exc).__name__})
        await _fail(
            rt,
            job_id,
            [
                RowError(
                    None,
                    "",
                    f"the import stopped on an unexpected error after "
                    f"{progress[0]} rows; send the file again (it is "
                    "idempotent)",
                )
            ],
            total,
        )


async def stop_import_jobs(app: FastAPI) -> None:
    """Service shutdown: let running imports finish for a short grace period, then cancel the rest (each
    cancelled job is marked failed, with its progress kept)."""
    await stop_sweeper(getattr(app.state, "import_sweeper", None))
    jobs: ImportJobs | None = getattr(app.state, "import_jobs", None)
    tasks = list(jobs.tasks.values()) if jobs else []
    if not tasks:
        return
    _done, pending = await asyncio.wait(tasks, timeout=STOP_GRACE_SECONDS)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)

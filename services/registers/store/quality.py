"""The data-quality report of a practice: SQL narrows, the pure rules in ``domain.quality`` decide."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Row, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from services.registers.domain.knowledge import Knowledge
from services.registers.domain.quality import (
    RESOLVED_BUT_TREATED,
    SUSPECTED_UNCODED,
    Dated,
    Finding,
    RecorderStats,
    by_recorder,
    resolved_but_treated,
    suspected_uncoded,
)
from services.registers.domain.validation import range_rows
from services.registers.store.models import CodedEntry, ImportJob, Patient

CHUNK = 2000
E = CodedEntry


@dataclass
class QualityReport:
    findings: list[Finding]
    recorders: list[RecorderStats]


def _active(practice: str):
    return and_(E.practice_ods == practice, E.retracted.is_(False))


async def _in_chunks(
    session: AsyncSession, query: Select, column: InstrumentedAttribute[str], values: list[str]
) -> list[Row]:
    rows: list[Row] = []
    for i in range(0, len(values), CHUNK):
        rows.extend(await session.execute(query.where(column.in_(values[i : i + CHUNK]))))
    return rows


async def quality_report(session: AsyncSession, practice: str, *, knowledge: Knowledge, today: date) -> QualityReport:
    findings: list[Finding] = []

    rows = await session.execute(
        select(E.id, E.patient_id, E.code, E.recorded_by).where(_active(practice), E.known_code.is_(False))
    )
    findings += [
        Finding(
            "unknown-code",
            r.patient_id,
            "valid SNOMED CT id in none of the platform's codelists",
            (r.id,),
            r.code,
            (r.recorded_by,),
        )
        for r in rows
    ]

    for cluster, rng in range_rows():
        codes = sorted(knowledge.clusters(cluster))
        if not codes:
            continue
        q = select(E.id, E.patient_id, E.code, E.value, E.recorded_by).where(
            _active(practice),
            E.value.is_not(None),
            or_(E.value < rng.implausible_below, E.value > rng.implausible_above),
        )
        for r in await _in_chunks(session, q, E.code, codes):
            findings.append(
                Finding(
                    "implausible-value",
                    r.patient_id,
                    f"{r.value:g} {rng.unit} is outside the usual range for "
                    f"{rng.measurement.lower()} ({rng.implausible_below:g}-{rng.implausible_above:g})",
                    (r.id,),
                    r.code,
                    (r.recorded_by,),
                )
            )

    rows = await session.execute(
        select(
            E.id,
            E.patient_id,
            E.code,
            E.effective_date,
            E.recorded_by,
            Patient.date_of_birth,
            Patient.died_on,
        )
        .join(Patient, Patient.id == E.patient_id)
        .where(
            _active(practice),
            or_(
                E.effective_date < Patient.date_of_birth,
                E.effective_date > today,
                and_(Patient.died_on.is_not(None), E.effective_date > Patient.died_on),
            ),
        )
    )
    for r in rows:
        why = (
            "before the date of birth"
            if r.effective_date < r.date_of_birth
            else "in the future"
            if r.effective_date > today
            else "after the date of death"
        )
        findings.append(
            Finding(
                "impossible-date",
                r.patient_id,
                f"dated {r.effective_date.isoformat()}, {why}",
                (r.id,),
                r.code,
                (r.recorded_by,),
            )
        )

    dup_keys = (
        select(E.patient_id, E.code, E.effective_date, E.value)
        .where(_active(practice))
        .group_by(E.patient_id, E.code, E.effective_date, E.value)
        .having(func.count() > 1)
        .subquery()
    )
    rows = await session.execute(
        select(E.id, E.patient_id, E.code, E.effective_date, E.recorded_by)
        .join(
            dup_keys,
            and_(
                dup_keys.c.patient_id == E.patient_id,
                dup_keys.c.code == E.code,
                dup_keys.c.effective_date == E.effective_date,
                or_(dup_keys.c.value == E.value, and_(dup_keys.c.value.is_(None), E.value.is_(None))),
            ),
        )
        .where(_active(practice))
        .order_by(E.patient_id, E.code, E.effective_date, E.id)
    )
    groups: dict[tuple[str, str, date], list] = defaultdict(list)
    for r in rows:
        groups[(r.patient_id, r.code, r.effective_date)].append(r)
    for (pid, code, on), items in groups.items():
        findings.append(
            Finding(
                "duplicate",
                pid,
                f"{len(items)} identical entries of this code on {on.isoformat()}",
                tuple(i.id for i in items),
                code,
                tuple(i.recorded_by for i in items[1:]),
            )
        )

    for treated in RESOLVED_BUT_TREATED:
        by_cluster = {c: knowledge.clusters(c) for c in (*treated.diagnosis, *treated.resolved, *treated.treatment)}
        res_codes = sorted(frozenset().union(*(by_cluster[c] for c in treated.resolved)))
        resolved_q = select(E.patient_id).where(_active(practice)).distinct()
        patients = sorted({r.patient_id for r in await _in_chunks(session, resolved_q, E.code, res_codes)})
        if not patients:
            continue
        all_codes = sorted(frozenset().union(*by_cluster.values()))
        history: dict[str, list[Dated]] = defaultdict(list)
        for i in range(0, len(patients), CHUNK):
            history_q = select(E.id, E.patient_id, E.code, E.effective_date).where(
                _active(practice), E.patient_id.in_(patients[i : i + CHUNK])
            )
            for r in await _in_chunks(session, history_q, E.code, all_codes):
                history[r.patient_id].append(Dated(r.id, r.code, r.effective_date))
        for pid, items in history.items():
            treated_finding = resolved_but_treated(treated, pid, items, by_cluster)
            if treated_finding:
                findings.append(treated_finding)

    for uncoded in SUSPECTED_UNCODED:
        result_codes = sorted(knowledge.clusters(*uncoded.results))
        dx_codes = sorted(knowledge.clusters(*uncoded.diagnosis))
        value_q = select(E.id, E.patient_id, E.code, E.effective_date, E.value).where(
            _active(practice), E.value >= uncoded.threshold
        )
        results: dict[str, list[Dated]] = defaultdict(list)
        for r in await _in_chunks(session, value_q, E.code, result_codes):
            results[r.patient_id].append(Dated(r.id, r.code, r.effective_date, r.value))
        candidates = sorted(pid for pid, items in results.items() if len(items) >= uncoded.count)
        if not candidates:
            continue
        coded = {
            r.patient_id
            for r in await _in_chunks(
                session,
                select(E.patient_id).where(_active(practice), E.code.in_(dx_codes)).distinct(),
                E.patient_id,
                candidates,
            )
        }
        for pid in candidates:
            if pid not in coded:
                uncoded_finding = suspected_uncoded(uncoded, pid, results[pid])
                if uncoded_finding:
                    findings.append(uncoded_finding)

    counts = {
        r[0]: int(r[1])
        for r in await session.execute(
            select(E.recorded_by, func.count()).where(_active(practice)).group_by(E.recorded_by)
        )
    }
    return QualityReport(findings, by_recorder(counts, findings))


@dataclass(frozen=True)
class RejectedImport:
    job_id: str
    created_at: datetime
    rows_rejected: int
    by_column: dict[str, int]


async def rejected_imports(session: AsyncSession, practice: str, *, since: datetime) -> list[RejectedImport]:
    """Refused CSV imports: what was wrong with the rows that never entered the record."""
    jobs = await session.scalars(
        select(ImportJob)
        .where(ImportJob.practice_ods == practice, ImportJob.status == "failed", ImportJob.created_at >= since)
        .order_by(ImportJob.created_at.desc())
    )
    out = []
    for job in jobs:
        columns = Counter(str(e.get("column") or "row") for e in job.errors or [])
        if columns:
            out.append(RejectedImport(job.id, job.created_at, job.rejected, dict(columns)))
    return out

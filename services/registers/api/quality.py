"""Data quality: what to fix in the record, and error counts per recorder for coding training."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from services.registers.api.deps import KnowledgeDep, RecordsReader, Today
from services.registers.domain.terms import term
from services.registers.store.models import audit_log
from services.registers.store.quality import quality_report, rejected_imports
from shared.audit import audit
from shared.service import RuntimeDep

router = APIRouter(prefix="/v1/practices/{ods}/quality", tags=["data quality"])


class FindingOut(BaseModel):
    kind: str
    patient_id: str
    code: str | None
    term: str | None
    detail: str
    entry_ids: list[str]


class RecorderOut(BaseModel):
    recorded_by: str
    entries: int
    findings: int
    per_1000_entries: float
    by_kind: dict[str, int]


class RejectedImportOut(BaseModel):
    job_id: str
    created_at: datetime
    rows_rejected: int
    by_column: dict[str, int]


class QualityOut(BaseModel):
    practice: str
    as_of: date
    summary: dict[str, int]
    findings: list[FindingOut]
    truncated: bool
    recorders: list[RecorderOut]
    rejected_imports: list[RejectedImportOut] = Field(
        description="Imports refused in the last 90 days (invalid codes, dates, values never enter the record): "
        "errors counted by column"
    )


@router.get("", response_model=QualityOut, summary="Coding problems and per-recorder error counts")
async def get_quality(
    ods: str,
    rt: RuntimeDep,
    principal: RecordsReader,
    kb: KnowledgeDep,
    today: Today,
    kind: Annotated[str | None, Query(description="Only this kind of finding")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> QualityOut:
    async with rt.sessions() as s, s.begin():
        report = await quality_report(s, ods.upper(), knowledge=kb, today=today)
        refused = await rejected_imports(
            s, ods.upper(), since=datetime.combine(today - timedelta(days=90), datetime.min.time())
        )
        await audit(s, audit_log, principal, "quality.read", "report", practice=ods)
    findings = [f for f in report.findings if kind is None or f.kind == kind]
    return QualityOut(
        practice=ods.upper(),
        as_of=today,
        summary=dict(Counter(f.kind for f in report.findings)),
        findings=[
            FindingOut(
                kind=f.kind,
                patient_id=f.patient_id,
                code=f.code,
                term=term(f.code) if f.code else None,
                detail=f.detail,
                entry_ids=list(f.entry_ids),
            )
            for f in findings[:limit]
        ],
        truncated=len(findings) > limit,
        recorders=[
            RecorderOut(
                recorded_by=r.recorded_by,
                entries=r.entries,
                findings=r.total,
                per_1000_entries=r.rate_per_1000,
                by_kind=dict(r.findings),
            )
            for r in report.recorders
        ],
        rejected_imports=[
            RejectedImportOut(
                job_id=j.job_id, created_at=j.created_at, rows_rejected=j.rows_rejected, by_column=j.by_column
            )
            for j in refused
        ],
    )

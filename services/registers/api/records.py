"""Coded records: atomic batches, retraction, a patient's record."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from services.registers.api.deps import KnowledgeDep, RecordsReader, RecordsWriter, Today
from services.registers.domain.terms import term
from services.registers.schemas import BatchIn, BatchResult, RetractIn, RetractResult
from services.registers.store.models import CodedEntry, audit_log
from services.registers.store.patients import get_patient
from services.registers.store.records import conflict, ingest_entries, retract_entries
from shared.audit import audit
from shared.problems import not_found
from shared.service import RuntimeDep

router = APIRouter(prefix="/v1/practices/{ods}", tags=["records"])


class RecordOut(BaseModel):
    entry_id: str
    id: str
    code: str
    term: str | None
    effective_date: date
    value: float | None
    unit: str | None
    kind: str
    source: str
    version: int
    retracted: bool
    known_code: bool


@router.post(
    "/records",
    response_model=BatchResult,
    summary="Record a batch of coded entries (atomic)",
    responses={
        422: {
            "description": "Invalid entries (problem+json listing index, field, reason); nothing was stored"
        }
    },
)
async def post_records(
    ods: str, body: BatchIn, rt: RuntimeDep, principal: RecordsWriter, today: Today, kb: KnowledgeDep
) -> BatchResult:
    try:
        async with rt.sessions() as s, s.begin():
            result = await ingest_entries(
                s, ods.upper(), body.entries, source="json", knowledge=kb, today=today
            )
            await audit(
                s,
                audit_log,
                principal,
                "records.write",
                f"{result.created + result.corrected} entries",
                practice=ods,
            )
    except IntegrityError:
        raise conflict() from None
    rt.events_written()
    return result


@router.post("/records/retract", response_model=RetractResult, summary="Retract entries entered in error")
async def post_retract(
    ods: str, body: RetractIn, rt: RuntimeDep, principal: RecordsWriter, today: Today, kb: KnowledgeDep
) -> RetractResult:
    async with rt.sessions() as s, s.begin():
        result = await retract_entries(s, ods.upper(), body.entry_ids, knowledge=kb, today=today)
        await audit(
            s,
            audit_log,
            principal,
            "records.retract",
            f"{result.retracted} entries",
            practice=ods,
            detail=body.reason,
        )
    rt.events_written()
    return result


@router.get(
    "/patients/{patient_id}/records", response_model=list[RecordOut], summary="A patient's coded record"
)
async def patient_records(
    ods: str,
    patient_id: str,
    rt: RuntimeDep,
    principal: RecordsReader,
    include_retracted: Annotated[bool, Query()] = False,
) -> list[RecordOut]:
    async with rt.sessions() as s, s.begin():
        if await get_patient(s, ods.upper(), patient_id) is None:
            raise not_found("Patient")
        q = select(CodedEntry).where(
            CodedEntry.practice_ods == ods.upper(), CodedEntry.patient_id == patient_id
        )
        if not include_retracted:
            q = q.where(CodedEntry.retracted.is_(False))
        rows = list(await s.scalars(q.order_by(CodedEntry.effective_date, CodedEntry.id)))
        await audit(s, audit_log, principal, "records.read", patient_id, practice=ods)
    return [
        RecordOut(
            entry_id=r.client_entry_id,
            id=r.id,
            code=r.code,
            term=term(r.code),
            effective_date=r.effective_date,
            value=r.value,
            unit=r.unit,
            kind=r.kind,
            source=r.source,
            version=r.version,
            retracted=r.retracted,
            known_code=r.known_code,
        )
        for r in rows
    ]

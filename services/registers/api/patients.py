"""Patients: bulk upsert by NHS number, read, look up."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from services.registers.api.deps import RecordsReader, RecordsWriter, Today
from services.registers.domain.validation import patient_date_problems
from services.registers.schemas import PatientIn, PatientOut
from services.registers.store.models import Patient, audit_log
from services.registers.store.patients import get_patient, patient_out, upsert_patients
from shared.audit import audit
from shared.identifiers import NHSNumber
from shared.problems import invalid, not_found
from shared.service import RuntimeDep

router = APIRouter(prefix="/v1/practices/{ods}/patients", tags=["patients"])
MAX_IDS = 1000


class PatientsIn(BaseModel):
    patients: list[PatientIn] = Field(min_length=1, max_length=10_000)


class UpsertOut(BaseModel):
    created: int
    updated: int
    unchanged: int
    ids: dict[str, str] = Field(description="NHS number -> platform patient id")


class PatientPage(BaseModel):
    items: list[PatientOut]
    next_cursor: str | None


@router.put("", response_model=UpsertOut, summary="Create or update patients (matched by NHS number)")
async def put_patients(
    ods: str, body: PatientsIn, rt: RuntimeDep, principal: RecordsWriter, today: Today
) -> UpsertOut:
    errors = [{"field": f"patients.{i}.{name}", "reason": reason, "index": i}
              for i, p in enumerate(body.patients) for name, reason in patient_date_problems(p, today)]
    if errors:
        raise invalid(errors, "Some patients' dates cannot be right; nothing was stored")
    async with rt.sessions() as s, s.begin():
        result = await upsert_patients(s, ods.upper(), body.patients)
        await audit(
            s, audit_log, principal, "patients.upsert", f"{len(body.patients)} patients", practice=ods
        )
    rt.events_written()
    return UpsertOut(
        created=result.created, updated=result.updated, unchanged=result.unchanged, ids=result.ids
    )


@router.get("", response_model=PatientPage, summary="List patients, or find one by NHS number")
async def list_patients(
    ods: str,
    rt: RuntimeDep,
    principal: RecordsReader,
    nhs_number: Annotated[NHSNumber | None, Query()] = None,
    patient_id: Annotated[
        list[str] | None,
        Query(alias="id", max_length=MAX_IDS,
              description=f"Only these platform patient ids (repeatable, at most {MAX_IDS}): a page's identities "
              "resolved in one call; ids of other practices are not found"),
    ] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> PatientPage:
    q = select(Patient).where(Patient.practice_ods == ods.upper()).order_by(Patient.id).limit(limit + 1)
    if nhs_number:
        q = q.where(Patient.nhs_number == nhs_number)
    if patient_id:
        q = q.where(Patient.id.in_(patient_id))
    if cursor:
        q = q.where(Patient.id > cursor)
    async with rt.sessions() as s, s.begin():
        rows = list(await s.scalars(q))
        await audit(
            s, audit_log, principal, "patients.list", "search" if nhs_number or patient_id else "page", practice=ods
        )
    more = len(rows) > limit
    rows = rows[:limit]
    return PatientPage(items=[patient_out(p) for p in rows], next_cursor=rows[-1].id if more else None)


@router.get("/{patient_id}", response_model=PatientOut, summary="Read one patient")
async def read_patient(ods: str, patient_id: str, rt: RuntimeDep, principal: RecordsReader) -> PatientOut:
    async with rt.sessions() as s, s.begin():
        p = await get_patient(s, ods.upper(), patient_id)
        if p is None:
            raise not_found("Patient")
        await audit(s, audit_log, principal, "patient.read", patient_id, practice=ods)
    return patient_out(p)

"""QOF registers: sizes with prevalence beside the national figure, and the patients on each."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from services.registers.api.deps import KnowledgeDep, RecordsReader, RecordsWriter, Today
from services.registers.store.models import Patient, RegisterMember, audit_log
from services.registers.store.registers import (
    compute_memberships,
    list_size,
    national_prevalence,
    refresh_registers,
    stored_register_sizes,
)
from shared.audit import audit
from shared.problems import not_found
from shared.qof.registers import BY_ID, qof_year_of
from shared.service import RuntimeDep

router = APIRouter(prefix="/v1/practices/{ods}/registers", tags=["registers"])


class RegisterSize(BaseModel):
    register_id: str
    name: str
    size: int
    prevalence_pct: float | None = Field(description="Register size as % of the practice list")
    national_prevalence_pct: float | None = Field(description="England, % of total list (2020-21)")
    national_age_list_pct: float | None = Field(description="England, % of the register's own age list")
    status: str = Field(description="complete | partial (a condition cannot be tested) | unavailable")
    missing_clusters: list[str]
    stand_in_clusters: list[str]
    notes: str


class RegistersOut(BaseModel):
    practice: str
    as_of: date
    qof_year: str = Field(description="The QOF year whose register definitions were used (the year containing as_of)")
    list_size: int
    national_year: str = "2020-21"
    registers: list[RegisterSize]


class RegisterPatient(BaseModel):
    patient_id: str
    since: date


class RegisterPatientsOut(BaseModel):
    register_id: str
    items: list[RegisterPatient]
    next_cursor: str | None


@router.get("", response_model=RegistersOut, summary="Register sizes and prevalence")
async def register_sizes(
    ods: str,
    rt: RuntimeDep,
    principal: RecordsReader,
    kb: KnowledgeDep,
    today: Today,
    on: Annotated[date | None, Query(description="Compute as of this date (default today)")] = None,
) -> RegistersOut:
    practice = ods.upper()
    as_of = on or today
    async with rt.sessions() as s:
        size = await list_size(s, practice, as_of)
        if on is None:
            sizes = await stored_register_sizes(s, practice)
        else:
            members = await compute_memberships(s, practice, None, knowledge=kb, on=as_of)
            sizes = {}
            for regs in members.values():
                for reg in regs:
                    sizes[reg] = sizes.get(reg, 0) + 1
    national = national_prevalence()
    year = qof_year_of(as_of)
    compiled = kb.registers.for_year(year)
    out = []
    for d in compiled.definitions:
        avail = compiled.available[d.id]
        nat = national.get(d.prevalence_group)
        n = sizes.get(d.id, 0)
        out.append(
            RegisterSize(
                register_id=d.id,
                name=d.name,
                size=n,
                prevalence_pct=round(100 * n / size, 2) if size else None,
                national_prevalence_pct=nat.total_list_pct if nat else None,
                national_age_list_pct=nat.age_list_pct if nat else None,
                status=avail.status,
                missing_clusters=list(avail.missing),
                stand_in_clusters=list(avail.stand_ins),
                notes=d.notes,
            )
        )
    return RegistersOut(practice=practice, as_of=as_of, qof_year=year, list_size=size, registers=out)


@router.get("/{register_id}/patients", response_model=RegisterPatientsOut, summary="Patients on a register")
async def register_patients(
    ods: str,
    register_id: str,
    rt: RuntimeDep,
    principal: RecordsReader,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> RegisterPatientsOut:
    if register_id.upper() not in BY_ID:
        raise not_found(f"Register {register_id}")
    q = (
        select(RegisterMember.patient_id, RegisterMember.since)
        .join(Patient, Patient.id == RegisterMember.patient_id)
        .where(RegisterMember.practice_ods == ods.upper(), RegisterMember.register == register_id.upper())
        .order_by(RegisterMember.patient_id)
        .limit(limit + 1)
    )
    if cursor:
        q = q.where(RegisterMember.patient_id > cursor)
    async with rt.sessions() as s, s.begin():
        rows = list(await s.execute(q))
        await audit(s, audit_log, principal, "register.read", register_id.upper(), practice=ods)
    more = len(rows) > limit
    rows = rows[:limit]
    return RegisterPatientsOut(
        register_id=register_id.upper(),
        items=[RegisterPatient(patient_id=r[0], since=r[1]) for r in rows],
        next_cursor=rows[-1][0] if more else None,
    )


class RefreshOut(BaseModel):
    changes: int


@router.post(
    "/refresh",
    response_model=RefreshOut,
    summary="Recompute every patient's registers as of today (ages move on; run nightly)",
)
async def refresh(
    ods: str, rt: RuntimeDep, kb: KnowledgeDep, today: Today, principal: RecordsWriter
) -> RefreshOut:
    async with rt.sessions() as s, s.begin():
        changes = await refresh_registers(s, ods.upper(), None, knowledge=kb, on=today)
        await audit(s, audit_log, principal, "registers.refresh", f"{changes} changes", practice=ods)
    rt.events_written()
    return RefreshOut(changes=changes)

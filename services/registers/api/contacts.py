"""Contact details for the recall service, read at send time (they never travel on the bus)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy import func, or_, select

from services.registers.schemas import PatientOut
from services.registers.store.models import Patient, audit_log
from services.registers.store.patients import patient_out
from shared.audit import audit
from shared.auth import Principal, practice_access
from shared.problems import invalid
from shared.service import RuntimeDep

router = APIRouter(prefix="/v1/practices/{ods}/contacts", tags=["patients"])
ContactReader = Annotated[Principal, Depends(practice_access("patients:contact"))]


class ContactPage(BaseModel):
    items: list[PatientOut]


@router.get("", response_model=ContactPage, summary="Contact details of patients, by id, NHS number or name")
async def contacts(
    ods: str,
    rt: RuntimeDep,
    principal: ContactReader,
    id: Annotated[list[str] | None, Query(max_length=1000)] = None,
    nhs_number: str | None = None,
    name: Annotated[str | None, Query(min_length=2, max_length=100)] = None,
) -> ContactPage:
    q = select(Patient).where(Patient.practice_ods == ods.upper())
    if id:
        q = q.where(Patient.id.in_(id))
    elif nhs_number:
        q = q.where(Patient.nhs_number == nhs_number.replace(" ", ""))
    elif name:
        like = f"%{name.lower()}%"
        full = func.lower(func.coalesce(Patient.given_name, "") + " " + func.coalesce(Patient.family_name, ""))
        q = q.where(or_(full.like(like), func.lower(Patient.family_name).like(like))).limit(100)
    else:
        raise invalid([{"field": "id", "reason": "give patient ids, an NHS number or a name"}])
    async with rt.sessions() as s, s.begin():
        rows = list(await s.scalars(q))
        await audit(s, audit_log, principal, "patients.contact", f"{len(rows)} patients", practice=ods)
    return ContactPage(items=[patient_out(p) for p in rows])

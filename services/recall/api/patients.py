"""What the practice tells recall about a patient: own cohort, chosen month, opt-out, booked."""

from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import update

from services.recall.api.deps import RecallWriter
from services.recall.events import stop_planned
from services.recall.store.models import RecallPatient, audit_log
from shared.audit import audit
from shared.problems import not_found
from shared.service import RuntimeDep

router = APIRouter(prefix="/v1/practices/{ods}/recall/patients", tags=["recall planning"])
Cohort = Literal["housebound", "care-home", "palliative", "learning-disability"]


class PatientRecallIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cohort: Cohort | None = Field(None, description="Own cohort, contacted individually, never bulk-messaged")
    recall_month: int | None = Field(None, ge=1, le=12, description="Chosen month instead of the birthday month")
    opted_out: bool = False
    booked_on: date | None = Field(None, description="Review booked: no further invitations")


@router.put("/{patient_id}", summary="Cohort, chosen month, opt-out or booking of one patient")
async def put_patient(ods: str, patient_id: str, body: PatientRecallIn, rt: RuntimeDep,
                      principal: RecallWriter) -> dict[str, str]:
    async with rt.sessions() as s, s.begin():
        r = await s.execute(update(RecallPatient).where(
            RecallPatient.practice_ods == ods.upper(), RecallPatient.patient_id == patient_id)
            .values(**body.model_dump()))
        if r.rowcount == 0:  # type: ignore[attr-defined]
            raise not_found("Patient")
        if body.opted_out or body.booked_on or body.cohort:
            await stop_planned(s, ods.upper(), patient_id,
                               "opted out" if body.opted_out else "booked" if body.booked_on else "own cohort")
        await audit(s, audit_log, principal, "recall.patient", patient_id, practice=ods)
    return {"patient_id": patient_id}

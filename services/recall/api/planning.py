"""Clinics, plans and campaigns."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import delete

from services.recall.api.deps import Now, RecallReader, RecallWriter
from services.recall.api.schemas import ClinicsIn, MonthLoad, PlanIn, PlanOut
from services.recall.domain.planner import Plan
from services.recall.store.models import ClinicConfig, audit_log
from services.recall.store.planning import make_plan
from shared.audit import audit
from shared.problems import invalid
from shared.service import RuntimeDep

router = APIRouter(prefix="/v1/practices/{ods}/recall", tags=["recall planning"])


@router.put("/clinics", summary="Declare the practice's clinics and their slots per month")
async def put_clinics(ods: str, body: ClinicsIn, rt: RuntimeDep, principal: RecallWriter) -> dict[str, int]:
    names = [c.name for c in body.clinics]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise invalid([{"field": "clinics.name", "reason": f"clinic named twice: {', '.join(dupes)}"}])
    async with rt.sessions() as s, s.begin():
        await s.execute(delete(ClinicConfig).where(ClinicConfig.practice_ods == ods.upper()))
        for i, c in enumerate(body.clinics):
            s.add(
                ClinicConfig(
                    practice_ods=ods.upper(),
                    name=c.name,
                    position=i,
                    registers=sorted(set(c.registers)),
                    capacity={str(m): n for m, n in c.capacity.items()},
                )
            )
        await audit(s, audit_log, principal, "recall.clinics", f"{len(body.clinics)} clinics", practice=ods)
    return {"clinics": len(body.clinics)}


def plan_out(result: Plan, strategy: str) -> PlanOut:
    y = result.year_start.year
    return PlanOut(
        year=f"{y}-{str(y + 1)[2:]}",
        strategy=strategy,  # type: ignore[arg-type]
        planned=len(result.planned),
        second_from_record=sum(p.stage == 2 for p in result.planned),
        load=[
            MonthLoad(month=m, clinic=c, planned=used, capacity=cap)
            for m, per in sorted(result.load.items())
            for c, (used, cap) in per.items()
        ],
        over_capacity=len(result.over_capacity()),
        unplanned=[{"patient_id": u.patient_id, "reason": u.reason} for u in result.unplanned],
        vulnerable=[{"patient_id": v.patient_id, "cohort": v.vulnerable or ""} for v in result.vulnerable],
    )


@router.post("/plan", response_model=PlanOut, summary="Month-by-month load of a plan, before anything is sent")
async def preview_plan(ods: str, body: PlanIn, rt: RuntimeDep, _p: RecallReader, now: Now) -> PlanOut:
    async with rt.sessions() as s:
        result = await make_plan(s, ods.upper(), now.date(), body.strategy, body.values, body.mop_up)
    return plan_out(result, body.strategy)

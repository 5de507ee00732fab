"""A patient's QOF page: every indicator of the practice's contract this year and the patient's status in each."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from services.indicators.api.deps import KernelDep, Reader, ScoringRead
from services.indicators.api.schemas import YearOut
from services.indicators.api.worklists import EvidenceOut, FindingOut
from services.indicators.service.patient_view import IndicatorStanding, patient_view
from services.indicators.store.models import audit_log
from shared.audit import audit
from shared.problems import not_found
from shared.service import RuntimeDep

router = APIRouter(prefix="/v1/practices/{ods}/patients", tags=["patient"], dependencies=[ScoringRead])

Status = Literal["numerator", "gap", "pca", "excluded", "not_in_population", "not_scored"]


class StandingOut(BaseModel):
    indicator_id: str
    ruleset: str
    wording: str
    group: str
    status: Status = Field(description="numerator; gap (in the denominator, not the numerator); pca (personalised "
                           "care adjustment); excluded (from the population by a rule); not_in_population; "
                           "not_scored (a cluster has no public copy)")
    field: str | None = Field(description="The PCA or exclusion field, e.g. DMPCADEC")
    rule: str | None = Field(description="The rule step that decided")
    rule_text: str | None = Field(description="That step's business-rule text")
    action: str | None = Field(description="What the step did, e.g. 'reject (PCA)'")
    evidence: EvidenceOut | None = Field(description="The entry that decided it (code, date, value), if any")
    unmet: list[FindingOut] = Field(description="For a gap: what each success rule found instead")
    because: str | None = Field(description="For a gap: the findings and invitations in one line")
    closes: str | None = Field(description="For a gap: what would close it")
    deadline: date | None
    days_left: int | None
    reason: str | None = Field(description="For not_in_population / not_scored: why")


class PatientIndicatorsOut(YearOut):
    practice: str
    patient_id: str
    achievement_date: date
    registered: bool = Field(description="Registered with the practice on the achievement date")
    age: int = Field(description="Age in years on the achievement date")
    registers: list[str] = Field(description="Shared registers the patient is on at the achievement date")
    indicators: list[StandingOut] = Field(description="The patient's indicators first, then the others")


ORDER = {"gap": 0, "pca": 1, "excluded": 2, "numerator": 3, "not_in_population": 4, "not_scored": 5}


def standing_out(s: IndicatorStanding, day: date) -> StandingOut:
    t: dict[str, Any] = s.trace or {}
    g: dict[str, Any] = s.gap or {}
    deadline = date.fromisoformat(g["deadline"]) if g.get("deadline") else None
    return StandingOut(
        indicator_id=s.indicator.id,
        ruleset=s.ruleset_id,
        wording=s.indicator.wording,
        group=s.indicator.group,
        status=s.status,  # type: ignore[arg-type]
        field=s.field,
        rule=t.get("rule"),
        rule_text=t.get("text"),
        action=t.get("action"),
        evidence=EvidenceOut.model_validate(t["evidence"]) if t.get("evidence") else None,
        unmet=[FindingOut.model_validate(f) for f in t.get("unmet") or []],
        because=g.get("why") or None,
        closes=g.get("closes"),
        deadline=deadline,
        days_left=None if deadline is None else (deadline - day).days,
        reason=s.reason or None,
    )


@router.get(
    "/{patient_id}/indicators",
    response_model=PatientIndicatorsOut,
    summary="Every indicator this year and the patient's status in each, with the rule step and entry that decided",
)
async def patient_indicators(
    ods: str, patient_id: str, rt: RuntimeDep, kernel: KernelDep, principal: Reader
) -> PatientIndicatorsOut:
    practice = ods.upper()
    async with rt.sessions() as s, s.begin():
        view = await patient_view(s, kernel, practice, patient_id)
        if view is None:
            raise not_found("Patient")
        await audit(s, audit_log, principal, "patient.indicators.read", patient_id, practice=practice)
    day = view.period.achievement_date
    items = sorted((standing_out(x, day) for x in view.standings), key=lambda x: (ORDER[x.status], x.indicator_id))
    return PatientIndicatorsOut(
        qof_year=view.period.qof_year,
        year_closed=view.period.closed,
        note=view.period.note,
        practice=practice,
        patient_id=patient_id,
        achievement_date=day,
        registered=view.registered,
        age=view.age,
        registers=sorted(view.registers),
        indicators=items,
    )

"""One patient's QOF page: every indicator of the practice's contract this year and where the patient stands.

The patient is evaluated from their dated record on the achievement date (the same engine and registers as
the stored outcomes), so the rule step and the entry that decided each outcome are named. An indicator whose
population the patient is not in says which part of the population rule left them out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.indicators.domain import Indicator, PatientRecord
from services.indicators.service.evaluation import contract_on, evaluate, gap_json, periods, trace_json
from services.indicators.service.kernel import Kernel, Period
from services.indicators.service.scoring import STORED_STATUS, contract_indicators
from services.indicators.store.models import PATIENTS
from services.indicators.store.state import contract_of, load_patients
from shared.qof.age import age_in_years

# Stored outcome status -> what the patient's page calls it.
PAGE_STATUS = {"numerator": "numerator", "denominator_only": "gap", "pca": "pca", "excluded": "excluded"}


@dataclass(frozen=True)
class IndicatorStanding:
    ruleset_id: str
    indicator: Indicator
    status: str  # numerator | gap | pca | excluded | not_in_population | not_scored
    field: str | None = None
    trace: dict[str, Any] | None = None
    gap: dict[str, Any] | None = None
    reason: str = ""  # for not_in_population / not_scored: why


@dataclass(frozen=True)
class PatientView:
    patient_id: str
    period: Period
    registered: bool
    age: int
    registers: frozenset[str]
    standings: list[IndicatorStanding]


async def practice_patient(session: AsyncSession, practice: str, patient_id: str) -> bool:
    pc = PATIENTS.c
    q = select(pc.patient_id).where(pc.patient_id == patient_id, pc.practice_ods == practice)
    return (await session.scalar(q)) is not None


def outside_population(ind: Indicator, patient: PatientRecord, age: int, registers: frozenset[str]) -> str:
    """Which part of the population rule leaves the patient out (the engine already decided they are out)."""
    pop = ind.population
    if pop.min_age is not None and age < pop.min_age:
        return f"aged {age}; the indicator is for patients aged {pop.min_age} or over"
    if pop.max_age is not None and age > pop.max_age:
        return f"aged {age}; the indicator is for patients aged {pop.max_age} or under"
    if pop.sex is not None and patient.sex != pop.sex:
        return f"the indicator is for {'female' if pop.sex == 'F' else 'male'} patients"
    if pop.attains_age is not None:
        return f"does not reach the cohort age ({pop.attains_age}) in this service year"
    if pop.register is not None:
        return f"not on {pop.register} on the achievement date"
    return "not registered with the practice on the achievement date"


async def patient_view(session: AsyncSession, kernel: Kernel, practice: str, patient_id: str) -> PatientView | None:
    """None when the patient is not one of the practice's (a patient of another practice is not found)."""
    if not await practice_patient(session, practice, patient_id):
        return None
    contract = contract_on(kernel, await contract_of(session, practice, kernel), kernel.today())
    period_of = periods(kernel, contract)
    period = period_of[contract.ruleset_id]
    day = period.achievement_date
    patients = await load_patients(session, practice, kernel, [patient_id])
    held: dict[date, dict[str, frozenset[str]]] = {}
    pairs = evaluate(kernel, contract, patients, period_of, held) if patients else []
    found = {(rid, o.indicator_id): o for rid, o in pairs}
    patient = patients[0] if patients else None
    registered = patient is not None and patient.is_registered_on(day)
    regs = (held.get(day) or {}).get(patient_id, frozenset())
    age = age_in_years(patient.date_of_birth, day) if patient else 0
    standings: list[IndicatorStanding] = []
    for rs, ind in contract_indicators(kernel, practice, contract.ruleset_id, contract.local_scheme_id):
        readiness = kernel.engine(rs.id).readiness[ind.id]
        if readiness.readiness == "attestation":
            continue  # a practice-level declaration: no patient is in it
        if readiness.readiness == "incomplete":
            standings.append(IndicatorStanding(rs.id, ind, "not_scored",
                                               reason="not scored: no public copy of " + ", ".join(readiness.missing)))
            continue
        o = found.get((rs.id, ind.id))
        if o is None:
            why = (outside_population(ind, patient, age, regs) if registered and patient
                   else "not registered with the practice on the achievement date")
            standings.append(IndicatorStanding(rs.id, ind, "not_in_population", reason=why))
            continue
        standings.append(IndicatorStanding(rs.id, ind, PAGE_STATUS[STORED_STATUS[o.status]], o.field,
                                           trace_json(o.trace), gap_json(o.gap)))
    return PatientView(patient_id, period, registered, age, regs, standings)

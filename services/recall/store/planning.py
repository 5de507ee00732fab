"""Reading what the planner needs from recall's tables, and writing a campaign's first invitations."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date

from sqlalchemy import ColumnElement, and_, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.recall.domain.planner import Candidate, Clinic, Plan, Strategy, plan, ruleset_of
from services.recall.store.models import Campaign, ClinicConfig, Gap, Invitation, RecallPatient
from shared.db import new_id, utcnow

# Registers whose patients form the cohort that is never bulk-messaged.
VULNERABLE_REGISTERS = {"PC_REG": "palliative", "LD_REG": "learning-disability"}


async def clinics_of(session: AsyncSession, practice: str) -> list[Clinic]:
    rows = await session.scalars(
        select(ClinicConfig).where(ClinicConfig.practice_ods == practice).order_by(ClinicConfig.position)
    )
    return [
        Clinic(r.name, frozenset(r.registers), {int(m): int(n) for m, n in r.capacity.items()}) for r in rows
    ]


def open_gaps(practice: str, day: date) -> ColumnElement[bool]:
    """Open gaps on a register of the QOF year containing ``day``: the gaps recall invites for. Indicators
    publish gaps of other years too (a closed year's, a year still to come): those never produce invitations."""
    return and_(Gap.practice_ods == practice, Gap.ruleset == ruleset_of(day), Gap.open.is_(True),
                Gap.register_id.is_not(None))  # gaps on no register (e.g. BP002) are not what recall invites for


def excluded(p: RecallPatient, today: date) -> str | None:
    if p.died_on is not None and p.died_on <= today:
        return "deceased"
    if p.deregistered_on is not None and p.deregistered_on <= today:
        return "deregistered"
    if p.opted_out:
        return "opted out"
    return None


async def candidates(
    session: AsyncSession, practice: str, today: date, values: Mapping[str, float]
) -> list[Candidate]:
    """Patients with at least one open gap on a register, who may be messaged, with their £ worth."""
    gaps = await session.execute(
        select(Gap.patient_id, Gap.register_id, Gap.indicator_id).where(open_gaps(practice, today))
    )
    regs: dict[str, set[str]] = defaultdict(set)
    worth: dict[str, float] = defaultdict(float)
    for pid, reg, ind in gaps:
        if reg is None:
            continue
        regs[pid].add(reg)
        worth[pid] += values.get(ind, 0.0) or 0.01  # unpriced reviews still count, below every priced one
    patients = await session.scalars(select(RecallPatient).where(RecallPatient.practice_ods == practice))
    out = []
    for p in patients:
        if p.patient_id not in regs or excluded(p, today):
            continue
        own = regs[p.patient_id]
        cohort = p.cohort or next((VULNERABLE_REGISTERS[r] for r in sorted(own) if r in VULNERABLE_REGISTERS), None)
        out.append(
            Candidate(
                p.patient_id,
                p.date_of_birth,
                frozenset(regs[p.patient_id] - VULNERABLE_REGISTERS.keys()) or frozenset(regs[p.patient_id]),
                round(worth[p.patient_id], 2),
                p.recall_month,
                cohort,
            )
        )
    return out


async def make_plan(
    session: AsyncSession,
    practice: str,
    today: date,
    strategy: Strategy,
    values: Mapping[str, float],
    mop_up: bool,
) -> Plan:
    cands = await candidates(session, practice, today, values)
    return plan(cands, await clinics_of(session, practice), strategy=strategy, today=today, mop_up=mop_up)


async def write_first_invitations(session: AsyncSession, campaign: Campaign, result: Plan) -> int:
    rows = [
        {
            "id": new_id(),
            "campaign_id": campaign.id,
            "practice_ods": campaign.practice_ods,
            "patient_id": p.patient_id,
            "stage": 1,
            "attempt": 1,
            "reference": f"{campaign.id}:{p.patient_id}:1:1",
            "clinics": list(p.clinics),
            "registers": list(p.registers),
            "cohort": "general",
            "appointment_month": p.appointment_month,
            "send_month": p.send_month,
            "value": p.value,
            "status": "planned",
            "codes_recorded": False,
            "updated_at": utcnow(),
        }
        for p in result.planned
    ]
    if rows:
        await session.execute(insert(Invitation), rows)
    return len(rows)

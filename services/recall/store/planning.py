"""Reading what the planner needs from recall's tables, and writing a campaign's first invitations."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date

from sqlalchemy import ColumnElement, and_, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.recall.domain.lifecycle import MIN_DAYS_APART
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


def fewest_invited(into: dict[str, tuple[date, ...]], register: str, dates: list[str] | None) -> None:
    """Keep, per register, the invitation dates of its open gap counting fewest: the one still wanting most (an
    outcome indicator counts only invitations after the latest result)."""
    got = tuple(date.fromisoformat(d) for d in dates or ())
    if register not in into or len(got) < len(into[register]):
        into[register] = got


async def candidates(
    session: AsyncSession, practice: str, today: date, values: Mapping[str, float]
) -> list[Candidate]:
    """Patients with at least one open gap on a register, who may be messaged, with their £ worth."""
    gaps = await session.execute(
        select(Gap.patient_id, Gap.register_id, Gap.indicator_id, Gap.invited_on).where(open_gaps(practice, today))
    )
    regs: dict[str, set[str]] = defaultdict(set)
    worth: dict[str, float] = defaultdict(float)
    invited: dict[str, dict[str, tuple[date, ...]]] = defaultdict(dict)
    for pid, reg, ind, dates in gaps:
        if reg is None:
            continue
        regs[pid].add(reg)
        worth[pid] += values.get(ind, 0.0) or 0.01  # unpriced reviews still count, below every priced one
        fewest_invited(invited[pid], reg, dates)
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
                invited[p.patient_id],
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
    days_apart: int = MIN_DAYS_APART,
) -> Plan:
    cands = await candidates(session, practice, today, values)
    return plan(cands, await clinics_of(session, practice), strategy=strategy, today=today, mop_up=mop_up,
                days_apart=days_apart)


async def write_first_invitations(session: AsyncSession, campaign: Campaign, result: Plan) -> int:
    rows = [
        {
            "id": new_id(),
            "campaign_id": campaign.id,
            "practice_ods": campaign.practice_ods,
            "patient_id": p.patient_id,
            "stage": p.stage,
            "attempt": 1,
            "reference": f"{campaign.id}:{p.patient_id}:{p.stage}:1",
            "not_before": p.not_before,
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

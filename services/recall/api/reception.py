"""Reception lookup, the lists a QOF lead works from, and response rates per channel and cohort."""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from sqlalchemy import select

from services.recall.api.deps import Now, RecallReader
from services.recall.domain.planner import qof_year_start
from services.recall.runner import deps_of
from services.recall.store.models import Campaign, Gap, Invitation, RecallPatient, audit_log
from services.recall.store.planning import excluded, open_gaps
from shared.audit import audit
from shared.problems import invalid
from shared.service import RuntimeDep

router = APIRouter(prefix="/v1/practices/{ods}/recall", tags=["recall reception"])


def message_view(i: Invitation) -> dict[str, Any]:
    return {"invitation_id": i.id, "campaign_id": i.campaign_id, "stage": i.stage, "attempt": i.attempt,
            "status": i.status, "reason": i.reason, "channel": i.channel, "sent_at": i.sent_at,
            "delivery_status": i.delivery_status, "conditions": i.registers, "appointment_month": i.appointment_month}


@router.get("/lookup", summary="Everything sent to a patient: when, by which channel, delivery status")
async def lookup(
    ods: str, request: Request, rt: RuntimeDep, principal: RecallReader,
    nhs_number: str | None = None, name: Annotated[str | None, Query(min_length=2, max_length=100)] = None,
) -> dict[str, Any]:
    if not nhs_number and not name:
        raise invalid([{"field": "nhs_number", "reason": "give an NHS number or a name"}])
    query = {"nhs_number": nhs_number} if nhs_number else {"name": name}
    people = await deps_of(request.app).registers.people(ods.upper(), **query)
    async with rt.sessions() as s, s.begin():
        rows = list(await s.scalars(select(Invitation).where(
            Invitation.practice_ods == ods.upper(), Invitation.patient_id.in_([p.id for p in people]))
            # in the order they were meant to go (a message Notify refused has no sent_at)
            .order_by(Invitation.send_month, Invitation.stage, Invitation.attempt, Invitation.sent_at)))
        await audit(s, audit_log, principal, "recall.lookup", f"{len(people)} patients", practice=ods)
    by_patient: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        if r.status not in ("planned", "claimed"):
            by_patient[r.patient_id].append(message_view(r))
    return {"patients": [{"patient_id": p.id, "nhs_number": p.nhs_number, "given_name": p.given_name,
                          "family_name": p.family_name, "messages": by_patient.get(p.id, [])} for p in people]}


ListName = Literal["invited-once", "invited-twice-outstanding", "pca-last-year"]


@router.get("/lists/{name}", summary="Invited once, invited twice and outstanding, or last year's PCAs to re-check")
async def lists(ods: str, name: ListName, rt: RuntimeDep, _p: RecallReader, now: Now) -> dict[str, Any]:
    year = qof_year_start(now.date())
    target = year.replace(year=year.year - 1) if name == "pca-last-year" else year
    async with rt.sessions() as s:
        camp_ids = list(await s.scalars(select(Campaign.id).where(
            Campaign.practice_ods == ods.upper(), Campaign.year_start == target)))
        sent = list(await s.execute(select(Invitation.patient_id, Invitation.stage).where(
            Invitation.campaign_id.in_(camp_ids), Invitation.status.in_(("sent", "delivered")))))
        gaps = list(await s.execute(select(Gap.patient_id, Gap.invited_on).where(open_gaps(ods.upper(), target))))
        open_ = {pid for pid, _ in gaps}
        gone = {p.patient_id for p in await s.scalars(select(RecallPatient).where(
            RecallPatient.practice_ods == ods.upper(), RecallPatient.patient_id.in_({pid for pid, _ in sent} | open_)))
            if excluded(p, now.date()) in ("deceased", "deregistered")}
    stages: dict[str, set[int]] = defaultdict(set)
    for pid, stage in sent:
        if pid not in gone:  # no longer the practice's to invite or re-check
            stages[pid].add(stage)
    # the invitations the record holds (recall's coded ones and those the practice coded itself), per patient
    # the open gap counting fewest: a patient invited outside recall is on these lists too
    in_record: dict[str, int] = {}
    for pid, dates in gaps:
        in_record[pid] = min(in_record.get(pid, len(dates or ())), len(dates or ()))
    if name == "pca-last-year":
        ids = [p for p, st in stages.items() if 2 in st]
    else:
        count = {p: max(len(stages.get(p, ())), in_record.get(p, 0)) for p in open_ - gone}
        ids = [p for p, n in count.items() if (n == 1 if name == "invited-once" else n >= 2)]
    y = target.year
    return {"year": f"{y}-{str(y + 1)[2:]}", "list": name, "patients": sorted(ids)}


@router.get("/responses", summary="Response rates per channel and cohort (review coded or booked after a message)")
async def responses(ods: str, rt: RuntimeDep, _p: RecallReader, now: Now) -> dict[str, Any]:
    year = qof_year_start(now.date())
    async with rt.sessions() as s:
        rows = list(await s.execute(
            select(Invitation.patient_id, Invitation.channel, Invitation.cohort)
            .join(Campaign, Campaign.id == Invitation.campaign_id)
            .where(Campaign.practice_ods == ods.upper(), Campaign.year_start == year,
                   Invitation.status.in_(("sent", "delivered", "failed")))))
        open_ = set(await s.scalars(select(Gap.patient_id).where(open_gaps(ods.upper(), year))))
        booked = set(await s.scalars(select(RecallPatient.patient_id).where(
            RecallPatient.practice_ods == ods.upper(), RecallPatient.booked_on.is_not(None))))
    tally: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for pid, channel, cohort in rows:
        t = tally[(channel or "none", cohort)]
        t[0] += 1
        t[1] += int(pid not in open_ or pid in booked)
    y = year.year
    return {"year": f"{y}-{str(y + 1)[2:]}", "rates": [
        {"channel": ch, "cohort": co, "messages": n, "responded": r, "rate": round(r / n, 3) if n else None}
        for (ch, co), (n, r) in sorted(tally.items())]}

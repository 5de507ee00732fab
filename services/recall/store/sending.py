"""A send run: recover claimed messages, add second invitations that are due, claim, send, record.

Exactly once per patient per stage: each invitation is *claimed* (committed) before Notify is called with the
invitation's ``reference``, and marked *sent* with its ``recall.sent`` event in one transaction afterwards. A
run that was killed between the two leaves claimed rows; the next run asks Notify for each claimed reference
and marks it sent if Notify has it, or returns it to planned if not. Nothing is sent twice.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import and_, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.recall.domain.channels import Channel, choose, sms_allowed, sms_fragments
from services.recall.domain.lifecycle import Progress, next_stage
from services.recall.domain.ratelimit import TokenBucket
from services.recall.outbound import Notify, NotifyError, Person, Registers
from services.recall.settings import RecallSettings
from services.recall.store.models import Campaign, Gap, Invitation, RecallPatient, events
from services.recall.store.planning import excluded
from shared.db import new_id, utcnow
from shared.events.outbox import enqueue
from shared.events.schemas import InviteCode, RecallSent
from shared.service import Runtime

BATCH = 50
WORKERS = 8


@dataclass
class RunResult:
    stage: int
    sent: int = 0
    recovered: int = 0
    deferred: int = 0  # SMS outside the configured hours
    skipped: Counter[str] = field(default_factory=Counter)
    stopped: int = 0
    failed: int = 0
    channels: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class Deps:
    settings: RecallSettings
    notify: Notify
    registers: Registers
    bucket: TokenBucket


def month_of(now: datetime) -> date:
    return date(now.year, now.month, 1)


def invite_codes(campaign: Campaign, registers: list[str]) -> list[InviteCode]:
    return [InviteCode(code=campaign.invite_codes[r], register_id=r) for r in registers if r in campaign.invite_codes]


def sent_event(inv: Invitation, campaign: Campaign, at: datetime, with_codes: bool) -> RecallSent:
    return RecallSent(
        practice_ods=inv.practice_ods,
        patient_id=inv.patient_id,
        recall_id=inv.id,
        channel=inv.channel or "letter",  # type: ignore[arg-type]
        conditions=list(inv.registers),
        sent_at=at,
        invite_codes=invite_codes(campaign, inv.registers) if with_codes else [],
    )


async def mark_sent(
    s: AsyncSession, inv: Invitation, campaign: Campaign, notify_id: str, at: datetime
) -> None:
    record = campaign.code_at == "send"
    inv.status, inv.notify_id, inv.sent_at, inv.updated_at = "sent", notify_id, at, utcnow()
    inv.delivery_status = "created"
    inv.codes_recorded = record and bool(invite_codes(campaign, inv.registers))
    await enqueue(s, events, [sent_event(inv, campaign, at, record)], source="recall")


async def recover(rt: Runtime, deps: Deps, campaign: Campaign, now: datetime) -> int:
    async with rt.sessions() as s, s.begin():
        claimed = list(await s.scalars(select(Invitation).where(
            Invitation.campaign_id == campaign.id, Invitation.status == "claimed")))
        found = 0
        for inv in claimed:
            n = await deps.notify.sent_with_reference(inv.reference)
            if n is None:
                inv.status = "planned"
                continue
            await mark_sent(s, inv, campaign, str(n["id"]), now)
            found += 1
    rt.events_written()
    return found


async def add_second_invitations(s: AsyncSession, campaign: Campaign, now: datetime) -> int:
    """Second invitations for patients whose first went at least ``second_after_days`` ago, still outstanding."""
    first = list(await s.scalars(select(Invitation).where(
        Invitation.campaign_id == campaign.id, Invitation.stage == 1,
        Invitation.status.in_(("sent", "delivered", "failed")))))
    have_second = set(await s.scalars(select(Invitation.patient_id).where(
        Invitation.campaign_id == campaign.id, Invitation.stage == 2)))
    state = await progress_inputs(s, campaign.practice_ods, [i.patient_id for i in first], now.date())
    rows = []
    for inv in first:
        if inv.patient_id in have_second or inv.sent_at is None:
            continue
        gap_open, booked, why = state.get(inv.patient_id, (False, False, None))
        p = Progress(aware(inv.sent_at, now), None, gap_open, booked, why)
        if next_stage(p, now, campaign.second_after_days) == 2:
            have_second.add(inv.patient_id)
            rows.append({
                "id": new_id(), "campaign_id": campaign.id, "practice_ods": inv.practice_ods,
                "patient_id": inv.patient_id, "stage": 2, "attempt": 1,
                "reference": f"{campaign.id}:{inv.patient_id}:2:1", "clinics": inv.clinics,
                "registers": inv.registers, "cohort": inv.cohort, "appointment_month": inv.appointment_month,
                "send_month": month_of(now), "value": inv.value, "status": "planned", "codes_recorded": False,
                "updated_at": utcnow(),
            })
    if rows:
        await s.execute(insert(Invitation), rows)
    return len(rows)


def aware(at: datetime, like: datetime) -> datetime:
    return at.replace(tzinfo=like.tzinfo) if at.tzinfo is None and like.tzinfo is not None else at


async def progress_inputs(
    s: AsyncSession, practice: str, patient_ids: list[str], today: date
) -> dict[str, tuple[bool, bool, str | None]]:
    """Per patient: any gap still open, booked, and why they may not be messaged."""
    out: dict[str, tuple[bool, bool, str | None]] = {}
    for i in range(0, len(patient_ids), 500):
        part = patient_ids[i : i + 500]
        open_ = set(await s.scalars(select(Gap.patient_id).where(
            Gap.practice_ods == practice, Gap.patient_id.in_(part), Gap.open.is_(True))))
        for p in await s.scalars(select(RecallPatient).where(
                RecallPatient.practice_ods == practice, RecallPatient.patient_id.in_(part))):
            out[p.patient_id] = (p.patient_id in open_, p.booked_on is not None, excluded(p, today))
    return out


def personalisation(person: Person, inv: Invitation, channel: Channel) -> dict[str, str]:
    values = {
        "name": person.given_name or "patient",
        "practice": inv.practice_ods,
        "month": inv.appointment_month.strftime("%B %Y"),
    }
    if channel == "letter":
        lines = [f"{person.given_name or ''} {person.family_name or ''}".strip() or "The occupier"]
        lines += [ln.strip() for ln in (person.contact.address or "").replace("\n", ",").split(",") if ln.strip()]
        if person.postcode:
            lines.append(person.postcode)
        values.update({f"address_line_{n}": line for n, line in enumerate(lines[:7], start=1)})
    return values


def recipient(person: Person, channel: Channel) -> str:
    c = person.contact
    return (c.mobile if channel == "sms" else c.email if channel == "email" else c.address) or ""


async def run(rt: Runtime, deps: Deps, campaign_id: str, stage: int, now: datetime) -> RunResult:
    result = RunResult(stage)
    async with rt.sessions() as s:
        campaign = await s.get(Campaign, campaign_id)
        assert campaign is not None
        s.expunge(campaign)
    result.recovered = await recover(rt, deps, campaign, now)
    async with rt.sessions() as s, s.begin():
        if stage == 2:
            await add_second_invitations(s, campaign, now)
        due = list(await s.scalars(
            select(Invitation).where(
                Invitation.campaign_id == campaign.id, Invitation.stage == stage, Invitation.status == "planned",
                Invitation.send_month <= month_of(now))
            .order_by(Invitation.value.desc(), Invitation.patient_id).limit(campaign.run_cap)))
        state = await progress_inputs(s, campaign.practice_ods, [i.patient_id for i in due], now.date())
        sendable = []
        for inv in due:
            gap_open, booked, why = state.get(inv.patient_id, (False, False, "unknown patient"))
            if why:
                inv.status, inv.reason = "skipped", why
                result.skipped[why] += 1
            elif not gap_open or booked:
                inv.status, inv.reason = "stopped", "booked" if booked else "review coded: gap closed"
                result.stopped += 1
            else:
                sendable.append(inv)
        s.expunge_all()
    people = await deps.registers.by_id(campaign.practice_ods, sorted({i.patient_id for i in sendable}))
    sms_now = sms_allowed(now.time(), deps.settings.sms_start, deps.settings.sms_end)
    for i in range(0, len(sendable), BATCH):
        await _send_batch(rt, deps, campaign, sendable[i : i + BATCH], people, sms_now, now, result)
    return result


async def _send_batch(
    rt: Runtime, deps: Deps, campaign: Campaign, batch: list[Invitation], people: dict[str, Person],
    sms_now: bool, now: datetime, result: RunResult,
) -> None:
    chosen: list[tuple[Invitation, Channel, Person]] = []
    async with rt.sessions() as s, s.begin():
        for inv in batch:
            person = people.get(inv.patient_id)
            channel = channel_for(inv, person, campaign)
            if person is None or channel is None:
                await s.execute(update(Invitation).where(Invitation.id == inv.id).values(
                    status="skipped", reason="no usable channel"))
                result.skipped["no usable channel"] += 1
                continue
            if channel == "sms" and not sms_now:
                result.deferred += 1
                continue
            await s.execute(update(Invitation).where(and_(Invitation.id == inv.id, Invitation.status == "planned"))
                            .values(status="claimed", channel=channel, updated_at=utcnow()))
            chosen.append((inv, channel, person))

    Outcome = tuple[Invitation, tuple[str, str] | None, str | None]

    async def one(inv: Invitation, channel: Channel, person: Person) -> Outcome:
        await deps.bucket.take()
        try:
            sent = await deps.notify.send(channel, recipient(person, channel), campaign.templates[channel],
                                          personalisation(person, inv, channel), inv.reference)
            return inv, sent, None
        except NotifyError as exc:
            return inv, None, exc.message[:200]

    sem = asyncio.Semaphore(WORKERS)

    async def bounded(item: tuple[Invitation, Channel, Person]) -> Outcome:
        async with sem:
            return await one(*item)

    outcomes = await asyncio.gather(*(bounded(c) for c in chosen))
    by_id = {inv.id: (channel, person) for inv, channel, person in chosen}
    async with rt.sessions() as s, s.begin():
        for inv, sent, error in outcomes:
            row = await s.get(Invitation, inv.id)
            assert row is not None
            channel, _person = by_id[inv.id]
            if sent is None:
                row.status, row.reason = "failed", error
                result.failed += 1
                continue
            if channel == "sms":
                row.fragments = sms_fragments(sent[1])
                row.cost_pence = round(row.fragments * deps.settings.sms_fragment_pence, 2)
            await mark_sent(s, row, campaign, sent[0], now)
            result.sent += 1
            result.channels[channel] += 1
    rt.events_written()


def channel_for(inv: Invitation, person: Person | None, campaign: Campaign) -> Channel | None:
    if person is None:
        return None
    if inv.channel == "letter":  # a fallback letter after a failed SMS or email
        return "letter" if "letter" in campaign.templates and person.contact.address else None
    options = {c for c in ("sms", "email", "letter") if c not in campaign.templates}
    return choose(person.contact, exclude=frozenset(options))

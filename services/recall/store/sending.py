"""A send run: recover claimed messages, add second invitations that are due, claim, send, record.

Exactly once per patient per stage: each invitation is *claimed* (committed) before Notify is called with the
invitation's ``reference``, and marked *sent* with its ``recall.sent`` event in one transaction afterwards. A
run that was killed between the two leaves claimed rows; the next run asks Notify for each claimed reference
and marks it sent if Notify has it, or returns it to planned if not. Nothing is sent twice.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.recall.domain.channels import Channel, Contact, choose, fallback, sms_allowed, sms_fragments
from services.recall.domain.lifecycle import Progress, from_record, gap_closed_reason, next_stage
from services.recall.domain.planner import qof_year_start, ruleset_of
from services.recall.domain.ratelimit import TokenBucket
from services.recall.outbound import Notify, NotifyError, Person, Registers
from services.recall.settings import RecallSettings
from services.recall.store.models import Campaign, Gap, Invitation, RecallPatient, events
from services.recall.store.planning import excluded, fewest_invited, open_gaps
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
    retry_later: int = 0  # Notify busy (429 or 5xx): claimed, checked and sent again by the next run
    channels: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class Deps:
    settings: RecallSettings
    notify: Notify
    registers: Registers
    bucket: TokenBucket
    clock: Callable[[], datetime]


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


async def stage_coded(s: AsyncSession, inv: Invitation) -> bool:
    """Whether an earlier attempt of this stage (a failed SMS or email before its fallback letter) already
    carried the invitation codes: the record holds one invitation per stage, whatever the attempts."""
    if inv.attempt == 1:
        return False
    return bool(await s.scalar(select(Invitation.id).where(
        Invitation.campaign_id == inv.campaign_id, Invitation.patient_id == inv.patient_id,
        Invitation.stage == inv.stage, Invitation.id != inv.id, Invitation.codes_recorded.is_(True)).limit(1)))


async def mark_sent(
    s: AsyncSession, inv: Invitation, campaign: Campaign, notify_id: str, at: datetime
) -> None:
    record = campaign.code_at == "send" and not await stage_coded(s, inv)
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


@dataclass(frozen=True)
class State:
    """What decides whether a patient may have an invitation now."""

    open_registers: frozenset[str]  # registers with a review still due (an open gap)
    booked: bool
    excluded: str | None  # deceased, deregistered, opted out
    # per open register: the invitation dates counted in the record this year (its gap counting fewest)
    invited_on: dict[str, tuple[date, ...]] = field(default_factory=dict)

    def progress(self, inv: Invitation, first_sent_at: datetime | None, second_sent_at: datetime | None) -> Progress:
        return Progress(first_sent_at, second_sent_at, bool(self.open_registers & set(inv.registers)),
                        self.booked, self.excluded)


UNKNOWN = State(frozenset(), False, "unknown patient")


async def states(s: AsyncSession, practice: str, patient_ids: list[str], today: date) -> dict[str, State]:
    """Per patient: registers with an open gap, booked, and why they may not be messaged."""
    out: dict[str, State] = {}
    for i in range(0, len(patient_ids), 500):
        part = patient_ids[i : i + 500]
        open_: dict[str, set[str]] = {}
        invited: dict[str, dict[str, tuple[date, ...]]] = {}
        for pid, reg, dates in await s.execute(select(Gap.patient_id, Gap.register_id, Gap.invited_on).where(
                open_gaps(practice, today), Gap.patient_id.in_(part))):
            open_.setdefault(pid, set()).add(str(reg))
            fewest_invited(invited.setdefault(pid, {}), str(reg), dates)
        for p in await s.scalars(select(RecallPatient).where(
                RecallPatient.practice_ods == practice, RecallPatient.patient_id.in_(part))):
            out[p.patient_id] = State(frozenset(open_.get(p.patient_id, ())), p.booked_on is not None,
                                      excluded(p, today), invited.get(p.patient_id, {}))
    return out


async def second_invitations(s: AsyncSession, campaign: Campaign, now: datetime) -> list[Invitation]:
    """New second invitations (not yet in the session) for patients whose first went at least
    ``second_after_days`` ago and who still have a review due; each covers only the registers still open."""
    first = list(await s.scalars(select(Invitation).where(
        Invitation.campaign_id == campaign.id, Invitation.stage == 1,
        Invitation.status.in_(("sent", "delivered", "failed")), Invitation.sent_at.is_not(None))
        .order_by(Invitation.sent_at)))
    have_second = set(await s.scalars(select(Invitation.patient_id).where(
        Invitation.campaign_id == campaign.id, Invitation.stage == 2)))
    state = await states(s, campaign.practice_ods, sorted({i.patient_id for i in first}), now.date())
    rows = []
    for inv in first:  # earliest attempt first: the stage's first message is what the seven days count from
        if inv.patient_id in have_second or inv.sent_at is None:
            continue
        have_second.add(inv.patient_id)
        st = state.get(inv.patient_id, UNKNOWN)
        if next_stage(st.progress(inv, aware(inv.sent_at, now), None), now, campaign.second_after_days) != 2:
            continue
        # a register invited twice already (recall's first and one the practice coded) is not invited again
        wanted = from_record(st.invited_on, st.open_registers & set(inv.registers)).registers
        if not wanted:
            continue
        rows.append(Invitation(
            id=new_id(), campaign_id=campaign.id, practice_ods=inv.practice_ods, patient_id=inv.patient_id,
            stage=2, attempt=1, reference=f"{campaign.id}:{inv.patient_id}:2:1", clinics=inv.clinics,
            registers=sorted(wanted), cohort=inv.cohort,
            appointment_month=inv.appointment_month, send_month=month_of(now), value=inv.value, status="planned",
            codes_recorded=False, updated_at=utcnow()))
    return rows


# (value, patient) of the last invitation a run looked at. A patient has at most one planned invitation per
# stage, so the pair orders them; a fallback letter planned during a run comes after its patient: the next run.
Cursor = tuple[float, str]


def cursor_after(rows: list[Invitation]) -> Cursor:
    last = max(rows, key=lambda i: (-i.value, i.patient_id))
    return last.value, last.patient_id


async def due(
    s: AsyncSession, campaign: Campaign, stage: int, now: datetime, limit: int | None = None,
    after: Cursor | None = None,
) -> tuple[list[Invitation], list[Invitation]]:
    """The invitations of ``stage`` due now, highest value first, at most ``limit`` (the campaign's run cap)
    of them, after ``after`` in that order: those that may go, and those that may not (their ``status`` and
    ``reason`` set, not yet flushed). Second invitations that have become due are added to the session on the
    first page: a run commits them, a preview does not."""
    if stage == 2 and after is None:
        s.add_all(await second_invitations(s, campaign, now))
        await s.flush()
    later = [] if after is None else [or_(
        Invitation.value < after[0], and_(Invitation.value == after[0], Invitation.patient_id > after[1]))]
    rows = list(await s.scalars(
        select(Invitation).where(
            Invitation.campaign_id == campaign.id, Invitation.stage == stage, Invitation.status == "planned",
            Invitation.send_month <= month_of(now),
            or_(Invitation.not_before.is_(None), Invitation.not_before <= now.date()), *later)
        .order_by(Invitation.value.desc(), Invitation.patient_id)
        .limit(campaign.run_cap if limit is None else limit)))
    state = await states(s, campaign.practice_ods, sorted({i.patient_id for i in rows}), now.date())
    year_over = campaign.year_start != qof_year_start(now.date())
    go, held = [], []
    for inv in rows:
        st = state.get(inv.patient_id, UNKNOWN)
        if st.excluded:
            inv.status, inv.reason = "skipped", st.excluded
        elif year_over:
            inv.status, inv.reason = "stopped", "the campaign's QOF year has ended"
        elif st.booked:
            inv.status, inv.reason = "stopped", "booked"
        elif not st.open_registers & set(inv.registers):
            inv.status, inv.reason = "stopped", await no_gap_reason(s, campaign, inv)
        elif not (record := from_record(st.invited_on, st.open_registers & set(inv.registers))).registers:
            inv.status, inv.reason = "stopped", record.twice_text()
        elif record.not_before is not None and record.not_before > now.date():
            # a first the practice coded since the plan makes this the second: it waits its 7 days
            inv.not_before = record.not_before
            continue
        else:
            go.append(inv)
            continue
        held.append(inv)
    return go, held


async def no_gap_reason(s: AsyncSession, campaign: Campaign, inv: Invitation) -> str:
    """Why none of the invitation's registers has an open gap in the campaign's QOF year: what closed each, as
    indicators said, or that indicators has published no gap of that year on them."""
    closed = list(await s.scalars(select(Gap).where(
        Gap.practice_ods == inv.practice_ods, Gap.patient_id == inv.patient_id,
        Gap.ruleset == ruleset_of(campaign.year_start), Gap.register_id.in_(inv.registers))
        .order_by(Gap.indicator_id)))
    if not closed:
        return f"no gap of QOF {ruleset_of(campaign.year_start)} on {', '.join(inv.registers)} from indicators"
    return "; ".join(dict.fromkeys(gap_closed_reason(g.indicator_id, g.closed_as, g.reason) for g in closed))[:200]


def aware(at: datetime, like: datetime) -> datetime:
    return at.replace(tzinfo=like.tzinfo) if at.tzinfo is None and like.tzinfo is not None else at


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
    """Send until the run cap of messages Notify accepted is reached or nothing is left: invitations skipped,
    stopped or deferred (SMS outside the hours) are not messages and leave the cap to the next ones. A run
    that meets Notify's rate limit or an outage stops there; the next run carries on."""
    result = RunResult(stage)
    async with rt.sessions() as s:
        campaign = await s.get(Campaign, campaign_id)
        assert campaign is not None
        s.expunge(campaign)
    result.recovered = await recover(rt, deps, campaign, now)
    after: Cursor | None = None
    while (room := campaign.run_cap - result.sent) > 0 and not result.retry_later:
        async with rt.sessions() as s, s.begin():
            sendable, held = await due(s, campaign, stage, now, limit=room, after=after)
            for inv in held:
                if inv.status == "skipped":
                    result.skipped[inv.reason or ""] += 1
                else:
                    result.stopped += 1
            await s.flush()
            s.expunge_all()
        looked = sendable + held
        if not looked:
            break
        after = cursor_after(looked)
        people = await deps.registers.by_id(campaign.practice_ods, sorted({i.patient_id for i in sendable}))
        for i in range(0, len(sendable), BATCH):
            await _send_batch(rt, deps, campaign, sendable[i : i + BATCH], people, result)
            if result.retry_later:  # Notify asked us to slow down, or is down: back off until the next run
                break
    return result


async def _send_batch(
    rt: Runtime, deps: Deps, campaign: Campaign, batch: list[Invitation], people: dict[str, Person],
    result: RunResult,
) -> None:
    # The clock is read per batch: a long run that reaches the end of the SMS hours stops sending SMS.
    sms_now = sms_allowed(deps.clock(), deps.settings.sms_start, deps.settings.sms_end)
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
            claim = await s.execute(update(Invitation).where(
                and_(Invitation.id == inv.id, Invitation.status == "planned"))
                .values(status="claimed", channel=channel, updated_at=utcnow()))
            if claim.rowcount == 1:  # type: ignore[attr-defined]  # 0: a concurrent run claimed it first
                chosen.append((inv, channel, person))

    Outcome = tuple[Invitation, tuple[str, str] | None, tuple[str, str] | None]

    busy = asyncio.Event()  # set at Notify's first 429 or 5xx: the batch's other messages are not tried

    async def one(inv: Invitation, channel: Channel, person: Person) -> Outcome:
        await deps.bucket.take()
        if busy.is_set():
            return inv, None, ("unsent", "")
        try:
            sent = await deps.notify.send(channel, recipient(person, channel), campaign.templates[channel],
                                          personalisation(person, inv, channel), inv.reference)
            return inv, sent, None
        except NotifyError as exc:
            # Notify's 429 (rate limit) and 5xx are worth another try; anything else is this message's failure.
            if exc.status == 429 or exc.status >= 500:
                busy.set()
                return inv, None, ("retry", exc.message[:200])
            return inv, None, ("failed", exc.message[:200])

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
            if sent is None and error is not None and error[0] == "retry":
                result.retry_later += 1  # left claimed: the next run asks Notify whether it arrived
                continue
            if sent is None and error is not None and error[0] == "unsent":
                row.status = "planned"  # Notify was never asked: the next run sends it
                continue
            if sent is None:
                row.status, row.reason = "failed", error[1] if error else None
                result.failed += 1
                await plan_fallback_letter(s, row)
                continue
            if channel == "sms":
                row.fragments = sms_fragments(sent[1])
                row.cost_pence = round(row.fragments * deps.settings.sms_fragment_pence, 2)
            await mark_sent(s, row, campaign, sent[0], deps.clock())
            result.sent += 1
            result.channels[channel] += 1
    rt.events_written()


async def plan_fallback_letter(s: AsyncSession, inv: Invitation) -> None:
    """After a failed SMS or email (refused by Notify, or a failed delivery receipt): a letter at the same stage,
    the next attempt, when the patient accepts letters. Planned once, however often the failure is reported."""
    p = await s.get(RecallPatient, (inv.practice_ods, inv.patient_id))
    if p is None or not p.allow_letter or fallback(Contact(address="on file"), inv.channel or "sms") != "letter":
        return
    reference = f"{inv.campaign_id}:{inv.patient_id}:{inv.stage}:{inv.attempt + 1}"
    if await s.scalar(select(Invitation.id).where(Invitation.reference == reference)) is not None:
        return
    s.add(Invitation(
        id=new_id(), campaign_id=inv.campaign_id, practice_ods=inv.practice_ods, patient_id=inv.patient_id,
        stage=inv.stage, attempt=inv.attempt + 1, reference=reference, clinics=inv.clinics, registers=inv.registers,
        cohort=inv.cohort, appointment_month=inv.appointment_month, send_month=inv.send_month, value=inv.value,
        status="planned", channel="letter", codes_recorded=False,
    ))


def channel_for(inv: Invitation, person: Person | None, campaign: Campaign) -> Channel | None:
    if person is None:
        return None
    if inv.channel == "letter":  # a fallback letter after a failed SMS or email
        return "letter" if "letter" in campaign.templates and person.contact.address else None
    options = {c for c in ("sms", "email", "letter") if c not in campaign.templates}
    return choose(person.contact, exclude=frozenset(options))

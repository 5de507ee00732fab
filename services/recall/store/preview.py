"""Before a run: how many go by which channel, SMS fragments and cost, and who the run moves into a PCA."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.recall.domain.channels import sms_allowed, sms_fragments
from services.recall.domain.lifecycle import Progress, next_stage
from services.recall.store.models import Campaign, Invitation, events
from services.recall.store.sending import (
    Deps,
    aware,
    channel_for,
    month_of,
    personalisation,
    progress_inputs,
    sent_event,
)
from shared.events.outbox import enqueue
from shared.service import Runtime

PLACEHOLDER = re.compile(r"\(\(([^)]+)\)\)")


def render(body: str, values: dict[str, str]) -> str:
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), ""), body)


async def _due(s: AsyncSession, c: Campaign, stage: int, now: datetime) -> list[Invitation]:
    if stage == 1:
        return list(await s.scalars(select(Invitation).where(
            Invitation.campaign_id == c.id, Invitation.stage == 1, Invitation.status == "planned",
            Invitation.send_month <= month_of(now)).order_by(Invitation.value.desc()).limit(c.run_cap)))
    first = list(await s.scalars(select(Invitation).where(
        Invitation.campaign_id == c.id, Invitation.stage == 1, Invitation.status.in_(("sent", "delivered")))))
    second = set(await s.scalars(select(Invitation.patient_id).where(
        Invitation.campaign_id == c.id, Invitation.stage == 2, Invitation.status != "planned")))
    state = await progress_inputs(s, c.practice_ods, [i.patient_id for i in first], now.date())
    out = []
    for inv in first:
        gap_open, booked, why = state.get(inv.patient_id, (False, False, None))
        if inv.patient_id in second or inv.sent_at is None:
            continue
        if next_stage(Progress(aware(inv.sent_at, now), None, gap_open, booked, why), now,
                      c.second_after_days) == 2:
            out.append(inv)
    return sorted(out, key=lambda i: -i.value)[: c.run_cap]


async def preview(rt: Runtime, deps: Deps, c: Campaign, stage: int, now: datetime) -> dict[str, Any]:
    async with rt.sessions() as s:
        due = await _due(s, c, stage, now)
    people = await deps.registers.by_id(c.practice_ods, sorted({i.patient_id for i in due}))
    sms_body = ""
    if "sms" in c.templates:
        t = await deps.notify.template(c.templates["sms"])
        sms_body = str((t or {}).get("body", ""))
    channels: Counter[str] = Counter()
    fragments = 0
    for inv in due:
        person = people.get(inv.patient_id)
        ch = channel_for(inv, person, c)
        channels[ch or "none"] += 1
        if ch == "sms" and person is not None:
            fragments += sms_fragments(render(sms_body, personalisation(person, inv, "sms")))
    return {
        "campaign_id": c.id,
        "year": f"{c.year_start.year}-{str(c.year_start.year + 1)[2:]}",
        "stage": stage,
        "invitations": len(due),
        "channels": dict(channels),
        "sms_fragments": fragments,
        "sms_cost_pence": round(fragments * deps.settings.sms_fragment_pence, 2),
        "sms_allowed_now": sms_allowed(now.time(), deps.settings.sms_start, deps.settings.sms_end),
        "moves_into_pca": sorted(i.patient_id for i in due) if stage == 2 else [],
        "pca_note": "A second invitation at least 7 days after the first allows the 'no response to two "
        "invitations' PCA" + (" once its invitation code is recorded" if c.code_at == "after" else ""),
    }


async def record_codes_after(s: AsyncSession, c: Campaign) -> int:
    """For campaigns coding after the fact: invitation codes for sent invitations whose patients are outstanding."""
    sent = list(await s.scalars(select(Invitation).where(
        Invitation.campaign_id == c.id, Invitation.status.in_(("sent", "delivered")),
        Invitation.codes_recorded.is_(False))))
    state = await progress_inputs(s, c.practice_ods, [i.patient_id for i in sent], datetime.now().date())
    payloads = []
    for inv in sent:
        gap_open, booked, why = state.get(inv.patient_id, (False, False, None))
        if not gap_open or booked or why or inv.sent_at is None:
            continue
        event = sent_event(inv, c, inv.sent_at, True)
        if event.invite_codes:
            inv.codes_recorded = True
            payloads.append(event)
    await enqueue(s, events, payloads, source="recall")
    return len(payloads)

"""Before a run: how many go by which channel, SMS fragments and cost, and who the run moves into a PCA."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.recall.domain.channels import sms_allowed, sms_fragments
from services.recall.domain.lifecycle import from_record
from services.recall.store.models import Campaign, Invitation, events
from services.recall.store.sending import (
    UNKNOWN,
    Cursor,
    Deps,
    channel_for,
    cursor_after,
    due,
    personalisation,
    sent_event,
    states,
)
from shared.events.outbox import enqueue
from shared.service import Runtime

PLACEHOLDER = re.compile(r"\(\(([^)]+)\)\)")


def render(body: str, values: dict[str, str]) -> str:
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), ""), body)


async def preview(rt: Runtime, deps: Deps, c: Campaign, stage: int, now: datetime) -> dict[str, Any]:
    """What the run would do now, page by page as the run goes: up to the run cap of messages, past the
    invitations that would be skipped (no usable channel) or deferred (SMS outside the hours)."""
    sms_now = sms_allowed(now, deps.settings.sms_start, deps.settings.sms_end)
    sms_body = ""
    if "sms" in c.templates:
        t = await deps.notify.template(c.templates["sms"])
        sms_body = str((t or {}).get("body", ""))
    channels: Counter[str] = Counter()
    fragments = 0
    going: list[str] = []
    pca: list[str] = []
    after: Cursor | None = None
    async with rt.sessions() as s:  # never committed: the second invitations it finds due are not written
        while (room := c.run_cap - len(going)) > 0:
            due_now, held = await due(s, c, stage, now, limit=room, after=after)
            if not due_now + held:
                break
            after = cursor_after(due_now + held)
            people = await deps.registers.by_id(c.practice_ods, sorted({i.patient_id for i in due_now}))
            state = await states(s, c.practice_ods, sorted({i.patient_id for i in due_now}), now.date())
            for inv in due_now:
                person = people.get(inv.patient_id)
                ch = channel_for(inv, person, c)
                channels[ch or "none"] += 1
                if person is None or ch is None or (ch == "sms" and not sms_now):
                    continue
                going.append(inv.patient_id)
                st = state.get(inv.patient_id, UNKNOWN)
                # a first invitation is the record's second when the practice coded a first itself since the plan
                if stage == 2 or from_record(st.invited_on, st.open_registers & set(inv.registers)).stage == 2:
                    pca.append(inv.patient_id)
                if ch == "sms":
                    fragments += sms_fragments(render(sms_body, personalisation(person, inv, "sms")))
        await s.rollback()
    return {
        "campaign_id": c.id,
        "year": f"{c.year_start.year}-{str(c.year_start.year + 1)[2:]}",
        "stage": stage,
        "invitations": len(going),
        "channels": dict(channels),
        "sms_fragments": fragments,
        "sms_cost_pence": round(fragments * deps.settings.sms_fragment_pence, 2),
        "sms_allowed_now": sms_now,
        "moves_into_pca": sorted(pca),
        "pca_note": "A second invitation at least 7 days after the first allows the 'no response to two "
        "invitations' PCA" + (" once its invitation code is recorded" if c.code_at == "after" else ""),
    }


async def record_codes_after(s: AsyncSession, c: Campaign, now: datetime) -> int:
    """For campaigns coding after the fact: the invitation codes of sent invitations, dated when each was sent,
    for patients still outstanding on those registers; one invitation per patient and stage."""
    sent = list(await s.scalars(select(Invitation).where(
        Invitation.campaign_id == c.id, Invitation.status.in_(("sent", "delivered")),
        Invitation.sent_at.is_not(None)).order_by(Invitation.sent_at)))
    coded = {(i.patient_id, i.stage) for i in sent if i.codes_recorded}
    state = await states(s, c.practice_ods, sorted({i.patient_id for i in sent}), now.date())
    payloads = []
    for inv in sent:
        st = state.get(inv.patient_id, UNKNOWN)
        if (inv.patient_id, inv.stage) in coded or st.excluded or st.booked:
            continue
        still_due = sorted(st.open_registers & set(inv.registers))
        event = sent_event(inv, c, inv.sent_at, True)  # type: ignore[arg-type]
        event = event.model_copy(update={
            "invite_codes": [code for code in event.invite_codes if code.register_id in still_due]})
        if event.invite_codes:
            inv.codes_recorded = True
            coded.add((inv.patient_id, inv.stage))
            payloads.append(event)
    await enqueue(s, events, payloads, source="recall")
    return len(payloads)

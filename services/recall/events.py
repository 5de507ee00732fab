"""Events of the recall service.

Consumes ``patient.registered|updated|deregistered`` (date of birth, deregistration, death and channel
consent, never contact details) and ``patient.gap.changed`` (which reviews are due). A closed gap stops every
invitation still planned for it. Handlers are upserts, so a redelivered event changes nothing.
Publishes ``recall.sent`` (with the SNOMED invitation codes the campaign records), ``recall.delivered`` and
``recall.failed``.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.recall.domain.lifecycle import gap_closed_reason
from services.recall.domain.planner import ruleset_year_start
from services.recall.store.models import Campaign, Gap, Invitation, RecallPatient
from services.recall.store.planning import open_gaps
from shared.db import upsert, utcnow
from shared.events.consumer import Handler
from shared.events.envelope import Envelope
from shared.events.schemas import EventPayload, PatientGapChanged, PatientState

PUBLISHES = ("recall.sent", "recall.delivered", "recall.failed")
CONSUMES = ("patient.registered", "patient.updated", "patient.deregistered", "patient.gap.changed")


async def on_patient(session: AsyncSession, _env: Envelope, payload: EventPayload) -> None:
    assert isinstance(payload, PatientState)
    row = {
        "practice_ods": payload.practice_ods,
        "patient_id": payload.patient_id,
        "date_of_birth": payload.date_of_birth,
        "deregistered_on": payload.deregistered_on,
        "died_on": payload.died_on,
        "allow_sms": payload.contact.sms,
        "allow_email": payload.contact.email,
        "allow_letter": payload.contact.letter,
        "preferred": payload.contact.preferred,
        "updated_at": utcnow(),
    }
    await upsert(session, RecallPatient.__table__, [row], ("practice_ods", "patient_id"))  # type: ignore[arg-type]
    if payload.died_on or payload.deregistered_on:
        await stop_planned(session, payload.practice_ods, payload.patient_id, "deceased or deregistered")


async def on_gap(session: AsyncSession, _env: Envelope, payload: EventPayload) -> None:
    assert isinstance(payload, PatientGapChanged)
    row = {
        "practice_ods": payload.practice_ods,
        "patient_id": payload.patient_id,
        "indicator_id": payload.indicator_id,
        "ruleset": payload.ruleset,
        "register_id": payload.register_id,
        "open": payload.open,
        "action": payload.action,
        "invitations_this_year": payload.invitations_this_year,
        "invited_on": [d.isoformat() for d in payload.invited_on],
        "closed_as": payload.closed_as,
        "reason": (payload.reason or "")[:300] or None,
        "changed_at": utcnow(),
    }
    await upsert(session, Gap.__table__, [row],  # type: ignore[arg-type]
                 ("practice_ods", "patient_id", "indicator_id", "ruleset"))
    year = ruleset_year_start(payload.ruleset)
    if not payload.open and year is not None:
        still_open = await session.scalar(select(Gap.indicator_id).where(
            open_gaps(payload.practice_ods, year), Gap.patient_id == payload.patient_id))
        if still_open is None:
            await stop_planned(session, payload.practice_ods, payload.patient_id, closed_reason(payload), year)


def closed_reason(payload: PatientGapChanged) -> str:
    """Why a closed gap stops the invitations: what the outcome became, by the rule that decided it."""
    return gap_closed_reason(payload.indicator_id, payload.closed_as, payload.reason)


async def stop_planned(
    session: AsyncSession, practice: str, patient_id: str, reason: str, year: date | None = None
) -> None:
    """Stop the patient's planned invitations: of every campaign, or of the campaigns of the QOF year ``year``
    (a gap of one year closing says nothing of another year's reviews)."""
    of_year = [Invitation.campaign_id.in_(select(Campaign.id).where(Campaign.year_start == year))] if year else []
    await session.execute(
        update(Invitation)
        .where(
            Invitation.practice_ods == practice,
            Invitation.patient_id == patient_id,
            Invitation.status == "planned",
            *of_year,
        )
        .values(status="stopped", reason=reason, updated_at=utcnow())
    )


HANDLERS: dict[str, Handler] = {
    "patient.registered": on_patient,
    "patient.updated": on_patient,
    "patient.deregistered": on_patient,
    "patient.gap.changed": on_gap,
}

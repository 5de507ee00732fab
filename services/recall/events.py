"""Events of the recall service.

Consumes ``patient.registered|updated|deregistered`` (date of birth, deregistration, death and channel
consent, never contact details) and ``patient.gap.changed`` (which reviews are due). A closed gap stops every
invitation still planned for it. Handlers are upserts, so a redelivered event changes nothing.
Publishes ``recall.sent`` (with the SNOMED invitation codes the campaign records), ``recall.delivered`` and
``recall.failed``.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.recall.store.models import Gap, Invitation, RecallPatient
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
        await stop_planned(session, payload.practice_ods, payload.patient_id, None, "deceased or deregistered")


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
        "changed_at": utcnow(),
    }
    await upsert(session, Gap.__table__, [row], ("practice_ods", "patient_id", "indicator_id"))  # type: ignore[arg-type]
    if not payload.open:
        still_open = await session.scalar(
            select(Gap.indicator_id).where(
                Gap.practice_ods == payload.practice_ods, Gap.patient_id == payload.patient_id, Gap.open.is_(True),
                Gap.register_id.is_not(None),  # gaps on no register (e.g. BP002) are not what recall invites for
            )
        )
        if still_open is None:
            await stop_planned(session, payload.practice_ods, payload.patient_id, None, "review coded: gap closed")


async def stop_planned(session: AsyncSession, practice: str, patient_id: str, _stage: int | None, reason: str) -> None:
    await session.execute(
        update(Invitation)
        .where(
            Invitation.practice_ods == practice,
            Invitation.patient_id == patient_id,
            Invitation.status == "planned",
        )
        .values(status="stopped", reason=reason, updated_at=utcnow())
    )


HANDLERS: dict[str, Handler] = {
    "patient.registered": on_patient,
    "patient.updated": on_patient,
    "patient.deregistered": on_patient,
    "patient.gap.changed": on_gap,
}

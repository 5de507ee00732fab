"""Events of the registers service.

Publishes (through the outbox): ``patient.registered``, ``patient.updated``, ``patient.deregistered``,
``code.recorded``, ``code.retracted``, ``register.changed``.
Consumes ``recall.sent``: the invitation codes a recall carried are written into the patient's record, as
coded entries with the id ``recall:<recall id>:<code>`` (so a redelivered event writes nothing twice).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.registers.domain.fhir_mapping import UK
from services.registers.domain.knowledge import knowledge
from services.registers.schemas import EntryIn
from services.registers.store.models import Patient
from services.registers.store.records import ingest_entries
from shared.events.consumer import Handler
from shared.events.envelope import Envelope
from shared.events.schemas import EventPayload, RecallSent

PUBLISHES = (
    "patient.registered",
    "patient.updated",
    "patient.deregistered",
    "code.recorded",
    "code.retracted",
    "register.changed",
)


async def on_recall_sent(session: AsyncSession, _envelope: Envelope, payload: EventPayload) -> None:
    assert isinstance(payload, RecallSent)
    if not payload.invite_codes:
        return
    nhs = await session.scalar(
        select(Patient.nhs_number).where(
            Patient.practice_ods == payload.practice_ods, Patient.id == payload.patient_id
        )
    )
    if nhs is None:
        raise LookupError("recall.sent names a patient this practice does not have")
    # The record's date is the day in England the invitation went (00:30 BST is still 23:30 UTC the day before).
    sent_on = payload.sent_at.astimezone(UK).date() if payload.sent_at.tzinfo else payload.sent_at.date()
    entries = [
        EntryIn(
            entry_id=f"recall:{payload.recall_id}:{c.code}",
            nhs_number=nhs,
            code=c.code,
            effective_date=sent_on,
            kind="procedure",
            recorded_by=f"recall:{payload.channel}",
        )
        for c in payload.invite_codes
    ]
    await ingest_entries(
        session,
        payload.practice_ods,
        entries,
        source="recall",
        knowledge=knowledge(),
        today=max(date.today(), sent_on),
    )


HANDLERS: dict[str, Handler] = {"recall.sent": on_recall_sent}

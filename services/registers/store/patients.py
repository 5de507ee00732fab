"""Patient upserts and reads, with their events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.registers.schemas import ContactIn, PatientIn, PatientOut
from services.registers.store.models import Patient, events
from shared.db import new_id, utcnow
from shared.events.outbox import enqueue
from shared.events.schemas import (
    ContactPreferences,
    EventPayload,
    PatientDeregistered,
    PatientRegistered,
    PatientUpdated,
)

SOURCE = "/services/registers"
_FIELDS = ("given_name", "family_name", "date_of_birth", "sex", "registered_on", "deregistered_on", "died_on")
_CONTACT = (
    "email",
    "mobile",
    "address",
    "postcode",
    "allow_sms",
    "allow_email",
    "allow_letter",
    "preferred_channel",
)


@dataclass(frozen=True)
class UpsertResult:
    created: int
    updated: int
    unchanged: int
    ids: dict[str, str]


def _row(practice: str, p: PatientIn) -> dict[str, object]:
    row: dict[str, object] = {f: getattr(p, f) for f in _FIELDS}
    row.update({f: getattr(p.contact, f) for f in _CONTACT})
    row["email"] = str(p.contact.email) if p.contact.email else None
    row.update(practice_ods=practice, nhs_number=p.nhs_number)
    return row


def _event(
    cls: type[PatientRegistered | PatientUpdated | PatientDeregistered],
    practice: str,
    pid: str,
    p: PatientIn,
) -> EventPayload:
    return cls(
        practice_ods=practice,
        patient_id=pid,
        date_of_birth=p.date_of_birth,
        sex=p.sex,
        registered_on=p.registered_on,
        deregistered_on=p.deregistered_on,
        died_on=p.died_on,
        contact=ContactPreferences(
            sms=p.contact.allow_sms,
            email=p.contact.allow_email,
            letter=p.contact.allow_letter,
            preferred=p.contact.preferred_channel,
        ),
    )


async def upsert_patients(
    session: AsyncSession, practice: str, patients: Sequence[PatientIn]
) -> UpsertResult:
    incoming = {p.nhs_number: p for p in patients}
    existing: dict[str, Patient] = {}
    numbers = list(incoming)
    for i in range(0, len(numbers), 5000):
        found = await session.scalars(
            select(Patient).where(
                Patient.practice_ods == practice, Patient.nhs_number.in_(numbers[i : i + 5000])
            )
        )
        existing.update({p.nhs_number: p for p in found})
    inserts: list[dict[str, object]] = []
    updates: list[dict[str, object]] = []
    payloads: list[EventPayload] = []
    ids: dict[str, str] = {}
    unchanged = 0
    for nhs, patient in incoming.items():
        row = _row(practice, patient)
        current = existing.get(nhs)
        if current is None:
            pid = new_id()
            inserts.append({**row, "id": pid, "created_at": utcnow(), "updated_at": utcnow()})
            payloads.append(_event(PatientRegistered, practice, pid, patient))
            if patient.deregistered_on or patient.died_on:
                payloads.append(_event(PatientDeregistered, practice, pid, patient))
        else:
            pid = current.id
            if all(getattr(current, k) == v for k, v in row.items()):
                unchanged += 1
            else:
                updates.append({**row, "id": pid, "updated_at": utcnow()})
                left = (patient.deregistered_on or patient.died_on) and not (
                    current.deregistered_on or current.died_on
                )
                payloads.append(_event(PatientDeregistered if left else PatientUpdated, practice, pid, patient))
        ids[nhs] = pid
    if inserts:
        await session.execute(insert(Patient), inserts)
    for u in updates:
        uid = u.pop("id")
        await session.execute(update(Patient).where(Patient.id == uid).values(**u))
    await enqueue(session, events, payloads, source=SOURCE)
    return UpsertResult(len(inserts), len(updates), unchanged, ids)


def patient_out(p: Patient) -> PatientOut:
    return PatientOut(
        id=p.id,
        practice_ods=p.practice_ods,
        nhs_number=p.nhs_number,
        given_name=p.given_name,
        family_name=p.family_name,
        date_of_birth=p.date_of_birth,
        sex=p.sex,  # type: ignore[arg-type]
        registered_on=p.registered_on,
        deregistered_on=p.deregistered_on,
        died_on=p.died_on,
        # the stored channel was validated on the way in; validating again types it as the Literal
        contact=ContactIn.model_validate(
            {
                "email": p.email,
                "mobile": p.mobile,
                "address": p.address,
                "postcode": p.postcode,
                "allow_sms": p.allow_sms,
                "allow_email": p.allow_email,
                "allow_letter": p.allow_letter,
                "preferred_channel": p.preferred_channel,
            }
        ),
    )


async def get_patient(session: AsyncSession, practice: str, patient_id: str) -> Patient | None:
    return await session.scalar(
        select(Patient).where(Patient.practice_ods == practice, Patient.id == patient_id)
    )

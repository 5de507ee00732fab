"""Events of the indicators service.

Consumes ``patient.registered|updated|deregistered``, ``code.recorded``, ``code.retracted`` and
``register.changed``: each handler applies the change to the per-patient state (patients and coded entries are
staged and written in bulk at the end of the unit, see :mod:`services.indicators.store.staged`) and notes the
patient as touched; at the end of the unit (a whole consumer batch, in one transaction) :func:`after_unit`
writes what was staged and evaluates every touched patient once per practice, with the compiled rule sets,
writes their outcome rows in bulk (see :mod:`services.indicators.service.evaluation`) and marks the practice
for re-scoring, and, when the unit changed its record on or before a closed month end, marks its stored month
ends stale from that date (:mod:`services.indicators.store.stale`; recomputed when next read);
:func:`after_batch` re-scores each marked practice once per batch of events.
Publishes ``patient.gap.changed`` (internal) and ``indicator.updated`` (analytics: aggregates only).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date

from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.indicators.service.evaluation import refresh, rescore_pending
from services.indicators.service.kernel import Kernel
from services.indicators.store.models import CodedEvent
from services.indicators.store.recorded import recount
from services.indicators.store.staged import flush, stage_entries, stage_patient
from services.indicators.store.stale import mark_stale, note
from services.indicators.store.state import SEX
from shared.events.consumer import Handler
from shared.events.envelope import Envelope
from shared.events.schemas import CodeRecorded, CodeRetracted, EventPayload, PatientState, RegisterChanged

PUBLISHES = ("patient.gap.changed", "indicator.updated")
CONSUMES = (
    "patient.registered",
    "patient.updated",
    "patient.deregistered",
    "code.recorded",
    "code.retracted",
    "register.changed",
)


TOUCHED = "indicators.touched"  # session.info key: practice -> ([patient ids], re-score even if no outcome moved)


def touch(session: AsyncSession, practice: str, patient_id: str, *, rescore: bool = False) -> None:
    per: dict[str, tuple[set[str], list[bool]]] = session.info.setdefault(TOUCHED, {})
    ids, flag = per.setdefault(practice, (set(), [False]))
    ids.add(patient_id)
    flag[0] = flag[0] or rescore


CHANGED = "indicators.changed_since"  # session.info key: practice -> earliest date the unit changed its record


def changed(session: AsyncSession) -> dict[str, date]:
    held: dict[str, date] = session.info.setdefault(CHANGED, {})
    return held


async def write_staged(session: AsyncSession) -> None:
    """Write the unit's staged patients and entries; touch the patients whose relevant entries moved."""
    done = await flush(session)
    for row in done.entries:
        touch(session, row["practice_ods"], row["patient_id"])
    for practice, day in done.since.items():
        note(changed(session), practice, day)


async def mark_closed_months(session: AsyncSession, kernel: Kernel) -> None:
    """Mark the practices whose record the unit changed on or before a closed month end (before the first of
    this month): their stored month ends from that date on are recomputed when next read."""
    first = kernel.today().replace(day=1)
    since = session.info.pop(CHANGED, {})
    await mark_stale(session, {p: d for p, d in since.items() if d < first})


def after_unit(kernel: Kernel) -> Callable[[AsyncSession], Awaitable[None]]:
    async def evaluate_touched(session: AsyncSession) -> None:
        await write_staged(session)
        per: dict[str, tuple[set[str], list[bool]]] = session.info.pop(TOUCHED, {})
        for practice, (ids, flag) in sorted(per.items()):
            await refresh(session, kernel, practice, ids, rescore=flag[0], defer_aggregates=True)
        await mark_closed_months(session, kernel)

    return evaluate_touched


def handlers(kernel: Kernel) -> dict[str, Handler]:
    async def on_patient(session: AsyncSession, _env: Envelope, payload: EventPayload) -> None:
        assert isinstance(payload, PatientState)
        stage_patient(
            session,
            {
                "patient_id": payload.patient_id,
                "practice_ods": payload.practice_ods,
                "date_of_birth": payload.date_of_birth,
                "sex": SEX.get(payload.sex, "U"),
                "registered_on": payload.registered_on,
                "deregistered_on": payload.deregistered_on,
                "died_on": payload.died_on,
            },
        )
        # The list size (CPI) may have moved: re-score the practice even if no outcome changed.
        touch(session, payload.practice_ods, payload.patient_id, rescore=True)

    async def on_recorded(session: AsyncSession, _env: Envelope, payload: EventPayload) -> None:
        assert isinstance(payload, CodeRecorded)
        rows = [
            {
                "entry_id": e.entry_id,
                "practice_ods": payload.practice_ods,
                "patient_id": payload.patient_id,
                "code": e.code,
                "effective_date": e.effective_date,
                "value": e.value,
                "relevant": e.code in kernel.relevant_codes,
                "retracted": False,
            }
            for e in payload.entries
        ]
        # Written in bulk at the end of the unit, which touches the patient if a rule reads the code (or read
        # the code of the entry it replaces).
        stage_entries(session, rows)

    async def on_retracted(session: AsyncSession, _env: Envelope, payload: EventPayload) -> None:
        assert isinstance(payload, CodeRetracted)
        await write_staged(session)  # the entry may have been recorded earlier in this unit
        which = (CodedEvent.entry_id.in_(payload.entry_ids), CodedEvent.patient_id == payload.patient_id)
        live = (await session.execute(select(CodedEvent.practice_ods, CodedEvent.code, CodedEvent.effective_date,
                                             CodedEvent.relevant).where(*which, ~CodedEvent.retracted))).all()
        # month ends change from the earliest entry a rule read; each code's first date is worked out again
        note(changed(session), payload.practice_ods, min((d for _, _, d, rel in live if rel), default=None))
        await session.execute(update(CodedEvent).where(*which).values(retracted=True))
        await recount(session, {(p, c) for p, c, _, _ in live})
        touch(session, payload.practice_ods, payload.patient_id)

    async def on_register(session: AsyncSession, _env: Envelope, payload: EventPayload) -> None:
        assert isinstance(payload, RegisterChanged)
        # Membership is derived here from the dated record at the date scored; the announcement (made as of
        # the registers service's today) only says the patient's record or age moved.
        touch(session, payload.practice_ods, payload.patient_id)

    return {
        "patient.registered": on_patient,
        "patient.updated": on_patient,
        "patient.deregistered": on_patient,
        "code.recorded": on_recorded,
        "code.retracted": on_retracted,
        "register.changed": on_register,
    }


def after_batch(kernel: Kernel) -> Callable[[FastAPI], Awaitable[None]]:
    async def rescore(app: FastAPI) -> None:
        await rescore_pending(app.state.runtime, kernel)

    return rescore

"""A consumer batch applied as one unit gives what the same events give one at a time: patients and entries are
written in bulk at the end of the unit, so the unit must keep the events' order where it matters (an entry
recorded twice keeps its later version, an entry recorded then retracted in the same batch stays retracted, a
correction to a code no rule reads still moves the patient), and a redelivered batch changes nothing.

DM020 (2026/27 reference): "DM without mod/sev frailty: last IFCC-HbA1c <=58 in 12m"."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace
from typing import Any

from fastapi import FastAPI
from sqlalchemy import func, select

from services.indicators.store.models import CodedEvent, Outcome, Patient
from shared.events.consumer import EventConsumer
from shared.events.envelope import Envelope
from shared.events.schemas import EventPayload
from tests.indicators.service.helpers import DM, HBA1C, indicators_app, on_register, recorded, registered, retracted

BMI = "60621009"  # a body mass index observation: no DM rule reads it


def consumer(app: FastAPI) -> EventConsumer:
    rt, spec = app.state.runtime, app.state.spec
    return EventConsumer(service="indicators", group_id="unit-test", factory=rt.sessions, tables=rt.tables,
                         bootstrap="127.0.0.1:1", handlers=spec.handlers, after_unit=spec.after_unit)


async def apply_batch(app: FastAPI, envelopes: list[Envelope]) -> None:
    as_one = await consumer(app).handle_batch([SimpleNamespace(value=e.to_bytes()) for e in envelopes])  # type: ignore[misc]
    assert as_one, "the batch fell back to event-by-event handling"
    await app.state.spec.after_batch(app)


def wrap(*payloads: EventPayload) -> list[Envelope]:
    return [Envelope.wrap(p, source="/tests") for p in payloads]


async def dm020(app: FastAPI) -> dict[str, str]:
    async with app.state.runtime.sessions() as s:
        rows = await s.execute(select(Outcome.patient_id, Outcome.status).where(Outcome.indicator_id == "DM020"))
        return {pid: status for pid, status in rows}


async def test_one_unit_keeps_the_order_of_its_events(database_url: str) -> None:
    dx = date(2015, 6, 1)
    async with indicators_app(database_url) as (app, _client, _headers):
        first = wrap(
            registered("a"), registered("b"), registered("c"),
            # a: the same HbA1c entry recorded out of target, then corrected into target, in one batch
            recorded("a", ("a-dx", DM, dx, None), ("a-1", HBA1C, date(2025, 10, 1), 70.0)),
            recorded("a", ("a-1", HBA1C, date(2025, 10, 1), 50.0)),
            # b: an in-target HbA1c recorded and retracted in the same batch
            recorded("b", ("b-dx", DM, dx, None), ("b-1", HBA1C, date(2025, 10, 1), 50.0)),
            retracted("b", "b-1"),
            # c: in target; corrected in the next batch to a code no DM rule reads
            recorded("c", ("c-dx", DM, dx, None), ("c-1", HBA1C, date(2025, 10, 1), 48.0)),
            on_register("a"), on_register("b"), on_register("c"),
        )
        await apply_batch(app, first)
        assert await dm020(app) == {"a": "numerator", "b": "denominator_only", "c": "numerator"}

        await apply_batch(app, wrap(recorded("c", ("c-1", BMI, date(2025, 10, 1), 31.0)),
                                    registered("a", dob=date(1961, 5, 1))))
        assert await dm020(app) == {"a": "numerator", "b": "denominator_only", "c": "denominator_only"}

        async def stored() -> tuple[Any, ...]:
            async with app.state.runtime.sessions() as s:
                return (await s.scalar(select(func.count()).select_from(CodedEvent)),
                        await s.scalar(select(Patient.date_of_birth).where(Patient.patient_id == "a")),
                        await s.scalar(select(CodedEvent.code).where(CodedEvent.entry_id == "c-1")))

        assert await stored() == (6, date(1961, 5, 1), BMI)
        await apply_batch(app, first)  # redelivered: every event is already in the ledger
        assert await stored() == (6, date(1961, 5, 1), BMI)
        assert await dm020(app) == {"a": "numerator", "b": "denominator_only", "c": "denominator_only"}

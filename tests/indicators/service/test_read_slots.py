"""Issue 11: "reads starve the consumer: reading must never slow the applying of events".

Scoring reads are admitted ``reads_at_once`` at a time per instance (default one); a read that finds every slot
taken waits its turn instead of scoring beside the others on the event loop the consumer shares. The consumer
itself never takes a slot: events are applied while reads wait.
"""

from __future__ import annotations

import asyncio
from datetime import date

import pytest
from pydantic import ValidationError

from shared.settings import ServiceSettings
from tests.indicators.service.helpers import (
    DM,
    HBA1C,
    PRACTICE,
    deliver,
    indicators_app,
    on_register,
    recorded,
    registered,
)

BASE = f"/v1/practices/{PRACTICE}"


async def test_a_scoring_read_waits_for_a_slot_and_events_are_applied_meanwhile(sqlite_url: str) -> None:
    async with indicators_app(sqlite_url) as (app, client, headers):
        await deliver(app, registered("a"), recorded("a", ("a-dx", DM, date(2015, 6, 1), None)), on_register("a"))
        slots: asyncio.Semaphore = app.state.read_slots
        await slots.acquire()  # the one slot is taken by another read
        try:
            reads = [asyncio.ensure_future(client.get(f"{BASE}{path}", headers=headers))
                     for path in ("/achievement", "/worklist/next-best", "/indicators/DM020")]
            done, _ = await asyncio.wait(reads, timeout=0.5)
            assert not done, "a scoring read ran while every slot was taken"
            # the consumer's work takes no slot: a result is applied while the reads wait
            await deliver(app, recorded("a", ("a-1", HBA1C, date(2025, 10, 1), 50.0)))
            health = await client.get("/healthz")  # requests that do not score are not held either
            assert health.status_code == 200
        finally:
            slots.release()
        answers = await asyncio.gather(*reads)
        assert [r.status_code for r in answers] == [200, 200, 200]
        dm020 = next(i for i in answers[0].json()["indicators"] if i["indicator_id"] == "DM020")
        assert dm020["numerator"] == 1  # answered after its turn came, with the event applied meanwhile


def test_reads_at_once_is_at_least_one() -> None:
    with pytest.raises(ValidationError):
        ServiceSettings(reads_at_once=0)

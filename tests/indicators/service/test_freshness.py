"""Freshness you can see (real broker; indicators on SQLite and PostgreSQL): while a practice's events are
received and not yet applied its achievement answer says how many are pending and is marked provisional, and the
ICB benchmark names it as behind; once applied the answer is no longer provisional and says as of when."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaProducer

from shared.broker import LocalBroker
from shared.events.envelope import Envelope
from shared.events.kafka import make_producer
from shared.events.schemas import EventPayload
from shared.testing import bearer
from tests.indicators.service.helpers import DM, HBA1C, indicators_app, on_register, recorded, registered
from tests.indicators.service.test_e2e import eventually


async def _publish(producer: AIOKafkaProducer, *payloads: EventPayload) -> None:
    for p in payloads:
        env = Envelope.wrap(p, source="/tests")
        await producer.send_and_wait(p.event_type, value=env.to_bytes(), key=env.partitionkey.encode())


async def test_achievement_is_provisional_while_events_are_pending(database_url: str, broker: LocalBroker) -> None:
    practice = "A81030" if database_url.startswith("sqlite") else "A81031"
    pid = f"{practice}-fresh"
    async with indicators_app(database_url, broker.bootstrap) as (app, client, _h):
        headers = bearer(app.state.settings, scopes=["indicators:read"], practices=[practice])
        analyst = bearer(app.state.settings, scopes=["analytics:read"], icb="QHM")
        gate = asyncio.Event()
        handlers = app.state.spec.handlers
        applying = handlers["code.recorded"]

        async def held(session: Any, env: Envelope, payload: EventPayload) -> None:
            await gate.wait()  # the consumer is busy with this event: it is received, not yet applied
            await applying(session, env, payload)

        handlers["code.recorded"] = held
        producer = make_producer(broker.bootstrap)
        await producer.start()
        try:
            await _publish(producer, registered(pid, practice=practice),
                           recorded(pid, (f"{pid}-dx", DM, date(2015, 6, 1), None),
                                    (f"{pid}-a1c", HBA1C, date(2025, 10, 1), 50.0), practice=practice),
                           on_register(pid, practice=practice))
        finally:
            await producer.stop()

        async def achievement() -> dict[str, Any]:
            r = await client.get(f"/v1/practices/{practice}/achievement", headers=headers)
            assert r.status_code == 200, r.text
            return r.json()

        async def pending() -> dict[str, Any] | None:
            body = await achievement()
            return body if body["freshness"]["pending_events"] else None

        behind = await eventually(pending)
        assert behind is not None, "the events never reached the consumer"
        assert behind["freshness"]["provisional"] is True and behind["freshness"]["pending_events"] >= 1
        bench = (await client.get("/v1/icbs/QHM/benchmarks?indicator=DM020", headers=analyst)).json()
        assert practice in bench["practices_behind"]

        gate.set()

        async def caught_up() -> dict[str, Any] | None:
            body = await achievement()
            dm = next(i for i in body["indicators"] if i["indicator_id"] == "DM020")
            done = not body["freshness"]["provisional"] and dm["numerator"] == 1
            return body if done else None

        fresh = await eventually(caught_up)
        assert fresh is not None, "the figures never caught up"
        assert fresh["freshness"]["pending_events"] == 0 and fresh["freshness"]["as_of"] is not None
        for at in ("as_of", "applied_at"):  # as of when, unambiguously: a UTC time, on SQLite as on PostgreSQL
            assert datetime.fromisoformat(fresh["freshness"][at]).utcoffset() == timedelta(0), at
        wl = (await client.get(f"/v1/practices/{practice}/worklist/next-best", headers=headers)).json()
        assert wl["freshness"] == fresh["freshness"]
        bench = (await client.get("/v1/icbs/QHM/benchmarks?indicator=DM020", headers=analyst)).json()
        assert practice not in bench["practices_behind"]
        row = next(r for r in bench["rows"] if r["code"] == practice)
        assert row["behind"] is False and row["as_of"] is not None and row["pending_events"] == 0
        assert datetime.fromisoformat(row["as_of"]).utcoffset() == timedelta(0)
        metrics = (await client.get("/metrics")).text
        assert 'qof_consumer_lag{group=' in metrics and 'topic="code.recorded"' in metrics

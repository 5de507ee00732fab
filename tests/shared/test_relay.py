"""Two relays on one PostgreSQL outbox (two instances of a service): every event once, in order."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

from aiokafka import AIOKafkaConsumer

from shared.broker import LocalBroker
from shared.db import create_engine, service_metadata, session_factory
from shared.events.envelope import Envelope
from shared.events.outbox import enqueue, event_tables
from shared.events.relay import OutboxRelay
from shared.events.schemas import RegisterChanged


async def test_two_relays_publish_each_row_once_in_order(broker: LocalBroker, postgres_url: str) -> None:
    metadata = service_metadata()
    tables = event_tables(metadata)
    engine = create_engine(postgres_url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    sessions = session_factory(engine)
    practice = "Y" + uuid.uuid4().hex[:5].upper()  # a practice of its own on the shared topic
    patients = [uuid.uuid4().hex for _ in range(5)]
    for batch in range(20):
        async with sessions() as s, s.begin():
            await enqueue(
                s,
                tables,
                [
                    RegisterChanged(
                        practice_ods=practice,
                        patient_id=p,
                        register_id=f"R{batch:02d}",
                        on_register=True,
                        as_of=date(2025, 1, 1),
                    )
                    for p in patients
                ],
                source="/test",
            )
    relays = [
        OutboxRelay(
            service="twin", factory=sessions, tables=tables, bootstrap=broker.bootstrap, batch_size=7, poll_seconds=0.01
        )
        for _ in range(2)
    ]
    for relay in relays:
        relay.start()
    try:
        await relays[0].drain(timeout=60)
    finally:
        for relay in relays:
            await relay.stop()
        await engine.dispose()
    consumer = AIOKafkaConsumer(
        "register.changed", bootstrap_servers=broker.bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    seen: list[Envelope] = []
    try:
        for _ in range(60):
            for records in (await consumer.getmany(timeout_ms=250)).values():
                seen.extend(
                    e for e in (Envelope.from_bytes(r.value) for r in records) if e.data["practice_ods"] == practice
                )
            if len(seen) >= 100:
                await asyncio.sleep(0.5)
                for records in (await consumer.getmany(timeout_ms=250)).values():
                    seen.extend(
                        e for e in (Envelope.from_bytes(r.value) for r in records) if e.data["practice_ods"] == practice
                    )
                break
    finally:
        await consumer.stop()
    assert len(seen) == 100 and len({e.id for e in seen}) == 100
    for p in patients:
        order = [e.data["register_id"] for e in seen if e.subject == p]
        assert order == [f"R{b:02d}" for b in range(20)]

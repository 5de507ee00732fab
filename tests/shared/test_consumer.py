"""The idempotent consumer on the real broker: each event handled once, failures dead-lettered after N tries."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy import event, select

from shared.broker import LocalBroker
from shared.db import create_engine, service_metadata, session_factory
from shared.events.consumer import EventConsumer
from shared.events.envelope import Envelope
from shared.events.outbox import event_tables
from shared.events.schemas import EventPayload, RegisterChanged


async def test_duplicates_are_handled_once_and_failures_go_to_the_dlq(broker: LocalBroker, tmp_path: Path) -> None:
    metadata = service_metadata()
    tables = event_tables(metadata)
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'consumer.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    sessions = session_factory(engine)
    handled: list[str] = []
    practice = "Y" + uuid.uuid4().hex[:5].upper()

    async def handler(_session, envelope: Envelope, payload: EventPayload) -> None:
        assert isinstance(payload, RegisterChanged)
        if payload.practice_ods != practice:
            return  # the session's broker carries other tests' events on this topic too
        if payload.register_id == "BROKEN_REG":
            raise RuntimeError("cannot handle this one")
        # Counted when the handler's transaction commits: a batch that is rolled back and applied again
        # event by event has handled the event once, whatever ran inside the rolled-back attempt.
        event.listen(_session.sync_session, "after_commit", lambda _s: handled.append(envelope.id), once=True)

    topic = "register.changed"
    consumer = EventConsumer(
        service="test",
        group_id=f"g-{uuid.uuid4().hex[:8]}",
        factory=sessions,
        tables=tables,
        bootstrap=broker.bootstrap,
        handlers={topic: handler},
        max_attempts=3,
        retry_delay=0.01,
    )
    good = Envelope.wrap(
        RegisterChanged(
            practice_ods=practice,
            patient_id=uuid.uuid4().hex,
            register_id="DM_REG",
            on_register=True,
            as_of=date(2025, 1, 1),
        ),
        source="/test",
    )
    bad = Envelope.wrap(
        RegisterChanged(
            practice_ods=practice,
            patient_id=uuid.uuid4().hex,
            register_id="BROKEN_REG",
            on_register=True,
            as_of=date(2025, 1, 1),
        ),
        source="/test",
    )
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks="all", enable_idempotence=False)
    await producer.start()
    consumer.start()
    try:
        for env in (good, good, bad, good):  # a producer retry can deliver an event more than once
            await producer.send_and_wait(topic, env.to_bytes(), key=env.partitionkey.encode())
        for _ in range(200):
            async with sessions() as s:
                rows = {
                    r.event_id: r.outcome
                    for r in await s.execute(select(tables.processed))
                    if r.event_id in (good.id, bad.id)
                }
            if bad.id in rows and good.id in rows:
                break
            await asyncio.sleep(0.1)
        assert handled == [good.id]
        assert rows == {good.id: "handled", bad.id: "dead-lettered"}
        dlq = AIOKafkaConsumer(
            f"{topic}.dlq", bootstrap_servers=broker.bootstrap, group_id=None, auto_offset_reset="earliest"
        )
        await dlq.start()
        try:
            found = []
            for _ in range(40):
                for records in (await dlq.getmany(timeout_ms=250)).values():
                    found.extend(r for r in records if Envelope.from_bytes(r.value).id == bad.id)
                if found:
                    break
        finally:
            await dlq.stop()
        headers = dict(found[0].headers)
        assert headers["dlq-error"] == b"RuntimeError: cannot handle this one"
        assert headers["dlq-consumer-group"] == consumer.group_id.encode()
    finally:
        await consumer.stop()
        await producer.stop()
        await engine.dispose()

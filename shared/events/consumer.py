"""Idempotent event consumption with bounded retries and a dead-letter topic.

Each message is handled in one database transaction that also records its event id in
``processed_events``; a redelivered event finds its id there and is skipped. Offsets are committed only
after the batch is handled. A message that cannot be parsed, or whose handler keeps failing after
``max_attempts`` tries, is published to ``<topic>.dlq`` with the error in a header and recorded as
dead-lettered, so a poison message never blocks the partition or loops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import ConsumerRecord, TopicPartition
from pydantic import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.events.envelope import Envelope
from shared.events.kafka import make_consumer, make_producer
from shared.events.outbox import EventTables
from shared.events.schemas import EventPayload
from shared.metrics import CONSUMER_LAG, CONSUMER_RECOVERIES, EVENTS_CONSUMED

log = logging.getLogger("qof.consumer")

Handler = Callable[[AsyncSession, Envelope, EventPayload], Awaitable[None]]
WATCH_SECONDS = 2.0


class BatchWatcher(Protocol):
    """Told of each batch as it arrives and once it is applied (after the batch hook), so a service can say
    which of its figures are still catching up."""

    async def received(self, envelopes: Sequence[Envelope]) -> None: ...

    async def applied(self, envelopes: Sequence[Envelope]) -> None: ...


def _readable(records: Sequence[ConsumerRecord]) -> list[Envelope]:
    out: list[Envelope] = []
    for record in records:
        try:
            out.append(Envelope.from_bytes(record.value))
        except (ValidationError, ValueError):
            continue  # dead-lettered when handled
    return out


class EventConsumer:
    def __init__(
        self,
        *,
        service: str,
        group_id: str,
        factory: async_sessionmaker[AsyncSession],
        tables: EventTables,
        bootstrap: str,
        handlers: dict[str, Handler],
        max_attempts: int = 3,
        after_commit: Callable[[], None] | None = None,
        on_batch: Callable[[], Awaitable[None]] | None = None,
        retry_delay: float = 0.2,
        watcher: BatchWatcher | None = None,
        after_unit: Callable[[AsyncSession], Awaitable[None]] | None = None,
    ) -> None:
        self.service = service
        self.group_id = group_id
        self.factory = factory
        self.tables = tables
        self.bootstrap = bootstrap
        self.handlers = handlers
        self.max_attempts = max_attempts
        self.after_commit = after_commit
        # Work a handler defers to the end of each batch (e.g. re-scoring a practice once, not per event).
        self.on_batch = on_batch
        self.retry_delay = retry_delay
        self.watcher = watcher
        # Work handlers defer to the end of each unit of events applied together, in its transaction (e.g.
        # evaluating every patient the unit touched once).
        self.after_unit = after_unit
        self._consumer: AIOKafkaConsumer | None = None
        # Broker restarts: the highest offset handled per partition, and the watchdog's state.
        self._seen: dict[TopicPartition, int] = {}
        self._rewind = False
        self._stale = 0
        self._got_since_watch = False
        self._last_watch = 0.0
        self.recovering = False
        self._dlq: AIOKafkaProducer | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def connected(self) -> bool:
        return self._consumer is not None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"consumer-{self.group_id}")

    async def stop(self) -> None:
        self._stopping = True
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._close()

    async def _close(self) -> None:
        for client in (self._consumer, self._dlq):
            if client is not None:
                try:
                    await client.stop()
                except (Exception, asyncio.CancelledError):
                    log.debug("client stop failed", exc_info=True)
        self._consumer = None
        self._dlq = None

    async def _run(self) -> None:
        backoff = 0.2
        while not self._stopping:
            try:
                if self._consumer is None:
                    consumer = make_consumer(self.bootstrap, self.group_id, sorted(self.handlers))
                    await consumer.start()
                    self._consumer = consumer
                    log.info("consumer connected", extra={"service": self.service, "group": self.group_id})
                batch = await self._consumer.getmany(timeout_ms=500)
                if self._rewind and self._consumer.assignment():
                    # After a broker that lost its logs: read every partition again from its start (handling
                    # is idempotent), not from offsets that no longer mean the same events.
                    await self._consumer.seek_to_beginning(*self._consumer.assignment())
                    self._rewind = False
                    continue
                await self._record_lag(self._consumer, {tp: len(r) for tp, r in batch.items()})
                for tp, part in batch.items():
                    if part:
                        self._seen[tp] = max(self._seen.get(tp, -1), part[-1].offset)
                        self._got_since_watch = True
                records = [record for part in batch.values() for record in part]
                envelopes = _readable(records) if self.watcher and records else []
                if envelopes and self.watcher:
                    await self.watcher.received(envelopes)
                if not await self.handle_batch(records):
                    for record in records:
                        await self.handle(record)
                if batch:
                    await self._after_batch()
                    await self._consumer.commit()
                    if envelopes and self.watcher:
                        await self.watcher.applied(envelopes)
                    await self._record_lag(self._consumer, {})
                if await self._broker_forgot():
                    log.warning("broker lost its logs or this consumer is stuck; reconnecting from the start",
                                extra={"service": self.service, "group": self.group_id})
                    CONSUMER_RECOVERIES.labels(self.service).inc()
                    await self._close()
                    self._rewind = self.recovering = True
                    self._seen.clear()
                    continue
                backoff = 0.2
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "consumer waiting for broker",
                    extra={"service": self.service, "error": type(exc).__name__},
                )
                await self._close()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def _broker_forgot(self) -> bool:
        """Every ``WATCH_SECONDS``: True when a partition's log ends before what this consumer handled (the
        broker restarted without its data), or when records wait and none arrived for two checks (the client
        kept a dead connection's state). Clears ``recovering`` once every partition is read to its end."""
        loop = asyncio.get_running_loop()
        if self._consumer is None or loop.time() - self._last_watch < WATCH_SECONDS:
            return False
        self._last_watch = loop.time()
        got, self._got_since_watch = self._got_since_watch, False
        partitions = list(self._consumer.assignment())
        if not partitions:
            return False
        try:
            ends = await asyncio.wait_for(self._consumer.end_offsets(partitions), WATCH_SECONDS * 2)
        except TimeoutError:
            return True
        # tansu reports a log's end as one past the first offset of its last record batch, so it can trail the
        # records this consumer has handled; the high watermark of its fetches does not. A log both place at
        # or before what was handled has lost it.
        ends = {tp: max(end, self._consumer.highwater(tp) or 0) for tp, end in ends.items()}
        if any(tp in self._seen and ends[tp] <= self._seen[tp] for tp in partitions):
            return True
        waiting = any(ends[tp] > self._seen.get(tp, -1) + 1 for tp in partitions)
        self._stale = self._stale + 1 if waiting and not got else 0
        if not waiting:
            self.recovering = False
        return self._stale >= 2
    async def _record_lag(self, consumer: AIOKafkaConsumer, in_hand: dict[TopicPartition, int]) -> None:
        """Per topic and partition: the high watermark less this consumer's position, plus the batch in hand."""
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            if high is None:
                continue
            lag = max(0, high - await consumer.position(tp)) + in_hand.get(tp, 0)
            CONSUMER_LAG.labels(self.service, self.group_id, tp.topic, str(tp.partition)).set(lag)

    async def _after_batch(self) -> None:
        if self.on_batch is None:
            return
        try:
            await self.on_batch()
        except Exception as exc:  # the deferred work is durable on the handler's side; it runs again next batch
            log.warning("batch hook failed", extra={"service": self.service, "error": type(exc).__name__})

    async def handle_batch(self, records: Sequence[ConsumerRecord]) -> bool:
        """Apply the batch as one unit: one transaction, the deferred work done once for all its events.

        Returns False having changed nothing when the batch cannot go as one (an unreadable event, a handler
        failing, a race with another instance); the caller then handles it event by event, with retries and the
        dead-letter topic."""
        if len(records) < 2:
            return False
        units: list[tuple[Envelope, EventPayload, Handler]] = []
        try:
            for record in records:
                envelope = Envelope.from_bytes(record.value)
                handler = self.handlers.get(envelope.type)
                if handler is not None:
                    units.append((envelope, envelope.payload(), handler))
        except (ValidationError, ValueError):
            return False
        processed = self.tables.processed
        outcomes: dict[str, str] = {}
        try:
            async with self.factory() as session, session.begin():
                ids = [e.id for e, _, _ in units]
                seen = set(await session.scalars(select(processed.c.event_id).where(processed.c.event_id.in_(ids))))
                rows = []
                for envelope, payload, handler in units:
                    if envelope.id in seen:
                        outcomes[envelope.id] = "duplicate"
                        continue
                    seen.add(envelope.id)
                    await handler(session, envelope, payload)
                    rows.append({"event_id": envelope.id, "topic": envelope.type, "outcome": "handled"})
                    outcomes[envelope.id] = "handled"
                if self.after_unit is not None:
                    await self.after_unit(session)
                if rows:
                    await session.execute(insert(processed), rows)
        except Exception as exc:
            log.warning("batch applied event by event", extra={"service": self.service, "error": type(exc).__name__})
            return False
        for envelope, _, _ in units:
            EVENTS_CONSUMED.labels(self.service, envelope.type, outcomes[envelope.id]).inc()
        if "handled" in outcomes.values() and self.after_commit:
            self.after_commit()
        return True

    async def handle(self, record: ConsumerRecord) -> str:
        """Handle one record; returns the outcome (handled, duplicate, ignored, dead-lettered)."""
        try:
            envelope = Envelope.from_bytes(record.value)
            payload = envelope.payload()
        except (ValidationError, ValueError) as exc:
            await self._dead_letter(record, f"unreadable event: {exc}", event_id=None)
            return "dead-lettered"
        handler = self.handlers.get(envelope.type)
        if handler is None:
            return "ignored"
        error = ""
        for attempt in range(1, self.max_attempts + 1):
            try:
                outcome = await self._handle_once(envelope, payload, handler)
                EVENTS_CONSUMED.labels(self.service, envelope.type, outcome).inc()
                if outcome == "handled" and self.after_commit:
                    self.after_commit()
                return outcome
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                log.warning(
                    "event handler failed",
                    extra={
                        "service": self.service,
                        "event_type": envelope.type,
                        "event_id": envelope.id,
                        "attempt": attempt,
                    },
                )
                await asyncio.sleep(self.retry_delay * attempt)
        await self._dead_letter(record, error, event_id=envelope.id)
        return "dead-lettered"

    async def _handle_once(self, envelope: Envelope, payload: EventPayload, handler: Handler) -> str:
        processed = self.tables.processed
        try:
            async with self.factory() as session, session.begin():
                seen = await session.execute(select(processed.c.event_id).where(processed.c.event_id == envelope.id))
                if seen.first() is not None:
                    return "duplicate"
                await handler(session, envelope, payload)
                if self.after_unit is not None:
                    await self.after_unit(session)
                await session.execute(
                    insert(processed).values(event_id=envelope.id, topic=envelope.type, outcome="handled")
                )
        except IntegrityError:
            # Another consumer instance recorded the same event first.
            async with self.factory() as session:
                seen = await session.execute(select(processed.c.event_id).where(processed.c.event_id == envelope.id))
                if seen.first() is not None:
                    return "duplicate"
            raise
        return "handled"

    async def _dead_letter(self, record: ConsumerRecord, error: str, *, event_id: str | None) -> None:
        if self._dlq is None:
            dlq = make_producer(self.bootstrap)
            await dlq.start()
            self._dlq = dlq
        headers = [
            *list(record.headers or []),
            ("dlq-error", error[:2000].encode()),
            ("dlq-consumer-group", self.group_id.encode()),
            ("dlq-original-offset", str(record.offset).encode()),
        ]
        await self._dlq.send_and_wait(f"{record.topic}.dlq", value=record.value, key=record.key, headers=headers)
        EVENTS_CONSUMED.labels(self.service, record.topic, "dead-lettered").inc()
        log.error(
            "event dead-lettered",
            extra={"service": self.service, "topic": record.topic, "event_id": event_id},
        )
        if event_id is not None:
            async with self.factory() as session, session.begin():
                seen = await session.execute(
                    select(self.tables.processed.c.event_id).where(self.tables.processed.c.event_id == event_id)
                )
                if seen.first() is None:
                    await session.execute(
                        insert(self.tables.processed).values(
                            event_id=event_id, topic=record.topic, outcome="dead-lettered", error=error[:2000]
                        )
                    )

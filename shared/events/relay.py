"""Publishes outbox rows to Kafka in order and marks them sent.

Runs as a background task of each service. When the broker is away it keeps retrying with backoff; rows
stay in the outbox, so every event is published once the broker is back (at least once: a crash between
publish and mark may publish a row again, which consumers dedupe by event id).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib
from datetime import timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import utcnow
from shared.events.envelope import CONTENT_TYPE
from shared.events.kafka import make_producer
from shared.events.outbox import EventTables
from shared.metrics import BROKER_RESETS, BROKER_UP, EVENTS_PUBLISHED, EVENTS_RECOVERING, OUTBOX_PENDING

log = logging.getLogger("qof.outbox")


class OutboxRelay:
    def __init__(
        self,
        *,
        service: str,
        factory: async_sessionmaker[AsyncSession],
        tables: EventTables,
        bootstrap: str,
        poll_seconds: float = 0.1,
        batch_size: int = 1000,
        keep_sent: timedelta = timedelta(days=7),
    ) -> None:
        self.service = service
        self.factory = factory
        self.tables = tables
        self.bootstrap = bootstrap
        self.poll_seconds = poll_seconds
        self.batch_size = batch_size
        self.keep_sent = keep_sent
        self._producer: AIOKafkaProducer | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._lock_key = zlib.crc32(f"qof-outbox-{service}".encode())
        # Broker restarts: the highest offset the broker acknowledged per partition; a new acknowledgement at or
        # below it means the broker lost events. ``_floor``: the lowest offset of the newest publishing round per
        # partition; a log whose reported end is below it lost events (see ``_check_broker``).
        self._acked: dict[TopicPartition, int] = {}
        self._floor: dict[TopicPartition, int] = {}
        self._settled: dict[TopicPartition, int] = {}
        self._probe: AIOKafkaConsumer | None = None
        self._last_check = 0.0
        self._lost = False
        self.recovering = False
        self.check_seconds = 2.0

    @property
    def connected(self) -> bool:
        return self._producer is not None

    def wake(self) -> None:
        """Publish soon: called after a transaction that enqueued events commits."""
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"outbox-relay-{self.service}")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._close_producer()

    async def pending(self) -> int:
        async with self.factory() as s:
            t = self.tables.outbox
            return int((await s.execute(select(func.count()).select_from(t).where(t.c.sent_at.is_(None)))).scalar_one())

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait until the outbox is empty (tests, benchmarks, graceful shutdown)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while await self.pending():
            self.wake()
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("outbox not drained in time")
            await asyncio.sleep(0.05)

    async def _close_producer(self) -> None:
        if self._probe is not None:
            probe, self._probe = self._probe, None
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await probe.stop()
        if self._producer is not None:
            producer, self._producer = self._producer, None
            BROKER_UP.labels(self.service).set(0)
            try:
                await producer.stop()
            except (Exception, asyncio.CancelledError):
                log.debug("producer stop failed", exc_info=True)

    async def _ensure_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = make_producer(self.bootstrap)
            try:
                await producer.start()
            except BaseException:
                await producer.stop()
                raise
            self._producer = producer
            BROKER_UP.labels(self.service).set(1)
            log.info("outbox relay connected", extra={"service": self.service})
        return self._producer

    async def _run(self) -> None:
        backoff = 0.2
        last_purge = 0.0
        loop = asyncio.get_running_loop()
        while not self._stopping:
            try:
                await self._ensure_producer()
                sent = await self.publish_batch()
                await self._check_broker()
                backoff = 0.2
                if loop.time() - last_purge > 300:
                    await self._purge_sent()
                    last_purge = loop.time()
                if sent < self.batch_size:
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "outbox relay waiting for broker",
                    extra={"service": self.service, "error": type(exc).__name__},
                )
                await self._close_producer()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def publish_batch(self) -> int:
        async with self.factory() as s:
            # The session's first statement begins its transaction; on any error, leaving the block rolls it back.
            if (await s.connection()).dialect.name == "postgresql":
                # One relay at a time across every instance of the service: the transaction-scoped advisory lock
                # keeps per-patient order and stops two instances publishing the same rows.
                lock = await s.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": self._lock_key})
                if not lock.scalar():
                    return 0
                rows = await self._unsent(s)
                await self._publish(rows)
                await self._mark_sent(s, rows)
                await s.commit()
                return len(rows)
            # SQLite: one process owns the file. Reading and marking in separate transactions keeps the write
            # short (a read transaction upgraded to a write after another commit fails at once in WAL mode).
            rows = await self._unsent(s)
        await self._publish(rows)
        async with self.factory() as s, s.begin():
            await self._mark_sent(s, rows)
        return len(rows)

    async def _unsent(self, session: AsyncSession) -> list[Any]:
        t = self.tables.outbox
        query = select(t.c.seq, t.c.topic, t.c.key, t.c.body).where(t.c.sent_at.is_(None))
        rows = list((await session.execute(query.order_by(t.c.seq).limit(self.batch_size))).all())
        if not rows:
            OUTBOX_PENDING.labels(self.service).set(0)
        return rows

    async def _publish(self, rows: list[Any]) -> None:
        if not rows:
            return
        producer = await self._ensure_producer()
        headers = [("content-type", CONTENT_TYPE.encode())]
        futures = [await producer.send(r.topic, value=r.body, key=r.key.encode(), headers=headers) for r in rows]
        acks = await asyncio.gather(*futures)
        for r in rows:
            EVENTS_PUBLISHED.labels(self.service, r.topic).inc()
        floor: dict[TopicPartition, int] = {}
        for ack in acks:
            tp = TopicPartition(ack.topic, ack.partition)
            if ack.offset <= self._acked.get(tp, -1):
                self._lost = True  # offsets only grow in a log: this one started again
            self._acked[tp] = max(self._acked.get(tp, -1), ack.offset)
            floor[tp] = min(floor.get(tp, ack.offset), ack.offset)
        self._floor.update(floor)

    async def _check_broker(self) -> None:
        """Replay the retained outbox when the broker lost events it had acknowledged (an in-memory broker
        restarted): consumers dedupe by event id, so publishing every retained row again heals them."""
        loop = asyncio.get_running_loop()
        if not self._lost and self._acked and loop.time() - self._last_check > self.check_seconds:
            self._last_check = loop.time()
            if self._probe is None:
                self._probe = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, request_timeout_ms=5000)
                await self._probe.start()
            # Compared with what was acknowledged by the previous check: a log's reported end may lag the
            # newest acknowledgements a moment, never ones a check period old.
            settled, self._settled = self._settled, dict(self._floor)
            if settled:
                ends = await asyncio.wait_for(self._probe.end_offsets(list(settled)), 10)
                # tansu reports a log's end as one past the first offset of its last record batch, not of its
                # last record: after a round of many records the end trails the acknowledgements by up to the
                # batch. A log still holding the newest round ends past that round's lowest offset.
                self._lost = any(ends[tp] < offset for tp, offset in settled.items())
        if self._lost:
            await self.replay()
        elif self.recovering and not await self.pending():
            self.recovering = False
            EVENTS_RECOVERING.labels(self.service).set(0)
            log.info("outbox replay published", extra={"service": self.service})

    async def replay(self) -> int:
        """Mark every retained row unsent, so that the relay publishes them again in order."""
        t = self.tables.outbox
        async with self.factory() as s, s.begin():
            result = await s.execute(update(t).where(t.c.sent_at.is_not(None)).values(sent_at=None))
        rows = int(getattr(result, "rowcount", 0) or 0)
        self._lost, self._acked, self._floor, self._settled = False, {}, {}, {}
        self.recovering = True
        EVENTS_RECOVERING.labels(self.service).set(1)
        BROKER_RESETS.labels(self.service).inc()
        log.warning("broker lost published events: replaying the retained outbox",
                    extra={"service": self.service, "rows": rows})
        self.wake()
        return rows

    async def _mark_sent(self, session: AsyncSession, rows: list[Any]) -> None:
        t = self.tables.outbox
        seqs = [r.seq for r in rows]
        for i in range(0, len(seqs), 500):
            await session.execute(update(t).where(t.c.seq.in_(seqs[i : i + 500])).values(sent_at=utcnow()))

    async def _purge_sent(self) -> None:
        t = self.tables.outbox
        async with self.factory() as s, s.begin():
            await s.execute(delete(t).where(t.c.sent_at.is_not(None), t.c.sent_at < utcnow() - self.keep_sent))

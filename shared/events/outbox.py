"""The transactional outbox and the processed-event ledger, as tables every service adds to its metadata.

A service writes its state change and its events in one transaction (``enqueue``); the relay publishes them
later, so a broker outage delays events but never loses them. Consumers record each event id they handled
in ``processed_events`` within the same transaction as the handler's writes, so a redelivery is a no-op.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Column, DateTime, Index, Integer, LargeBinary, MetaData, String, Table, Text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import BigIntPK, bulk_insert, utcnow
from shared.events.envelope import Envelope
from shared.events.schemas import EventPayload


@dataclass(frozen=True)
class EventTables:
    outbox: Table
    processed: Table


def event_tables(metadata: MetaData) -> EventTables:
    outbox = Table(
        "outbox",
        metadata,
        Column("seq", BigIntPK, primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("topic", String(100), nullable=False),
        Column("key", String(200), nullable=False),
        Column("body", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, default=utcnow),
        Column("sent_at", DateTime(timezone=True), nullable=True),
        Column("attempts", Integer, nullable=False, default=0),
        Index("ix_outbox_unsent", "sent_at", "seq"),
    )
    processed = Table(
        "processed_events",
        metadata,
        Column("event_id", String(36), primary_key=True),
        Column("topic", String(100), nullable=False),
        Column("outcome", String(20), nullable=False),  # handled | dead-lettered
        Column("error", Text, nullable=True),
        Column("processed_at", DateTime(timezone=True), nullable=False, default=utcnow),
    )
    return EventTables(outbox=outbox, processed=processed)


def outbox_rows(payloads: Iterable[EventPayload], *, source: str) -> list[dict[str, object]]:
    rows = []
    now = utcnow()
    for payload in payloads:
        env = Envelope.wrap(payload, source=source)
        rows.append(
            {
                "event_id": env.id,
                "topic": env.topic,
                "key": env.partitionkey,
                "body": env.to_bytes(),
                "created_at": now,
                "attempts": 0,
            }
        )
    return rows


async def enqueue(
    session: AsyncSession, tables: EventTables, payloads: Iterable[EventPayload], *, source: str
) -> int:
    """Add events to the outbox inside the caller's transaction. Returns how many."""
    rows = outbox_rows(payloads, source=source)
    await bulk_insert(session, tables.outbox, rows)
    return len(rows)

"""Scale-out on the real broker: two indicators instances in one consumer group, on topics of four partitions and
one database, share the work: each takes partitions and applies events, no event is applied by both (counted
at the commit of the handling transaction, so a redelivery the ledger turns away does not count), and the
practice's figures are those of one instance given the same events on a database of its own."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.indicators.events import CONSUMES
from shared.broker import LocalBroker
from shared.events.envelope import Envelope
from shared.events.kafka import create_topics, make_producer
from shared.events.schemas import EventPayload
from shared.testing import bearer
from tests.indicators.service.helpers import DM, HBA1C, PRACTICE, indicators_app, on_register, recorded, registered
from tests.indicators.service.test_e2e import eventually

PARTITIONS = 4
PATIENTS = 24


@pytest.fixture
def own_broker() -> Any:
    """A broker of this test's own, so that every topic has the partitions this test makes it with."""
    b = LocalBroker().start()
    yield b
    b.stop()


def events_of_practice() -> list[EventPayload]:
    out: list[EventPayload] = []
    for i in range(PATIENTS):
        pid = f"{PRACTICE}-so-{i}"
        entries: list[tuple[str, str, date, float | None]] = [(f"{pid}-dx", DM, date(2015, 6, 1), None)]
        if i % 3:  # two in three have an HbA1c, in or out of DM020's target of 58
            entries.append((f"{pid}-a1c", HBA1C, date(2025, 10, 1), 50.0 if i % 2 else 70.0))
        out += [registered(pid), recorded(pid, *entries), on_register(pid)]
    return out


def count_applied(app: FastAPI) -> Counter[str]:
    """Event ids this instance applied, counted when the transaction that applied them commits."""
    applied: Counter[str] = Counter()
    handlers = app.state.spec.handlers

    def counting(inner: Any) -> Any:
        async def handler(session: AsyncSession, env: Envelope, payload: EventPayload) -> None:
            await inner(session, env, payload)
            ids = session.info.setdefault("applied", [])
            if not ids:
                sync = session.sync_session
                event.listen(sync, "after_commit", lambda s: applied.update(s.info.pop("applied", [])), once=True)
                event.listen(sync, "after_rollback", lambda s: s.info.pop("applied", None), once=True)
            ids.append(env.id)

        return handler

    for topic in list(handlers):
        handlers[topic] = counting(handlers[topic])
    return applied


@asynccontextmanager
async def instances(
    url: str, bootstrap: str, group: str, n: int
) -> AsyncIterator[list[tuple[FastAPI, httpx.AsyncClient, Counter[str]]]]:
    async with AsyncExitStack() as stack:
        out = []
        for _ in range(n):  # one after another: each runs the migrations at start
            app, client, _h = await stack.enter_async_context(indicators_app(url, bootstrap, consumer_group=group))
            out.append((app, client, count_applied(app)))
        yield out


async def processed(app: FastAPI) -> int:
    rt = app.state.runtime
    async with rt.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(rt.tables.processed)) or 0)


async def answer(app: FastAPI, client: httpx.AsyncClient) -> dict[str, Any]:
    headers = bearer(app.state.settings, scopes=["indicators:read"], practices=[PRACTICE])
    body = (await client.get(f"/v1/practices/{PRACTICE}/achievement", headers=headers)).json()
    body.pop("freshness", None)
    return body


async def test_two_instances_share_the_work(database_url: str, own_broker: LocalBroker, tmp_path: Path) -> None:
    bootstrap = own_broker.bootstrap
    await create_topics(bootstrap, list(CONSUMES), PARTITIONS)
    sent = events_of_practice()
    async with instances(database_url, bootstrap, f"indicators-two-{uuid.uuid4().hex[:6]}", 2) as pair, \
            instances(f"sqlite+aiosqlite:///{tmp_path / 'one.db'}", bootstrap, "indicators-one", 1) as single:
        (a, _ca, applied_a), (b, _cb, applied_b) = pair

        async def both_assigned() -> bool:
            parts = [x.state.runtime.consumer._consumer for x in (a, b)]
            return all(c is not None and c.assignment() for c in parts)

        assert await eventually(both_assigned), "the group never gave both instances partitions"
        mine = [c._consumer.assignment() for c in (a.state.runtime.consumer, b.state.runtime.consumer)]
        assert not mine[0] & mine[1] and len(mine[0] | mine[1]) == PARTITIONS * len(CONSUMES)

        producer = make_producer(bootstrap)
        await producer.start()
        try:
            for p in sent:
                env = Envelope.wrap(p, source="/tests")
                await producer.send_and_wait(p.event_type, value=env.to_bytes(), key=env.partitionkey.encode())
        finally:
            await producer.stop()

        async def drained() -> bool:
            return await processed(a) == len(sent) and await processed(single[0][0]) == len(sent)

        assert await eventually(drained, timeout=60), "the events were not all applied"
        await asyncio.sleep(1.0)  # a late redelivery would show as a second application
        both = applied_a + applied_b
        assert applied_a and applied_b, "one instance did all the work"
        assert sum(both.values()) == len(sent) and set(both.values()) == {1}, both.most_common(3)
        assert set(applied_a).isdisjoint(applied_b)

        async def scored(app: FastAPI, client: httpx.AsyncClient) -> dict[str, Any] | None:
            body = await answer(app, client)
            dm = next(i for i in body["indicators"] if i["indicator_id"] == "DM020")
            return body if dm["denominator"] == PATIENTS else None

        two = await eventually(lambda: scored(a, _ca))
        assert two is not None, "the practice was never re-scored with every patient"
        one = await eventually(lambda: scored(single[0][0], single[0][1]))
        assert one is not None
        assert two["indicators"] == one["indicators"]
        dm020 = next(i for i in two["indicators"] if i["indicator_id"] == "DM020")
        # In target: HbA1c 50 (odd i, not a multiple of 3); every other patient is in the denominator only.
        assert dm020["numerator"] == sum(1 for i in range(PATIENTS) if i % 3 and i % 2)


async def test_an_instance_that_only_answers_reads_what_the_consumer_applied(sqlite_url: str,
                                                                            broker: LocalBroker) -> None:
    """``QOF_CONSUME=false``: an instance for requests only joins no consumer group (reads never take the
    consumer's time) and answers with what the consuming instance applied to the shared database."""
    group = f"indicators-split-{uuid.uuid4().hex[:6]}"
    async with indicators_app(sqlite_url, broker.bootstrap, consumer_group=group) as (worker, _w, _h), \
            indicators_app(sqlite_url, broker.bootstrap, consumer_group=group, consume=False) as (api, client, _h2):
        assert worker.state.runtime.consumer is not None and api.state.runtime.consumer is None
        practice = "A81032"  # of this test only: the session broker carries other tests' events
        pid = f"{practice}-split"
        producer = make_producer(broker.bootstrap)
        await producer.start()
        try:
            for p in (registered(pid, practice=practice),
                      recorded(pid, (f"{pid}-dx", DM, date(2015, 6, 1), None),
                               (f"{pid}-a1c", HBA1C, date(2025, 10, 1), 50.0), practice=practice),
                      on_register(pid, practice=practice)):
                env = Envelope.wrap(p, source="/tests")
                await producer.send_and_wait(p.event_type, value=env.to_bytes(), key=env.partitionkey.encode())
        finally:
            await producer.stop()
        headers = bearer(api.state.settings, scopes=["indicators:read"], practices=[practice])

        async def met() -> dict[str, Any] | None:
            body = (await client.get(f"/v1/practices/{practice}/indicators/DM020", headers=headers)).json()
            return body if body.get("numerator") == 1 else None

        assert await eventually(met), "the request-only instance never showed what the consumer applied"

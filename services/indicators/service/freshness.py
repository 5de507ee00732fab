"""Freshness: as of when a practice's figures stand, and whether events of it are still to be applied.

The consumer tells :class:`Watcher` of each batch as it arrives (one ``pending_events`` row per practice per
batch) and once it is applied and the practices re-scored (the rows go, ``practice_freshness`` records the
newest event time). A practice is *provisional* while it has events received and not applied, or is marked for
re-scoring. Events still on the broker, not yet fetched by any consumer, cannot be told apart by practice:
``/metrics`` gives them per topic and partition (``qof_consumer_lag``). Rows of a consumer that stopped
mid-batch are ignored after ``STALE`` (its batch is redelivered and counted again).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.indicators.store.models import PENDING_EVENTS, PENDING_RESCORES, PRACTICE_FRESHNESS
from shared.db import as_utc, new_id, upsert, utcnow
from shared.events.envelope import Envelope

STALE = timedelta(minutes=15)


def _practice(env: Envelope) -> str | None:
    p = env.data.get("practice_ods")
    return p.upper() if isinstance(p, str) else None


class Watcher:
    def __init__(self, sessions: Callable[[], async_sessionmaker[AsyncSession]]) -> None:
        self._sessions = sessions  # looked up when used: the runtime is made after the consumer
        self.batch = ""

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return self._sessions()

    async def received(self, envelopes: Sequence[Envelope]) -> None:
        self.batch = new_id()
        counts = Counter(p for p in map(_practice, envelopes) if p)
        async with self.sessions() as s, s.begin():
            await upsert(
                s,
                PENDING_EVENTS,
                [{"batch_id": self.batch, "practice_ods": p, "events": n, "received_at": utcnow()}
                 for p, n in sorted(counts.items())],
                ("batch_id", "practice_ods"),
            )

    async def applied(self, envelopes: Sequence[Envelope]) -> None:
        newest: dict[str, datetime] = {}
        for env in envelopes:
            p = _practice(env)
            if p and (p not in newest or env.time > newest[p]):
                newest[p] = env.time
        pf = PRACTICE_FRESHNESS.c
        async with self.sessions() as s, s.begin():
            await s.execute(delete(PENDING_EVENTS).where(
                (PENDING_EVENTS.c.batch_id == self.batch) | (PENDING_EVENTS.c.received_at < utcnow() - STALE)))
            held = dict((await s.execute(
                select(pf.practice_ods, pf.last_event_at).where(pf.practice_ods.in_(list(newest))))).all())
            now = utcnow()
            await upsert(
                s,
                PRACTICE_FRESHNESS,
                [{"practice_ods": p, "last_event_at": _later(t, held.get(p)), "applied_at": now}
                 for p, t in sorted(newest.items())],
                ("practice_ods",),
            )


def _later(a: datetime, b: datetime | None) -> datetime:
    b = as_utc(b)
    return a if b is None else max(a, b)


@dataclass(frozen=True)
class Freshness:
    as_of: datetime | None  # time of the newest event applied
    applied_at: datetime | None
    pending_events: int
    rescore_pending: bool

    @property
    def provisional(self) -> bool:
        return self.pending_events > 0 or self.rescore_pending


async def freshness_of(session: AsyncSession, practices: Iterable[str]) -> dict[str, Freshness]:
    wanted = sorted({p.upper() for p in practices})
    pf, pe = PRACTICE_FRESHNESS.c, PENDING_EVENTS.c
    # What is pending is read before what was applied: the consumer clears the one and records the other in
    # one transaction, and each statement here may see another commit (PostgreSQL, read committed). In this
    # order a commit between them leaves the answer provisional, never caught up with no time applied.
    pending = dict((await session.execute(
        select(pe.practice_ods, func.sum(pe.events))
        .where(pe.practice_ods.in_(wanted), pe.received_at >= utcnow() - STALE)
        .group_by(pe.practice_ods))).all())
    marked = set((await session.scalars(
        select(PENDING_RESCORES.c.practice_ods).where(PENDING_RESCORES.c.practice_ods.in_(wanted)))).all())
    seen = {r.practice_ods: r for r in await session.execute(
        select(pf.practice_ods, pf.last_event_at, pf.applied_at).where(pf.practice_ods.in_(wanted)))}
    out: dict[str, Freshness] = {}
    for p in wanted:
        r = seen.get(p)
        out[p] = Freshness(as_utc(r.last_event_at) if r else None, as_utc(r.applied_at) if r else None,
                           int(pending.get(p) or 0), p in marked)
    return out


async def freshness(session: AsyncSession, practice: str) -> Freshness:
    return (await freshness_of(session, [practice]))[practice.upper()]

"""Leases for background jobs: a running job renews ``heartbeat_at``; a job whose lease lapsed is failed.

A process killed mid-job leaves its row ``running``. Every instance sweeps at start-up and then every
``LEASE_SECONDS``: one conditional ``UPDATE`` fails the rows whose heartbeat (or, never started, creation)
is older than the lease, so several instances can sweep at once and a job another live instance runs,
whose heartbeat is fresh, is left alone. The failed row says why and that sending the request again is safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Collection
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Table, func, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import utcnow

log = logging.getLogger("qof.jobs")
HEARTBEAT_SECONDS = 5.0
LEASE_SECONDS = 120.0
UNFINISHED = ("queued", "running")


@dataclass(frozen=True)
class JobTable:
    table: Table
    # The values that mark a lapsed job failed (the reason, in the table's own error column).
    failed_values: Callable[[], dict[str, Any]]
    lease_seconds: float = LEASE_SECONDS


async def beat(sessions: async_sessionmaker[AsyncSession], jobs: JobTable, job_id: str) -> None:
    async with sessions() as s, s.begin():
        await s.execute(update(jobs.table).where(jobs.table.c.id == job_id).values(heartbeat_at=utcnow()))


@contextlib.asynccontextmanager
async def leased(
    sessions: async_sessionmaker[AsyncSession], jobs: JobTable, job_id: str, every: float = HEARTBEAT_SECONDS
) -> AsyncIterator[None]:
    """Renew the job's lease while the body runs."""
    await beat(sessions, jobs, job_id)

    async def loop() -> None:
        while True:
            await asyncio.sleep(every)
            try:
                await beat(sessions, jobs, job_id)
            except Exception as exc:  # the next beat may succeed; the lease is generous
                log.warning("job heartbeat failed", extra={"job_id": job_id, "error": type(exc).__name__})

    task = asyncio.create_task(loop(), name=f"lease-{job_id}")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def fail_lapsed(
    sessions: async_sessionmaker[AsyncSession], jobs: JobTable, mine: Collection[str] = ()
) -> int:
    """Fail every unfinished job whose lease lapsed, except ``mine`` (this process runs them: a heartbeat
    may wait behind a long SQLite write); the number failed."""
    t = jobs.table
    cutoff = utcnow() - timedelta(seconds=jobs.lease_seconds)
    lapsed = [t.c.status.in_(UNFINISHED), func.coalesce(t.c.heartbeat_at, t.c.created_at) < cutoff]
    if mine:
        lapsed.append(t.c.id.not_in(list(mine)))
    async with sessions() as s, s.begin():
        result = await s.execute(
            update(t).where(*lapsed).values(status="failed", finished_at=utcnow(), **jobs.failed_values())
        )
    failed = int(getattr(result, "rowcount", 0) or 0)
    if failed:
        log.warning("lapsed jobs failed", extra={"jobs": failed, "table": t.name})
    return failed


async def start_sweeper(
    sessions: async_sessionmaker[AsyncSession], jobs: JobTable, mine: Callable[[], Collection[str]] = tuple
) -> asyncio.Task[None]:
    """Sweep now (before the service answers) and then every lease period, until the task is cancelled."""

    async def sweep() -> None:
        try:
            await fail_lapsed(sessions, jobs, mine())
        except Exception as exc:
            log.warning("job sweep failed", extra={"table": jobs.table.name, "error": type(exc).__name__})

    async def loop() -> None:
        while True:
            await asyncio.sleep(jobs.lease_seconds)
            await sweep()

    await sweep()
    return asyncio.create_task(loop(), name=f"sweep-{jobs.table.name}")


async def stop_sweeper(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

"""Full recomputes: synchronous for small practices, otherwise a background job with a status row."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import date
from typing import cast

from fastapi import FastAPI
from sqlalchemy import Table, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.indicators.service.evaluation import RefreshResult, contract_on, periods, refresh, stored_behind
from services.indicators.service.kernel import Kernel
from services.indicators.store.models import OUTCOME_TALLIES, Patient, RecomputeJob
from services.indicators.store.stale import mark_stale
from services.indicators.store.state import contract_of
from shared.db import utcnow
from shared.jobs import JobTable, leased, start_sweeper, stop_sweeper

SYNC_LIMIT = 5000  # patients: above this a recompute runs as a job
log = logging.getLogger("qof.indicators")


async def practice_patients(session: AsyncSession, practice: str) -> int:
    return int(
        await session.scalar(select(func.count()).select_from(Patient).where(Patient.practice_ods == practice)) or 0
    )


async def recompute(session: AsyncSession, kernel: Kernel, practice: str) -> RefreshResult:
    """A practice re-evaluated in full with the kernel's current definitions (entries with newly read codes
    included: a full refresh flags them first); its stored month ends are marked for recomputing from the record
    on the next read."""
    result = await refresh(session, kernel, practice, None)
    await mark_stale(session, {practice: date.min})
    return result


RECOMPUTE_JOBS = JobTable(
    cast(Table, RecomputeJob.__table__),
    lambda: {"error": "the service running this recompute stopped before it finished; request it again"},
)


async def run_job(
    app: FastAPI, sessions: async_sessionmaker[AsyncSession], kernel: Kernel, job_id: str, practice: str
) -> None:
    started = time.perf_counter()
    async with sessions() as s, s.begin():
        await s.execute(update(RecomputeJob).where(RecomputeJob.id == job_id).values(status="running"))
    try:
        async with leased(sessions, RECOMPUTE_JOBS, job_id), sessions() as s, s.begin():
            result = await recompute(s, kernel, practice)
        values: dict[str, object] = {"status": "done", "patients": result.patients, "outcomes": result.outcomes}
    except Exception as exc:
        log.error("recompute failed", extra={"job": job_id, "error": type(exc).__name__})
        values = {"status": "failed", "error": type(exc).__name__}
    values |= {"seconds": round(time.perf_counter() - started, 3), "finished_at": utcnow()}
    async with sessions() as s, s.begin():
        await s.execute(update(RecomputeJob).where(RecomputeJob.id == job_id).values(**values))
    app.state.runtime.events_written()


def start_job(app: FastAPI, kernel: Kernel, job_id: str, practice: str) -> None:
    tasks: dict[str, asyncio.Task[None]] = app.state.__dict__.setdefault("_indicator_jobs", {})
    task = asyncio.create_task(run_job(app, app.state.runtime.sessions, kernel, job_id, practice))
    tasks[job_id] = task
    task.add_done_callback(lambda _t: tasks.pop(job_id, None))



async def refresh_stale(sessions: async_sessionmaker[AsyncSession], kernel: Kernel) -> int:
    """Recompute every practice whose stored outcomes are for an earlier achievement date (ages and windows
    move on with the calendar even when no event arrives). Returns the practices refreshed."""
    async with sessions() as s:
        practices = sorted(set((await s.scalars(select(OUTCOME_TALLIES.c.practice_ods).distinct())).all()))
    done = 0
    for practice in practices:
        async with sessions() as s, s.begin():
            contract = contract_on(kernel, await contract_of(s, practice, kernel), kernel.today())
            if not await stored_behind(s, practice, periods(kernel, contract)):
                continue
            await refresh(s, kernel, practice, None)
        done += 1
    return done


def start_daily_refresh(app: FastAPI, kernel: Kernel, every_seconds: float = 3600.0) -> None:
    """Hourly check for practices whose stored date is behind the service date (once a day in practice)."""

    async def loop() -> None:
        while True:
            try:
                if await refresh_stale(app.state.runtime.sessions, kernel):
                    app.state.runtime.events_written()
            except Exception as exc:
                log.warning("stale refresh failed", extra={"error": type(exc).__name__})
            await asyncio.sleep(every_seconds)

    app.state.indicator_refresh = asyncio.create_task(loop(), name="indicators-stale-refresh")


async def start_recompute_sweeper(app: FastAPI) -> None:
    """Recomputes left unfinished by a process that died are failed, at start-up and every lease period."""
    running: dict[str, asyncio.Task[None]] = app.state.__dict__.setdefault("_indicator_jobs", {})
    app.state.recompute_sweeper = await start_sweeper(app.state.runtime.sessions, RECOMPUTE_JOBS,
                                                      lambda: set(running))


async def stop_daily_refresh(app: FastAPI) -> None:
    await stop_sweeper(getattr(app.state, "recompute_sweeper", None))
    task: asyncio.Task[None] | None = getattr(app.state, "indicator_refresh", None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

"""The daily register refresh: ages cross register limits (17 for diabetes, 18 for CKD...) with no new record,
and treatment windows (an asthma drug in the last 12 months) lapse, so every practice is recomputed once a day."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import date

from fastapi import FastAPI
from sqlalchemy import select

from services.registers.domain.knowledge import knowledge
from services.registers.store.models import Patient
from services.registers.store.registers import refresh_registers
from shared.service import Runtime

log = logging.getLogger("qof.registers.daily")
CHECK_EVERY_SECONDS = 3600


async def refresh_due_practices(rt: Runtime, done: dict[str, date], today: date) -> int:
    """Refresh every practice not yet refreshed ``today``; returns the register changes announced."""
    async with rt.sessions() as s:
        practices = sorted(set((await s.scalars(select(Patient.practice_ods).distinct())).all()))
    changes = 0
    for practice in practices:
        if done.get(practice) == today:
            continue
        async with rt.sessions() as s, s.begin():
            changes += await refresh_registers(s, practice, None, knowledge=knowledge(), on=today)
        rt.events_written()
        done[practice] = today
        log.info("registers refreshed", extra={"practice": practice, "changes": changes})
    return changes


async def _loop(app: FastAPI, today: Callable[[], date]) -> None:
    done: dict[str, date] = {}
    while True:
        try:
            await refresh_due_practices(app.state.runtime, done, today())
        except Exception as exc:  # a failed round is retried at the next check
            log.warning("daily register refresh failed", extra={"error": type(exc).__name__})
        await asyncio.sleep(CHECK_EVERY_SECONDS)


async def start_daily_refresh(app: FastAPI) -> None:
    app.state.daily_refresh = asyncio.create_task(_loop(app, date.today), name="registers-daily-refresh")


async def stop_daily_refresh(app: FastAPI) -> None:
    task: asyncio.Task[None] | None = getattr(app.state, "daily_refresh", None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

"""Send runs in the background, one at a time per campaign, resumed when the service starts again."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fastapi import FastAPI
from sqlalchemy import select, update

from services.recall.domain.ratelimit import TokenBucket
from services.recall.outbound import Notify, Registers
from services.recall.settings import RecallSettings
from services.recall.store.models import Campaign
from services.recall.store.sending import Deps, RunResult, run

log = logging.getLogger("qof.recall.runs")


def deps_of(app: FastAPI) -> Deps:
    return app.state.deps  # type: ignore[no-any-return]


async def started(app: FastAPI) -> None:
    settings: RecallSettings = app.state.settings
    app.state.deps = Deps(settings, Notify(settings), Registers(settings, app.state.registers_transport),
                          TokenBucket(settings.notify_per_minute), app.state.clock)
    app.state.runs = {}
    rt = app.state.runtime
    async with rt.sessions() as s:
        unfinished = list(await s.execute(select(Campaign.id, Campaign.status).where(
            Campaign.status.like("sending:%"))))
    for cid, status in unfinished:
        start(app, cid, int(status.split(":")[1]))


async def stopped(app: FastAPI) -> None:
    for task in list(getattr(app.state, "runs", {}).values()):
        task.cancel()
    for task in list(getattr(app.state, "runs", {}).values()):
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


async def execute(app: FastAPI, campaign_id: str, stage: int) -> RunResult:
    rt = app.state.runtime
    async with rt.sessions() as s, s.begin():
        await s.execute(update(Campaign).where(Campaign.id == campaign_id).values(status=f"sending:{stage}"))
    result = await run(rt, deps_of(app), campaign_id, stage, app.state.clock())
    async with rt.sessions() as s, s.begin():
        await s.execute(update(Campaign).where(Campaign.id == campaign_id).values(status="ready"))
    log.info("run finished", extra={"campaign": campaign_id, "stage": stage, "sent": result.sent})
    return result


def start(app: FastAPI, campaign_id: str, stage: int) -> asyncio.Task[RunResult]:
    runs: dict[str, asyncio.Task[RunResult]] = app.state.runs
    if campaign_id in runs and not runs[campaign_id].done():
        return runs[campaign_id]
    task = asyncio.create_task(execute(app, campaign_id, stage))
    runs[campaign_id] = task
    return task

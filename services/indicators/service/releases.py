"""Codelist releases in the running service: what a release would do to each practice, and the switch.

``preview`` scores every practice twice on the same date: as it stands, and with the rule sets compiled against
the candidate release (its new codes flagged relevant inside a transaction that is rolled back, so nothing is
written). ``follow_release`` is checked per request and by a short background loop: when the active release
in the data folder is not the one the kernel was compiled with (applied here, or by ``qof codelist`` in
another process), the kernel is recompiled and every practice re-scored, once, under a lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.indicators.service.achievement import Achievement, achievement
from services.indicators.service.jobs import recompute
from services.indicators.service.kernel import Kernel
from services.indicators.store.models import Patient
from services.indicators.store.state import reflag_relevant
from shared.codelists import CodelistLibrary
from shared.codelists.active import active_library

log = logging.getLogger("qof.indicators")
LOCK = "codelist_release_lock"


@dataclass(frozen=True)
class IndicatorEffect:
    indicator_id: str
    readiness_before: str
    readiness_after: str
    points_before: float
    points_after: float
    pounds_before: float | None
    pounds_after: float | None


@dataclass(frozen=True)
class PracticeEffect:
    practice: str
    ruleset: str
    achievement_date: str
    points_before: float
    points_after: float
    pounds_before: float
    pounds_after: float
    indicators: list[IndicatorEffect]  # only those whose readiness, points or £ move


async def practices(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessions() as s:
        return sorted(r[0] for r in await s.execute(select(Patient.practice_ods).distinct()))


def _pounds(a: Achievement) -> float:
    return round(sum(r.pounds or 0.0 for r in a.results), 2)


def _points(a: Achievement) -> float:
    return round(sum(r.score.points for r in a.results), 2)


def _effect(before: Achievement, after: Achievement) -> PracticeEffect:
    old = {r.indicator.id: r for r in before.results}
    moved = []
    for r in after.results:
        b = old.get(r.indicator.id)
        if b is None:
            continue
        pb, pa = b.score.points, r.score.points
        if (b.readiness, round(pb, 2), round(b.pounds or 0.0, 2)) != (r.readiness, round(pa, 2),
                                                                       round(r.pounds or 0.0, 2)):
            moved.append(IndicatorEffect(
                r.indicator.id, b.readiness, r.readiness, round(pb, 2), round(pa, 2),
                None if b.pounds is None else round(b.pounds, 2), None if r.pounds is None else round(r.pounds, 2)))
    return PracticeEffect(before.practice, after.contract.ruleset_id, after.period.achievement_date.isoformat(),
                          _points(before), _points(after), _pounds(before), _pounds(after), moved)


async def preview(sessions: async_sessionmaker[AsyncSession], kernel: Kernel,
                  candidate: CodelistLibrary) -> list[PracticeEffect]:
    """Each practice's points and £ now and with ``candidate`` (nothing is written)."""
    other = await asyncio.to_thread(Kernel, candidate, today=kernel.today, default_ruleset=kernel.default_ruleset)
    out = []
    for practice in await practices(sessions):
        async with sessions() as s:
            before = await achievement(s, kernel, practice)
        async with sessions() as s:
            try:
                await reflag_relevant(s, practice, other.relevant_codes)
                after = await achievement(s, other, practice, contract=before.contract, live=True)
            finally:
                await s.rollback()
        out.append(_effect(before, after))
    return out


async def rescore_all(sessions: async_sessionmaker[AsyncSession], kernel: Kernel) -> list[str]:
    """Re-evaluate every practice with the kernel's current codelists (entries with newly read codes included),
    as a full recompute does, month ends included."""
    done = await practices(sessions)
    for practice in done:
        async with sessions() as s, s.begin():
            await recompute(s, kernel, practice)
    return done


async def follow_release(app: FastAPI) -> list[str] | None:
    """Switch to the active release if it is not the compiled one; returns the practices re-scored."""
    kernel: Kernel = app.state.kernel
    if not kernel.follows_release:
        return None
    rt = app.state.runtime
    library = active_library(rt.settings.data_dir)
    if library.release == kernel.library.release:
        return None
    lock: asyncio.Lock = app.state.__dict__.setdefault(LOCK, asyncio.Lock())
    async with lock:
        library = active_library(rt.settings.data_dir)
        if library.release == kernel.library.release:
            return None
        await asyncio.to_thread(kernel.use_library, library)
        log.info("codelist release switched", extra={"release": library.release or "shipped"})
        done = await rescore_all(rt.sessions, kernel)
    rt.events_written()
    return done


def start_release_watch(app: FastAPI, every_seconds: float = 5.0) -> None:
    """Notice a release applied by another process even when no request arrives."""

    async def loop() -> None:
        while True:
            await asyncio.sleep(every_seconds)
            try:
                await follow_release(app)
            except Exception as exc:
                log.warning("codelist release switch failed", extra={"error": type(exc).__name__})

    app.state.release_watch = asyncio.create_task(loop(), name="indicators-release-watch")


async def stop_release_watch(app: FastAPI) -> None:
    task: asyncio.Task[None] | None = getattr(app.state, "release_watch", None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@dataclass(frozen=True)
class ReadinessChange:
    ruleset: str
    indicator_id: str
    before: str
    after: str
    missing_after: tuple[str, ...]


def readiness_changes(now: Kernel, other: Kernel) -> list[ReadinessChange]:
    """Every indicator, per rule set, whose readiness differs between the two kernels' codelists."""
    out = []
    for rid, engine in sorted(now.engines.items()):
        later = other.engine(rid).readiness
        for iid, r in engine.readiness.items():
            if r.readiness != later[iid].readiness:
                out.append(ReadinessChange(rid, iid, r.readiness, later[iid].readiness, later[iid].missing))
    return out

"""Indicators service: factory and lifespan."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from services.indicators.api import (
    achievement,
    benchmarks,
    codelists,
    data_quality,
    exports,
    manage,
    patients,
    rulesets,
    worklists,
)
from services.indicators.events import after_batch, after_unit, handlers
from services.indicators.service.evaluation import rescore_pending
from services.indicators.service.freshness import Watcher
from services.indicators.service.jobs import start_daily_refresh, start_recompute_sweeper, stop_daily_refresh
from services.indicators.service.kernel import Kernel, NoRuleSetForDate
from services.indicators.service.releases import follow_release, start_release_watch, stop_release_watch
from services.indicators.store.models import events
from shared.problems import invalid, problem_response
from shared.service import ServiceSpec, create_service_app
from shared.settings import ServiceSettings, settings_for

SERVICE = "indicators"


def create_app(
    settings: ServiceSettings | None = None, *, today: Callable[[], date] | None = None, kernel: Kernel | None = None
) -> FastAPI:
    """``today`` pins the service clock (tests); ``kernel`` reuses compiled rule sets across apps."""
    kern = kernel or Kernel(today=today or date.today)
    if today is not None:
        kern.today = today
    spec = ServiceSpec(
        name=SERVICE,
        title="QOF Indicators",
        description="Per-patient QOF indicator outcomes kept current from record events; achievement, points "
        "and £ per practice; worklists, projections, what-if, exports and ICB benchmarks.",
        tables=events,
        migrations_dir=Path(__file__).parent / "migrations",
        routers=[
            achievement.router,
            worklists.router,
            patients.router,
            manage.router,
            exports.router,
            data_quality.router,
            rulesets.router,
            benchmarks.router,
            codelists.router,
        ],
        handlers=handlers(kern),
        after_batch=after_batch(kern),
        after_unit=after_unit(kern),
        watcher=lambda app: Watcher(lambda: app.state.runtime.sessions),
        on_startup=lambda app: _started(app, kern),
        on_shutdown=_stopping,
    )
    cfg = settings or settings_for(SERVICE)
    app = create_service_app(spec, cfg)
    app.state.kernel = kern
    app.state.read_slots = asyncio.Semaphore(cfg.reads_at_once)  # see services.indicators.api.deps.read_slot

    @app.exception_handler(NoRuleSetForDate)
    async def _no_ruleset(request: Request, exc: NoRuleSetForDate) -> JSONResponse:
        field = "on" if "on" in request.query_params else "today"
        reason = f"{exc.message}; rule sets exist for {', '.join(exc.years)}"
        return problem_response(invalid([{"field": field, "reason": reason, "location": "query"}],
                                        "No rule set covers this date"), request)

    return app


async def _started(app: FastAPI, kernel: Kernel) -> None:
    # Marks left by a process that stopped between handling events and re-scoring their practices.
    await rescore_pending(app.state.runtime, kernel)
    # A release applied while the service was down (or in another data folder than the kernel's) takes effect.
    await follow_release(app)
    start_release_watch(app)
    await start_recompute_sweeper(app)
    start_daily_refresh(app, kernel)


async def _stopping(app: FastAPI) -> None:
    await stop_release_watch(app)
    await stop_daily_refresh(app)

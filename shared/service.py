"""The one way every service is assembled: settings, storage, migrations, events, security, health.

A service calls ``create_service_app`` with its routers, its metadata's event tables and its event handlers;
everything else (problem+json errors, JSON logs, metrics, ``/healthz``, ``/readyz``, outbox relay, consumers)
is wired here, so the four services behave alike.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared import logging as qof_logging
from shared import problems
from shared.broker import broker_reachable
from shared.db import create_engine, ping, session_factory
from shared.events.consumer import BatchWatcher, EventConsumer, Handler
from shared.events.outbox import EventTables
from shared.events.relay import OutboxRelay
from shared.guards import NulGuard
from shared.metrics import instrument
from shared.migrations import upgrade_to_head_async
from shared.security_headers import SecurityHeaders
from shared.settings import ServiceSettings

log = logging.getLogger("qof.service")


@dataclass
class ServiceSpec:
    name: str
    title: str
    description: str
    tables: EventTables
    migrations_dir: Path
    routers: Sequence[APIRouter]
    handlers: dict[str, Handler] = field(default_factory=dict)
    version: str = "0.1.0"
    on_startup: Callable[[FastAPI], Awaitable[None]] | None = None
    on_shutdown: Callable[[FastAPI], Awaitable[None]] | None = None
    # Runs after each batch of consumed events is handled (before offsets are committed).
    after_batch: Callable[[FastAPI], Awaitable[None]] | None = None
    # Told of each consumed batch as it arrives and once applied (e.g. to say which figures are catching up).
    watcher: Callable[[FastAPI], BatchWatcher] | None = None
    # Runs at the end of each unit of consumed events, in its transaction (work the handlers deferred).
    after_unit: Callable[[AsyncSession], Awaitable[None]] | None = None


@dataclass
class Runtime:
    settings: ServiceSettings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    tables: EventTables
    relay: OutboxRelay | None
    consumer: EventConsumer | None

    def events_written(self) -> None:
        """Call after committing a transaction that enqueued events: the relay publishes them at once."""
        if self.relay is not None:
            self.relay.wake()


def create_service_app(spec: ServiceSpec, settings: ServiceSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        qof_logging.configure(settings.log_level)
        settings.check_production_safety()
        url = settings.resolved_database_url()
        if settings.run_migrations:
            await upgrade_to_head_async(spec.migrations_dir, url)
        engine = create_engine(url)
        sessions = session_factory(engine)
        relay = consumer = None
        if settings.kafka_enabled:
            relay = OutboxRelay(
                service=spec.name,
                factory=sessions,
                tables=spec.tables,
                bootstrap=settings.kafka_bootstrap,
                poll_seconds=settings.outbox_poll_seconds,
                batch_size=settings.outbox_batch_size,
            )
            relay.start()
            if spec.handlers and settings.consume:
                consumer = EventConsumer(
                    service=spec.name,
                    group_id=settings.consumer_group or f"qof-{spec.name}",
                    factory=sessions,
                    tables=spec.tables,
                    bootstrap=settings.kafka_bootstrap,
                    handlers=spec.handlers,
                    max_attempts=settings.consumer_max_attempts,
                    after_commit=relay.wake,
                    on_batch=_bind(spec.after_batch, app),
                    watcher=spec.watcher(app) if spec.watcher else None,
                    after_unit=spec.after_unit,
                )
                consumer.start()
        app.state.runtime = Runtime(settings, engine, sessions, spec.tables, relay, consumer)
        if spec.on_startup:
            await spec.on_startup(app)
        log.info("service started", extra={"service": spec.name})
        try:
            yield
        finally:
            if spec.on_shutdown:
                await spec.on_shutdown(app)
            if consumer:
                await consumer.stop()
            if relay:
                await relay.stop()
            await engine.dispose()

    app = FastAPI(
        title=spec.title,
        description=spec.description,
        version=spec.version,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.spec = spec
    problems.install(app)
    instrument(app, spec.name)
    app.add_middleware(NulGuard, router_app=app)
    app.add_middleware(SecurityHeaders)
    app.include_router(health_router())
    for router in spec.routers:
        app.include_router(router)
    return app


def _bind(hook: Callable[[FastAPI], Awaitable[None]] | None, app: FastAPI) -> Callable[[], Awaitable[None]] | None:
    if hook is None:
        return None
    return lambda: hook(app)


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


RuntimeDep = Annotated[Runtime, Depends(runtime)]


def health_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        summary="Readiness: database and broker",
        description="503 when the database is unreachable. When only the broker is away the service "
        "still accepts writes (events wait in the outbox) and reports `degraded`.",
    )
    async def readyz(rt: RuntimeDep) -> JSONResponse:
        checks: dict[str, str] = {}
        try:
            await ping(rt.engine)
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"down: {type(exc).__name__}"
        if rt.relay is None:
            checks["broker"] = "disabled"
        else:
            checks["broker"] = "ok" if await broker_reachable(rt.settings.kafka_bootstrap) else "unreachable"
        if rt.consumer is not None:
            checks["consumer"] = "ok" if rt.consumer.connected else "unreachable"
        if (rt.relay is not None and rt.relay.recovering) or (rt.consumer is not None and rt.consumer.recovering):
            checks["events"] = "recovering"  # replaying or re-reading events after a broker restart
        if checks["database"] != "ok":
            status, code = "down", 503
        elif "unreachable" in checks.values() or "recovering" in checks.values():
            status, code = "degraded", 200
        else:
            status, code = "ok", 200
        return JSONResponse({"status": status, "checks": checks}, status_code=code)

    return router

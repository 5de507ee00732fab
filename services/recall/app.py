"""Recall service: factory and lifespan."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
from fastapi import FastAPI

from services.recall import runner
from services.recall.api import callbacks, campaigns, patients, planning, reception
from services.recall.events import HANDLERS
from services.recall.settings import SERVICE, RecallSettings, recall_settings
from services.recall.store.models import events
from shared.service import ServiceSpec, create_service_app
from shared.settings import ServiceSettings


def create_app(
    settings: ServiceSettings | None = None,
    *,
    now: Callable[[], datetime] | None = None,
    registers_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """``now`` pins the service clock (tests of the seven-day lifecycle move it instead of sleeping);
    ``registers_transport`` reaches an in-process registers app instead of ``QOF_REGISTERS_URL``."""
    spec = ServiceSpec(
        name=SERVICE,
        title="QOF Recall",
        description="Invitations for open QOF reviews: birthday-month plans within clinic capacity, one "
        "invitation per patient for every due review, SMS, email and letter through GOV.UK Notify, and the "
        "PCA effect of every invitation.",
        tables=events,
        migrations_dir=Path(__file__).parent / "migrations",
        routers=[planning.router, campaigns.router, patients.router, reception.router, callbacks.router],
        handlers=HANDLERS,
        on_startup=runner.started,
        on_shutdown=runner.stopped,
    )
    own = settings if isinstance(settings, RecallSettings) else recall_settings(
        **(settings.model_dump() if settings else {})
    )
    app = create_service_app(spec, own)
    app.state.registers_transport = registers_transport
    app.state.clock = now or (lambda: datetime.now(UTC))
    return app

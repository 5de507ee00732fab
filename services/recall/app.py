"""Recall service: factory and lifespan."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI

from services.recall.api import planning
from services.recall.events import HANDLERS
from services.recall.settings import SERVICE, RecallSettings, recall_settings
from services.recall.store.models import events
from shared.service import ServiceSpec, create_service_app
from shared.settings import ServiceSettings


def create_app(
    settings: ServiceSettings | None = None, *, now: Callable[[], datetime] | None = None
) -> FastAPI:
    """``now`` pins the service clock (tests of the seven-day lifecycle move it instead of sleeping)."""
    spec = ServiceSpec(
        name=SERVICE,
        title="QOF Recall",
        description="Invitations for open QOF reviews: birthday-month plans within clinic capacity, one "
        "invitation per patient for every due review, SMS, email and letter through GOV.UK Notify, and the "
        "PCA effect of every invitation.",
        tables=events,
        migrations_dir=Path(__file__).parent / "migrations",
        routers=[planning.router],
        handlers=HANDLERS,
    )
    own = settings if isinstance(settings, RecallSettings) else recall_settings(
        **(settings.model_dump() if settings else {})
    )
    app = create_service_app(spec, own)
    app.state.clock = now or (lambda: datetime.now(UTC))
    return app

"""Workload service: factory and specification."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.workload.api import analytics, items, reference, reports
from services.workload.service import Workload
from services.workload.settings import SERVICE, workload_settings
from services.workload.store.models import events
from shared.service import ServiceSpec, create_service_app
from shared.settings import ServiceSettings

SPEC = ServiceSpec(
    name=SERVICE,
    title="QOF Workload",
    description="Work that hospitals and other providers pass to general practice, logged against the NHS "
    "Standard Contract and turned into reports, provider letters and ICB evidence.",
    tables=events,
    migrations_dir=Path(__file__).parent / "migrations",
    routers=[items.router, reports.router, reference.router, analytics.router],
)


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    resolved = workload_settings(settings)
    app = create_service_app(SPEC, resolved)
    app.state.workload = Workload.load(resolved)
    return app

"""Registers service: factory and lifespan."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.registers.api import contacts, fhir, imports, patients, quality, records, registers
from services.registers.events import HANDLERS
from services.registers.store.daily import start_daily_refresh, stop_daily_refresh
from services.registers.store.imports import start_import_sweeper, stop_import_jobs
from services.registers.store.models import events
from shared.service import ServiceSpec, create_service_app
from shared.settings import ServiceSettings, settings_for

SERVICE = "registers"


async def start(app: FastAPI) -> None:
    await start_import_sweeper(app)
    await start_daily_refresh(app)


async def stop(app: FastAPI) -> None:
    await stop_daily_refresh(app)
    await stop_import_jobs(app)


SPEC = ServiceSpec(
    name=SERVICE,
    title="QOF Registers",
    description="Patients, coded records (SNOMED CT over JSON, FHIR R4 UK Core and CSV), QOF disease registers "
    "and coding-quality findings for each practice.",
    tables=events,
    migrations_dir=Path(__file__).parent / "migrations",
    routers=[
        patients.router, contacts.router, records.router, fhir.router, imports.router, registers.router, quality.router
    ],
    handlers=HANDLERS,
    on_startup=start,
    on_shutdown=stop,
)


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    return create_service_app(SPEC, settings or settings_for(SERVICE))

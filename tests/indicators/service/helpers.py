"""Building blocks for indicators service tests: a running app, event delivery, real codes and patients."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from functools import lru_cache
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from services.indicators.app import create_app
from services.indicators.service.kernel import Kernel
from shared.events.envelope import Envelope
from shared.events.schemas import (
    CodeRecorded,
    CodeRetracted,
    EventPayload,
    PatientRegistered,
    RecordedCode,
    RegisterChanged,
)
from shared.settings import ServiceSettings, settings_for
from shared.testing import bearer, running

PRACTICE = "A81001"  # STOCKTON PCN, ICB QHM
SAME_PCN = "A81017"
TODAY = date(2026, 1, 15)

DM = "111552007"  # DM_COD
DMRES = "315051004"  # DMRES_COD: diabetes resolved
HBA1C = "1049301000000100"  # IFCCHBAM_COD
DMINVITE = "1066911000000100"  # DMINVITE_COD
DMPCADEC = "716031000000106"  # DMPCADEC_COD
SYS, DIA = "100151000000109", "100161000000107"


@lru_cache(maxsize=1)
def kernel() -> Kernel:
    """Compiled once for the whole test session (compiling every rule set takes about a second)."""
    return Kernel(today=lambda: TODAY)


def settings(database_url: str, bootstrap: str | None = None, **extra: Any) -> ServiceSettings:
    extra.setdefault("consumer_group", f"indicators-test-{uuid.uuid4().hex[:8]}")
    return settings_for("indicators", database_url=database_url, kafka_bootstrap=bootstrap or "127.0.0.1:1",
                        kafka_enabled=bootstrap is not None, environment="test", **extra)


@asynccontextmanager
async def indicators_app(database_url: str, bootstrap: str | None = None, *, today: date = TODAY,
                         compiled: Kernel | None = None,
                         **extra: Any) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient, dict[str, str]]]:
    cfg = settings(database_url, bootstrap, **extra)
    app = create_app(cfg, today=lambda: today, kernel=compiled or kernel())
    async with running(app) as client:
        headers = bearer(cfg, scopes=["indicators:read", "indicators:write"], practices=[PRACTICE, SAME_PCN])
        yield app, client, headers


async def deliver(app: FastAPI, *payloads: EventPayload) -> None:
    """Hand events to the service's handlers as the consumer does event by event: one transaction each with the
    end-of-unit hook, then the batch hook."""
    rt = app.state.runtime
    spec = app.state.spec
    for payload in payloads:
        env = Envelope.wrap(payload, source="/tests")
        async with rt.sessions() as s, s.begin():
            await spec.handlers[payload.event_type](s, env, payload)
            await spec.after_unit(s)
    if spec.after_batch:
        await spec.after_batch(app)


def registered(pid: str, *, practice: str = PRACTICE, dob: date = date(1960, 5, 1), sex: str = "female",
               registered_on: date = date(2010, 1, 1), **extra: Any) -> PatientRegistered:
    return PatientRegistered(practice_ods=practice, patient_id=pid, date_of_birth=dob, sex=sex,  # type: ignore[arg-type]
                             registered_on=registered_on, **extra)


def recorded(pid: str, *entries: tuple[str, str, date, float | None], practice: str = PRACTICE) -> CodeRecorded:
    return CodeRecorded(practice_ods=practice, patient_id=pid, source="json", entries=[
        RecordedCode(entry_id=e[0], code=e[1], effective_date=e[2], value=e[3]) for e in entries])


def retracted(pid: str, *entry_ids: str, practice: str = PRACTICE) -> CodeRetracted:
    return CodeRetracted(practice_ods=practice, patient_id=pid, entry_ids=list(entry_ids))


def on_register(pid: str, register_id: str = "DM_REG", on: bool = True, *, practice: str = PRACTICE) -> RegisterChanged:
    return RegisterChanged(practice_ods=practice, patient_id=pid, register_id=register_id, on_register=on,
                           as_of=TODAY)


async def diabetic(app: FastAPI, pid: str, hba1c: float | None = None, *, practice: str = PRACTICE,
                   when: date = date(2025, 10, 1)) -> None:
    entries: list[tuple[str, str, date, float | None]] = [(f"{pid}-dx", DM, date(2015, 6, 1), None)]
    if hba1c is not None:
        entries.append((f"{pid}-a1c", HBA1C, when, hba1c))
    await deliver(app, registered(pid, practice=practice), recorded(pid, *entries, practice=practice),
                  on_register(pid, practice=practice))


async def outbox(app: FastAPI, topic: str) -> list[dict[str, Any]]:
    rt = app.state.runtime
    t = rt.tables.outbox
    async with rt.sessions() as s:
        rows = (await s.execute(select(t.c.body).where(t.c.topic == topic).order_by(t.c.seq))).all()
    return [Envelope.from_bytes(r[0]).data for r in rows]


def indicator(body: dict[str, Any], indicator_id: str) -> dict[str, Any]:
    return next(i for i in body["indicators"] if i["indicator_id"] == indicator_id)

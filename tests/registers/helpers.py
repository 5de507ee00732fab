"""Building blocks for registers tests: a running app, tokens, real codes and patients."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

import httpx
from fastapi import FastAPI

from services.registers.app import create_app
from shared.codelists import default_library
from shared.identifiers import synthetic_nhs_number
from shared.settings import ServiceSettings, settings_for
from shared.testing import bearer, running

PRACTICE = "A81001"
OTHER = "A81002"


def code(cluster: str, index: int = 0) -> str:
    return sorted(default_library().get(cluster).codes)[index]


def settings(database_url: str, bootstrap: str | None = None, **extra: Any) -> ServiceSettings:
    # A consumer group per app: tests share one broker, and each app must read its own copy of the topics.
    extra.setdefault("consumer_group", f"registers-test-{uuid.uuid4().hex[:8]}")
    return settings_for(
        "registers",
        database_url=database_url,
        kafka_bootstrap=bootstrap or "127.0.0.1:1",
        kafka_enabled=bootstrap is not None,
        environment="test",
        **extra,
    )


@asynccontextmanager
async def registers_app(
    database_url: str, bootstrap: str | None = None, **extra: Any
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient, dict[str, str]]]:
    cfg = settings(database_url, bootstrap, **extra)
    app = create_app(cfg)
    async with running(app) as client:
        headers = bearer(cfg, scopes=["records:read", "records:write"], practices=[PRACTICE])
        yield app, client, headers


def patient(
    seq: int,
    *,
    dob: date = date(1960, 5, 17),
    sex: str = "female",
    registered_on: date = date(2010, 1, 1),
    **extra: Any,
) -> dict[str, Any]:
    return {
        "nhs_number": synthetic_nhs_number(seq),
        "given_name": "Test",
        "family_name": f"Patient{seq}",
        "date_of_birth": dob.isoformat(),
        "sex": sex,
        "registered_on": registered_on.isoformat(),
        **extra,
    }


def entry(
    entry_id: str, seq: int, code_: str, on: date, value: float | None = None, **extra: Any
) -> dict[str, Any]:
    body = {
        "entry_id": entry_id,
        "nhs_number": synthetic_nhs_number(seq),
        "code": code_,
        "effective_date": on.isoformat(),
        **extra,
    }
    if value is not None:
        body["value"] = value
    return body

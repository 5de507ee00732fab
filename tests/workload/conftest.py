"""Fixtures of the workload tests: the app over a real database, tokens for two practices of one ICB."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from services.workload.app import create_app
from services.workload.settings import WorkloadSettings, workload_settings
from shared.testing import bearer, running

PRACTICE_A = "A81001"  # both in ICB QHM (QOF_MANUAL_MAPPINGS.csv)
PRACTICE_B = "A81002"
ICB = "QHM"
NHS_NUMBER = "9434765919"  # valid check digit, in the range reserved for testing


def item(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "received_on": (date.today() - timedelta(days=3)).isoformat(),
        "provider_ods": "RTD",
        "provider_name": "The Newcastle upon Tyne Hospitals NHS Foundation Trust",
        "site": "Freeman Hospital",
        "specialty": "Cardiology",
        "category": "phlebotomy_monitoring",
        "staff_role": "hca",
        "minutes": 15,
        "description": "Asked to take bloods before the next clinic",
    }
    body.update(overrides)
    return body


@pytest.fixture
def wl_settings(database_url: str) -> WorkloadSettings:
    return workload_settings(None, database_url=database_url, kafka_enabled=False, environment="test")


@pytest.fixture
async def client(wl_settings: WorkloadSettings) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_app(wl_settings)) as c:
        yield c


@pytest.fixture
def writer_a(wl_settings: WorkloadSettings) -> dict[str, str]:
    return bearer(wl_settings, scopes=["workload:read", "workload:write"], practices=[PRACTICE_A])


@pytest.fixture
def writer_b(wl_settings: WorkloadSettings) -> dict[str, str]:
    return bearer(wl_settings, scopes=["workload:read", "workload:write"], practices=[PRACTICE_B])


@pytest.fixture
def analyst(wl_settings: WorkloadSettings) -> dict[str, str]:
    return bearer(wl_settings, scopes=["analytics:read"], icb=ICB)

"""A quick capture with minutes but no staff role is costed at the practice's default role, or refused
asking for one: time is never costed at £0 for want of a role."""

from __future__ import annotations

from decimal import Decimal

import httpx

from services.workload.app import create_app
from services.workload.settings import WorkloadSettings, workload_settings
from shared.testing import bearer, running
from tests.workload.conftest import PRACTICE_A

QUICK = {"provider_ods": "RTD", "category": "discharge_summary_late", "minutes": 30}


async def test_quick_capture_without_a_role_asks_for_one(
    client: httpx.AsyncClient, writer_a: dict[str, str]
) -> None:
    r = await client.post(f"/v1/practices/{PRACTICE_A}/workload/quick", json=QUICK, headers=writer_a)
    assert r.status_code == 422, r.text
    [error] = r.json()["errors"]
    assert error["field"] == "staff_role" and "default role" in error["reason"]


async def test_quick_capture_uses_the_practice_default_role(wl_settings: WorkloadSettings) -> None:
    settings = workload_settings(wl_settings, workload_default_roles={PRACTICE_A: "admin", "*": "gp_partner"})
    headers = bearer(settings, scopes=["workload:read", "workload:write"], practices=[PRACTICE_A])
    async with running(create_app(settings)) as client:
        r = await client.post(f"/v1/practices/{PRACTICE_A}/workload/quick", json=QUICK, headers=headers)
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["staff_role"] == "admin"
        assert Decimal(str(body["cost"])) > 0

"""The worklist CSV downloads for a date (`?on=`): every indicators call is asked for that date, and the file
says the QOF year and achievement date it is for. In-process, the other services stood in for.

Rule (project principle): "Everything is as of a date ... a year is named in every answer; nothing is clamped
silently." A worklist CSV for 31 March 2026 is the 2025/26 worklist as it stood that day, and says so.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.web.app import create_app
from services.web.settings import web_settings
from shared.testing import running

PASSWORD = "a-password-for-tests"
YEAR = {"qof_year": "2025/26", "year_closed": True, "achievement_date": "2026-03-31", "next_cursor": None}
ITEM = {"patient_id": "p1", "indicator_id": "DM020", "closes": "HbA1c", "because": "no HbA1c in the window",
        "why": {"rule": "R3", "text": "reject unless HbA1c"}, "days_left": 0, "unmet": []}


class Upstream:
    """The indicators and registers answers a worklist download reads; records each call's query."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str, dict[str, Any]]] = []

    def as_user(self, _user: Any) -> Upstream:
        return self

    async def get(self, service: str, path: str, params: Any = None) -> Any:
        self.asked.append((service, path, dict(params or {})))
        if service == "registers":
            return {"items": []}
        if path.endswith("/worklist/next-best"):
            return {**YEAR, "items": [{"patient_id": "p1", "pounds": 12.5,
                                       "gaps": [{"indicator_id": "DM020", "pounds": 12.5, "closes": "HbA1c",
                                                 "days_left": 0}]}]}
        return {**YEAR, "indicator_id": "DM020", "pounds_per_remaining_patient": 12.5, "items": [ITEM]}


@pytest.fixture
async def web(tmp_path: Path) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    cfg = web_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'web.db'}", environment="test",
                       demo_password=PASSWORD, auth_failure_limit="100000/minute")
    app = create_app(cfg)
    async with running(app) as client:
        yield app, client


@pytest.mark.parametrize("path", ["/worklists/export.csv", "/worklists/DM020/export.csv"])
async def test_a_worklist_csv_for_a_date_asks_for_that_date_and_names_its_year(
        web: tuple[FastAPI, httpx.AsyncClient], path: str) -> None:
    app, client = web
    r = await client.post("/login", data={"username": "demo.a81001", "password": PASSWORD, "next": "/"})
    assert r.status_code == 303
    upstream, real = Upstream(), app.state.platform
    app.state.platform = upstream
    try:
        await _check(client, upstream, path)
    finally:
        app.state.platform = real


async def _check(client: httpx.AsyncClient, upstream: Upstream, path: str) -> None:
    r = await client.get(f"{path}?on=2026-03-31")
    assert r.status_code == 200, r.text
    asked = [q for service, _p, q in upstream.asked if service == "indicators"]
    assert asked and all(q.get("on") == "2026-03-31" for q in asked)
    assert (r.headers["qof-year"], r.headers["qof-year-closed"], r.headers["qof-achievement-date"]) == \
        ("2025/26", "true", "2026-03-31")
    assert "2026-03-31" in r.headers["content-disposition"]
    assert "DM020" in r.text and "HbA1c" in r.text

    upstream.asked.clear()  # without a date: today, as before
    assert (await client.get(path)).status_code == 200
    assert all("on" not in q for service, _p, q in upstream.asked if service == "indicators")

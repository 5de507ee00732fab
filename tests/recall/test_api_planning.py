"""Clinics and plans over the API, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import httpx

from tests.recall.conftest import OTHER, PRACTICE, feed, gap, registered

URL = f"/v1/practices/{PRACTICE}/recall"


async def test_bunched_birthdays_planned_within_capacity(recall: httpx.AsyncClient, writer: dict[str, str]) -> None:
    clinics = {"clinics": [{"name": "diabetes", "registers": ["DM_REG"], "capacity": {m: 5 for m in range(1, 13)}}]}
    assert (await recall.put(f"{URL}/clinics", json=clinics, headers=writer)).status_code == 200
    events = []
    for i in range(30):
        events += [registered(f"p{i}", date(1960, 9, 2)), gap(f"p{i}", "DM020", "DM_REG")]
    await feed(recall, *events)
    await feed(recall, *events)  # redelivered: changes nothing
    r = await recall.post(f"{URL}/plan", json={"strategy": "birthday"}, headers=writer)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["year"] == "2026-27" and body["planned"] == 30 and body["over_capacity"] == 0
    assert all(m["planned"] <= m["capacity"] for m in body["load"])
    assert {m["month"]: m["planned"] for m in body["load"]}["2026-09-01"] == 5


async def test_malformed_capacity_is_a_problem(recall: httpx.AsyncClient, writer: dict[str, str]) -> None:
    bad = {"clinics": [{"name": "resp", "registers": ["AST_REG"], "capacity": {"13": 5}}]}
    r = await recall.put(f"{URL}/clinics", json=bad, headers=writer)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert "capacity" in r.json()["errors"][0]["field"]


async def test_another_practice_is_forbidden(recall: httpx.AsyncClient, writer: dict[str, str]) -> None:
    r = await recall.post(f"/v1/practices/{OTHER}/recall/plan", json={}, headers=writer)
    assert r.status_code == 403

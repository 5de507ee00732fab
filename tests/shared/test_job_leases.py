"""A job whose process died (kill -9 leaves its row 'running') is failed with the reason at the next sweep,
on SQLite and PostgreSQL; a job another live instance runs, with a fresh heartbeat, is left alone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from services.indicators.store.models import RecomputeJob
from services.registers.store.models import ImportJob
from shared.db import utcnow
from tests.indicators.service.helpers import indicators_app
from tests.registers.helpers import PRACTICE, patient, registers_app

CSV = "NHS Number,SNOMED Code,Date\n{nhs},1107481000000106,01/03/2024\n"


def job_rows(model: type, **common: object) -> list[dict[str, object]]:
    long_ago = utcnow() - timedelta(minutes=10)
    return [
        {"id": "crashed", "status": "running", "heartbeat_at": long_ago, "created_at": long_ago, **common},
        {"id": "never-started", "status": "queued", "heartbeat_at": None, "created_at": long_ago, **common},
        {"id": "alive-elsewhere", "status": "running", "heartbeat_at": utcnow(), "created_at": long_ago,
         **common},
    ]


async def statuses(app, model: type) -> dict[str, tuple[str, object]]:  # type: ignore[no-untyped-def]
    async with app.state.runtime.sessions() as s:
        rows = (await s.scalars(select(model))).all()
    return {r.id: (r.status, r.errors if model is ImportJob else r.error) for r in rows}


async def test_crashed_csv_imports_are_failed_and_can_be_sent_again(database_url: str) -> None:
    common = {"practice_ods": PRACTICE, "kind": "csv", "total_rows": 38735, "processed_rows": 10000,
              "accepted": 10000, "rejected": 0, "errors": [], "created_by": "test"}
    async with registers_app(database_url) as (app, client, headers), app.state.runtime.sessions() as s, s.begin():
        await s.execute(insert(ImportJob), job_rows(ImportJob, **common))
    # the next instance to start sweeps
    async with registers_app(database_url) as (app, client, headers):
        seen = await statuses(app, ImportJob)
        assert seen["alive-elsewhere"][0] == "running"
        for job in ("crashed", "never-started"):
            status, errors = seen[job]
            assert status == "failed"
            assert "send the file again" in errors[0]["reason"]  # type: ignore[index]
        r = await client.get(f"/v1/practices/{PRACTICE}/imports/crashed", headers=headers)
        assert r.json()["status"] == "failed" and r.json()["finished_at"]
        # the client retries: the same file again is a new job that completes
        assert (await client.put(f"/v1/practices/{PRACTICE}/patients", json={"patients": [patient(1)]},
                                 headers=headers)).status_code == 200
        r = await client.post(f"/v1/practices/{PRACTICE}/imports/csv",
                              content=CSV.format(nhs=patient(1)["nhs_number"]).encode(),
                              headers={**headers, "Content-Type": "text/csv"})
        assert r.status_code == 202, r.text
        for _ in range(300):
            job = (await client.get(r.json()["links"]["self"], headers=headers)).json()
            if job["status"] in ("done", "failed"):
                break
        assert job["status"] == "done", job


@pytest.mark.parametrize("restart", [True])
async def test_crashed_recomputes_are_failed(database_url: str, restart: bool) -> None:
    common = {"practice_ods": "A81001", "patients": 0, "outcomes": 0, "requested_by": "test"}
    async with indicators_app(database_url) as (app, *_), app.state.runtime.sessions() as s, s.begin():
        await s.execute(insert(RecomputeJob), job_rows(RecomputeJob, **common))
    async with indicators_app(database_url) as (app, *_):
        seen = await statuses(app, RecomputeJob)
    assert seen["alive-elsewhere"][0] == "running"
    assert seen["crashed"][0] == seen["never-started"][0] == "failed"
    assert "request it again" in str(seen["crashed"][1])

"""CSV import jobs over HTTP, on SQLite and PostgreSQL: validation first, chunked ingestion, progress."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.registers.app import SPEC
from services.registers.store import imports
from services.registers.store.imports import stop_import_jobs
from shared.identifiers import synthetic_nhs_number
from shared.service import create_service_app
from shared.testing import bearer, running
from tests.registers.helpers import OTHER, PRACTICE, patient, registers_app, settings

SAMPLES = Path(__file__).parent / "samples"
CSV = {"Content-Type": "text/csv"}
BASE = f"/v1/practices/{PRACTICE}"


async def add_patients(client: httpx.AsyncClient, headers: dict[str, str], *seqs: int) -> dict[str, str]:
    r = await client.put(f"{BASE}/patients", json={"patients": [patient(s) for s in seqs]}, headers=headers)
    assert r.status_code == 200, r.text
    return dict(r.json()["ids"])


async def start(client: httpx.AsyncClient, headers: dict[str, str], text: str) -> dict[str, Any]:
    r = await client.post(f"{BASE}/imports/csv", content=text.encode(), headers={**headers, **CSV})
    assert r.status_code == 202, r.text
    job = r.json()
    assert r.headers["location"] == job["links"]["self"] == f"{BASE}/imports/{job['id']}"
    return dict(job)


async def wait(client: httpx.AsyncClient, headers: dict[str, str], job: dict[str, Any],
               seen: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    for _ in range(600):
        r = await client.get(job["links"]["self"], headers=headers)
        assert r.status_code == 200, r.text
        now = r.json()
        if seen is not None:
            seen.append(now)
        if now["status"] in ("done", "failed"):
            return dict(now)
        await asyncio.sleep(0.02)
    raise AssertionError("the import did not finish")


async def records(client: httpx.AsyncClient, headers: dict[str, str],
                  patient_id: str) -> list[dict[str, Any]]:
    r = await client.get(f"{BASE}/patients/{patient_id}/records", headers=headers)
    assert r.status_code == 200, r.text
    return list(r.json())


async def test_emis_export_is_imported_then_reimport_changes_nothing(database_url: str) -> None:
    text = (SAMPLES / "emis_search_export.csv").read_text()
    async with registers_app(database_url) as (_app, client, headers):
        ids = await add_patients(client, headers, 11, 12)
        job = await start(client, headers, text)
        assert job["status"] == "queued" and job["percent"] == 0
        done = await wait(client, headers, job)
        assert done["status"] == "done", done["errors"]
        counts = (done["total_rows"], done["processed_rows"], done["accepted"], done["rejected"])
        assert counts == (6, 6, 6, 0)
        assert done["percent"] == 100 and done["errors"] == [] and done["created"] == 6
        assert done["finished_at"] is not None

        first = await records(client, headers, ids[synthetic_nhs_number(11)])
        assert sorted((x["code"], x["value"], x["effective_date"]) for x in first) == [
            ("271649006", 138.0, "2025-09-02"), ("271650006", 84.0, "2025-09-02"),
            ("44054006", None, "2019-03-11"), ("999791000000106", 58.0, "2025-08-20")]
        assert {x["source"] for x in first} == {"csv"}
        r = await client.get(f"{BASE}/registers", headers=headers)
        sizes = {x["register_id"]: x["size"] for x in r.json()["registers"]}
        assert sizes["DM_REG"] == 1 and sizes["HYP_REG"] == 1

        again = await wait(client, headers, await start(client, headers, text))
        assert again["status"] == "done"
        assert (again["created"], again["corrected"], again["unchanged"]) == (0, 0, 6)
        second = await records(client, headers, ids[synthetic_nhs_number(11)])
        assert [(x["id"], x["version"]) for x in second] == [(x["id"], 1) for x in first]


async def test_one_invalid_row_fails_the_job_and_stores_nothing(database_url: str) -> None:
    rows = ["NHS Number,SNOMED Code,Effective Date,Value,Units",
            f"{synthetic_nhs_number(21)},44054006,2024-03-01,,",
            f"{synthetic_nhs_number(21)},999791000000106,31/02/2024,50,mmol/mol",
            f"{synthetic_nhs_number(99)},271649006,2024-03-01,140,mmHg",
            f"{synthetic_nhs_number(21)},271649006,2024-03-01,900,mmHg",
            f"{synthetic_nhs_number(21)},1.10748E+15,2024-03-01,50,mmol/mol"]
    async with registers_app(database_url) as (_app, client, headers):
        ids = await add_patients(client, headers, 21)
        failed = await wait(client, headers, await start(client, headers, "\n".join(rows) + "\n"))
        assert failed["status"] == "failed"
        assert (failed["total_rows"], failed["processed_rows"], failed["accepted"], failed["rejected"]) == (
            5, 0, 0, 4)
        where = [(e["row"], e["column"]) for e in failed["errors"]]
        assert where == [(3, "Effective Date"), (4, "NHS Number"), (5, "Value"), (6, "SNOMED Code")]
        assert "not a date" in failed["errors"][0]["reason"]
        assert "spreadsheet" in failed["errors"][3]["reason"]
        assert await records(client, headers, ids[synthetic_nhs_number(21)]) == []
        # The refused rows never entered the record; the data-quality report says what was wrong with them.
        quality = (await client.get(f"{BASE}/quality", headers=headers)).json()
        assert quality["rejected_imports"] == [{
            "job_id": failed["id"], "created_at": quality["rejected_imports"][0]["created_at"], "rows_rejected": 4,
            "by_column": {"Effective Date": 1, "NHS Number": 1, "Value": 1, "SNOMED Code": 1}}]


async def test_multipart_systmone_export(sqlite_url: str) -> None:
    data = (SAMPLES / "systmone_export.csv").read_bytes()
    async with registers_app(sqlite_url) as (_app, client, headers):
        ids = await add_patients(client, headers, 13)
        r = await client.post(f"{BASE}/imports/csv", files={"file": ("export.csv", data, "text/csv")},
                              headers=headers)
        assert r.status_code == 202, r.text
        done = await wait(client, headers, r.json())
        assert done["status"] == "done", done["errors"]
        got = await records(client, headers, ids[synthetic_nhs_number(13)])
        assert sorted(x["entry_id"] for x in got) == ["S1-0001", "S1-0002", "S1-0003", "S1-0004"]
        assert {x["effective_date"] for x in got} == {"2024-03-01"}


async def test_progress_is_visible_while_running(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(imports, "CHUNK_ROWS", 2)
    gate: asyncio.Queue[None] = asyncio.Queue()
    real = imports.ingest_entries

    async def gated(*args: Any, **kwargs: Any) -> Any:
        await gate.get()
        return await real(*args, **kwargs)

    monkeypatch.setattr(imports, "ingest_entries", gated)
    lines = ["NHS Number,Code,Date,Value,Unit"] + [
        f"{synthetic_nhs_number(31)},271649006,{d:02d}/01/2024,{120 + d},mmHg" for d in range(1, 7)]
    async with registers_app(sqlite_url) as (_app, client, headers):
        await add_patients(client, headers, 31)
        job = await start(client, headers, "\n".join(lines))
        for expected in (2, 4):
            gate.put_nowait(None)
            for _ in range(500):
                now = (await client.get(job["links"]["self"], headers=headers)).json()
                if now["processed_rows"] == expected:
                    break
                await asyncio.sleep(0.01)
            assert now["status"] == "running" and now["processed_rows"] == expected
            assert now["total_rows"] == 6 and now["percent"] == round(100 * expected / 6, 1)
        gate.put_nowait(None)
        done = await wait(client, headers, job)
        assert done["status"] == "done" and done["processed_rows"] == 6


async def test_shutdown_stops_a_running_job_cleanly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(imports, "STOP_GRACE_SECONDS", 0.05)
    monkeypatch.setattr(imports, "CHUNK_ROWS", 1)
    never: asyncio.Event = asyncio.Event()
    real = imports.ingest_entries
    calls = 0

    async def stalls_on_second(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls > 1:
            await never.wait()
        return await real(*args, **kwargs)

    monkeypatch.setattr(imports, "ingest_entries", stalls_on_second)
    url = f"sqlite+aiosqlite:///{tmp_path / 'stop.db'}"
    cfg = settings(url)
    headers = bearer(cfg, scopes=["records:read", "records:write"], practices=[PRACTICE])
    text = "NHS Number,Code,Date\n" + "".join(f"{synthetic_nhs_number(41)},44054006,0{d}/01/2024\n"
                                              for d in range(1, 4))
    app = create_service_app(replace(SPEC, on_shutdown=stop_import_jobs), cfg)
    async with running(app) as client:
        await add_patients(client, headers, 41)
        job = await start(client, headers, text)
        for _ in range(500):
            if calls > 1:
                break
            await asyncio.sleep(0.01)
    assert not app.state.import_jobs.tasks

    async with registers_app(url) as (_app, client, headers):
        stopped = (await client.get(job["links"]["self"], headers=headers)).json()
        assert stopped["status"] == "failed" and stopped["processed_rows"] == 1
        assert stopped["errors"][0]["row"] is None and "stopped" in stopped["errors"][0]["reason"]


async def test_unusable_requests(sqlite_url: str) -> None:
    async with registers_app(sqlite_url) as (_app, client, headers):
        r = await client.post(f"{BASE}/imports/csv", content=b"Patient,Date\nx,2024-01-01\n",
                              headers={**headers, **CSV})
        assert r.status_code == 422
        assert r.headers["content-type"].startswith("application/problem+json")
        assert {e["column"] for e in r.json()["errors"]} == {"nhs_number", "code"}
        r = await client.post(f"{BASE}/imports/csv", json={"rows": []}, headers=headers)
        assert r.status_code == 415
        r = await client.get(f"{BASE}/imports/00000000-0000-0000-0000-000000000000", headers=headers)
        assert r.status_code == 404
        r = await client.post(f"/v1/practices/{OTHER}/imports/csv", content=b"NHS Number,Code,Date\n",
                              headers={**headers, **CSV})
        assert r.status_code == 403

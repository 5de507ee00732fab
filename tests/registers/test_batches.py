"""Batch semantics: atomic rejection, idempotent re-sends, corrections, retractions."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from services.registers.store.models import CodedEntry
from tests.registers.helpers import PRACTICE, code, entry, patient, registers_app


async def counts(app) -> tuple[int, int]:
    rt = app.state.runtime
    async with rt.sessions() as s:
        entries = await s.scalar(select(func.count()).select_from(CodedEntry))
        outbox = await s.scalar(select(func.count()).select_from(rt.tables.outbox))
    return int(entries or 0), int(outbox or 0)


async def test_invalid_batch_changes_nothing(database_url: str) -> None:
    async with registers_app(database_url) as (app, client, headers):
        base = f"/v1/practices/{PRACTICE}"
        await client.put(f"{base}/patients", json={"patients": [patient(1)]}, headers=headers)
        before = await counts(app)
        future = date.today() + timedelta(days=3)
        r = await client.post(
            f"{base}/records",
            headers=headers,
            json={
                "entries": [
                    entry("ok-1", 1, code("SYSBP_COD"), date(2024, 1, 1), 130),
                    entry("bad-code", 1, "44054007", date(2024, 1, 1)),
                    entry("bad-date", 1, code("DM_COD"), future),
                    entry("before-birth", 1, code("DM_COD"), date(1950, 1, 1)),
                    entry("bad-value", 1, code("SYSBP_COD"), date(2024, 1, 1), 900),
                    entry("no-patient", 2, code("DM_COD"), date(2024, 1, 1)),
                    {**entry("bad-nhs", 1, code("DM_COD"), date(2024, 1, 1)), "nhs_number": "9990000112"},
                ]
            },
        )
        assert r.status_code == 422
        assert r.headers["content-type"] == "application/problem+json"
        problem = r.json()
        by_entry = {(e["entry_id"], e["field"]) for e in problem["errors"]}
        assert by_entry == {
            ("bad-code", "code"),
            ("bad-date", "effective_date"),
            ("before-birth", "effective_date"),
            ("bad-value", "value"),
            ("no-patient", "nhs_number"),
            ("bad-nhs", "nhs_number"),
        }
        assert all("reason" in e and isinstance(e["index"], int) for e in problem["errors"])
        assert "Verhoeff" in next(e["reason"] for e in problem["errors"] if e["field"] == "code")
        assert await counts(app) == before


async def test_resend_is_noop_change_is_correction_and_retraction(database_url: str) -> None:
    dm = code("DM_COD")
    async with registers_app(database_url) as (app, client, headers):
        base = f"/v1/practices/{PRACTICE}"
        ids = (await client.put(f"{base}/patients", json={"patients": [patient(1)]}, headers=headers)).json()["ids"]
        pid = next(iter(ids.values()))
        batch = {
            "entries": [
                entry("x1", 1, dm, date(2024, 1, 1)),
                entry("x2", 1, code("SYSBP_COD"), date(2024, 1, 1), 130),
            ]
        }
        first = (await client.post(f"{base}/records", json=batch, headers=headers)).json()
        _, outbox_after_first = await counts(app)
        again = (await client.post(f"{base}/records", json=batch, headers=headers)).json()
        assert (first["created"], again["created"], again["unchanged"]) == (2, 0, 2)
        assert await counts(app) == (2, outbox_after_first)  # nothing stored or announced twice
        batch["entries"][1]["value"] = 125
        corrected = (await client.post(f"{base}/records", json=batch, headers=headers)).json()
        assert (corrected["corrected"], corrected["unchanged"]) == (1, 1)
        records = (await client.get(f"{base}/patients/{pid}/records", headers=headers)).json()
        bp = next(r for r in records if r["entry_id"] == "x2")
        assert (bp["value"], bp["version"]) == (125, 2)
        regs = (await client.get(f"{base}/registers", headers=headers)).json()
        assert next(r for r in regs["registers"] if r["register_id"] == "DM_REG")["size"] == 1
        r = await client.post(f"{base}/records/retract", json={"entry_ids": ["x1"]}, headers=headers)
        assert r.json() == {"retracted": 1, "already_retracted": 0}
        regs = (await client.get(f"{base}/registers", headers=headers)).json()
        assert next(r for r in regs["registers"] if r["register_id"] == "DM_REG")["size"] == 0
        records = (await client.get(f"{base}/patients/{pid}/records", headers=headers)).json()
        assert [r["entry_id"] for r in records] == ["x2"]
        r = await client.post(f"{base}/records/retract", json={"entry_ids": ["nope"]}, headers=headers)
        assert r.status_code == 422


async def test_duplicate_ids_with_different_content_in_one_batch_are_refused(sqlite_url: str) -> None:
    async with registers_app(sqlite_url) as (_app, client, headers):
        base = f"/v1/practices/{PRACTICE}"
        await client.put(f"{base}/patients", json={"patients": [patient(1)]}, headers=headers)
        r = await client.post(
            f"{base}/records",
            headers=headers,
            json={
                "entries": [
                    entry("same", 1, code("SYSBP_COD"), date(2024, 1, 1), 130),
                    entry("same", 1, code("SYSBP_COD"), date(2024, 1, 1), 131),
                ]
            },
        )
        assert r.status_code == 422
        assert r.json()["errors"][0]["field"] == "entry_id"


async def test_racing_batches_with_the_same_new_ids_store_once(database_url: str) -> None:
    """Two requests carrying the same new entries at the same moment: one stores them, the other is told to resend
    (409) or finds them already there; nothing is stored twice."""
    import asyncio

    async with registers_app(database_url) as (app, client, headers):
        base = f"/v1/practices/{PRACTICE}"
        await client.put(f"{base}/patients", json={"patients": [patient(i) for i in range(1, 21)]}, headers=headers)
        batch = {"entries": [entry(f"race-{i}", i, code("SYSBP_COD"), date(2024, 5, 1), 120 + i) for i in range(1, 21)]}
        answers = await asyncio.gather(*(client.post(f"{base}/records", json=batch, headers=headers) for _ in range(4)))
        assert {r.status_code for r in answers} <= {200, 409}
        assert sum(r.json().get("created", 0) for r in answers if r.status_code == 200) == 20
        for r in answers:
            if r.status_code == 409:
                assert r.headers["content-type"] == "application/problem+json"
        assert (await counts(app))[0] == 20

"""The NHS number stays encrypted: not in the database file, not in events on the broker, not in logs."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import create_async_engine

from services.workload.app import create_app
from services.workload.crypto import cipher_for
from services.workload.settings import workload_settings
from services.workload.store.models import WorkloadItem
from shared.broker import LocalBroker
from shared.events.envelope import Envelope
from shared.testing import bearer, running
from tests.workload.conftest import NHS_NUMBER, PRACTICE_A, item

SPACED = f"{NHS_NUMBER[:3]} {NHS_NUMBER[3:6]} {NHS_NUMBER[6:]}"


async def consume(bootstrap: str, topic: str, want: set[str], wait: float = 20.0) -> list[Envelope]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"test-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    out: list[Envelope] = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while not want <= {e.data["item_id"] for e in out} and loop.time() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                out.extend(Envelope.from_bytes(r.value) for r in records)
    finally:
        await consumer.stop()
    return [e for e in out if e.data["item_id"] in want]


async def test_events_and_database_file_hold_no_nhs_number(
    tmp_path: Path, broker: LocalBroker, capfd: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "workload.db"
    settings = workload_settings(
        None, database_url=f"sqlite+aiosqlite:///{db}", kafka_bootstrap=broker.bootstrap, environment="test"
    )
    headers = bearer(settings, scopes=["workload:read", "workload:write"], practices=[PRACTICE_A])
    app = create_app(settings)
    async with running(app) as client:
        base = f"/v1/practices/{PRACTICE_A}/workload"
        first = await client.post(f"{base}/items", json=item(nhs_number=NHS_NUMBER), headers=headers)
        quick = await client.post(
            f"{base}/quick",
            headers=headers,
            json={"provider_ods": "RTD", "category": "fit_note_not_issued", "nhs_number": SPACED},
        )
        csv_body = (
            "received_on,provider_ods,provider_name,category,nhs_number\n"
            f"2025-06-02,RTD,Newcastle Hospitals,results_to_chase,{NHS_NUMBER}\n"
        ).encode()
        imported = await client.post(
            f"{base}/imports", content=csv_body, headers={**headers, "content-type": "text/csv"}
        )
        assert first.status_code == quick.status_code == imported.status_code == 201
        ids = {first.json()["id"], quick.json()["id"], *imported.json()["item_ids"]}
        await client.post(
            f"{base}/items/{first.json()['id']}/status",
            json={"status": "raised_with_provider"},
            headers=headers,
        )
        await app.state.runtime.relay.drain()

        events = await consume(broker.bootstrap, "workload.transfer.logged", ids)
        assert {e.data["item_id"] for e in events} == ids
        # Delivery is at least once (a relay may replay its retained outbox); consumers dedupe by event id.
        assert len({e.id for e in events}) == 4  # three logged, one status change
        for event in events:
            raw = event.to_bytes().decode()
            assert NHS_NUMBER not in raw and SPACED not in raw
            assert "nhs" not in raw.lower() and "description" not in event.data
            assert event.dataschema == "urn:qof-platform:event:workload.transfer.logged:v1"
        assert any(e.data["status"] == "raised_with_provider" for e in events)
        fit_note = next(e for e in events if e.data["item_id"] == quick.json()["id"])
        assert fit_note.data["contract_clause"] == "SC10 (fit notes) (2025/26)"  # latest edition held
        assert fit_note.data["practice_ods"] == PRACTICE_A and fit_note.partitionkey == PRACTICE_A

        # The stored token decrypts to the number, so the check below is meaningful.
        engine = create_async_engine(f"sqlite+aiosqlite:///{db}")
        async with engine.connect() as conn:
            tokens = (await conn.execute(select(WorkloadItem.nhs_number_token))).scalars().all()
        await engine.dispose()
        assert {cipher_for(settings).decrypt(t) for t in tokens if t} == {NHS_NUMBER}

    files = _database_files(tmp_path)
    assert files
    for data in files:
        assert NHS_NUMBER.encode() not in data and SPACED.encode() not in data
        assert NHS_NUMBER.encode("utf-16-le") not in data
    logs = capfd.readouterr()
    assert NHS_NUMBER not in logs.out + logs.err and SPACED not in logs.out + logs.err


def _database_files(folder: Path) -> list[bytes]:
    """The SQLite file and its WAL and shared-memory companions, as bytes."""
    return [p.read_bytes() for p in folder.iterdir() if p.name.startswith("workload.db")]


async def test_no_table_holds_the_nhs_number_in_clear(database_url: str) -> None:
    settings = workload_settings(None, database_url=database_url, kafka_enabled=False, environment="test")
    headers = bearer(settings, scopes=["workload:read", "workload:write"], practices=[PRACTICE_A])
    async with running(create_app(settings)) as client:
        r = await client.post(
            f"/v1/practices/{PRACTICE_A}/workload/items", json=item(nhs_number=NHS_NUMBER), headers=headers
        )
        assert r.status_code == 201
        await client.get(
            f"/v1/practices/{PRACTICE_A}/workload/items/{r.json()['id']}",
            params={"reveal": "nhs_number"},
            headers=headers,
        )
    engine = create_async_engine(database_url)
    dump: list[str] = []
    async with engine.connect() as conn:
        for table in ("workload_items", "workload_status_changes", "outbox", "audit_log"):
            rows = (await conn.execute(text(f"SELECT * FROM {table}"))).all()
            for row in rows:
                for value in row:
                    raw = bytes(value) if isinstance(value, bytes | memoryview) else None
                    dump.append(raw.decode("latin-1") if raw is not None else str(value))
    await engine.dispose()
    blob = "\n".join(dump)
    assert "reveal-nhs-number" in blob  # the reveal was audited
    assert NHS_NUMBER not in blob and SPACED not in blob


def test_production_refuses_to_run_without_an_encryption_key() -> None:
    settings = workload_settings(None, environment="production", jwt_secret="x" * 40, kafka_enabled=False)
    with pytest.raises(RuntimeError, match="QOF_FIELD_ENCRYPTION_KEY"):
        create_app(settings)

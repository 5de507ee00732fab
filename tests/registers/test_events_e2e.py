"""Registers on the real broker: events leave through the outbox, survive a broker outage, and
``recall.sent`` comes back in as invitation codes (with poison messages dead-lettered)."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, date, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy import func, select

from shared.broker import LocalBroker
from shared.events.envelope import Envelope
from shared.events.schemas import InviteCode, RecallSent
from tests.registers.helpers import PRACTICE, code, entry, patient, registers_app


async def consume(bootstrap: str, topic: str, want: int, timeout: float = 20.0) -> list[Envelope]:
    """Read ``topic`` from the start with a plain consumer until ``want`` records (or time) pass."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    out: list[Envelope] = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(out) < want and asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                out.extend(Envelope.from_bytes(r.value) for r in records)
        # Give stray duplicates a moment to show up before the caller counts.
        for records in (await consumer.getmany(timeout_ms=500)).values():
            out.extend(Envelope.from_bytes(r.value) for r in records)
    finally:
        await consumer.stop()
    return out


async def test_batch_appears_as_code_recorded(database_url: str, broker: LocalBroker) -> None:
    async with registers_app(database_url, broker.bootstrap) as (app, client, headers):
        base = f"/v1/practices/{PRACTICE}"
        ids = (
            await client.put(f"{base}/patients", json={"patients": [patient(1), patient(2)]}, headers=headers)
        ).json()["ids"]
        mine = set(ids.values())  # the session's broker is shared by other tests: keep to this run's patients
        r = await client.post(
            f"{base}/records",
            headers=headers,
            json={
                "entries": [
                    entry("bp-1", 1, code("SYSBP_COD"), date(2025, 5, 1), 128),
                    entry("dm-1", 2, code("DM_COD"), date(2025, 5, 2)),
                ]
            },
        )
        assert r.status_code == 200, r.text
        await app.state.runtime.relay.drain()
        recorded = [e for e in await consume(broker.bootstrap, "code.recorded", 2) if e.subject in mine]
        patient_ids = r.json()
        assert len(recorded) == 2
        assert {e.data["entries"][0]["code"] for e in recorded} == {code("SYSBP_COD"), code("DM_COD")}
        assert all(e.partitionkey == f"{PRACTICE}:{e.subject}" for e in recorded)
        assert patient_ids["created"] == 2
        changed = [e for e in await consume(broker.bootstrap, "register.changed", 1) if e.subject in mine]
        assert any(e.data["register_id"] == "DM_REG" and e.data["on_register"] for e in changed)
        # Internal events carry the platform id, never the NHS number.
        assert all("9990000" not in json.dumps(e.data) for e in recorded + changed)


async def test_broker_outage_loses_and_duplicates_nothing(database_url: str) -> None:
    outage = LocalBroker().start()
    async with registers_app(database_url, outage.bootstrap) as (app, client, headers):
        runtime = app.state.runtime
        base = f"/v1/practices/{PRACTICE}"
        await client.put(
            f"{base}/patients", json={"patients": [patient(i) for i in range(1, 31)]}, headers=headers
        )
        await runtime.relay.drain()
        outage.stop()
        entries = [entry(f"e{i}", i, code("SYSBP_COD"), date(2025, 6, 1), 120 + i) for i in range(1, 31)]
        r = await client.post(f"{base}/records", json={"entries": entries}, headers=headers)
        assert r.status_code == 200, r.text
        assert r.json()["created"] == 30
        await asyncio.sleep(0.5)
        assert await runtime.relay.pending() >= 30
        ready = (await client.get("/readyz")).json()
        assert ready["status"] == "degraded" and ready["checks"]["broker"] == "unreachable"
        # The broker comes back on the same address (empty: tansu keeps topics in memory).
        back = LocalBroker(port=outage.port).start()
        try:
            await runtime.relay.drain(timeout=60)
            recorded = await consume(back.bootstrap, "code.recorded", 30)
            ids = [e.id for e in recorded]
            assert len(ids) == 30 and len(set(ids)) == 30
            async with runtime.sessions() as s:
                outbox = runtime.tables.outbox
                sent = await s.scalar(
                    select(func.count()).select_from(outbox).where(outbox.c.topic == "code.recorded")
                )
            assert sent == 30
        finally:
            back.stop()


async def test_recall_sent_writes_invitation_code_and_poison_goes_to_dlq(
    database_url: str, broker: LocalBroker
) -> None:
    invite = code("DMINVITE_COD")
    async with registers_app(database_url, broker.bootstrap) as (_app, client, headers):
        base = f"/v1/practices/{PRACTICE}"
        ids = (await client.put(f"{base}/patients", json={"patients": [patient(7)]}, headers=headers)).json()[
            "ids"
        ]
        patient_id = next(iter(ids.values()))
        recall_id = uuid.uuid4().hex
        poison = f"{{not json {recall_id}".encode()  # unique: other runs' poison sits on the same topic
        sent = RecallSent(
            practice_ods=PRACTICE,
            patient_id=patient_id,
            recall_id=recall_id,
            channel="sms",
            conditions=["DM_REG"],
            sent_at=datetime(2025, 7, 1, 9, 30, tzinfo=UTC),
            invite_codes=[InviteCode(code=invite, register_id="DM_REG")],
        )
        envelope = Envelope.wrap(sent, source="/services/recall")
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks="all", enable_idempotence=False)
        await producer.start()
        try:
            # The same event twice (a redelivery) and a poison message that is not an event at all.
            for _ in range(2):
                await producer.send_and_wait(
                    "recall.sent", envelope.to_bytes(), key=envelope.partitionkey.encode()
                )
            await producer.send_and_wait("recall.sent", poison, key=b"junk")
        finally:
            await producer.stop()
        records: list[dict[str, object]] = []
        for _ in range(200):
            records = (await client.get(f"{base}/patients/{patient_id}/records", headers=headers)).json()
            if records:
                break
            await asyncio.sleep(0.2)
        assert [(r["code"], r["effective_date"], r["source"]) for r in records] == [
            (invite, "2025-07-01", "recall")
        ]
        assert records[0]["entry_id"] == f"recall:{recall_id}:{invite}"
        dead = AIOKafkaConsumer(
            "recall.sent.dlq",
            bootstrap_servers=broker.bootstrap,
            group_id=None,
            auto_offset_reset="earliest",
        )
        await dead.start()
        try:
            got = []
            for _ in range(40):
                for recs in (await dead.getmany(timeout_ms=500)).values():
                    got.extend(r for r in recs if r.value == poison)
                if got:
                    break
        finally:
            await dead.stop()
        assert got, "the poison message reached the dead-letter topic"
        assert dict(got[0].headers)["dlq-error"].startswith(b"unreadable event")

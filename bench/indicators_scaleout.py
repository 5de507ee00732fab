"""Events per second that one and two indicators instances apply, in one consumer group, from one database.

    .venv/bin/python bench/indicators_scaleout.py --patients 2000 --instances 1 --db postgres
    .venv/bin/python bench/indicators_scaleout.py --patients 2000 --instances 2 --db postgres

Starts the embedded broker with every topic indicators consumes made with ``--partitions`` partitions, then
``--instances`` indicators processes under uvicorn (one consumer group, one database), waits for them to be ready
and for the group to settle, and publishes a synthetic practice's events as registers would announce a
full-history load: per patient ``patient.registered``, ``code.recorded`` for each 5,000-entry request that holds
part of the patient's history, and ``register.changed``. The clock runs from the first event published until the
database has recorded every event and no practice is left to re-score.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.indicators_drain import chunks, database, ready, scalar, serve, stop
from services.indicators.events import CONSUMES
from shared.broker import LocalBroker, free_port
from shared.events.envelope import Envelope
from shared.events.kafka import create_topics, make_producer
from shared.events.schemas import CodeRecorded, EventPayload, PatientRegistered, RecordedCode, RegisterChanged
from shared.synthetic import SyntheticPractice

PRACTICE = "A81001"


def practice_events(patients: int, history: str) -> Iterator[EventPayload]:
    practice = SyntheticPractice(PRACTICE, patients, seed=1, history=history)  # type: ignore[arg-type]
    as_of = date.today()
    pid = {}
    for p in practice.patients():
        ends = p.get("deregistered_on")
        if ends and (ends < p["date_of_birth"] or ends < p["registered_on"]):
            continue  # registers refuses these dates (see indicators_drain)
        pid[p["nhs_number"]] = f"{PRACTICE}-{p['nhs_number']}"
        yield PatientRegistered(practice_ods=PRACTICE, patient_id=pid[p["nhs_number"]],
                                date_of_birth=p["date_of_birth"], sex=p["sex"], registered_on=p["registered_on"],
                                deregistered_on=p["deregistered_on"], died_on=p["died_on"])
    for batch in chunks((e for e in practice.entries() if e["nhs_number"] in pid), 5000):
        for nhs, group in itertools.groupby(batch, key=lambda e: e["nhs_number"]):
            entries = [RecordedCode(entry_id=e["entry_id"], code=e["code"], effective_date=e["effective_date"],
                                    value=e["value"]) for e in group]
            yield CodeRecorded(practice_ods=PRACTICE, patient_id=pid[nhs], source="json", entries=entries)
    for p in pid.values():
        yield RegisterChanged(practice_ods=PRACTICE, patient_id=p, register_id="DM_REG", on_register=True,
                              as_of=as_of)


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=2000)
    ap.add_argument("--history", choices=["full", "recent"], default="full")
    ap.add_argument("--instances", type=int, default=1)
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    args = ap.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="qof-bench-"))
    made: list[str] = []
    url = await database(args.db, workdir, "indicators", made)
    payloads = list(practice_events(args.patients, args.history))
    envelopes = [Envelope.wrap(p, source="/services/registers") for p in payloads]
    broker = LocalBroker().start()
    await create_topics(broker.bootstrap, list(CONSUMES), args.partitions)
    env = {**os.environ, "QOF_KAFKA_BOOTSTRAP": broker.bootstrap, "QOF_INDICATORS_DATABASE_URL": url,
           "QOF_LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
           "QOF_CONSUMER_GROUP": f"bench-{uuid.uuid4().hex[:6]}"}
    servers = []
    try:
        for _ in range(args.instances):  # one after another: each runs the migrations at start
            port = free_port()
            servers.append(serve("services.indicators.app:create_app", port, env))
            await ready(f"http://127.0.0.1:{port}")
        await asyncio.sleep(8)  # the group settles: every instance holds partitions before the first event
        producer = make_producer(broker.bootstrap)
        await producer.start()
        t0 = time.perf_counter()
        try:
            sends = [await producer.send(p.event_type, value=e.to_bytes(), key=e.partitionkey.encode())
                     for p, e in zip(payloads, envelopes, strict=True)]
            await asyncio.gather(*sends)
        finally:
            await producer.stop()
        published = time.perf_counter() - t0
        while True:
            applied = await scalar(url, "SELECT count(*) FROM processed_events")
            if applied >= len(envelopes) and not await scalar(url, "SELECT count(*) FROM pending_rescores"):
                break
            await asyncio.sleep(0.2)
        took = time.perf_counter() - t0
        print(f"db={args.db} instances={args.instances} partitions={args.partitions} patients={args.patients} "
              f"history={args.history}: {len(envelopes)} events published in {published:.1f}s, all applied in "
              f"{took:.1f}s = {len(envelopes) / took:.0f} events/s")
    finally:
        await stop(servers, broker, made)


if __name__ == "__main__":
    asyncio.run(main())

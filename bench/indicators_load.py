"""Record-to-achievement latency under load: writers posting small batches while readers read achievement.

    .venv/bin/python bench/indicators_load.py --writers 20 --readers 5 --seconds 60 --db sqlite
    .venv/bin/python bench/indicators_load.py --writers 20 --readers 5 --seconds 60 --db postgres

Registers and indicators run as uvicorn subprocesses (one database each) on the embedded broker, as in
``indicators_drain``. A synthetic practice of ``--patients`` (recent history) is loaded first and drained, and
each writer gets ten diabetic patients of its own. Then for ``--seconds``: each writer posts batches of five
entries (one HbA1c alternating in and out of DM020's target, four blood pressures) for one of its patients
and waits until indicators has applied it (the entry is stored, the patient re-evaluated and the practice
re-scored: the practice's ``applied_at`` is past the post; one watcher polls the database every 20 ms for all the
writers at once); each reader reads the practice's achievement over
HTTP in a loop. Latency is from the start of the post to the moment the achievement would show it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import bindparam, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.indicators_drain import TOPICS, chunks, database, ready, scalar, serve, stop
from shared.auth import mint_token
from shared.broker import LocalBroker, free_port
from shared.db import create_engine
from shared.identifiers import synthetic_nhs_number
from shared.settings import settings_for
from shared.synthetic import SyntheticPractice

PRACTICE = "A81001"
DM, HBA1C, SYS = "111552007", "1049301000000100", "100151000000109"
PER_WRITER = 10


async def drained(reg_url: str, ind_url: str) -> None:
    while await scalar(reg_url, "SELECT count(*) FROM outbox WHERE sent_at IS NULL"):
        await asyncio.sleep(0.2)
    sent = await scalar(reg_url, f"SELECT count(*) FROM outbox WHERE topic IN ({TOPICS})")
    while (await scalar(ind_url, "SELECT count(*) FROM processed_events") < sent
           or await scalar(ind_url, "SELECT count(*) FROM pending_rescores")):
        await asyncio.sleep(0.2)


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--writers", type=int, default=20)
    ap.add_argument("--readers", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--patients", type=int, default=2000)
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--split", action="store_true",
                    help="readers read from a second indicators instance that does not consume (QOF_CONSUME=false)")
    ap.add_argument("--give-up", type=float, default=600, help="seconds to wait for one record")
    args = ap.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="qof-bench-"))
    made: list[str] = []
    reg_url = await database(args.db, workdir, "registers", made)
    ind_url = await database(args.db, workdir, "indicators", made)
    broker = LocalBroker().start()
    env = {**os.environ, "QOF_KAFKA_BOOTSTRAP": broker.bootstrap, "QOF_REGISTERS_DATABASE_URL": reg_url,
           "QOF_INDICATORS_DATABASE_URL": ind_url, "QOF_LOG_LEVEL": "WARNING"}
    reg_port, ind_port = free_port(), free_port()
    servers = [serve("services.registers.app:create_app", reg_port, env),
               serve("services.indicators.app:create_app", ind_port, env, os.environ.get("BENCH_PYSPY"))]
    read_port = ind_port
    if args.split:  # readers go to an instance of their own that does not consume
        read_port = free_port()
        servers.append(serve("services.indicators.app:create_app", read_port, {**env, "QOF_CONSUME": "false"}))
    write = mint_token(settings_for("registers"), subject="bench", scopes=["records:write", "records:read"],
                       practices=[PRACTICE])
    read = mint_token(settings_for("indicators"), subject="bench", scopes=["indicators:read"], practices=[PRACTICE])
    engine = create_engine(ind_url)
    try:
        await ready(f"http://127.0.0.1:{reg_port}")
        await ready(f"http://127.0.0.1:{ind_port}")
        await ready(f"http://127.0.0.1:{read_port}")
        reg = httpx.AsyncClient(base_url=f"http://127.0.0.1:{reg_port}", timeout=600,
                                headers={"Authorization": f"Bearer {write}"})
        ind = httpx.AsyncClient(base_url=f"http://127.0.0.1:{read_port}", timeout=600,
                                headers={"Authorization": f"Bearer {read}"})
        base = f"/v1/practices/{PRACTICE}"
        practice = SyntheticPractice(PRACTICE, args.patients, seed=1, history="recent")
        people = [p for p in practice.patients()
                  if not (p.get("deregistered_on") and p["deregistered_on"] < max(p["date_of_birth"],
                                                                                 p["registered_on"]))]
        kept = {p["nhs_number"] for p in people}
        own = [synthetic_nhs_number(90_000 + i) for i in range(args.writers * PER_WRITER)]
        people += [{"nhs_number": n, "date_of_birth": "1958-02-03", "sex": "female", "registered_on": "2010-01-01"}
                   for n in own]
        ids: dict[str, str] = {}  # NHS number -> the registers' patient id, which events carry
        for batch in chunks(people, 500):
            r = await reg.put(f"{base}/patients", json={"patients": batch})
            r.raise_for_status()
            ids.update(r.json()["ids"])
        entries = [e for e in practice.entries() if e["nhs_number"] in kept]
        entries += [{"entry_id": f"dx-{n}", "nhs_number": n, "code": DM, "effective_date": "2015-06-01"} for n in own]
        for batch in chunks(entries, 5000):
            (await reg.post(f"{base}/records", json={"entries": batch})).raise_for_status()
        t_load = time.perf_counter()
        await drained(reg_url, ind_url)
        print(f"loaded {len(people)} patients, {len(entries)} entries; drained in "
              f"{time.perf_counter() - t_load:.1f}s", flush=True)

        deadline = time.perf_counter() + args.seconds
        latencies: list[float] = []
        slowest = (0.0, 0.0)  # the longest latency and when, in seconds from the start of the run, it began
        started = time.perf_counter()
        reads: list[float] = []
        posts: list[float] = []  # the registers request alone, the first part of each latency

        # One watcher for every writer: each pass asks the database once which of the waiting records indicators
        # has applied, so the measuring costs the machine the same however many writers there are.
        waiting: dict[tuple[str, date], tuple[datetime, asyncio.Future[None]]] = {}

        async def watch() -> None:
            while time.perf_counter() < deadline or waiting:
                if waiting:
                    async with engine.connect() as conn:
                        have = {(pid, day if isinstance(day, date) else date.fromisoformat(day))
                                for pid, day in await conn.execute(text(
                                    "SELECT patient_id, effective_date FROM coded_events WHERE code = :c "
                                    "AND patient_id IN :ids").bindparams(bindparam("ids", expanding=True)),
                                    {"c": HBA1C, "ids": sorted({pid for pid, _ in waiting})})}
                        at = await conn.scalar(text("SELECT applied_at FROM practice_freshness "
                                                    "WHERE practice_ods = :p"), {"p": PRACTICE})
                    if isinstance(at, str):
                        at = datetime.fromisoformat(at)
                    if at is not None and at.tzinfo is None:
                        at = at.replace(tzinfo=UTC)
                    for key, (posted, done) in list(waiting.items()):
                        if key in have and at is not None and at >= posted:
                            del waiting[key]
                            done.set_result(None)
                await asyncio.sleep(0.02)

        async def writer(w: int) -> None:
            nonlocal slowest
            # each writer is a client of its own (its own token), as 20 users would be: the per-token request
            # limit applies to each, not to all of them together
            token = mint_token(settings_for("registers"), subject=f"bench-writer-{w}",
                               scopes=["records:write", "records:read"], practices=[PRACTICE])
            own_headers = {"Authorization": f"Bearer {token}"}
            n = 0
            while time.perf_counter() < deadline:
                nhs = own[w * PER_WRITER + n % PER_WRITER]
                # one HbA1c a day per patient from 60 days ago (recent results, as a practice's mostly are), each
                # in and then out of DM020's target in turn; the watcher knows a result by its patient and day
                rounds = n // PER_WRITER
                if rounds >= 60:
                    raise SystemExit("--seconds too long: each patient would get a second result on one day")
                day = date.today() - timedelta(days=60 - rounds)
                batch = [{"entry_id": f"w{w}-{n}-a1c", "nhs_number": nhs, "code": HBA1C,
                          "effective_date": day.isoformat(), "value": 50.0 if rounds % 2 else 80.0}]
                batch += [{"entry_id": f"w{w}-{n}-bp{k}", "nhs_number": nhs, "code": SYS,
                           "effective_date": day.isoformat(), "value": 130.0 + k} for k in range(4)]
                posted = datetime.now(UTC)
                t0 = time.perf_counter()
                done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                waiting[(ids[nhs], day)] = (posted, done)
                (await reg.post(f"{base}/records", json={"entries": batch}, headers=own_headers)).raise_for_status()
                posts.append(time.perf_counter() - t0)
                try:
                    await asyncio.wait_for(done, args.give_up)
                except TimeoutError:
                    raise TimeoutError(f"indicators did not apply a record within {args.give_up:.0f} s") from None
                latencies.append(time.perf_counter() - t0)
                if latencies[-1] > slowest[0]:
                    slowest = (latencies[-1], t0 - started)
                n += 1

        async def reader() -> None:
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                (await ind.get(f"{base}/achievement")).raise_for_status()
                reads.append(time.perf_counter() - t0)

        await asyncio.gather(watch(), *(writer(w) for w in range(args.writers)),
                             *(reader() for _ in range(args.readers)))
        q = statistics.quantiles(latencies, n=100)
        rq = statistics.quantiles(reads, n=100) if len(reads) > 1 else [0.0] * 99
        pq = statistics.quantiles(posts, n=100)
        print(f"db={args.db} writers={args.writers} readers={args.readers} split={args.split} "
              f"seconds={args.seconds:.0f}: "
              f"{len(latencies)} records, record->achievement p50 {q[49]:.2f}s p95 {q[94]:.2f}s "
              f"max {max(latencies):.2f}s (posted {slowest[1]:.1f}s into the run); "
              f"{len(reads)} achievement reads, p50 {rq[49]:.2f}s p95 {rq[94]:.2f}s; "
              f"registers post p50 {pq[49]:.2f}s p95 {pq[94]:.2f}s")
        await reg.aclose()
        await ind.aclose()
    finally:
        await engine.dispose()
        await stop(servers, broker, made)


if __name__ == "__main__":
    asyncio.run(main())

"""Coded entries ingested per second through registers' HTTP batch endpoint, events included.

Starts the embedded broker and the registers service (a uvicorn subprocess, as ``qof up`` does), loads a
synthetic practice over HTTP on loopback, and stops the clock when the last event has left the outbox.

    .venv/bin/python bench/registers_ingest.py --patients 10000 --history full --db sqlite
    .venv/bin/python bench/registers_ingest.py --patients 10000 --history full --db postgres
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy import text

from shared.auth import mint_token
from shared.broker import LocalBroker, free_port
from shared.db import create_engine
from shared.settings import settings_for
from shared.synthetic import SyntheticPractice

PG_ADMIN = os.environ.get("QOF_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def chunks(it, size):
    it = iter(it)
    while batch := list(itertools.islice(it, size)):
        yield batch


async def outbox_pending(url: str) -> int:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return int(
                (await conn.execute(text("SELECT count(*) FROM outbox WHERE sent_at IS NULL"))).scalar_one()
            )
    finally:
        await engine.dispose()


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=2000)
    ap.add_argument("--history", choices=["full", "recent"], default="full")
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--chunk", type=int, default=5000)
    ap.add_argument("--concurrency", type=int, default=2)
    args = ap.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="qof-bench-"))
    pg_name = None
    if args.db == "sqlite":
        url = f"sqlite+aiosqlite:///{workdir / 'registers.db'}"
    else:
        pg_name = f"qof_bench_{uuid.uuid4().hex[:8]}"
        conn = await asyncpg.connect(PG_ADMIN)
        await conn.execute(f'CREATE DATABASE "{pg_name}"')
        await conn.close()
        url = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{pg_name}"
    broker = LocalBroker().start()
    port = free_port()
    env = {
        **os.environ,
        "QOF_KAFKA_BOOTSTRAP": broker.bootstrap,
        "QOF_REGISTERS_DATABASE_URL": url,
        "QOF_LOG_LEVEL": "WARNING",
    }
    profile = os.environ.get("BENCH_PYSPY")  # e.g. /tmp/server.txt: profile the server with py-spy
    prefix = ["py-spy", "record", "-f", "raw", "-o", profile, "--"] if profile else []
    server = subprocess.Popen(
        [
            *prefix,
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "services.registers.app:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    settings = settings_for("registers")
    token = mint_token(
        settings, subject="bench", scopes=["records:write", "records:read"], practices=["A81001"]
    )
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=600) as client:
            for _ in range(200):
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            practice = SyntheticPractice("A81001", args.patients, seed=1, history=args.history)
            t0 = time.perf_counter()
            patients = list(practice.patients())
            for batch in chunks(patients, 5000):
                r = await client.put("/v1/practices/A81001/patients", json={"patients": batch})
                r.raise_for_status()
            t_patients = time.perf_counter() - t0
            t1 = time.perf_counter()
            entries = list(practice.entries())
            t_gen = time.perf_counter() - t1
            print(
                f"{len(patients)} patients upserted in {t_patients:.1f}s; {len(entries)} entries generated "
                f"in {t_gen:.1f}s",
                flush=True,
            )
            sem = asyncio.Semaphore(args.concurrency)
            done = 0

            async def post(batch: list[dict[str, object]]) -> None:
                nonlocal done
                async with sem:
                    r = await client.post("/v1/practices/A81001/records", json={"entries": batch})
                    if r.status_code != 200:
                        raise RuntimeError(r.text[:500])
                    done += len(batch)

            start = time.perf_counter()
            await asyncio.gather(*(post(b) for b in chunks(entries, args.chunk)))
            accepted = time.perf_counter() - start
            while await outbox_pending(url):
                await asyncio.sleep(0.2)
            total = time.perf_counter() - start
            print(
                f"db={args.db} patients={args.patients} history={args.history} entries={done} chunk={args.chunk} "
                f"concurrency={args.concurrency}"
            )
            print(
                f"accepted in {accepted:.1f}s ({done / accepted:,.0f} entries/s); all events published after "
                f"{total:.1f}s ({done / total:,.0f} entries/s end to end)"
            )
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)
        broker.stop()
        if pg_name:
            conn = await asyncpg.connect(PG_ADMIN)
            await conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
            await conn.close()


if __name__ == "__main__":
    asyncio.run(main())

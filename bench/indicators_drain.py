"""How long the indicators service needs, after a full-history load ends, to apply every event of it.

    .venv/bin/python bench/indicators_drain.py --patients 10000 --history full --db sqlite
    .venv/bin/python bench/indicators_drain.py --patients 10000 --history full --db postgres

Starts the embedded broker, then registers and indicators as uvicorn subprocesses (as ``qof up`` does, one
database each), loads a synthetic practice into registers over HTTP (patients, then entries in batches of 5,000)
and waits until registers' outbox is empty: the load has ended. The clock then runs until indicators has recorded
every event registers published on a topic it consumes and has no practice left to re-score.
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services.indicators.events import CONSUMES
from shared.auth import mint_token
from shared.broker import LocalBroker, free_port
from shared.db import create_engine
from shared.settings import settings_for
from shared.synthetic import SyntheticPractice

PG_ADMIN = os.environ.get("QOF_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
TOPICS = ", ".join(f"'{t}'" for t in CONSUMES)


def chunks(it, size):
    it = iter(it)
    while batch := list(itertools.islice(it, size)):
        yield batch


async def scalar(url: str, sql: str) -> int:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(text(sql))).scalar_one())
    finally:
        await engine.dispose()


async def database(kind: str, workdir: Path, name: str, made: list[str]) -> str:
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{workdir / f'{name}.db'}"
    db = f"qof_bench_{name}_{uuid.uuid4().hex[:6]}"
    conn = await asyncpg.connect(PG_ADMIN)
    await conn.execute(f'CREATE DATABASE "{db}"')
    await conn.close()
    made.append(db)
    return PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{db}"


async def stop(servers: list[subprocess.Popen[bytes]], broker: LocalBroker, made: list[str]) -> None:
    """Stop the services and the broker; drop the PostgreSQL databases :func:`database` made."""
    for s in servers:
        s.send_signal(signal.SIGINT)
    for s in servers:
        s.wait(timeout=60)
    broker.stop()
    if made:
        conn = await asyncpg.connect(PG_ADMIN)
        for db in made:
            await conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        await conn.close()


def serve(app: str, port: int, env: dict[str, str], profile: str | None = None) -> subprocess.Popen[bytes]:
    prefix = ["py-spy", "record", "-f", "raw", "-o", profile, "--"] if profile else []
    return subprocess.Popen([*prefix, sys.executable, "-m", "uvicorn", "--factory", app, "--host", "127.0.0.1",
                             "--port", str(port), "--log-level", "warning", "--no-access-log",
                             # clients keep connections idle through a load's drain: no closing under them
                             "--timeout-keep-alive", "75"], env=env)


async def ready(base: str) -> None:
    async with httpx.AsyncClient(base_url=base) as c:
        for _ in range(600):
            try:
                if (await c.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError(base)


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=2000)
    ap.add_argument("--history", choices=["full", "recent"], default="full")
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
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
    token = mint_token(settings_for("registers"), subject="bench", scopes=["records:write", "records:read"],
                       practices=["A81001"])
    try:
        await ready(f"http://127.0.0.1:{reg_port}")
        await ready(f"http://127.0.0.1:{ind_port}")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{reg_port}", timeout=600,
                                     headers={"Authorization": f"Bearer {token}"}) as client:
            practice = SyntheticPractice("A81001", args.patients, seed=1, history=args.history)
            t0 = time.perf_counter()
            people, skipped = [], set()
            for p in practice.patients():
                ends = p.get("deregistered_on")
                if ends and (ends < p["date_of_birth"] or ends < p["registered_on"]):
                    skipped.add(p["nhs_number"])  # registers refuses these dates (a generator fault)
                else:
                    people.append(p)
            print(f"{len(skipped)} generated patients with impossible dates left out", flush=True)
            for batch in chunks(people, 500):
                (await client.put("/v1/practices/A81001/patients", json={"patients": batch})).raise_for_status()
            entries = 0
            kept = (e for e in practice.entries() if e["nhs_number"] not in skipped)
            for batch in chunks(kept, 5000):
                (await client.post("/v1/practices/A81001/records", json={"entries": batch})).raise_for_status()
                entries += len(batch)
        while await scalar(reg_url, "SELECT count(*) FROM outbox WHERE sent_at IS NULL"):
            await asyncio.sleep(0.2)
        load_end = time.perf_counter()
        sent = await scalar(reg_url, f"SELECT count(*) FROM outbox WHERE topic IN ({TOPICS})")
        print(f"load: {args.patients} patients, {entries} entries, {sent} events in {load_end - t0:.1f}s", flush=True)
        applied = 0
        while True:
            applied = await scalar(ind_url, "SELECT count(*) FROM processed_events")
            if applied >= sent and not await scalar(ind_url, "SELECT count(*) FROM pending_rescores"):
                break
            await asyncio.sleep(0.2)
        drain = time.perf_counter() - load_end
        print(f"db={args.db} patients={args.patients} history={args.history}: {applied} events applied; "
              f"drained {drain:.1f}s after the load ended ({time.perf_counter() - t0:.1f}s from its start)")
    finally:
        await stop(servers, broker, made)


if __name__ == "__main__":
    asyncio.run(main())

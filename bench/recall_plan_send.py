"""Plan and send for a 10,000-patient practice: recall in-process on SQLite or PostgreSQL, registers in-process for
contacts, and the Notify stand-in as its own process (``notifications-python-client`` over loopback HTTP).

    .venv/bin/python bench/recall_plan_send.py --patients 10000 --per-minute 600000

``--per-minute`` is the token bucket's rate; Notify's real limit (3,000 a minute) makes any run of N messages
take at least N/3,000 minutes, so the default measures the limiter and a higher value the service itself.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.recall.app import create_app
from services.recall.settings import recall_settings
from services.registers.app import create_app as registers_app
from shared.identifiers import synthetic_nhs_number
from shared.settings import settings_for
from shared.testing import bearer, running
from tests.recall.conftest import PRACTICE, TEMPLATES, StandIn, feed, gap, registered

REGISTERS = ["DM_REG", "HYP_REG", "AST_REG", "COPD_REG", "CHD_REG"]


async def main(patients: int, per_minute: int, db: str) -> None:
    tmp = Path(tempfile.mkdtemp())
    standin = StandIn(tmp)
    try:
        reg_cfg = settings_for("registers", database_url=f"sqlite+aiosqlite:///{tmp / 'reg.db'}",
                               kafka_enabled=False, environment="test")
        reg = registers_app(reg_cfg)
        async with running(reg) as rc:
            people = []
            for i in range(patients):
                contact = ({"mobile": f"07700{900000 + i % 99999:06d}"} if i % 3 else
                           {"email": f"p{i}@example.org"} if i % 2 else {"address": f"{i} High Street, Leeds"})
                people.append({"nhs_number": synthetic_nhs_number(i), "date_of_birth": f"19{40 + i % 50}-"
                               f"{1 + i % 12:02d}-15", "sex": "female", "registered_on": "2005-01-01",
                               "contact": contact})
            ids: dict[str, str] = {}
            for k in range(0, patients, 5000):
                r = await rc.put(f"/v1/practices/{PRACTICE}/patients", json={"patients": people[k:k + 5000]},
                                 headers=bearer(reg_cfg, scopes=["records:write"], practices=[PRACTICE]))
                ids.update(r.json()["ids"])
            url = db if db != "sqlite" else f"sqlite+aiosqlite:///{tmp / 'recall.db'}"
            cfg = recall_settings(database_url=url, kafka_enabled=False, environment="test",
                                  notify_base_url=standin.url, notify_per_minute=per_minute)
            clock = datetime(2026, 4, 1, 10, 0, tzinfo=UTC)
            app = create_app(cfg, now=lambda: clock, registers_transport=httpx.ASGITransport(app=reg))
            async with running(app) as client:
                client.app = app  # type: ignore[attr-defined]
                pids = list(ids.values())
                events = [e for n, pid in enumerate(pids) for e in (
                    registered(pid, date(1940 + n % 50, 1 + n % 12, 15)),
                    gap(pid, f"IND{n % 5}", REGISTERS[n % 5]))]
                await feed(client, *events)
                h = bearer(cfg, scopes=["recall:read", "recall:write"], practices=[PRACTICE])
                cap = dict.fromkeys(range(1, 13), patients // 9 + 1)
                clinics = {"clinics": [
                    {"name": "dm-cv", "registers": ["DM_REG", "HYP_REG", "CHD_REG"], "capacity": cap},
                    {"name": "resp", "registers": ["AST_REG", "COPD_REG"], "capacity": cap}]}
                await client.put(f"/v1/practices/{PRACTICE}/recall/clinics", json=clinics, headers=h)
                t0 = time.perf_counter()
                r = await client.post(f"/v1/practices/{PRACTICE}/recall/campaigns", headers=h, json={
                    "name": "bench", "strategy": "asap", "templates": TEMPLATES, "run_cap": patients})
                t1 = time.perf_counter()
                c = r.json()
                run = (await client.post(f"/v1/practices/{PRACTICE}/recall/campaigns/{c['id']}/runs?wait=true",
                                         headers=h)).json()
                t2 = time.perf_counter()
        print(f"patients={patients} db={db.split(':')[0]} planned={c['plan']['planned']} plan+write={t1 - t0:.2f}s "
              f"sent={run['sent']} send={t2 - t1:.1f}s rate={run['sent'] / (t2 - t1):.0f}/s "
              f"stand-in log={len(standin.log())} per_minute_limit={per_minute}")
    finally:
        standin.stop()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=10_000)
    ap.add_argument("--per-minute", type=int, default=3000)
    ap.add_argument("--db", default="sqlite", help="sqlite or a postgresql+asyncpg:// URL")
    a = ap.parse_args()
    asyncio.run(main(a.patients, a.per_minute, a.db))

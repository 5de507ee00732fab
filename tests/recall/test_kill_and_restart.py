"""Kill the recall process in the middle of a send run and restart it: one message per patient per stage.

Checked against the Notify stand-in's own log. Registers, recall and the stand-in each run as a process.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import httpx

from cli.services import ROOT
from services.recall.app import create_app
from services.recall.domain.planner import ruleset_of
from services.recall.settings import RecallSettings, recall_settings
from shared.broker import free_port, port_open
from shared.identifiers import synthetic_nhs_number
from shared.settings import settings_for
from shared.testing import bearer, running
from tests.recall.conftest import PRACTICE, TEMPLATES, StandIn, feed, gap, registered

N = 200


async def prepare(cfg: RecallSettings, h: dict[str, str], ids: list[str]) -> dict[str, str]:
    """Patients, gaps, clinics and a campaign in recall's database, through an in-process app."""
    app = create_app(cfg)
    async with running(app) as client:
        client.app = app  # type: ignore[attr-defined]
        # The processes read the real clock: the gaps are of the QOF year it is in, whatever the date.
        this_year = ruleset_of(datetime.now(UTC).date())
        await feed(client, *[e for pid in ids for e in (registered(pid, date(1955, 6, 1)),
                                                        gap(pid, "DM020", "DM_REG", ruleset=this_year))])
        clinics = {"clinics": [{"name": "dm", "registers": ["DM_REG"], "capacity": {m: N for m in range(1, 13)}}]}
        await client.put(f"/v1/practices/{PRACTICE}/recall/clinics", json=clinics, headers=h)
        r = await client.post(f"/v1/practices/{PRACTICE}/recall/campaigns", headers=h, json={
            "name": "kill test", "strategy": "asap", "templates": TEMPLATES, "run_cap": N})
        return r.json()  # type: ignore[no-any-return]


def serve(name: str, port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "uvicorn", "--factory", f"services.{name}.app:create_app", "--host", "127.0.0.1",
           "--port", str(port), "--log-level", "warning"]
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    for _ in range(400):
        if port_open("127.0.0.1", port):
            return proc
        assert proc.poll() is None, log.read_text()[-2000:]
        time.sleep(0.05)
    raise RuntimeError(f"{name} did not start")


def test_killed_run_restarted_sends_each_message_once(tmp_path: Path, standin: StandIn) -> None:
    reg_port, rec_port = free_port(), free_port()
    reg_db, rec_db = f"sqlite+aiosqlite:///{tmp_path / 'reg.db'}", f"sqlite+aiosqlite:///{tmp_path / 'rec.db'}"
    base = dict(os.environ, QOF_KAFKA_ENABLED="false", QOF_ENVIRONMENT="test", QOF_DATA_DIR=str(tmp_path))
    reg = serve("registers", reg_port, {**base, "QOF_REGISTERS_DATABASE_URL": reg_db}, tmp_path / "reg.log")
    recall_env = {**base, "QOF_RECALL_DATABASE_URL": rec_db, "QOF_NOTIFY_BASE_URL": standin.url,
                  "QOF_REGISTERS_URL": f"http://127.0.0.1:{reg_port}"}
    procs = [reg]
    try:
        reg_cfg = settings_for("registers", environment="test")
        people = [{"nhs_number": synthetic_nhs_number(i), "given_name": f"P{i}", "date_of_birth": "1955-06-01",
                   "sex": "male", "registered_on": "2001-01-01", "contact": {"email": f"p{i}@example.org"}}
                  for i in range(N)]
        r = httpx.put(f"http://127.0.0.1:{reg_port}/v1/practices/{PRACTICE}/patients", json={"patients": people},
                      headers=bearer(reg_cfg, scopes=["records:write"], practices=[PRACTICE]), timeout=60)
        ids = list(r.json()["ids"].values())

        cfg = recall_settings(database_url=rec_db, kafka_enabled=False, environment="test",
                              notify_base_url=standin.url)
        h = bearer(cfg, scopes=["recall:read", "recall:write"], practices=[PRACTICE])
        c = asyncio.run(prepare(cfg, h, ids))
        url = f"http://127.0.0.1:{rec_port}/v1/practices/{PRACTICE}/recall/campaigns/{c['id']}"
        rec = serve("recall", rec_port, recall_env, tmp_path / "rec.log")
        procs.append(rec)
        assert httpx.post(f"{url}/runs", headers=h).status_code == 202
        deadline = time.monotonic() + 60
        while len(standin.log()) < N // 4 and time.monotonic() < deadline:
            time.sleep(0.02)
        rec.send_signal(signal.SIGKILL)
        rec.wait()
        assert 0 < len(standin.log()) < N  # killed in the middle

        rec = serve("recall", rec_port, recall_env, tmp_path / "rec2.log")  # resumes the unfinished run
        procs.append(rec)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            body = httpx.get(url, headers=h).json()
            if body["status"] == "ready" and body["invitations"].get("1:planned", 0) == 0:
                break
            time.sleep(0.2)
        assert body["invitations"] == {"1:sent": N}, body
        log = standin.log()
        refs = [e["reference"] for e in log]
        assert len(log) == N and len(set(refs)) == N
        assert {ref.split(":")[1] for ref in refs} == set(ids)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()

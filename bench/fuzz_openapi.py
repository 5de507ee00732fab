"""schemathesis over every built service's OpenAPI, each service on its own PostgreSQL database.

Usage: ``PYTHONPATH=. .venv/bin/python bench/fuzz_openapi.py [--max-examples N] [--service NAME]``
(needs ``pip install -e '.[fuzz]'`` and the machine's PostgreSQL). Each service runs under uvicorn on
loopback with Kafka disabled; the token has every scope for practice A81001 and ICB QHM. The run fails
when any response is a server error (``not_a_server_error``); results go to docs/PERFORMANCE.md by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from cli.services import built
from shared.auth import SCOPES, mint_token
from shared.broker import free_port
from shared.settings import settings_for
from tests.conftest import _create_pg_database, _drop_pg_database

ROOT = Path(__file__).resolve().parents[1]


def wait_ready(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise TimeoutError(url)


def fuzz(service: str, factory: str, database_url: str, max_examples: int) -> int:
    port = free_port()
    env = {**os.environ, "QOF_ENVIRONMENT": "test", "QOF_KAFKA_ENABLED": "false",
           f"QOF_{service.upper()}_DATABASE_URL": database_url, "QOF_TOKEN_REQUEST_LIMIT": "1000000/minute",
           "QOF_AUTH_FAILURE_LIMIT": "1000000/minute"}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", factory, "--host", "127.0.0.1",
                             "--port", str(port), "--log-level", "warning"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url)
        token = mint_token(settings_for(service), subject="fuzz", scopes=sorted(SCOPES),
                           practices=["A81001"], icb="QHM")
        config = Path(tempfile.mkdtemp()) / "schemathesis.toml"
        # The token's own practice and ICB, so that requests pass the practice check and reach the routes.
        config.write_text('[parameters]\n"path.ods" = "A81001"\n"path.icb" = "QHM"\n')
        cmd = [str(Path(sys.executable).parent / "st"), "--config-file", str(config), "run",
               f"{url}/openapi.json", "--checks",
               "not_a_server_error", "-H", f"Authorization: Bearer {token}", "--max-examples", str(max_examples),
               "--request-timeout", "30", "--suppress-health-check", "all"]
        print(f"== {service}", flush=True)
        return subprocess.run(cmd, cwd=ROOT).returncode
    finally:
        proc.terminate()
        proc.wait(timeout=20)


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-examples", type=int, default=25)
    parser.add_argument("--service", action="append", help="only these services")
    args = parser.parse_args()
    failed = []
    for status in built():
        if args.service and status.name not in args.service:
            continue
        name, database_url = await _create_pg_database()
        try:
            code = await asyncio.to_thread(fuzz, status.name, status.factory, database_url, args.max_examples)
        finally:
            await _drop_pg_database(name)
        if code:
            failed.append(status.name)
    print("server errors in:", ", ".join(failed) if failed else "none")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))

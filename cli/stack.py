"""The local stack: the embedded broker plus one uvicorn subprocess per built service."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from cli.services import ROOT, ServiceStatus
from shared.broker import LocalBroker, port_open

HOST = "127.0.0.1"
BROKER_PORT = 9092
NOTIFY_PORT = 8010


class StackError(RuntimeError):
    """Something the operator must fix (a busy port, a service that will not start)."""


def first_free_port(start: int, host: str = HOST, tries: int = 50) -> int:
    for port in range(start, start + tries):
        if not port_open(host, port):
            return port
    raise StackError(f"no free port in {start}..{start + tries - 1}")


def service_env(name: str, bootstrap: str, data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["QOF_KAFKA_BOOTSTRAP"] = bootstrap
    env["QOF_DATA_DIR"] = str(data_dir)
    key = f"QOF_{name.upper()}_DATABASE_URL"
    env.setdefault(key, f"sqlite+aiosqlite:///{(data_dir / f'{name}.db').as_posix()}")
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.setdefault("QOF_NOTIFY_BASE_URL", f"http://{HOST}:{NOTIFY_PORT}")
    return env


@dataclass
class RunningService:
    status: ServiceStatus
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.status.port}"

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class Stack:
    root: Path = ROOT
    data_dir: Path = field(default_factory=lambda: ROOT / "var")
    broker: LocalBroker | None = None
    services: list[RunningService] = field(default_factory=list)
    helpers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)  # added to every service's environment

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    def start_broker(self) -> LocalBroker:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        port = first_free_port(BROKER_PORT)
        self.broker = LocalBroker(port=port, host=HOST, log_file=self.log_dir / "broker.log").start()
        return self.broker

    def start_notify_standin(self, recall_port: int, port: int = NOTIFY_PORT) -> str:
        """The local GOV.UK Notify stand-in recall sends to; delivery receipts go back to recall."""
        if port_open(HOST, port):
            raise StackError(f"port {port} for the Notify stand-in is already in use")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, QOF_NOTIFY_STANDIN_LOG=str(self.log_dir / "notify-standin.jsonl"),
                   QOF_NOTIFY_STANDIN_CALLBACK_URL=f"http://{HOST}:{recall_port}/v1/notify/receipts")
        cmd = [sys.executable, "-m", "uvicorn", "--factory", "cli.notify_standin:create_app", "--host", HOST,
               "--port", str(port), "--log-level", "warning"]
        with (self.log_dir / "notify-standin.log").open("ab") as out:
            self.helpers.append(subprocess.Popen(cmd, cwd=self.root, stdout=out, stderr=subprocess.STDOUT, env=env))
        return f"http://{HOST}:{port}"

    def start_service(self, status: ServiceStatus) -> RunningService:
        if self.broker is None:
            raise StackError("start the broker first")
        if port_open(HOST, status.port):
            raise StackError(f"port {status.port} for {status.name} is already in use: "
                             "is another stack running?")
        log = self.log_dir / f"{status.name}.log"
        cmd = [sys.executable, "-m", "uvicorn", "--factory", status.factory, "--host", HOST,
               "--port", str(status.port), "--log-level", "warning", "--no-server-header"]
        with log.open("ab") as out:
            proc = subprocess.Popen(cmd, cwd=self.root, stdout=out, stderr=subprocess.STDOUT,
                                    env={**service_env(status.name, self.broker.bootstrap, self.data_dir),
                                         **self.env})
        running = RunningService(status, proc, log)
        self.services.append(running)
        return running

    def wait_ready(self, service: RunningService, timeout: float = 90.0) -> dict[str, object]:
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            if service.proc.poll() is not None:
                raise StackError(f"{service.status.name} exited with code {service.proc.returncode}; "
                                 f"last log lines ({service.log}):\n{service.log_tail()}")
            try:
                r = httpx.get(f"{service.url}/readyz", timeout=2.0)
                if r.status_code == 200:
                    return r.json()  # type: ignore[no-any-return]
                last = f"HTTP {r.status_code}: {r.text[:200]}"
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            time.sleep(0.25)
        raise StackError(f"{service.status.name} was not ready after {timeout:.0f}s ({last}); "
                         f"see {service.log}")

    def dead(self) -> list[RunningService]:
        return [s for s in self.services if s.proc.poll() is not None]

    def stop(self) -> None:
        for s in self.services:
            if s.proc.poll() is None:
                s.proc.terminate()
        for s in self.services:
            try:
                s.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                s.proc.kill()
                s.proc.wait()
        self.services.clear()
        for h in self.helpers:
            h.terminate()
            h.wait(timeout=15)
        self.helpers.clear()
        if self.broker is not None:
            self.broker.stop()
            self.broker = None

"""Fixtures of the recall tests: the app over a real database, a movable clock, events fed to its handlers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest

from cli.services import ROOT
from services.recall.app import create_app
from services.recall.events import HANDLERS
from services.recall.settings import RecallSettings, recall_settings
from shared.broker import free_port, port_open
from shared.events.envelope import Envelope
from shared.events.schemas import EventPayload, PatientGapChanged, PatientRegistered
from shared.testing import bearer, running

PRACTICE = "A81001"
OTHER = "A81002"


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 4, 1, 10, 0, tzinfo=UTC))


@pytest.fixture
def recall_cfg(database_url: str) -> RecallSettings:
    return recall_settings(database_url=database_url, kafka_enabled=False, environment="test")


@pytest.fixture
async def recall(recall_cfg: RecallSettings, clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(recall_cfg, now=clock)
    async with running(app) as client:
        client.app = app  # type: ignore[attr-defined]
        yield client


@pytest.fixture
def writer(recall_cfg: RecallSettings) -> dict[str, str]:
    return bearer(recall_cfg, scopes=["recall:read", "recall:write"], practices=[PRACTICE])


async def feed(client: httpx.AsyncClient, *payloads: EventPayload) -> None:
    """Hand events to the service's own handlers in one transaction, as its consumer does."""
    rt = client.app.state.runtime  # type: ignore[attr-defined]
    async with rt.sessions() as s, s.begin():
        for p in payloads:
            await HANDLERS[p.event_type](s, Envelope.wrap(p, source="test"), p)


def registered(pid: str, born: date, practice: str = PRACTICE) -> PatientRegistered:
    return PatientRegistered(practice_ods=practice, patient_id=pid, date_of_birth=born, sex="female",
                             registered_on=date(2010, 1, 1))


def gap(pid: str, indicator: str, register: str, *, open_: bool = True) -> PatientGapChanged:
    return PatientGapChanged(practice_ods=PRACTICE, patient_id=pid, indicator_id=indicator, ruleset="qof-2026-27",
                             open=open_, register_id=register)


class StandIn:
    """The Notify stand-in in its own process, as the stack runs it."""

    def __init__(self, tmp: Path, callback_url: str = "") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, QOF_NOTIFY_STANDIN_LOG=str(tmp / "notify.jsonl"),
                   QOF_NOTIFY_STANDIN_CALLBACK_URL=callback_url)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "cli.notify_standin:create_app", "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", "warning"], env=env, cwd=ROOT)
        for _ in range(200):
            if port_open("127.0.0.1", self.port):
                return
            time.sleep(0.05)
        raise RuntimeError("the Notify stand-in did not start")

    def log(self) -> list[dict[str, str]]:
        return httpx.get(f"{self.url}/_standin/log").json()  # type: ignore[no-any-return]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture
def standin(tmp_path: Path) -> Iterator[StandIn]:
    s = StandIn(tmp_path)
    yield s
    s.stop()


SMS, EMAIL, LETTER = (f"3f1b2c4d-000{n}-4a00-8000-00000000000{n}" for n in (1, 2, 3))
TEMPLATES = {"sms": SMS, "email": EMAIL, "letter": LETTER}

"""Fixtures of the recall tests: the app over a real database, a movable clock, events fed to its handlers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from cli.services import ROOT
from services.recall.app import create_app
from services.recall.events import HANDLERS
from services.recall.settings import RecallSettings, recall_settings
from services.registers.app import create_app as registers_app
from shared.broker import free_port, port_open
from shared.events.envelope import Envelope
from shared.events.schemas import EventPayload, PatientGapChanged, PatientRegistered
from shared.identifiers import synthetic_nhs_number
from shared.settings import settings_for
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


def gap(pid: str, indicator: str, register: str, *, open_: bool = True, ruleset: str = "qof-2026-27"
        ) -> PatientGapChanged:
    """A gap of 2026/27 (the year of the ``clock`` fixture) unless ``ruleset`` names another year."""
    return PatientGapChanged(practice_ods=PRACTICE, patient_id=pid, indicator_id=indicator, ruleset=ruleset,
                             open=open_, register_id=register)


class StandIn:
    """The Notify stand-in in its own process, as the stack runs it."""

    def __init__(self, tmp: Path, callback_url: str = "") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.mark = 0
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
        """What the stand-in accepted since the last :meth:`forget`, oldest first."""
        return httpx.get(f"{self.url}/_standin/log").json()[self.mark :]  # type: ignore[no-any-return]

    def refuse(self, status: int, count: int) -> None:
        """The next ``count`` send requests are refused with ``status`` (Notify rate-limited or failing)."""
        httpx.post(f"{self.url}/_standin/refuse", json={"status": status, "count": count}).raise_for_status()

    def forget(self) -> StandIn:
        """Start the log afresh (one stand-in serves the session: its start is what costs)."""
        self.mark += len(self.log())
        return self

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture(scope="session")
def standin_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandIn]:
    s = StandIn(tmp_path_factory.mktemp("notify"))
    yield s
    s.stop()


@pytest.fixture
def standin(standin_process: StandIn) -> StandIn:
    """The session's Notify stand-in, its log holding only what this test sent."""
    return standin_process.forget()


SMS, EMAIL, LETTER = (f"3f1b2c4d-000{n}-4a00-8000-00000000000{n}" for n in (1, 2, 3))
TEMPLATES = {"sms": SMS, "email": EMAIL, "letter": LETTER}


URL = f"/v1/practices/{PRACTICE}/recall"
CLINICS = {"clinics": [{"name": "diabetes", "registers": ["DM_REG"], "capacity": {m: 50 for m in range(1, 13)}}]}
DM_INVITE = "1110921000000100"  # DMINVITE_COD: "QOF diabetes mellitus quality indicator-related care invitation"


def person(i: int, **contact: object) -> dict[str, object]:
    return {"nhs_number": synthetic_nhs_number(i), "given_name": f"Pat{i}", "family_name": "Test",
            "date_of_birth": "1960-04-20", "sex": "female", "registered_on": "2010-01-01", "contact": contact}


@dataclass
class Stack:
    """Recall in-process over a real database, registers in-process for contact details, the Notify stand-in."""

    client: httpx.AsyncClient
    headers: dict[str, str]
    pids: list[str]
    standin: StandIn
    settings: RecallSettings


@asynccontextmanager
async def stack(tmp_path: Path, database_url: str, standin: StandIn, clock: Clock,
                people: list[dict[str, object]]) -> AsyncIterator[Stack]:
    """The patients in registers and, through events, in recall, each with an open DM020 gap; the DM clinic."""
    reg_cfg = settings_for("registers", database_url=f"sqlite+aiosqlite:///{tmp_path / 'reg.db'}",
                           kafka_enabled=False, environment="test")
    reg = registers_app(reg_cfg)
    async with running(reg) as reg_client:
        r = await reg_client.put(f"/v1/practices/{PRACTICE}/patients", json={"patients": people},
                                 headers=bearer(reg_cfg, scopes=["records:write"], practices=[PRACTICE]))
        ids = r.json()["ids"]
        cfg = recall_settings(database_url=database_url, kafka_enabled=False, environment="test",
                              notify_base_url=standin.url)
        app = create_app(cfg, now=clock, registers_transport=httpx.ASGITransport(app=reg))
        async with running(app) as client:
            client.app = app  # type: ignore[attr-defined]
            pids = [ids[p["nhs_number"]] for p in people]
            await feed(client, *[e for pid in pids for e in (registered(pid, date(1960, 4, 20)),
                                                             gap(pid, "DM020", "DM_REG"))])
            h = bearer(cfg, scopes=["recall:read", "recall:write"], practices=[PRACTICE])
            assert (await client.put(f"{URL}/clinics", json=CLINICS, headers=h)).status_code == 200
            yield Stack(client, h, pids, standin, cfg)


@pytest.fixture
async def loop(tmp_path: Path, database_url: str, standin: StandIn, clock: Clock):  # type: ignore[no-untyped-def]
    people = [person(1, mobile="07700900001"), person(2, email="a@example.org", allow_sms=False),
              person(3, address="1 High Street, Leeds", postcode="LS1 1AA"), person(4, mobile="07700900004"),
              person(5)]
    async with stack(tmp_path, database_url, standin, clock, people) as st:
        dead = registered(st.pids[3], date(1960, 4, 20)).model_copy(update={"died_on": date(2026, 3, 1)})
        await feed(st.client, dead)
        yield st.client, st.headers, st.pids, standin


async def sent_events(client: httpx.AsyncClient) -> list[dict[str, object]]:
    """The ``recall.sent`` events in recall's outbox, oldest first."""
    rt = client.app.state.runtime  # type: ignore[attr-defined]
    t = rt.tables.outbox
    async with rt.sessions() as s:
        rows = (await s.execute(select(t.c.body).where(t.c.topic == "recall.sent").order_by(t.c.seq))).all()
    return [Envelope.from_bytes(r[0]).data for r in rows]


def campaign(**kw: object) -> dict[str, object]:
    return {"name": "Diabetes 2026-27", "strategy": "asap", "templates": TEMPLATES,
            "invite_codes": {"DM_REG": DM_INVITE}, **kw}


async def run(client: httpx.AsyncClient, h: dict[str, str], cid: str, stage: int = 1) -> dict[str, object]:
    """A send run, waited for: what it did."""
    r = await client.post(f"{URL}/campaigns/{cid}/runs", params={"stage": stage, "wait": "true"}, headers=h)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]

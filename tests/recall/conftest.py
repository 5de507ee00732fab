"""Fixtures of the recall tests: the app over a real database, a movable clock, events fed to its handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import httpx
import pytest

from services.recall.app import create_app
from services.recall.events import HANDLERS
from services.recall.settings import RecallSettings, recall_settings
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

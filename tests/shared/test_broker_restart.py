"""The in-memory broker is killed (SIGKILL) mid-ingest and restarted on the same port: with no service
restarted, indicators come to agree with registers entry for entry and register for register within two
minutes, on SQLite and PostgreSQL, and readiness says 'degraded' while events are being recovered."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from services.indicators.store.models import CodedEvent as IndicatorEvent
from services.indicators.store.models import RegisterMember as IndicatorMember
from services.registers.store.models import CodedEntry, RegisterMember
from shared.broker import LocalBroker
from shared.qof.registers import BY_ID
from tests.conftest import _create_pg_database, _drop_pg_database
from tests.indicators.service.helpers import indicators_app
from tests.registers.helpers import PRACTICE, code, entry, patient, registers_app

BATCHES = 12
PER_BATCH = 25


def kill(broker: LocalBroker) -> None:
    assert broker._proc is not None
    os.kill(broker._proc.pid, signal.SIGKILL)
    broker._proc.wait()
    broker._proc = None


async def snapshot(registers_app_, indicators_app_) -> tuple[set[tuple[str, str]], set[tuple[str, str]],
                                                             set[tuple[str, str]], set[tuple[str, str]]]:
    async with registers_app_.state.runtime.sessions() as s:
        entries = {(p, e) for p, e in (await s.execute(select(CodedEntry.patient_id, CodedEntry.id)
                                                          .where(CodedEntry.retracted.is_(False)))).all()}
        members = {(p, r) for p, r in (await s.execute(select(RegisterMember.patient_id,
                                                              RegisterMember.register))).all()}
    async with indicators_app_.state.runtime.sessions() as s:
        seen = {(p, e) for p, e in (await s.execute(select(IndicatorEvent.patient_id,
                                                           IndicatorEvent.entry_id))).all()}
        held = {(p, r) for p, r in (await s.execute(select(IndicatorMember.patient_id,
                                                           IndicatorMember.register_id))).all() if r in BY_ID}
    return entries, members, seen, held


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_a_broker_restart_mid_ingest_heals_without_restarting_services(
    backend: str, tmp_path: Path
) -> None:
    if backend == "sqlite":
        urls = [f"sqlite+aiosqlite:///{tmp_path / 'reg.db'}", f"sqlite+aiosqlite:///{tmp_path / 'ind.db'}"]
        names: list[str] = []
    else:
        made = [await _create_pg_database(), await _create_pg_database()]
        names, urls = [n for n, _ in made], [u for _, u in made]
    broker = LocalBroker().start()
    group = uuid.uuid4().hex[:8]
    dm, hba1c = code("DM_COD"), code("IFCCHBAM_COD")
    try:
        async with registers_app(urls[0], broker.bootstrap, consumer_group=f"reg-{group}") as (reg, rc, rh), \
                indicators_app(urls[1], broker.bootstrap, consumer_group=f"ind-{group}") as (ind, ic, _ih):
            for b in range(BATCHES):
                seqs = range(b * PER_BATCH + 1, (b + 1) * PER_BATCH + 1)
                r = await rc.put(f"/v1/practices/{PRACTICE}/patients", json={"patients": [patient(s) for s in seqs]},
                                 headers=rh)
                assert r.status_code == 200, r.text
                body = {"entries": [e for s in seqs for e in (
                    entry(f"dm-{s}", s, dm, date(2015, 1, 1)),
                    entry(f"a1c-{s}", s, hba1c, date(2025, 1, 10), 50 + s % 30))]}
                r = await rc.post(f"/v1/practices/{PRACTICE}/records", json=body, headers=rh)
                assert r.status_code == 200, r.text
                if b == BATCHES // 2:
                    await asyncio.sleep(0.3)  # some of these events are published, not all consumed
                    kill(broker)
                    broker.start()
            recovering_seen = False
            deadline = asyncio.get_running_loop().time() + 120
            while True:
                entries, members, seen, held = await snapshot(reg, ind)
                if entries == seen and members == held:
                    break
                ready = (await ic.get("/readyz")).json()
                recovering_seen = recovering_seen or ready["status"] == "degraded"
                assert asyncio.get_running_loop().time() < deadline, (
                    f"indicators miss {len(entries - seen)} entries and {len(members ^ held)} memberships")
                await asyncio.sleep(0.5)
            assert len(entries) == 2 * BATCHES * PER_BATCH
            assert {r for _, r in members} >= {"DM_REG"}
    finally:
        broker.stop()
        for name in names:
            await _drop_pg_database(name)

"""Registers → broker → indicators: a diabetic's HbA1c recorded in registers moves DM020 in the indicators API,
and the closed gap is published as ``patient.gap.changed`` (real broker; indicators on SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any

from services.registers.app import create_app as create_registers
from shared.broker import LocalBroker
from shared.testing import bearer, running
from tests.indicators.service.helpers import DM, HBA1C, indicators_app, outbox
from tests.registers.helpers import entry, patient
from tests.registers.helpers import settings as registers_settings
from tests.registers.test_events_e2e import consume


async def eventually(probe: Callable[[], Awaitable[Any]], timeout: float = 30.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await probe()
        if value or asyncio.get_running_loop().time() > deadline:
            return value
        await asyncio.sleep(0.1)


async def test_hba1c_in_registers_moves_dm020(database_url: str, broker: LocalBroker, tmp_path: Path) -> None:
    # The broker is shared by the session: a practice of our own per run keeps other tests' events apart.
    practice = "A81025" if database_url.startswith("sqlite") else "A81027"
    reg_cfg = registers_settings(f"sqlite+aiosqlite:///{tmp_path / 'registers.db'}", broker.bootstrap)
    reg_app = create_registers(reg_cfg)
    reg_headers = bearer(reg_cfg, scopes=["records:read", "records:write"], practices=[practice])
    async with running(reg_app) as reg, indicators_app(database_url, broker.bootstrap) as (ind_app, ind, _h):
        headers = bearer(ind_app.state.settings, scopes=["indicators:read"], practices=[practice])
        base_r, base_i = f"/v1/practices/{practice}", f"/v1/practices/{practice}"
        ids = (await reg.put(f"{base_r}/patients", headers=reg_headers,
                             json={"patients": [patient(501, dob=date(1958, 2, 3))]})).json()["ids"]
        pid = next(iter(ids.values()))
        r = await reg.post(f"{base_r}/records", headers=reg_headers,
                           json={"entries": [entry("e2e-dx", 501, DM, date(2015, 6, 1))]})
        assert r.status_code == 200, r.text

        async def dm020() -> dict[str, Any] | None:
            res = await ind.get(f"{base_i}/indicators/DM020", headers=headers)
            return res.json() if res.status_code == 200 and res.json()["denominator"] == 1 else None

        before = await eventually(dm020)
        assert before is not None, "register.changed never reached indicators"
        assert before["numerator"] == 0
        wl = (await ind.get(f"{base_i}/indicators/DM020/worklist", headers=headers)).json()
        assert [i["patient_id"] for i in wl["items"]] == [pid]

        r = await reg.post(f"{base_r}/records", headers=reg_headers,
                           json={"entries": [entry("e2e-a1c", 501, HBA1C, date(2025, 12, 1), 52.0)]})
        assert r.status_code == 200, r.text

        async def met() -> dict[str, Any] | None:
            res = (await ind.get(f"{base_i}/indicators/DM020", headers=headers)).json()
            return res if res["numerator"] == 1 else None

        after = await eventually(met)
        assert after is not None and after["achievement_pct"] == 100.0
        gaps = [e for e in await outbox(ind_app, "patient.gap.changed")
                if e["patient_id"] == pid and e["indicator_id"] == "DM020"]
        assert [g["open"] for g in gaps] == [True, False]
        await ind_app.state.runtime.relay.drain()
        published = [e for e in await consume(broker.bootstrap, "patient.gap.changed", 2, timeout=10)
                     if e.subject == pid and e.data["indicator_id"] == "DM020"]
        assert [e.data["open"] for e in published] == [True, False]
        updates = [e for e in await outbox(ind_app, "indicator.updated")
                   if e["practice_ods"] == practice and e["indicator_id"] == "DM020"]
        assert updates[-1]["numerator"] == 1 and all("patient_id" not in u for u in updates)

"""Record-to-update latency through the real broker: registers → code.recorded → indicators.

    .venv/bin/python bench/indicators_latency.py --records 200

Starts a local broker, the registers app and the indicators app in this process (SQLite each, own consumer
group), puts a diabetic patient on the DM register, then posts HbA1c results one at a time (alternating in
and out of target, so DM020 flips and ``indicator.updated`` is published each time). Latency is from the start
of the POST to registers until the indicators transaction that stored the entry, re-evaluated the patient and
re-scored the practice has committed (polled every 5 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select

from services.indicators.app import create_app as create_indicators
from services.indicators.store.models import CodedEvent, IndicatorState
from services.registers.app import create_app as create_registers
from shared.broker import LocalBroker
from shared.identifiers import synthetic_nhs_number
from shared.settings import settings_for
from shared.testing import bearer, running

PRACTICE = "A81001"
DM, HBA1C = "111552007", "1049301000000100"


async def wait_for(probe, timeout: float = 30.0) -> None:
    deadline = time.perf_counter() + timeout
    while not await probe():
        if time.perf_counter() > deadline:
            raise TimeoutError("indicators did not catch up")
        await asyncio.sleep(0.005)


async def run(records: int) -> None:
    folder = Path(tempfile.mkdtemp())
    broker = LocalBroker().start()
    try:
        common = {"kafka_bootstrap": broker.bootstrap, "kafka_enabled": True, "environment": "test",
                  "log_level": "WARNING"}
        reg_cfg = settings_for("registers", database_url=f"sqlite+aiosqlite:///{folder / 'registers.db'}",
                               consumer_group=f"bench-registers-{uuid.uuid4().hex[:6]}", **common)
        ind_cfg = settings_for("indicators", database_url=f"sqlite+aiosqlite:///{folder / 'indicators.db'}",
                               consumer_group=f"bench-indicators-{uuid.uuid4().hex[:6]}", **common)
        ind_app = create_indicators(ind_cfg, today=lambda: date(2026, 1, 15))
        async with running(create_registers(reg_cfg)) as reg, running(ind_app):
            headers = bearer(reg_cfg, scopes=["records:write", "records:read"], practices=[PRACTICE])
            nhs = synthetic_nhs_number(900)
            base = f"/v1/practices/{PRACTICE}"
            await reg.put(f"{base}/patients", headers=headers, json={"patients": [{
                "nhs_number": nhs, "date_of_birth": "1958-02-03", "sex": "female", "registered_on": "2010-01-01"}]})
            await reg.post(f"{base}/records", headers=headers, json={"entries": [
                {"entry_id": "dx", "nhs_number": nhs, "code": DM, "effective_date": "2015-06-01"}]})
            sessions = ind_app.state.runtime.sessions

            async def stored() -> int:
                async with sessions() as s:
                    return int(await s.scalar(select(func.count()).select_from(CodedEvent)) or 0)

            async def on_register() -> bool:
                async with sessions() as s:
                    return await s.scalar(select(IndicatorState.denominator)
                                          .where(IndicatorState.indicator_id == "DM020")) == 1

            await wait_for(on_register)
            latencies = []
            for i in range(records):
                before = await stored()
                t0 = time.perf_counter()
                r = await reg.post(f"{base}/records", headers=headers, json={"entries": [{
                    "entry_id": f"a1c-{i}", "nhs_number": nhs, "code": HBA1C,
                    "effective_date": (date(2025, 4, 2) + timedelta(days=i)).isoformat(),
                    "value": 50.0 if i % 2 else 80.0}]})
                r.raise_for_status()

                async def arrived(before: int = before) -> bool:
                    return await stored() > before

                await wait_for(arrived)
                latencies.append(time.perf_counter() - t0)
            q = statistics.quantiles(latencies, n=100)
            print(f"{records} records one at a time: p50 {q[49] * 1000:.0f} ms, p95 {q[94] * 1000:.0f} ms, "
                  f"max {max(latencies) * 1000:.0f} ms")
    finally:
        broker.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=200)
    asyncio.run(run(ap.parse_args().records))


if __name__ == "__main__":
    main()

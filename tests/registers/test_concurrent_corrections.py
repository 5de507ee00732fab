"""A correction's version counts every accepted change, even when corrections of one entry race."""

from __future__ import annotations

import asyncio
from datetime import date

from tests.registers.helpers import PRACTICE, code, entry, patient, registers_app

BASE = f"/v1/practices/{PRACTICE}"


async def test_ten_concurrent_corrections_give_version_eleven(database_url: str) -> None:
    async with registers_app(database_url) as (_, client, headers):
        r = await client.put(f"{BASE}/patients", json={"patients": [patient(1)]}, headers=headers)
        pid = next(iter(r.json()["ids"].values()))
        hba1c = code("IFCCHBAM_COD")

        async def send(value: float) -> int:
            body = {"entries": [entry("e1", 1, hba1c, date(2024, 1, 1), value)]}
            return (await client.post(f"{BASE}/records", json=body, headers=headers)).status_code

        assert await send(40) == 200
        assert await asyncio.gather(*(send(41 + i) for i in range(10))) == [200] * 10
        rows = (await client.get(f"{BASE}/patients/{pid}/records", headers=headers)).json()
        assert [row["version"] for row in rows] == [11]

"""Registers follow the calendar: a diabetic joins DM_REG on their 17th birthday with no new record."""

from __future__ import annotations

from datetime import date, timedelta

from services.registers.store.daily import refresh_due_practices
from tests.registers.helpers import PRACTICE, code, entry, patient, registers_app


async def test_daily_refresh_moves_patients_who_cross_an_age_limit(database_url: str) -> None:
    async with registers_app(database_url) as (app, client, headers):
        base = f"/v1/practices/{PRACTICE}"
        today = date.today()
        tomorrow = today + timedelta(days=1)
        born = (
            tomorrow.replace(year=tomorrow.year - 17)
            if (tomorrow.month, tomorrow.day) != (2, 29)
            else date(tomorrow.year - 17, 3, 1)
        )
        await client.put(f"{base}/patients", json={"patients": [patient(1, dob=born)]}, headers=headers)
        await client.post(
            f"{base}/records", json={"entries": [entry("dm", 1, code("DM_COD"), date(2021, 3, 3))]}, headers=headers
        )
        rt = app.state.runtime
        done: dict[str, date] = {}
        assert await refresh_due_practices(rt, done, today) == 0  # 16 today: the write already judged so
        assert await refresh_due_practices(rt, done, born.replace(year=born.year + 17)) == 1  # 17th birthday
        assert await refresh_due_practices(rt, done, born.replace(year=born.year + 17)) == 0  # once a day
        members = (await client.get(f"{base}/registers/DM_REG/patients", headers=headers)).json()["items"]
        assert [m["since"] for m in members] == ["2021-03-03"]

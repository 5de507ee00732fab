"""The year an answer is for (SQLite and PostgreSQL).

The QOF year runs 1 April to 31 March; the current year is the one containing today. "How am I doing" is as of
today within it, "end of year" is its 31 March, a closed year is asked for explicitly, and every answer names
its year and says whether it is closed. Where no rule set exists for the current year the answer says so.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from services.indicators.service.jobs import refresh_stale
from services.indicators.service.kernel import Kernel
from services.indicators.store.state import contract_of
from shared.testing import bearer
from tests.indicators.service.helpers import PRACTICE, deliver, diabetic, indicators_app, registered

BASE = f"/v1/practices/{PRACTICE}"
DECEMBER = date(2026, 12, 1)  # in QOF 2026/27


async def _practice(app: Any) -> None:
    for i, a1c in enumerate((50.0, 80.0, None)):
        await diabetic(app, f"d{i}", a1c, when=date(2026, 10, 1))
    await deliver(app, registered("x0", dob=date(1980, 1, 1)))


def _year(body: dict[str, Any]) -> tuple[str, bool]:
    return body["qof_year"], body["year_closed"]


async def test_symptom_4_today_year_end_and_on_today_are_the_open_year(database_url: str) -> None:
    # Symptom 4: on 2026-12-01 view=today, view=year-end and ?on=2026-12-01 all answered 2025/26 at 2026-03-31.
    async with indicators_app(database_url, today=DECEMBER) as (app, client, headers):
        await _practice(app)
        today = (await client.get(f"{BASE}/achievement", headers=headers)).json()
        assert (today["ruleset"], today["achievement_date"]) == ("qof-2026-27", "2026-12-01")
        assert _year(today) == ("2026/27", False) and today["note"] == ""
        year_end = (await client.get(f"{BASE}/achievement?view=year-end", headers=headers)).json()
        assert (year_end["achievement_date"], _year(year_end)) == ("2027-03-31", ("2026/27", False))
        on = (await client.get(f"{BASE}/achievement?on=2026-12-01", headers=headers)).json()
        assert (on["achievement_date"], _year(on)) == ("2026-12-01", ("2026/27", False))
        # the closed year, asked for explicitly, says it is closed
        closed = (await client.get(f"{BASE}/achievement?on=2026-03-31", headers=headers)).json()
        assert (closed["ruleset"], _year(closed)) == ("qof-2025-26", ("2025/26", True))


async def test_every_answer_names_its_year(database_url: str) -> None:
    async with indicators_app(database_url, today=DECEMBER) as (app, client, headers):
        await _practice(app)
        for path in (
            "/indicators/DM020",
            "/indicators/DM020/worklist",
            "/worklist/next-best",
            "/worklist/time-sensitive",
            "/projection",
            "/history",
            "/what-if?ruleset=qof-2025-26",
        ):
            r = await client.get(f"{BASE}{path}", headers=headers)
            assert r.status_code == 200, (path, r.text)
            assert _year(r.json()) == ("2026/27", False), path
        one = (await client.get(f"{BASE}/indicators/DM020?on=2026-03-31", headers=headers)).json()
        assert _year(one) == ("2025/26", True) and one["achievement_date"] == "2026-03-31"
        assert one["ruleset"] == "qof-2025-26"


async def test_no_rule_set_for_the_current_year_is_said(database_url: str) -> None:
    # A service whose rule sets stop at 2025/26: today's answer shows 2025/26 and says why.
    kernel = Kernel(today=lambda: DECEMBER)
    del kernel.engines["qof-2026-27"]
    async with indicators_app(database_url, today=DECEMBER, compiled=kernel) as (app, client, headers):
        await _practice(app)
        body = (await client.get(f"{BASE}/achievement", headers=headers)).json()
        assert _year(body) == ("2025/26", True)
        assert "no rule set for QOF year 2026/27" in body["note"]
        wl = (await client.get(f"{BASE}/indicators/DM020/worklist", headers=headers)).json()
        assert _year(wl) == ("2025/26", True) and "no rule set for QOF year 2026/27" in wl["note"]
        # a date in that year is not clamped into another: a 422 naming the years that exist
        r = await client.get(f"{BASE}/achievement?on=2026-12-01", headers=headers)
        assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
        reason = r.json()["errors"][0]["reason"]
        assert "2024/25" in reason and "2025/26" in reason and "2026/27" in reason


async def test_on_1_april_the_practice_moves_to_the_new_year_on_its_own(database_url: str) -> None:
    """"On 1 April practices move to the new year's rule set on their own where one exists, and say so where
    none does": a contract recorded for 2025/26 does not pin the practice to the closed year. The service
    clock is moved across two year ends."""
    clock = [date(2026, 3, 31)]
    async with indicators_app(database_url, today=clock[0]) as (app, client, headers):
        kernel = app.state.kernel
        kernel.today = lambda: clock[0]
        await _practice(app)
        c = (await client.get(f"{BASE}/contract", headers=headers)).json()  # none recorded: today's year
        assert (c["ruleset_id"], c["default"], c["scored_on"], c["note"]) == ("qof-2025-26", True, "qof-2025-26", "")
        c = (await client.put(f"{BASE}/contract", json={"ruleset_id": "qof-2025-26"}, headers=headers)).json()
        assert (c["scored_on"], c["qof_year"], c["note"]) == ("qof-2025-26", "2025/26", "")
        last_day = (await client.get(f"{BASE}/achievement", headers=headers)).json()
        assert (last_day["ruleset"], last_day["achievement_date"]) == ("qof-2025-26", "2026-03-31")
        assert _year(last_day) == ("2025/26", False) and last_day["source"] == "stored"

        clock[0] = date(2026, 4, 1)
        first_day = (await client.get(f"{BASE}/achievement", headers=headers)).json()
        assert (first_day["ruleset"], first_day["achievement_date"]) == ("qof-2026-27", "2026-04-01")
        assert _year(first_day) == ("2026/27", False) and first_day["note"] == ""
        year_end = (await client.get(f"{BASE}/achievement?view=year-end", headers=headers)).json()
        assert (year_end["ruleset"], year_end["achievement_date"]) == ("qof-2026-27", "2027-03-31")
        async with app.state.runtime.sessions() as s:
            default = await contract_of(s, "B81001", kernel)  # a practice with no contract recorded
        assert (default.ruleset_id, default.stored) == ("qof-2026-27", False)
        c = (await client.get(f"{BASE}/contract", headers=headers)).json()
        assert (c["ruleset_id"], c["scored_on"], c["qof_year"]) == ("qof-2025-26", "qof-2026-27", "2026/27")
        assert "qof-2025-26 is for QOF 2025/26, a closed year: QOF 2026/27 is scored on qof-2026-27" in c["note"]
        # the daily refresh moves the stored outcomes to the new year: answers come from them again
        assert await refresh_stale(app.state.runtime.sessions, kernel) == 1
        stored = (await client.get(f"{BASE}/achievement", headers=headers)).json()
        assert (stored["ruleset"], stored["source"]) == ("qof-2026-27", "stored")
        analyst = bearer(app.state.settings, scopes=["analytics:read"], icb="QHM")
        bench = (await client.get("/v1/icbs/QHM/benchmarks?indicator=DM020", headers=analyst)).json()
        assert bench["ruleset"] == "qof-2026-27"

        clock[0] = date(2027, 4, 1)  # QOF 2027/28: no rule set
        body = (await client.get(f"{BASE}/achievement", headers=headers)).json()
        assert (body["ruleset"], body["achievement_date"]) == ("qof-2026-27", "2027-03-31")
        assert _year(body) == ("2026/27", True) and "no rule set for QOF year 2027/28" in body["note"]
        c = (await client.get(f"{BASE}/contract", headers=headers)).json()
        assert c["scored_on"] == "qof-2026-27" and "no rule set for QOF year 2027/28" in c["note"]


async def test_the_publication_export_names_its_year_and_a_closed_year_is_asked_for(database_url: str) -> None:
    """The publication CSV's columns are fixed, so its year and date go in the file name and headers; the closed
    year's export (what a practice sends after 31 March) is asked for with ?on=."""
    async with indicators_app(database_url, today=DECEMBER) as (app, client, headers):
        await _practice(app)
        now = await client.get(f"{BASE}/export/publication.csv", headers=headers)
        assert (now.headers["qof-year"], now.headers["qof-year-closed"]) == ("2026/27", "false")
        assert f'filename="{PRACTICE}-qof-2026-27-2026-12-01.csv"' in now.headers["content-disposition"]
        closed = await client.get(f"{BASE}/export/publication.csv?on=2026-03-31", headers=headers)
        assert (closed.headers["qof-year"], closed.headers["qof-year-closed"]) == ("2025/26", "true")
        assert closed.headers["qof-achievement-date"] == "2026-03-31"
        # the October 2026 HbA1c results are after that date: DM020's numerator then was 0, now it is 1
        def dm020(text: str) -> dict[str, str]:
            rows = csv.DictReader(io.StringIO(text))
            return {r["MEASURE"]: r["VALUE"] for r in rows if r["INDICATOR_CODE"] == "DM020"}

        assert (dm020(closed.text)["NUMERATOR"], dm020(now.text)["NUMERATOR"]) == ("0", "1")
        mr = (await client.get(f"{BASE}/indicators/DM020/measure-report?on=2026-03-31", headers=headers)).json()
        assert mr["period"] == {"start": "2025-04-01", "end": "2026-03-31"}
        assert (await client.get(f"{BASE}/export/publication.csv?on=2027-06-01", headers=headers)).status_code == 422

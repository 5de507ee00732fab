"""The year an answer is for (SQLite and PostgreSQL).

The QOF year runs 1 April to 31 March; the current year is the one containing today. "How am I doing" is as of
today within it, "end of year" is its 31 March, a closed year is asked for explicitly, and every answer names
its year and says whether it is closed. Where no rule set exists for the current year the answer says so.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from services.indicators.service.kernel import Kernel
from tests.indicators.service.helpers import PRACTICE, deliver, diabetic, indicators_app, registered

BASE = f"/v1/practices/{PRACTICE}"
DECEMBER = date(2026, 12, 1)  # in QOF 2026/27


async def _practice(app: Any) -> None:
    for i, a1c in enumerate((50.0, 80.0, None)):
        await diabetic(app, f"d{i}", a1c, when=date(2026, 10, 1))
    await deliver(app, registered("x0", dob=date(1980, 1, 1)))


def _year(body: dict[str, Any]) -> tuple[str, bool]:
    return body["qof_year"], body["year_closed"]


async def test_today_is_scored_in_the_year_containing_it(database_url: str) -> None:
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

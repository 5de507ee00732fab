"""History from the record (SQLite and PostgreSQL): a practice first loaded on 3 December 2026 has a month-end
point for each month since 1 April and last year's final, computed from the dated record rather than from
snapshots it never had, and the year-end projection draws on them.

Rule text, DM020 (PCD output description): "Select patients whose latest IFCC-HbA1c in the 12 months up to and
including PPED is ≤ 58 mmol/mol"; at a month end the record is as it stood that day, so a result dated later
does not count yet. The 2026/27 window opens on 1 April 2026: a result of February 2026 counts for 2025/26
only.
"""

from __future__ import annotations

import statistics
from datetime import date
from typing import Any

from tests.indicators.service.helpers import PRACTICE, diabetic, indicators_app

BASE = f"/v1/practices/{PRACTICE}"
TODAY = date(2026, 12, 3)  # first day of use
# HbA1c 50 mmol/mol on these dates; four more diabetics have none
RESULTS = {"d0": date(2026, 2, 1), "d1": date(2026, 5, 10), "d2": date(2026, 8, 10), "d3": date(2026, 11, 10)}
MONTH_ENDS = [date(2026, 4, 30), date(2026, 5, 31), date(2026, 6, 30), date(2026, 7, 31), date(2026, 8, 31),
              date(2026, 9, 30), date(2026, 10, 31), date(2026, 11, 30)]


def numerator_on(day: date, year_start: date) -> int:
    return sum(1 for d in RESULTS.values() if year_start <= d <= day)


async def _load(app: Any) -> None:
    for pid, when in RESULTS.items():
        await diabetic(app, pid, 50.0, when=when)
    for i in range(4):
        await diabetic(app, f"n{i}")


def _months(body: dict[str, Any], ruleset: str) -> list[dict[str, Any]]:
    return next(h["months"] for h in body["indicators"] if h["ruleset"] == ruleset)


async def test_a_practice_loaded_today_has_a_month_end_for_each_month_since_april(database_url: str) -> None:
    async with indicators_app(database_url, today=TODAY) as (app, client, headers):
        await _load(app)
        body = (await client.get(f"{BASE}/history?indicator=DM020", headers=headers)).json()
        months = _months(body, "qof-2026-27")
        ends = [m for m in months if m["month"] != "2026-12"]
        assert [m["achievement_date"] for m in ends] == [d.isoformat() for d in MONTH_ENDS]
        for m, day in zip(ends, MONTH_ENDS, strict=True):
            assert (m["denominator"], m["numerator"]) == (8, numerator_on(day, date(2026, 4, 1))), day
        # last year's final, on last year's rule set: February's result counts there
        (final,) = _months(body, "qof-2025-26")
        assert (final["month"], final["achievement_date"]) == ("2026-03", "2026-03-31")
        assert (final["denominator"], final["numerator"]) == (8, 1)

        proj = (await client.get(f"{BASE}/projection", headers=headers)).json()
        dm = next(i for i in proj["indicators"] if i["indicator_id"] == "DM020")
        assert dm["method"] == "linear"
        assert dm["months_used"] == [f"2026-{m:02d}" for m in range(4, 13)]
        # least squares through the nine points (April = 1 … December = 9, today's figure), read at March = 12
        pcts = [100 * numerator_on(d, date(2026, 4, 1)) / 8 for d in [*MONTH_ENDS, TODAY]]
        fit = statistics.linear_regression(range(1, 10), pcts)
        assert dm["projected_pct"] == round(fit.slope * 12 + fit.intercept, 2)
        assert dm["current_pct"] == 37.5


async def test_a_month_snapshot_taken_during_the_month_becomes_its_month_end(database_url: str) -> None:
    """A figure stored on 20 November stands for November only until the month is over."""
    clock = [date(2026, 11, 20)]
    async with indicators_app(database_url, today=clock[0]) as (app, client, headers):
        app.state.kernel.today = lambda: clock[0]
        await _load(app)
        body = (await client.get(f"{BASE}/history?indicator=DM020", headers=headers)).json()
        assert _months(body, "qof-2026-27")[-1]["achievement_date"] == "2026-11-20"
        clock[0] = TODAY
        body = (await client.get(f"{BASE}/history?indicator=DM020", headers=headers)).json()
        nov = next(m for m in _months(body, "qof-2026-27") if m["month"] == "2026-11")
        assert nov["achievement_date"] == "2026-11-30" and nov["numerator"] == 3

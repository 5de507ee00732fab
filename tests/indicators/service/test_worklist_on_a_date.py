"""Worklists as of a date (`?on=`), through the API (SQLite and PostgreSQL).

Rule (project principle): "Everything is as of a date. A figure for a date is computed from the dated record
as it stood on that date (registration, death, diagnosis and resolution dates), never from today's state; a
year is named in every answer; nothing is clamped silently."

Rule text, DM020 (PCD output description): "Select patients whose latest IFCC-HbA1c in the 12 months up to and
including PPED is ≤ 58 mmol/mol", among patients on the diabetes register "registered at the achievement
date". On 31 March 2026 (QOF 2025/26) a patient whose only result is of June 2026 is a gap and one who left in
June 2026 was still registered, so a gap too; one whose result is of November 2025 is not. Today (3 December
2026, QOF 2026/27) the November 2025 result is outside the window and the leaver is gone.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from shared.events.schemas import PatientDeregistered
from tests.indicators.service.helpers import PRACTICE, deliver, diabetic, indicator, indicators_app

BASE = f"/v1/practices/{PRACTICE}"
TODAY = date(2026, 12, 3)
YEAR_END_25 = "2026-03-31"
ROUTES = ["indicators/DM020/worklist", "worklist/next-best", "worklist/time-sensitive"]


async def _record(app: Any) -> None:
    await diabetic(app, "last-autumn", 50.0, when=date(2025, 11, 1))
    await diabetic(app, "this-june", 50.0, when=date(2026, 6, 1))
    await diabetic(app, "left")
    await deliver(app, PatientDeregistered(practice_ods=PRACTICE, patient_id="left", date_of_birth=date(1960, 5, 1),
                                           sex="female", registered_on=date(2010, 1, 1),
                                           deregistered_on=date(2026, 6, 1)))


def gaps(body: dict[str, Any]) -> set[str]:
    return {i["patient_id"] for i in body["items"]}


async def test_a_worklist_for_last_years_end_is_the_record_as_it_stood_then(database_url: str) -> None:
    async with indicators_app(database_url, today=TODAY) as (app, client, headers):
        await _record(app)
        r = await client.get(f"{BASE}/indicators/DM020/worklist?on={YEAR_END_25}", headers=headers)
        assert r.status_code == 200, r.text
        past = r.json()
        assert (past["qof_year"], past["year_closed"], past["achievement_date"]) == ("2025/26", True, YEAR_END_25)
        assert gaps(past) == {"this-june", "left"}
        # the worklist's figures are the achievement's for that date
        dm020 = indicator((await client.get(f"{BASE}/achievement?on={YEAR_END_25}", headers=headers)).json(), "DM020")
        assert (past["denominator"], past["numerator"]) == (dm020["denominator"], dm020["numerator"]) == (3, 1)

        nb = (await client.get(f"{BASE}/worklist/next-best?on={YEAR_END_25}", headers=headers)).json()
        assert (nb["qof_year"], nb["achievement_date"]) == ("2025/26", YEAR_END_25)
        assert {p["patient_id"] for p in nb["items"] for g in p["gaps"] if g["indicator_id"] == "DM020"} == gaps(past)
        ts = (await client.get(f"{BASE}/worklist/time-sensitive?on={YEAR_END_25}", headers=headers)).json()
        assert (ts["qof_year"], ts["achievement_date"]) == ("2025/26", YEAR_END_25)
        assert all(i["days_left"] is None or i["days_left"] >= 0 for i in ts["items"])

        # today: the stored outcomes, as without a date
        now = (await client.get(f"{BASE}/indicators/DM020/worklist", headers=headers)).json()
        assert (now["qof_year"], now["achievement_date"]) == ("2026/27", TODAY.isoformat())
        assert "last-autumn" in gaps(now) and not gaps(now) & {"this-june", "left"}
        for route in ROUTES:
            plain = (await client.get(f"{BASE}/{route}", headers=headers)).json()
            dated = (await client.get(f"{BASE}/{route}?on={TODAY.isoformat()}", headers=headers)).json()
            assert dated["items"] == plain["items"] and dated["qof_year"] == plain["qof_year"] == "2026/27", route


async def test_a_worklist_for_a_date_no_rule_set_covers_is_a_422_naming_the_years(database_url: str) -> None:
    """No silent clamp: 2027-06-01 is in QOF 2027/28, for which no rule set exists."""
    async with indicators_app(database_url, today=TODAY) as (app, client, headers):
        await _record(app)
        for route in ROUTES:
            r = await client.get(f"{BASE}/{route}?on=2027-06-01", headers=headers)
            assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json"), route
            err = r.json()["errors"][0]
            assert err["field"] == "on" and "2027/28" in err["reason"] and "2026/27" in err["reason"], route

"""Scoring as of a date from the dated record, through the API (SQLite and PostgreSQL).

Rule text (PCD output descriptions, diabetes register DM_REG): "patients aged 17 or over with a diagnosis of
diabetes which has not been subsequently resolved", evaluated on the achievement date; a patient counts when
"registered at the achievement date" (the QOF population, REG_DAT <= achievement date and not deregistered or
dead by then). Leavers after the achievement date were registered on it, so they count for that year.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from tests.indicators.service.helpers import (
    DM,
    DMRES,
    HBA1C,
    PRACTICE,
    deliver,
    indicator,
    indicators_app,
    recorded,
    registered,
)

TODAY = date(2026, 12, 3)  # in QOF 2026/27
YEAR_END_25 = date(2026, 3, 31)
BASE = f"/v1/practices/{PRACTICE}"
HYP = "10725009"  # HYP_COD: Benign hypertension
SYS, DIA = "100151000000109", "100161000000107"  # SYSBP_COD / DIABP_COD


async def _record(app: Any) -> None:
    """Six diabetics of one practice, each with a dated record that differs before and after 31 March 2026."""
    dx = date(2015, 6, 1)
    people = {
        "steady": {},
        "autumn-dx": {"dx": date(2025, 11, 15)},  # diagnosed during 2025/26
        "late-dx": {"dx": date(2026, 9, 10)},  # diagnosed after the achievement date
        "resolved": {"res": date(2026, 4, 20)},  # resolved after it
        "left": {"deregistered_on": date(2026, 6, 1)},  # left after it
        "died": {"died_on": date(2026, 5, 1)},  # died after it
        "joined": {"registered_on": date(2026, 5, 1)},  # registered after it
    }
    for pid, p in people.items():
        extra = {k: v for k, v in p.items() if k in ("deregistered_on", "died_on", "registered_on")}
        entries: list[tuple[str, str, date, float | None]] = [
            (f"{pid}-dx", DM, p.get("dx", dx), None),
            (f"{pid}-a1c", HBA1C, date(2025, 11, 1), 52.0),
        ]
        if "res" in p:
            entries.append((f"{pid}-res", DMRES, p["res"], None))
        await deliver(app, registered(pid, **extra), recorded(pid, *entries))


async def test_closed_year_is_scored_on_the_record_as_it_stood(database_url: str) -> None:
    """Symptoms 1 and 2: at 2026-03-31 the DM register is steady, autumn-dx, resolved (resolved in April 2026: still on
    it), left and died (registered on the date: still counted); not late-dx (diagnosed September 2026) nor
    joined (registered May 2026)."""
    async with indicators_app(database_url, today=TODAY) as (app, client, headers):
        await _record(app)
        r = await client.get(f"{BASE}/achievement?on={YEAR_END_25}", headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["qof_year"] == "2025/26" and body["year_closed"] is True and body["ruleset"] == "qof-2025-26"
        assert body["register_sizes"]["DM_REG"] == 5
        assert body["list_size"] == 6  # everyone but "joined"
        dm020 = indicator(body, "DM020")
        assert dm020["denominator"] == 5 and dm020["numerator"] == 5
        # Earlier in the year, before autumn-dx's diagnosis (2025-11-15): not on the register yet.
        early = (await client.get(f"{BASE}/achievement?on=2025-10-01", headers=headers)).json()
        assert early["register_sizes"]["DM_REG"] == 4 and indicator(early, "DM020")["denominator"] == 4


async def test_a_date_no_rule_set_covers_is_a_422_naming_the_years(database_url: str) -> None:
    """No silent clamp: 2027-06-01 is in QOF 2027/28, for which no rule set exists."""
    async with indicators_app(database_url, today=TODAY) as (app, client, headers):
        await _record(app)
        r = await client.get(f"{BASE}/achievement?on=2027-06-01", headers=headers)
        assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
        err = r.json()["errors"][0]
        assert err["field"] == "on" and "2027/28" in err["reason"]
        assert "2024/25" in err["reason"] and "2025/26" in err["reason"] and "2026/27" in err["reason"]
        r = await client.get(f"{BASE}/indicators/DM020?on=2023-06-01", headers=headers)
        assert r.status_code == 422


async def test_today_is_scored_on_the_year_containing_it(database_url: str) -> None:
    """Symptom 4: on 2026-12-03 view=today scores QOF 2026/27 as of that day, saying the year is open; on
    1 April the practice moves to the new year's rule set on its own."""
    async with indicators_app(database_url, today=TODAY) as (app, client, headers):
        await _record(app)
        body = (await client.get(f"{BASE}/achievement", headers=headers)).json()
        assert body["ruleset"] == "qof-2026-27" and body["qof_year"] == "2026/27"
        assert body["year_closed"] is False and body["achievement_date"] == TODAY.isoformat()
        assert body["view"] == "today" and body["note"] == ""


async def test_today_in_a_year_without_a_rule_set_says_so(database_url: str) -> None:
    """On 2027-05-01 (QOF 2027/28, no rule set) the answer names the year shown and that it is closed."""
    async with indicators_app(database_url, today=date(2027, 5, 1)) as (app, client, headers):
        await _record(app)
        body = (await client.get(f"{BASE}/achievement", headers=headers)).json()
        assert body["qof_year"] == "2026/27" and body["year_closed"] is True
        assert body["achievement_date"] == "2027-03-31"
        assert "no rule set for QOF year 2027/28" in body["note"]


async def test_a_closed_year_asked_for_explicitly_uses_its_own_rule_set(database_url: str) -> None:
    async with indicators_app(database_url, today=TODAY) as (app, client, headers):
        await _record(app)
        body = (await client.get(f"{BASE}/achievement?on=2025-03-31", headers=headers)).json()
        assert body["ruleset"] == "qof-2024-25" and body["qof_year"] == "2024/25" and body["year_closed"]
        assert body["achievement_date"] == "2025-03-31"


async def test_turning_80_between_two_dates(database_url: str) -> None:
    """HYP008 rule 1: "Reject patients aged over 79 on the achievement date" (PAT_AGEO79); HYP009 is the
    80-and-over indicator. Born 1945-10-20: 79 on 2025-10-19, 80 on 2025-10-20."""
    async with indicators_app(database_url, today=TODAY) as (app, client, headers):
        await deliver(app, registered("h1", dob=date(1945, 10, 20)), recorded(
            "h1", ("h1-dx", HYP, date(2010, 1, 1), None),
            ("h1-sys", SYS, date(2025, 9, 1), 130.0), ("h1-dia", DIA, date(2025, 9, 1), 80.0)))
        before = (await client.get(f"{BASE}/achievement?on=2025-10-19", headers=headers)).json()
        after = (await client.get(f"{BASE}/achievement?on=2025-10-20", headers=headers)).json()
        assert indicator(before, "HYP008")["denominator"] == 1
        assert indicator(before, "HYP009")["denominator"] == 0
        assert indicator(after, "HYP008")["denominator"] == 0
        assert indicator(after, "HYP008")["exclusions"] == {"PAT_AGEO79": 1}
        assert indicator(after, "HYP009")["denominator"] == 1


async def test_bp002_keeps_the_hypertension_register_and_the_export_adds_up(database_url: str) -> None:
    """Symptom 3. BP002: "patients aged 45 or over who have a record of blood pressure in the preceding 5
    years"; its only exclusions are a recorded decline and late registration, so a patient on the
    hypertension register stays in the denominator, and REGISTER = DENOMINATOR + PCAS in the export."""
    async with indicators_app(database_url, today=TODAY) as (app, client, headers):
        await deliver(app, registered("b1", dob=date(1960, 1, 1)), recorded(
            "b1", ("b1-dx", HYP, date(2010, 1, 1), None), ("b1-sys", SYS, date(2025, 9, 1), 130.0)))
        await deliver(app, registered("b2", dob=date(1960, 1, 1)))
        body = (await client.get(f"{BASE}/achievement?on={YEAR_END_25}", headers=headers)).json()
        assert body["register_sizes"]["HYP_REG"] == 1
        bp002 = indicator(body, "BP002")
        assert bp002["denominator"] == 2 and bp002["exclusions"] == {}
        r = await client.get(f"{BASE}/export/publication.csv", headers=headers)
        rows = {(x["INDICATOR_CODE"], x["MEASURE"]): x["VALUE"] for x in csv.DictReader(io.StringIO(r.text))}
        if ("BP002", "REGISTER") in rows:
            assert int(rows[("BP002", "REGISTER")]) == int(rows[("BP002", "DENOMINATOR")]) + int(
                rows[("BP002", "PCAS")])

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

from services.indicators.domain import load_ruleset
from shared.codelists import default_library
from shared.events.schemas import PatientDeregistered
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
AST = "195967001"  # AST_COD asthma
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


PEOPLE: dict[str, dict[str, date]] = {
    "steady": {},
    "autumn-dx": {"dx": date(2025, 11, 15)},  # diagnosed during 2025/26
    "late-dx": {"dx": date(2026, 9, 10)},  # diagnosed after the achievement date
    "resolved": {"res": date(2026, 4, 20)},  # resolved after it
    "left": {"deregistered_on": date(2026, 6, 1)},  # left after it
    "died": {"died_on": date(2026, 5, 1)},  # died after it
    "joined": {"registered_on": date(2026, 5, 1)},  # registered after it
}
DX = date(2015, 6, 1)


def registered_at(p: dict[str, date], day: date) -> bool:
    """"Registered at the achievement date": registered on or before it, not deregistered or dead by then."""
    return (p.get("registered_on", date(2010, 1, 1)) <= day and p.get("deregistered_on", date.max) > day
            and p.get("died_on", date.max) > day)


def on_dm_register(p: dict[str, date], day: date) -> bool:
    """DM_REG: a diabetes diagnosis on or before the date "which has not been subsequently resolved" by it."""
    return registered_at(p, day) and p.get("dx", DX) <= day and not p.get("res", date.max) <= day


async def _record(app: Any) -> None:
    """Seven diabetics of one practice, each with a dated record that differs before and after 31 March 2026."""
    for pid, p in PEOPLE.items():
        extra = {k: v for k, v in p.items() if k in ("deregistered_on", "died_on", "registered_on")}
        entries: list[tuple[str, str, date, float | None]] = [
            (f"{pid}-dx", DM, p.get("dx", DX), None),
            (f"{pid}-a1c", HBA1C, date(2025, 11, 1), 52.0),
        ]
        if "res" in p:
            entries.append((f"{pid}-res", DMRES, p["res"], None))
        await deliver(app, registered(pid, **extra), recorded(pid, *entries))


async def test_symptom_1_closed_year_scored_on_todays_registers(database_url: str) -> None:
    """Symptom 1: at 2026-03-31 a patient diagnosed in September 2026 was in the 2025/26 DM020 denominator and
    one resolved in April 2026 was missing. Scored from the record as it stood: late-dx is not on that year's
    register, resolved still is; autumn-dx (diagnosed November 2025) is on it at the year end, not before."""
    async with indicators_app(database_url, today=TODAY) as (app, client, headers):
        await _record(app)
        body = (await client.get(f"{BASE}/achievement?on={YEAR_END_25}", headers=headers)).json()
        assert (body["qof_year"], body["year_closed"], body["ruleset"]) == ("2025/26", True, "qof-2025-26")
        expected = {p for p, x in PEOPLE.items() if on_dm_register(x, YEAR_END_25)}
        assert "late-dx" not in expected and "resolved" in expected
        assert body["register_sizes"]["DM_REG"] == len(expected) == 5
        # DM020: "Select patients whose latest IFCC-HbA1c in the 12 months up to and including PPED is <= 58"
        dm020 = indicator(body, "DM020")
        assert (dm020["denominator"], dm020["numerator"]) == (5, 5)
        # the APDF and £ follow the register of the record: £ = points × £/point × CPI × APDF, with
        # CPI = list size / national average and APDF = (DM register / list size) / national DM prevalence
        settings = load_ruleset("qof-2025-26").settings
        cpi = 6 / settings.national_average_list_size.value
        apdf = (5 / 6) / settings.national_prevalence.by_group["DM"]
        assert dm020["points"] > 0
        assert abs(dm020["pounds"] - dm020["points"] * settings.pound_per_point.value * cpi * apdf) < 0.05
        early = (await client.get(f"{BASE}/achievement?on=2025-10-01", headers=headers)).json()
        assert early["register_sizes"]["DM_REG"] == 4 and indicator(early, "DM020")["denominator"] == 4


async def test_symptom_2_leavers_are_counted_for_the_year_they_were_registered_in(database_url: str) -> None:
    """Symptom 2: patients registered on the achievement date who left or died afterwards vanished from every
    indicator while the list size still counted them. Left (June 2026) and died (May 2026) were registered on
    2026-03-31: on the register, in DM020's numerator and in the list size; joined (May 2026) in none."""
    async with indicators_app(database_url, today=TODAY) as (app, client, headers):
        await _record(app)
        body = (await client.get(f"{BASE}/achievement?on={YEAR_END_25}", headers=headers)).json()
        assert body["list_size"] == sum(registered_at(p, YEAR_END_25) for p in PEOPLE.values()) == 6
        counted = {"steady", "autumn-dx", "resolved", "left", "died"}
        assert indicator(body, "DM020")["numerator"] == len(counted)
        # after they left, they are in neither
        later = (await client.get(f"{BASE}/achievement?on=2026-11-30", headers=headers)).json()
        assert later["list_size"] == sum(registered_at(p, date(2026, 11, 30)) for p in PEOPLE.values()) == 5


async def test_register_and_list_sizes_follow_the_dated_record_in_both_years(database_url: str) -> None:
    """Diagnosed after the date: not on the register; resolved after it: still on it; deregistered or died
    after it: still counted, and in the list size; registered after it: not counted. Several dates in 2025/26
    and 2026/27, each against the rule read independently of the code."""
    days = (date(2025, 10, 1), date(2025, 12, 31), YEAR_END_25, date(2026, 4, 30), date(2026, 7, 1),
            date(2026, 11, 30), TODAY)
    async with indicators_app(database_url, today=TODAY) as (app, client, headers):
        await _record(app)
        for day in days:
            body = (await client.get(f"{BASE}/achievement?on={day}", headers=headers)).json()
            assert body["achievement_date"] == day.isoformat()
            assert body["register_sizes"].get("DM_REG", 0) == sum(on_dm_register(p, day) for p in PEOPLE.values())
            assert body["list_size"] == sum(registered_at(p, day) for p in PEOPLE.values()), day


async def test_the_same_record_scored_for_2025_26_and_2026_27(database_url: str) -> None:
    """One record, two years, each on its own rule set and register definitions: "the asthma register now
    starts at age 5 (was 6)" (2026/27 reference), and DM037 ("all eight care processes") exists only in
    2026/27. A child born 2021-01-10 with asthma and treatment is 5 on both dates: on the 2026/27 register
    only."""
    treatment = sorted(default_library().get("ASTTRT_COD").codes)[0]
    async with indicators_app(database_url, today=TODAY) as (app, client, headers):
        await _record(app)
        await deliver(app, registered("child", dob=date(2021, 1, 10), registered_on=date(2021, 1, 10)), recorded(
            "child", ("child-ast", AST, date(2025, 6, 1), None), ("child-trt", treatment, date(2026, 2, 1), None),
            ("child-trt2", treatment, date(2026, 11, 1), None)))
        closed = (await client.get(f"{BASE}/achievement?on={YEAR_END_25}", headers=headers)).json()
        current = (await client.get(f"{BASE}/achievement?on=2026-11-30", headers=headers)).json()
        assert (closed["ruleset"], current["ruleset"]) == ("qof-2025-26", "qof-2026-27")
        assert (closed["qof_year"], current["qof_year"]) == ("2025/26", "2026/27")
        assert closed["register_sizes"].get("AST_REG", 0) == 0 and current["register_sizes"]["AST_REG"] == 1
        assert current["register_sizes"]["DM_REG"] == sum(
            on_dm_register(p, date(2026, 11, 30)) for p in PEOPLE.values())
        ids = ({i["indicator_id"] for i in closed["indicators"]}, {i["indicator_id"] for i in current["indicators"]})
        assert "DM037" not in ids[0] and "DM037" in ids[1]


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


async def test_symptom_4_today_is_scored_on_the_year_containing_it(database_url: str) -> None:
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


async def test_symptom_3_bp002_keeps_the_hypertension_register_and_the_export_adds_up(database_url: str) -> None:
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
        assert int(rows[("BP002", "REGISTER")]) == int(rows[("BP002", "DENOMINATOR")]) + int(
            rows[("BP002", "PCAS")]) == 2


async def test_a_date_scores_the_same_on_the_day_and_months_later(database_url: str) -> None:
    """"Scoring a date gives the same answer whether it is computed on that day or a year later": 2026-03-31 is
    scored on the day (stored outcomes), then the record grows with what happened after it (a diagnosis, a
    resolution, a leaver, a death, a new registration) and 2026-03-31 is asked for again on 2026-12-03."""
    clock = [YEAR_END_25]
    async with indicators_app(database_url, today=clock[0]) as (app, client, headers):
        app.state.kernel.today = lambda: clock[0]
        for pid in ("steady", "autumn-dx", "resolved", "left", "died"):
            await deliver(app, registered(pid), recorded(pid, (f"{pid}-dx", DM, PEOPLE[pid].get("dx", DX), None),
                                                         (f"{pid}-a1c", HBA1C, date(2025, 11, 1), 52.0)))
        await deliver(app, registered("late-dx"))
        then = (await client.get(f"{BASE}/achievement", headers=headers)).json()
        assert (then["achievement_date"], then["source"]) == (YEAR_END_25.isoformat(), "stored")

        clock[0] = TODAY
        await deliver(
            app,
            recorded("late-dx", ("late-dx-dx", DM, PEOPLE["late-dx"]["dx"], None)),
            recorded("resolved", ("resolved-res", DMRES, PEOPLE["resolved"]["res"], None)),
            PatientDeregistered(practice_ods=PRACTICE, patient_id="left", date_of_birth=date(1960, 5, 1),
                                sex="female", registered_on=date(2010, 1, 1), deregistered_on=date(2026, 6, 1)),
            PatientDeregistered(practice_ods=PRACTICE, patient_id="died", date_of_birth=date(1960, 5, 1),
                                sex="female", registered_on=date(2010, 1, 1), died_on=date(2026, 5, 1)),
            registered("joined", registered_on=date(2026, 5, 1)),
            recorded("joined", ("joined-dx", DM, DX, None)),
        )
        later = (await client.get(f"{BASE}/achievement?on={YEAR_END_25}", headers=headers)).json()
        assert later["source"] == "live"

        def figures(body: dict[str, Any]) -> dict[str, Any]:
            return {"registers": body["register_sizes"], "list": body["list_size"], "qof_year": body["qof_year"],
                    "indicators": {i["indicator_id"]: (i["denominator"], i["numerator"], i["exclusions"],
                                                       i["points"], i["pounds"]) for i in body["indicators"]}}

        assert figures(later) == figures(then)
        assert later["register_sizes"]["DM_REG"] == 5 and later["list_size"] == 6

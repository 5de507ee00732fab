"""The achievement API over a small practice: scores, worklists, exports, contracts, attestations, what-if,
projection and ICB benchmarks (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
import math
from datetime import date

from services.indicators.domain import load_ruleset
from shared.testing import bearer
from tests.indicators.service.helpers import (
    DMINVITE,
    PRACTICE,
    SAME_PCN,
    deliver,
    diabetic,
    indicator,
    indicators_app,
    on_register,
    recorded,
    registered,
)

BASE = f"/v1/practices/{PRACTICE}"
# 6 diabetics: 3 at HbA1c target (DM020 numerator), 3 in the gap; plus 14 other registered patients.
A1C = [50.0, 55.0, 58.0, 75.0, 90.0, None]


async def _practice(app, practice: str = PRACTICE) -> None:
    for i, a1c in enumerate(A1C):
        await diabetic(app, f"{practice}-d{i}", a1c, practice=practice)
    await deliver(app, *(registered(f"{practice}-x{i}", practice=practice, dob=date(1950 + i, 3, 3))
                         for i in range(14)))


async def test_achievement_points_pounds_and_views(database_url: str) -> None:
    async with indicators_app(database_url) as (app, client, headers):
        await _practice(app)
        r = await client.get(f"{BASE}/achievement", headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["ruleset"] == "qof-2025-26" and body["source"] == "stored"
        assert body["achievement_date"] == "2026-01-15" and body["list_size"] == 20
        dm = indicator(body, "DM020")
        assert (dm["register_size"], dm["denominator"], dm["numerator"]) == (6, 6, 3)
        assert dm["achievement_pct"] == 50.0
        rs = load_ruleset("qof-2025-26").indicator("DM020")
        lo, hi, g = rs.lower_threshold.value, rs.upper_threshold.value, rs.points.value
        assert abs(dm["points"] - round(max(0.0, min(1.0, (50 - lo) / (hi - lo))) * g, 2)) < 0.01
        assert dm["lower_threshold"]["confidence"] in ("V", "S", "U") and dm["points_provenance"]["source"]
        # £ = points × £/point × CPI × APDF, with CPI = 20 / national list and APDF = (6 / 20) / national DM
        settings_ = load_ruleset("qof-2025-26").settings
        cpi = 20 / settings_.national_average_list_size.value
        apdf = (6 / 20) / settings_.national_prevalence.by_group["DM"]
        assert abs(dm["pounds"] - dm["points"] * settings_.pound_per_point.value * cpi * apdf) < 0.05
        incomplete = [i for i in body["indicators"] if i["readiness"] == "incomplete"]
        assert incomplete and all(i["missing_clusters"] and i["points"] == 0 for i in incomplete)
        assert set(body["totals"]["incomplete_indicators"]) == {i["indicator_id"] for i in incomplete}
        assert any(d["key"] == "DM" for d in body["totals"]["by_group"])
        scorable = [i for i in body["indicators"] if i["readiness"] != "incomplete"]
        assert all(i["pounds"] is not None and not i["money_note"] for i in scorable)

        ye = (await client.get(f"{BASE}/achievement?view=year-end", headers=headers)).json()
        assert ye["achievement_date"] == "2026-03-31" and ye["view"] == "year-end" and ye["source"] == "live"
        on = (await client.get(f"{BASE}/achievement?on=2025-09-01", headers=headers)).json()
        # On 1 September the October HbA1c results had not happened yet.
        assert indicator(on, "DM020")["numerator"] == 0 and on["source"] == "live"

        one = (await client.get(f"{BASE}/indicators/DM020", headers=headers)).json()
        assert one["numerator"] == 3
        assert (await client.get(f"{BASE}/indicators/NOPE1", headers=headers)).status_code == 404
        bad = await client.get(f"{BASE}/achievement?on=yesterday", headers=headers)
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "on"
        other = await client.get("/v1/practices/B99999/achievement", headers=headers)
        assert other.status_code == 403


async def test_worklists(database_url: str) -> None:
    async with indicators_app(database_url) as (app, client, headers):
        await _practice(app)
        # One invite so far for the patient without an HbA1c.
        await deliver(app, recorded(f"{PRACTICE}-d5", (f"{PRACTICE}-d5-inv", DMINVITE, date(2025, 11, 1), None)))
        r = await client.get(f"{BASE}/indicators/DM020/worklist?limit=2", headers=headers)
        assert r.status_code == 200, r.text
        wl = r.json()
        assert wl["open_gaps"] == 3 and len(wl["items"]) == 2 and wl["next_cursor"]
        rs = load_ruleset("qof-2025-26").indicator("DM020")
        assert wl["patients_to_upper_threshold"] == math.ceil(rs.upper_threshold.value * 6 / 100 - 3)
        assert wl["pounds_per_remaining_patient"] > 0
        page2 = (await client.get(f"{BASE}/indicators/DM020/worklist?limit=2&cursor={wl['next_cursor']}",
                                  headers=headers)).json()
        items = wl["items"] + page2["items"]
        assert len(items) == 3 and page2["next_cursor"] is None
        assert {i["patient_id"] for i in items} == {f"{PRACTICE}-d3", f"{PRACTICE}-d4", f"{PRACTICE}-d5"}
        high = next(i for i in items if i["patient_id"] == f"{PRACTICE}-d4")
        assert high["why"]["rule"] and high["why"]["text"] and high["why"]["action"].startswith("select")
        assert high["closes"]
        # the success rule that failed, with its evidence: the latest HbA1c, its value and date
        (found,) = high["unmet"]
        assert found["text"] == "latest IFCC-HbA1c 90 mmol/mol on 2025-10-01 (target ≤ 58)"
        assert found["evidence"][0]["value"] == 90.0 and found["evidence"][0]["date"] == "2025-10-01"
        assert (found["window_from"], found["window_to"]) == ("2025-04-01", "2026-01-15")
        assert high["because"].startswith(found["text"]) and high["why"]["unmet"][0]["text"] == found["text"]
        invited = next(i for i in items if i["patient_id"] == f"{PRACTICE}-d5")
        assert invited["invites_so_far"] == 1 and invited["one_more_invite_makes_pca"] is True
        assert invited["invited_on"] == ["2025-11-01"] and invited["unmet"][0]["evidence"] == []
        assert invited["because"] == "no IFCC-HbA1c since 2025-04-01; 1 invitation so far (2025-11-01)"

        nb = (await client.get(f"{BASE}/worklist/next-best", headers=headers)).json()
        assert nb["items"] and nb["items"] == sorted(nb["items"], key=lambda x: -x["pounds"])
        top = nb["items"][0]
        assert abs(top["pounds"] - sum(g["pounds"] for g in top["gaps"])) < 0.02
        ts = (await client.get(f"{BASE}/worklist/time-sensitive", headers=headers)).json()
        assert ts["items"] == sorted(ts["items"], key=lambda x: x["days_left"])
        assert all("unmet" in i and "because" in i for i in ts["items"])
        bad = await client.get(f"{BASE}/worklist/next-best?cursor=%%%", headers=headers)
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "cursor"


async def test_exports_history_projection_and_what_if(database_url: str) -> None:
    async with indicators_app(database_url) as (app, client, headers):
        await _practice(app)
        await client.post(f"{BASE}/recompute", headers=headers)
        text = (await client.get(f"{BASE}/export/publication.csv", headers=headers)).text
        rows = list(csv.DictReader(io.StringIO(text)))
        assert list(rows[0])[:4] == ["PRACTICE_CODE", "INDICATOR_CODE", "MEASURE", "VALUE"]
        dm = {r["MEASURE"]: r["VALUE"] for r in rows if r["INDICATOR_CODE"] == "DM020"}
        assert dm["REGISTER"] == "6" and dm["DENOMINATOR"] == "6" and dm["NUMERATOR"] == "3"
        assert dm["PCAS"] == "0" and float(dm["ACHIEVED_POINTS"]) >= 0
        mr = (await client.get(f"{BASE}/indicators/DM020/measure-report", headers=headers)).json()
        assert mr["resourceType"] == "MeasureReport" and mr["status"] == "complete" and mr["type"] == "summary"
        assert mr["measure"] == "https://qof-platform.example/Measure/qof-2025-26/DM020"
        pops = {p["code"]["coding"][0]["code"]: p["count"] for p in mr["group"][0]["population"]}
        assert pops == {"initial-population": 6, "denominator": 6, "denominator-exclusion": 0, "numerator": 3}
        assert mr["group"][0]["measureScore"]["value"] == 0.5
        assert mr["period"] == {"start": "2025-04-01", "end": "2026-01-15"}

        hist = (await client.get(f"{BASE}/history?indicator=DM020", headers=headers)).json()
        this_year = next(h for h in hist["indicators"] if h["ruleset"] == "qof-2025-26")
        assert [m["month"] for m in this_year["months"]] == [*(f"2025-{m:02d}" for m in range(4, 13)), "2026-01"]
        proj = (await client.get(f"{BASE}/projection", headers=headers)).json()
        dm_proj = next(i for i in proj["indicators"] if i["indicator_id"] == "DM020")
        # month ends from the record: 0 % until the October results, 50 % after; the trend is upward
        assert dm_proj["method"] == "linear" and len(dm_proj["months_used"]) == 10
        assert dm_proj["projected_pct"] > dm_proj["current_pct"] == 50.0

        wi = await client.get(f"{BASE}/what-if?ruleset=qof-2024-25", headers=headers)
        assert wi.status_code == 200, wi.text
        deltas = {d["indicator_id"]: d for d in wi.json()["indicators"]}
        # only indicators scorable under both rule sets are compared; the others are listed with the reason
        left_out = {x["indicator_id"]: x["reason"] for x in wi.json()["left_out"]}
        assert left_out["DM036"] == "not an indicator of qof-2024-25"
        assert left_out["DM033"] == "not an indicator of qof-2025-26"
        body = (await client.get(f"{BASE}/achievement", headers=headers)).json()
        incomplete = {i["indicator_id"] for i in body["indicators"] if i["readiness"] == "incomplete"}
        assert incomplete and incomplete <= set(left_out) and not incomplete & set(deltas)
        assert all("not scorable under qof-2025-26: no codelist for" in left_out[i] for i in incomplete)
        assert all(d["base_readiness"] != "incomplete" != d["other_readiness"] for d in deltas.values())
        assert wi.json()["points_delta"] == round(sum(d["points_delta"] for d in deltas.values()), 2)
        # DM020 reads the same in both years ("IFCC-HbA1c of 58 mmol/mol or less in the preceding 12 months"):
        # the same patients, on the same registers of the record, score the same points under either
        assert deltas["DM020"]["other_points"] == deltas["DM020"]["base_points"] > 0
        bad = await client.get(f"{BASE}/what-if?ruleset=qof-2099-00", headers=headers)
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "ruleset"


async def test_contract_attestation_and_rulesets(database_url: str) -> None:
    async with indicators_app(database_url) as (app, client, headers):
        await _practice(app)
        c = (await client.get(f"{BASE}/contract", headers=headers)).json()
        assert c["ruleset_id"] == "qof-2025-26" and c["default"] is True
        bad = await client.put(f"{BASE}/contract", json={"ruleset_id": "qof-2030-31"}, headers=headers)
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "ruleset_id"
        bad = await client.put(f"{BASE}/contract", json={"ruleset_id": "local-somerset-style-2025-26"},
                               headers=headers)
        assert bad.status_code == 422
        ok = await client.put(f"{BASE}/contract", headers=headers,
                              json={"ruleset_id": "qof-2025-26", "local_scheme_id": "local-somerset-style-2025-26"})
        assert ok.status_code == 200 and set(ok.json()["opted_out"]) == {"DM020", "DM021", "DM036"}
        body = (await client.get(f"{BASE}/achievement", headers=headers)).json()
        ids = {i["indicator_id"] for i in body["indicators"]}
        assert "LDM001" in ids and "DM020" not in ids and body["local_scheme"] == "local-somerset-style-2025-26"

        # QI attestations belong to 2024/25 (retired in 2025/26): the closed year is asked for explicitly, a
        # contract recorded for it does not pin the practice to it
        r = await client.put(f"{BASE}/attestations/QI013", json={"activity": "x"}, headers=headers)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "indicator_id"
        c = (await client.put(f"{BASE}/contract", json={"ruleset_id": "qof-2024-25"}, headers=headers)).json()
        assert c["scored_on"] == "qof-2025-26" and "qof-2024-25 is for QOF 2024/25, a closed year" in c["note"]
        r = await client.put(f"{BASE}/attestations/QI014", json={"activity": "x"}, headers=headers)
        assert r.status_code == 422 and "qof-2025-26" in r.json()["errors"][0]["reason"]
        closed = f"{BASE}/attestations/QI014?ruleset=qof-2024-25"
        r = await client.put(closed, headers=headers, json={
            "activity": "Frailty QI", "plan": "PDSA cycles", "network_meetings": ["2024-05-01"]})
        assert r.status_code == 200, r.text
        assert r.json()["achieved"] is False and r.json()["reasons"]
        r = await client.put(closed, headers=headers, json={
            "activity": "Frailty QI", "plan": "PDSA cycles", "network_meetings": ["2024-05-01", "2025-02-01"]})
        assert r.json()["achieved"] is True and r.json()["points"] == r.json()["max_points"] > 0
        assert r.json()["pounds"] > 0
        read_only = bearer(app.state.settings, scopes=["indicators:read"], practices=[PRACTICE])
        assert (await client.put(closed, headers=read_only, json={})).status_code == 403

        lst = (await client.get("/v1/rulesets", headers=headers)).json()
        assert {r["id"] for r in lst} >= {"qof-2024-25", "qof-2025-26", "local-somerset-style-2025-26"}
        one = (await client.get("/v1/rulesets/qof-2025-26", headers=headers)).json()
        assert one["pound_per_point"]["confidence"] in ("V", "S", "U")
        spec = next(i for i in one["indicator_specs"] if i["readiness"] == "incomplete")
        assert spec["missing_clusters"]
        assert (await client.get("/v1/rulesets/nope", headers=headers)).status_code == 404


async def test_icb_benchmarks_suppress_and_round(database_url: str) -> None:
    async with indicators_app(database_url) as (app, client, _headers):
        await _practice(app)
        for i in range(12):
            await diabetic(app, f"{SAME_PCN}-d{i}", 50.0 if i < 9 else 80.0, practice=SAME_PCN)
        analyst = bearer(app.state.settings, scopes=["analytics:read"], icb="QHM")
        r = await client.get("/v1/icbs/QHM/benchmarks?indicator=DM020", headers=analyst)
        assert r.status_code == 200, r.text
        rows = {x["code"]: x for x in r.json()["rows"]}
        small = rows[PRACTICE]
        assert small["denominator"] is None and small["suppressed"] is True and small["achievement_pct"] is None
        big = rows[SAME_PCN]
        # 9 of 12 in target, shown as 10 of 10: the percentage is that of the counts shown (not 75.0, which with
        # the PCN's 66.7 of 18 would give back the withheld practice's 3 of 6)
        assert big["denominator"] == 10 and big["numerator"] == 10 and big["achievement_pct"] == 100.0
        pcn = next(x for x in r.json()["rows"] if x["level"] == "pcn")
        assert pcn["practices"] == 2 and pcn["denominator"] == 20 and pcn["numerator"] == 10
        assert pcn["achievement_pct"] == 50.0
        assert "patient" not in r.text
        other = bearer(app.state.settings, scopes=["analytics:read"], icb="QWE")
        assert (await client.get("/v1/icbs/QHM/benchmarks?indicator=DM020", headers=other)).status_code == 403
        practice_token = bearer(app.state.settings, scopes=["indicators:read"], practices=[PRACTICE])
        assert (await client.get("/v1/icbs/QHM/benchmarks?indicator=DM020",
                                 headers=practice_token)).status_code == 403
        bad = await client.get("/v1/icbs/QHM/benchmarks?indicator=ZZZ999", headers=analyst)
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "indicator"


async def test_icb_benchmarks_for_every_indicator_at_once_with_the_icb_total(sqlite_url: str) -> None:
    """Disclosure rule (shared/disclosure.py): "Counts of 7 or fewer are withheld; the others are rounded to the
    nearest 5". The ICB total is disclosed on the ICB's own counts, so it shows what a small practice hides
    only inside a total of more than 7."""
    async with indicators_app(sqlite_url) as (app, client, _headers):
        await _practice(app)  # 6 diabetics, 3 in target: withheld on its own
        for i in range(12):
            await diabetic(app, f"{SAME_PCN}-d{i}", 50.0 if i < 9 else 80.0, practice=SAME_PCN)
        analyst = bearer(app.state.settings, scopes=["analytics:read"], icb="QHM")
        r = await client.get("/v1/icbs/QHM/benchmarks/indicators?ruleset=qof-2025-26", headers=analyst)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["qof_year"] == "2025/26" and PRACTICE in body["practices"]
        ids = [i["indicator_id"] for i in body["indicators"]]
        assert "DM020" in ids and len(ids) > 20
        dm = next(i for i in body["indicators"] if i["indicator_id"] == "DM020")
        total = next(x for x in dm["rows"] if x["level"] == "icb")
        # 18 in the denominator (6 + 12), 12 in the numerator (3 + 9): rounded to 20 and 10, and the percentage is
        # that of the counts shown, so nothing gives back the exact 12 of 18
        assert (total["code"], total["practices"], total["denominator"], total["numerator"]) == ("QHM", 2, 20, 10)
        assert total["achievement_pct"] == 50.0
        for row in (x for i in body["indicators"] for x in i["rows"]):
            if row["achievement_pct"] is not None:
                assert row["achievement_pct"] == round(100 * row["numerator"] / row["denominator"], 1)
        small = next(x for x in dm["rows"] if x["code"] == PRACTICE)
        assert small["suppressed"] is True and small["numerator"] is None
        assert "patient_id" not in r.text
        other = bearer(app.state.settings, scopes=["analytics:read"], icb="QWE")
        assert (await client.get("/v1/icbs/QHM/benchmarks/indicators", headers=other)).status_code == 403
        practice_token = bearer(app.state.settings, scopes=["indicators:read"], practices=[PRACTICE])
        assert (await client.get("/v1/icbs/QHM/benchmarks/indicators", headers=practice_token)).status_code == 403


async def test_totals_keep_confirmed_provisional_and_incomplete_points_apart(database_url: str) -> None:
    """Issue 8: "its points and £ are flagged; totals show confirmed, provisional and incomplete points apart"."""
    aspirin, chd = "10063011000001103", "22298006"  # ANTIPLAT_COD aspirin 75mg, CHD_COD myocardial infarction
    async with indicators_app(database_url) as (app, client, headers):
        await _practice(app)
        await deliver(app, registered("c1"), recorded("c1", ("c1-dx", chd, date(2015, 1, 1), None),
                                                       ("c1-asp", aspirin, date(2025, 11, 1), None)),
                      on_register("c1", "CHD_REG"))
        body = (await client.get(f"{BASE}/achievement", headers=headers)).json()
        chd005 = indicator(body, "CHD005")
        assert (chd005["readiness"], chd005["standing"]) == ("provisional", "provisional")
        assert "CHDPCADEC_COD" in chd005["missing_clusters"] and "lower bound" in chd005["readiness_note"]
        assert chd005["numerator"] == 1 and chd005["points"] > 0 and chd005["pounds"] > 0
        t = body["totals"]
        by_standing = {s: {i["indicator_id"] for i in body["indicators"] if i["standing"] == s}
                       for s in ("confirmed", "provisional", "incomplete")}
        for s, ids in by_standing.items():
            assert set(t[s]["indicators"]) == ids and ids, s
            assert abs(t[s]["points"] - sum(i["points"] for i in body["indicators"] if i["standing"] == s)) < 0.02
        assert "CHD005" in t["provisional"]["indicators"] and "DM020" in t["confirmed"]["indicators"]
        assert t["incomplete"]["points"] == 0 and t["incomplete"]["max_points"] > 0
        assert abs(t["confirmed"]["points"] + t["provisional"]["points"] - t["points"]) < 0.02
        assert abs(t["confirmed"]["pounds"] + t["provisional"]["pounds"] - t["pounds"]) < 0.05
        dm012 = indicator(body, "DM012")  # a success cluster missing: incomplete, with the reason
        assert dm012["standing"] == "incomplete" and "FRC_COD" in dm012["readiness_note"]
        summary = (await client.get("/v1/rulesets", headers=headers)).json()
        q26 = next(s for s in summary if s["id"] == "qof-2025-26")
        assert (q26["confirmed"], q26["provisional"], q26["incomplete"]) == (9, 9, 26)


async def test_silent_zeros_and_stand_ins_are_findings_in_the_achievement(database_url: str) -> None:
    """Issue 8: "where a success rule needs codes the practice has never recorded ..., or a cluster is served by
    a stand-in, the achievement says so and the data-quality report lists it, instead of a bare 0%"."""
    async with indicators_app(database_url) as (app, client, headers):
        await _practice(app)  # diabetics with HbA1c results, no structured education referral ever recorded
        body = (await client.get(f"{BASE}/achievement", headers=headers)).json()
        dm014 = indicator(body, "DM014")  # "referred to a structured education programme" (DSEP_COD)
        never = [f for f in dm014["findings"] if f["kind"] == "never-recorded"]
        assert never and "DSEP_COD" in never[0]["clusters"] and "never recorded" in never[0]["text"]
        dm020 = indicator(body, "DM020")  # HbA1c is recorded here: no finding about codes
        assert not [f for f in dm020["findings"] if f["kind"] == "never-recorded"]
        listed = {(f["indicator_id"], f["kind"]) for f in body["data_quality"]}
        assert ("DM014", "never-recorded") in listed and ("DM020", "never-recorded") not in listed
        stand_ins = [i for i in body["indicators"] if i["stand_in_clusters"]]
        assert stand_ins and all((i["indicator_id"], "stand-in") in listed for i in stand_ins)
        # as of a date: on 1 September 2025 the October HbA1c results had not been recorded yet
        on = (await client.get(f"{BASE}/achievement?on=2025-09-01", headers=headers)).json()
        assert ("DM020", "never-recorded") in {(f["indicator_id"], f["kind"]) for f in on["data_quality"]}

"""Issue 8, honest partial scoring: "an indicator whose only missing clusters feed PCA, invitation or exception
steps is scored as *provisional (lower bound)*, naming what is missing; its points and £ are flagged". Every way
a figure leaves the service says so: the publication CSV, the FHIR MeasureReport, the ICB benchmarks and the
``indicator.updated`` event (aggregates only)."""

from __future__ import annotations

import csv
import io
from datetime import date

from fastapi import FastAPI

from tests.indicators.service.helpers import (
    PRACTICE,
    deliver,
    diabetic,
    indicators_app,
    on_register,
    recorded,
    registered,
)

BASE = f"/v1/practices/{PRACTICE}"
ASPIRIN, CHD = "10063011000001103", "22298006"  # ANTIPLAT_COD aspirin 75mg, CHD_COD myocardial infarction
# CHD005 (2025/26) reads SALDEC_COD, CHDPCAPU_COD, CHDPCADEC_COD, CHDINVITE_COD in its PCA steps only, and
# none has a public copy: scored as a lower bound. DM020 reads only shipped clusters: confirmed.
CHD005_PCA_CLUSTERS = {"SALDEC_COD", "CHDPCAPU_COD", "CHDPCADEC_COD", "CHDINVITE_COD"}


async def chd_and_diabetes(app: FastAPI, practice: str = PRACTICE) -> None:
    await diabetic(app, f"{practice}-d1", 50.0, practice=practice)
    await deliver(app, registered(f"{practice}-c1", practice=practice),
                  recorded(f"{practice}-c1", (f"{practice}-c1-dx", CHD, date(2015, 1, 1), None),
                           (f"{practice}-c1-asp", ASPIRIN, date(2025, 11, 1), None), practice=practice),
                  on_register(f"{practice}-c1", "CHD_REG", practice=practice))


async def test_the_publication_csv_says_each_figures_standing(sqlite_url: str) -> None:
    """"its points and £ are flagged ... Missing register or success clusters still make it incomplete": every
    row carries STANDING and MISSING_CLUSTERS; an incomplete indicator has an empty value, never a 0."""
    async with indicators_app(sqlite_url) as (app, client, headers):
        await chd_and_diabetes(app)
        r = await client.get(f"{BASE}/export/publication.csv", headers=headers)
        assert r.status_code == 200, r.text
        rows = list(csv.DictReader(io.StringIO(r.text)))
        assert list(rows[0]) == ["PRACTICE_CODE", "INDICATOR_CODE", "MEASURE", "VALUE", "STANDING",
                                 "MISSING_CLUSTERS"]
        chd = [x for x in rows if x["INDICATOR_CODE"] == "CHD005"]
        assert {x["MEASURE"] for x in chd} == {"REGISTER", "DENOMINATOR", "NUMERATOR", "PCAS", "ACHIEVED_POINTS"}
        assert {x["STANDING"] for x in chd} == {"provisional"}
        assert all(set(x["MISSING_CLUSTERS"].split()) >= CHD005_PCA_CLUSTERS for x in chd)
        assert next(x for x in chd if x["MEASURE"] == "NUMERATOR")["VALUE"] == "1"
        dm = [x for x in rows if x["INDICATOR_CODE"] == "DM020"]
        assert {(x["STANDING"], x["MISSING_CLUSTERS"]) for x in dm} == {("confirmed", "")}
        (dm012,) = [x for x in rows if x["INDICATOR_CODE"] == "DM012"]  # FRC_COD feeds its success step
        assert (dm012["MEASURE"], dm012["VALUE"], dm012["STANDING"]) == ("ACHIEVED_POINTS", "", "incomplete")
        assert "FRC_COD" in dm012["MISSING_CLUSTERS"].split()


async def test_the_measure_report_says_a_lower_bound_in_an_extension_and_its_narrative(sqlite_url: str) -> None:
    async with indicators_app(sqlite_url) as (app, client, headers):
        await chd_and_diabetes(app)
        mr = (await client.get(f"{BASE}/indicators/CHD005/measure-report", headers=headers)).json()
        (ext,) = [e for e in mr["extension"]
                  if e["url"] == "https://qof-platform.example/StructureDefinition/qof-standing"]
        parts = [(p["url"], p.get("valueCode") or p.get("valueString")) for p in ext["extension"]]
        assert parts[0] == ("standing", "provisional")
        assert {v for k, v in parts if k == "missingCluster"} >= CHD005_PCA_CLUSTERS
        assert mr["text"]["status"] == "generated" and "lower bound" in mr["text"]["div"]
        assert "CHDPCADEC_COD" in mr["text"]["div"]
        pops = {p["code"]["coding"][0]["code"]: p["count"] for p in mr["group"][0]["population"]}
        assert pops["numerator"] == 1

        dm = (await client.get(f"{BASE}/indicators/DM020/measure-report", headers=headers)).json()
        (ext,) = dm["extension"]
        assert ext["extension"] == [{"url": "standing", "valueCode": "confirmed"}]
        assert "Confirmed" in dm["text"]["div"]

"""Issue 8, honest partial scoring: "an indicator whose only missing clusters feed PCA, invitation or exception
steps is scored as *provisional (lower bound)*, naming what is missing; its points and £ are flagged". Every way
a figure leaves the service says so: the publication CSV, the FHIR MeasureReport, the ICB benchmarks and the
``indicator.updated`` event (aggregates only)."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

from fastapi import FastAPI

from services.indicators.service.kernel import Kernel
from shared.events.schemas import IndicatorUpdated
from shared.testing import bearer
from tests.codelists.test_release_api import all_clusters, upload
from tests.codelists.test_release_import import HEADER, code
from tests.indicators.service.helpers import (
    DM,
    HBA1C,
    PRACTICE,
    TODAY,
    deliver,
    diabetic,
    indicators_app,
    on_register,
    outbox,
    recorded,
    registered,
    settings,
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


async def test_icb_benchmarks_mark_a_provisional_indicator(sqlite_url: str) -> None:
    """Aggregates only: the standing is the indicator's (the same for every practice under the active release),
    said beside the rows so a lower bound is never compared as a confirmed figure."""
    async with indicators_app(sqlite_url) as (app, client, _headers):
        await chd_and_diabetes(app)
        analyst = bearer(app.state.settings, scopes=["analytics:read"], icb="QHM")
        one = (await client.get("/v1/icbs/QHM/benchmarks?indicator=CHD005&ruleset=qof-2025-26",
                                headers=analyst)).json()
        assert one["standing"] == "provisional" and set(one["missing_clusters"]) >= CHD005_PCA_CLUSTERS
        assert "lower bound" in one["standing_note"] and one["rows"]
        dm = (await client.get("/v1/icbs/QHM/benchmarks?indicator=DM020&ruleset=qof-2025-26",
                               headers=analyst)).json()
        assert (dm["standing"], dm["missing_clusters"], dm["standing_note"]) == ("confirmed", [], "")
        every = (await client.get("/v1/icbs/QHM/benchmarks/indicators?ruleset=qof-2025-26", headers=analyst)).json()
        by_id = {i["indicator_id"]: i for i in every["indicators"]}
        assert by_id["CHD005"]["standing"] == "provisional" and by_id["DM020"]["standing"] == "confirmed"
        # "Missing register or success clusters still make it incomplete": listed, no rows, the reason said
        assert (by_id["DM012"]["standing"], by_id["DM012"]["rows"]) == ("incomplete", [])
        assert "FRC_COD" in by_id["DM012"]["standing_note"]
        assert "patient_id" not in str(every)


async def test_indicator_updated_says_a_provisional_figure(sqlite_url: str) -> None:
    async with indicators_app(sqlite_url) as (app, _client, _headers):
        await chd_and_diabetes(app)
        events = await outbox(app, "indicator.updated")
        chd = [e for e in events if e["indicator_id"] == "CHD005"]
        assert chd and chd[-1]["standing"] == "provisional" and chd[-1]["numerator"] == 1
        assert set(chd[-1]["missing_clusters"]) >= CHD005_PCA_CLUSTERS
        dm = [e for e in events if e["indicator_id"] == "DM020"]
        assert (dm[-1]["standing"], dm[-1]["missing_clusters"]) == ("confirmed", [])
        assert not {k for e in events for k in e} & {"patient_id", "nhs_number", "date_of_birth"}


def test_indicator_updated_v1_without_the_standing_still_reads() -> None:
    """Shared schemas: "additive optional fields keep the version": an event published before the standing
    existed is still a valid v1 payload (standing unknown, no clusters named)."""
    old = {"practice_ods": PRACTICE, "indicator_id": "DM020", "ruleset": "qof-2025-26",
           "achievement_date": "2026-01-15", "register_size": 6, "denominator": 6, "numerator": 3, "pcas": 0,
           "achievement_pct": 50.0, "points": 10.0, "max_points": 17.0, "pounds": 2000.0}
    e = IndicatorUpdated.model_validate(old)
    assert (e.standing, e.missing_clusters, e.schema_uri()) == (None, [], "urn:qof-platform:event:indicator.updated:v1")


async def test_a_release_that_only_confirms_a_figure_announces_it(sqlite_url: str, tmp_path: Path) -> None:
    """A release carrying CHD005's PCA clusters (test-only codes no patient has) leaves its counts as they were
    and turns the lower bound into a confirmed figure: ``indicator.updated`` says so, though no count moved."""
    kernel = Kernel(today=lambda: TODAY)  # a release switches the kernel it is applied to: not the shared one
    async with indicators_app(sqlite_url, compiled=kernel, data_dir=tmp_path / "var") as (app, client, headers):
        await chd_and_diabetes(app)
        published = [e for e in await outbox(app, "indicator.updated") if e["indicator_id"] == "CHD005"]
        before = published[-1]
        assert before["standing"] == "provisional"
        real = {"CHD_COD": [CHD], "ANTIPLAT_COD": [ASPIRIN], "DM_COD": [DM], "IFCCHBAM_COD": [HBA1C]}
        buf = io.StringIO()
        w = csv.writer(buf, delimiter="\t", lineterminator="\n")
        w.writerow(HEADER)
        for i, name in enumerate(all_clusters(), start=1):
            refset = code(900000 + i)
            for c in [code(10 * i + 1), *real.get(name, [])]:
                w.writerow([name, f"{name} TEST ONLY", c, "TEST ONLY concept", refset, "QOF TEST"])
        admin = bearer(settings(sqlite_url), scopes=["admin"])
        r = await client.post("/v1/codelists/releases", headers=admin, **upload(buf.getvalue().encode(), "t1"))
        assert r.status_code == 200, r.text
        assert (await client.post("/v1/codelists/releases/t1/apply", headers=admin)).status_code == 200
        after = [e for e in await outbox(app, "indicator.updated") if e["indicator_id"] == "CHD005"][len(published):]
        assert [(e["standing"], e["missing_clusters"]) for e in after] == [("confirmed", [])]
        counts = ("register_size", "denominator", "numerator", "pcas", "points")
        assert [after[0][k] for k in counts] == [before[k] for k in counts]
        body = (await client.get(f"{BASE}/indicators/CHD005", headers=headers)).json()
        assert (body["standing"], body["numerator"]) == ("confirmed", 1)

"""Issue 8, silent zeros are findings: "where a success rule needs codes the practice has never recorded (e.g.
asthma review components), or a cluster is served by a stand-in, the achievement says so and the data-quality
report lists it, instead of a bare 0%". The scoring findings' report is the indicators service's
``GET /v1/practices/{ods}/data-quality``; the record's own is registers' ``/quality`` (registers never calls
indicators)."""

from __future__ import annotations

import ast
from datetime import date
from pathlib import Path

from shared.testing import bearer
from tests.indicators.service.helpers import PRACTICE, SAME_PCN, diabetic, indicators_app

BASE = f"/v1/practices/{PRACTICE}"


async def test_the_data_quality_report_lists_the_scoring_findings_as_of_a_date(sqlite_url: str) -> None:
    async with indicators_app(sqlite_url) as (app, client, headers):
        await diabetic(app, f"{PRACTICE}-d1", 50.0, when=date(2025, 10, 1))  # HbA1c, never a DSEP_COD referral
        r = await client.get(f"{BASE}/data-quality?on=2026-01-15", headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["qof_year"], body["achievement_date"]) == ("2025/26", "2026-01-15")
        listed = {(f["indicator_id"], f["kind"]): f for f in body["findings"]}
        # DM014: "referred to a structured education programme" (DSEP_COD), never recorded at this practice
        dm014 = listed[("DM014", "never-recorded")]
        assert "DSEP_COD" in dm014["clusters"] and "never recorded" in dm014["text"]
        assert ("DM020", "never-recorded") not in listed  # the HbA1c is recorded
        assert body["counts"]["never-recorded"] == sum(1 for f in body["findings"] if f["kind"] == "never-recorded")
        assert "registers" in body["record_quality"]
        # the same findings as the achievement's data_quality list
        achievement = (await client.get(f"{BASE}/achievement?on=2026-01-15", headers=headers)).json()
        assert achievement["data_quality"] == body["findings"]
        # and the registers the year scores nothing on, as the achievement says them (OST004 retired in 2025/26)
        assert body["registers_not_scored"] == achievement["registers_not_scored"]
        assert "OSTEO_REG" in body["registers_not_scored"] and "DM_REG" not in body["registers_not_scored"]
        # as of a date: before the October HbA1c result, DM020's success codes had never been recorded
        before = (await client.get(f"{BASE}/data-quality?on=2025-09-01", headers=headers)).json()
        assert ("DM020", "never-recorded") in {(f["indicator_id"], f["kind"]) for f in before["findings"]}
        # a practice sees only its own report
        other = bearer(app.state.settings, scopes=["indicators:read"], practices=[SAME_PCN])
        assert (await client.get(f"{BASE}/data-quality", headers=other)).status_code == 403


def test_registers_never_calls_indicators() -> None:
    """Dependency direction: indicators reads registers' events; registers imports nothing of indicators."""
    for path in (Path(__file__).parents[3] / "services" / "registers").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        assert not [m for m in imported if m.startswith("services.indicators")], path
        assert "/data-quality" not in path.read_text(encoding="utf-8"), path

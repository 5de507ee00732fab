"""QOF 2026/27 as data: totals, the indicator list and the provenance carried from the reference.

Reference (shared/reference/qof-2026-27/, the reference as published in ../shared/reference/qof-2026-27/):
"43 indicators, 582 points: Clinical 437, Public Health 145 [S]"; "£ per point £227.95 and national average
list size 10,349 [U, one tool] ... keep both as [U] settings data until the Statement of Financial Entitlements
is read".
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from services.indicators.domain import available_rulesets, compile_ruleset, load_ruleset
from services.indicators.domain.scoring import improvement_baseline, improvement_points, points_with_improvement

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "qof-2026-27" / "indicators_2026_27.csv"


def _reference_rows() -> dict[str, dict[str, str]]:
    with REFERENCE.open(newline="") as fh:
        return {r["indicator"]: r for r in csv.DictReader(fh) if r["status_vs_2025_26"] != "RETIRED"}


def test_2026_27_totals_43_indicators_582_points():
    rs = load_ruleset("qof-2026-27")
    assert "qof-2026-27" in available_rulesets()
    assert (len(rs.indicators), rs.total_points) == (43, 582)
    by_domain: dict[str, float] = {}
    for i in rs.indicators:
        by_domain[i.domain.lower()] = by_domain.get(i.domain.lower(), 0) + i.points.value
    assert by_domain == {"clinical": 437, "public health": 145}
    assert (rs.settings.start, rs.settings.pped) == (date(2026, 4, 1), date(2027, 3, 31))


def test_every_indicator_points_and_thresholds_as_the_reference():
    rows = _reference_rows()
    rs = load_ruleset("qof-2026-27")
    assert {i.id for i in rs.indicators} == set(rows)
    for ind in rs.indicators:
        r = rows[ind.id]
        assert ind.points.value == int(r["points"]), ind.id
        assert ind.lower_threshold is not None and ind.upper_threshold is not None
        assert (ind.lower_threshold.value, ind.upper_threshold.value) == (
            int(r["lower_threshold"]), int(r["upper_threshold"])), ind.id


def test_retired_and_changed_points():
    rs = load_ruleset("qof-2026-27")
    ids = {i.id for i in rs.indicators}
    gone = {"CHD015", "CHD016", "STIA014", "STIA015", "HYP008", "HYP009", "HF003", "HF006", "DM012", "NDH002",
            "AST007", "AST012"}
    assert ids.isdisjoint(gone)
    assert {"CD001", "CD002", "HYP010", "HYP011", "HF009", "DM037", "NDH003", "AST014", "AST015", "OB004",
            "OB005"} <= ids
    # "CHOL003 38 -> 20"; "DM034 / DM035 4 -> 8 / 2 -> 8"
    assert [rs.indicator(i).points.value for i in ("CHOL003", "DM034", "DM035")] == [20, 8, 8]
    # AF006 "upper threshold is quoted as 95 (our 2025/26 data has 90 [U])": the 2026/27 figure, with the note
    af = rs.indicator("AF006").upper_threshold
    assert af is not None and af.value == 95 and "90" in (af.note or "")


def test_new_indicators_carry_the_reference_provenance():
    rs = load_ruleset("qof-2026-27")
    for iid in ("CD001", "HF009", "DM037", "NDH003", "OB004", "OB005", "CHOL003"):
        ind = rs.indicator(iid)
        assert ind.points.confidence == "S" and "indicators_2026_27.csv" in ind.points.source, iid
    s = rs.settings
    assert (s.pound_per_point.value, s.pound_per_point.confidence) == (227.95, "U")
    assert (s.national_average_list_size.value, s.national_average_list_size.confidence) == (10349, "U")


def test_missing_clusters_are_reported_never_invented(library):
    """A cluster with no public copy makes its indicator not scorable, naming the cluster."""
    engine = compile_ruleset(load_ruleset("qof-2026-27"), library)
    assert {"WMPREF_COD"} <= set(engine.incomplete["OB004"])
    assert {"UACR_COD", "FRC_COD"} <= set(engine.incomplete["DM037"])
    assert {"MRA_COD", "SGLT2_COD"} <= set(engine.incomplete["HF009"])
    assert "MMRVVAC_COD" in engine.incomplete["VI002"]


def test_vaccination_improvement_route_is_data_with_open_figures_marked():
    """"a practice may instead earn points on a sliding scale for improving on its own baseline (a two-year
    average); at year end it is paid the higher of the two. The lower improvement threshold is five percentage
    points; the rest of the scale is not yet confirmed"."""
    rs = load_ruleset("qof-2026-27")
    for iid in ("VI001", "VI002", "VI003"):
        route = rs.indicator(iid).improvement
        assert route is not None and route.baseline_years == 2
        assert (route.lower_gain_pp.value, route.lower_gain_pp.confidence) == (5, "S")
        assert route.upper_gain_pp.confidence == "U"
    assert rs.indicator("VI004").improvement is None
    route = rs.indicator("VI002").improvement
    assert route is not None
    assert improvement_baseline([80.0, 84.0]) == 82.0
    assert improvement_baseline([80.0, None]) is None  # a year that cannot be computed: no baseline
    assert improvement_baseline([80.0]) is None
    # 5 points above the baseline earns nothing; the upper gain earns all
    assert improvement_points(87.0, 82.0, 18, route) == 0.0
    assert improvement_points(82.0 + route.upper_gain_pp.value, 82.0, 18, route) == 18
    # VI002 thresholds 86-96: 84% earns nothing by threshold, but improvement on a 75% baseline pays
    assert points_with_improvement(84.0, 75.0, 18, 86, 96, route) > 0
    assert points_with_improvement(84.0, None, 18, 86, 96, route) == 0.0
    assert points_with_improvement(96.0, 95.0, 18, 86, 96, route) == 18  # the higher of the two

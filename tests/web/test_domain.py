"""The web app's pure view logic: traffic lights against the thresholds, the trajectory's geometry, the
CSV export's cells."""

from __future__ import annotations

import csv
import io
from datetime import date

from services.web.domain.charts import bar, trajectory
from services.web.domain.overview import certainty, overview, traffic_light
from services.web.domain.worklists import Gap, Row, csv_text


def test_traffic_light_follows_the_thresholds() -> None:
    """QOF pays nothing below the lower threshold, part of the points between the thresholds and all of them
    at or above the upper one: red, amber and green say the same, with the thresholds named."""
    assert traffic_light(34.9, 35, 75)[0] == "red"
    assert traffic_light(35.0, 35, 75)[0] == "amber"
    assert traffic_light(74.9, 35, 75)[0] == "amber"
    light, text = traffic_light(75.0, 35, 75)
    assert light == "green" and "75%" in text
    assert traffic_light(None, 35, 75)[0] == "none" and traffic_light(50.0, None, None)[0] == "none"


def test_bar_marks_thresholds_and_projection_on_the_same_scale() -> None:
    b = bar(50.0, 35, 75, 80.0)
    assert (b.fill, b.lower_x, b.upper_x, b.projected_x) == (120.0, 84.0, 180.0, 192.0)
    assert "achieved 50.0%" in b.label and "thresholds 35% and 75%" in b.label
    assert bar(130.0, None, None, None).fill == b.width  # never drawn past the end


def test_trajectory_runs_from_april_to_march_with_today_and_the_projection() -> None:
    start, today = date(2026, 4, 1), date(2026, 12, 3)
    c = trajectory([("2026-10", 40.0), ("2026-11", 60.0), ("2026-12", 80.0)], start, 582, 120.0, today, 80.0)
    xs = [x for x, _y, _label in c.actual_dots]
    assert xs == sorted(xs) and len(xs) == 3  # October and November month ends, then today
    assert c.actual_dots[-1][2] == "2026-12-03: 80.0 points"
    assert c.x_ticks[0].label == "Apr" and c.x_ticks[-1].label == "Mar" and len(c.x_ticks) == 12
    end_x, end_y, label = c.projection_end or (0, 0, "")
    assert end_x == c.left + c.plot_w and label.startswith("projected 120.0 points on 2027-03-31")
    assert end_y < c.actual_dots[-1][1]  # higher on the page: more points
    assert c.max_line_y is None  # 582 is off a scale that ends at 200


def test_csv_has_the_nhs_number_per_gap_and_no_formula_cells() -> None:
    rows = [Row("p1", "9990000115", "Ann =SMITH", 70, [
        Gap("DM020", "=HYPERLINK(\"x\")", "latest HbA1c 71", "rule 2: ...", None, 16.28),
        Gap("HYP010", "last BP ≤ 140/90", "", "", 12, None)])]
    parsed = list(csv.DictReader(io.StringIO(csv_text(rows))))
    assert [(r["NHS number"], r["Indicator"]) for r in parsed] == [("9990000115", "DM020"), ("9990000115", "HYP010")]
    assert parsed[0]["Action"].startswith("'=") and parsed[0]["£ per review"] == "16.28"
    assert parsed[1]["Days left"] == "12" and parsed[0]["Name"] == "Ann =SMITH"


def test_the_indicators_services_standing_decides_before_freshness() -> None:
    """An indicator scored without some PCA clusters is a lower bound (the indicators service's "provisional"
    standing): never shown as confirmed, whatever the freshness; an incomplete one says why."""
    base = {"readiness": "ready", "standing": "confirmed", "missing_clusters": [], "stand_in_clusters": [],
            "points": 5.0}
    assert certainty(base, False, "2026-12-03T10:00:00")[0] == "confirmed"
    assert certainty(base, True, None) == ("provisional", "record changes received are still being applied")
    lower = {**base, "readiness": "provisional", "standing": "provisional", "missing_clusters": ["XPCA_COD"],
             "readiness_note": "PCA step 5 left out"}
    assert certainty(lower, False, None) == ("provisional", "a lower bound: PCA step 5 left out")
    gone = {**base, "readiness": "incomplete", "standing": "incomplete", "missing_clusters": ["X_COD"]}
    assert certainty(gone, False, None) == ("incomplete", "not scored: no public copy of X_COD")


def test_at_stake_keeps_apart_the_points_no_pound_can_be_set_beside() -> None:
    """At stake is what the practice can still earn: £ for the points of indicators it is scored on; the points of
    an indicator that cannot be scored yet are named apart, never counted as £0 at stake."""
    def ind(iid: str, points: float, pounds: float | None, readiness: str) -> dict[str, object]:
        return {"indicator_id": iid, "wording": iid, "group": "DM", "kind": "patient", "numerator": 5,
                "denominator": 10, "achievement_pct": 50.0, "points": points, "max_points": 10.0,
                "pounds": pounds, "cpi": None if readiness == "incomplete" else 1.0, "apdf": 1.0,
                "lower_threshold": {"value": 40}, "upper_threshold": {"value": 70}, "readiness": readiness,
                "standing": readiness if readiness != "ready" else "confirmed",
                "missing_clusters": ["X_COD"] if readiness == "incomplete" else [], "stand_in_clusters": []}

    achievement = {
        "practice": "A81001", "qof_year": "2026/27", "view": "today", "achievement_date": "2026-12-03",
        "pped": "2027-03-31", "freshness": {}, "indicators": [ind("DM020", 4.0, 800.0, "ready"),
                                                              ind("DM999", 0.0, None, "incomplete")],
        "totals": {"points": 4.0, "max_points": 20.0, "pounds": 800.0, "incomplete_indicators": ["DM999"]},
    }
    o = overview(achievement, None, None, pound_per_point=200.0)
    assert (o.points_at_stake, o.pounds_at_stake, o.points_unscored) == (6.0, 1200.0, 10.0)

"""The QOF overview of a practice from the indicators service's answers: totals, a bar and traffic light per
indicator, how sure each figure is, and the monthly trajectory with the year-end projection. Pure functions."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from services.web.domain.charts import Bar, LineChart, bar, trajectory


@dataclass(frozen=True)
class IndicatorRow:
    indicator_id: str
    wording: str
    group: str
    numerator: int
    denominator: int
    pct: float | None
    points: float
    max_points: float
    pounds: float | None
    lower: float | None
    upper: float | None
    projected_pct: float | None
    light: str  # green | amber | red | none
    light_text: str
    certainty: str  # confirmed | provisional | incomplete
    why: str
    bar: Bar | None
    worklist: bool  # has patients in the denominator outside the numerator


@dataclass(frozen=True)
class Overview:
    practice: str
    qof_year: str
    note: str
    achievement_date: date
    pped: date
    days_left: int
    view: str
    points: float
    max_points: float
    pounds: float
    pounds_at_stake: float
    points_at_stake: float
    points_unscored: float  # the points of indicators that cannot be scored yet: at stake, but with no £ known
    projected_points: float | None
    projected_pounds: float | None
    certainty: str
    certainty_why: list[str]
    indicators: list[IndicatorRow]
    chart: LineChart | None
    months: list[tuple[str, float]] = field(default_factory=list)


def traffic_light(pct: float | None, lower: float | None, upper: float | None) -> tuple[str, str]:
    if pct is None or lower is None or upper is None:
        return "none", "no threshold or nobody in the denominator"
    if pct >= upper:
        return "green", f"at or above the upper threshold ({upper:g}%): full points"
    if pct >= lower:
        return "amber", f"between the thresholds ({lower:g}% to {upper:g}%): part of the points"
    return "red", f"below the lower threshold ({lower:g}%): no points yet"


def pounds_per_point(i: dict[str, Any], pound_per_point: float) -> float | None:
    """£ one point of this indicator is worth at this practice (CPI, and APDF where it is prevalence-adjusted)."""
    if i.get("points") and i.get("pounds") is not None:
        return float(i["pounds"]) / float(i["points"])
    if i.get("cpi") is None:
        return None
    return pound_per_point * float(i["cpi"]) * float(i.get("apdf") or 1.0)


def certainty(i: dict[str, Any], provisional: bool, as_of: str | None) -> tuple[str, str]:
    """The indicators service's own standing first (incomplete; provisional: a lower bound), then whether the
    practice's figures are still catching up, then stand-in codelists."""
    note = i.get("readiness_note") or ""
    if i["readiness"] == "incomplete" or i.get("standing") == "incomplete":
        return "incomplete", note or "not scored: no public copy of " + ", ".join(i["missing_clusters"])
    if i["readiness"] == "attestation":
        reasons = "; ".join(i.get("attestation_reasons") or []) or "declared by the practice"
        return ("confirmed" if i["points"] else "provisional"), f"attestation: {reasons}"
    if provisional:
        return "provisional", "record changes received are still being applied"
    if i["readiness"] == "provisional" or i.get("standing") == "provisional":
        return "provisional", "a lower bound: " + (note or "scored without " + ", ".join(i["missing_clusters"]))
    if i["stand_in_clusters"]:
        return "provisional", "a stand-in codelist is used for " + ", ".join(i["stand_in_clusters"])
    when = f" as of {as_of[:16].replace('T', ' ')}" if as_of else ""
    return "confirmed", f"every change received is applied{when}; every cluster from a published codelist"


def monthly_points(history: dict[str, Any]) -> list[tuple[str, float]]:
    per: dict[str, float] = defaultdict(float)
    for ind in history.get("indicators", []):
        for m in ind["months"]:
            per[m["month"]] += float(m["points"])
    return sorted(per.items())


def overview(achievement: dict[str, Any], projection: dict[str, Any] | None, history: dict[str, Any] | None,
             pound_per_point: float) -> Overview:
    a = achievement
    fresh = a.get("freshness") or {}
    provisional = bool(fresh.get("provisional"))
    projected = {p["indicator_id"]: p for p in (projection or {}).get("indicators", [])}
    rows: list[IndicatorRow] = []
    at_stake_points = at_stake_pounds = unscored = 0.0
    for i in a["indicators"]:
        lower = (i.get("lower_threshold") or {}).get("value")
        upper = (i.get("upper_threshold") or {}).get("value")
        pct = i.get("achievement_pct")
        light, light_text = traffic_light(pct, lower, upper)
        sure, why = certainty(i, provisional, fresh.get("as_of"))
        missing = float(i["max_points"]) - float(i["points"])
        per = pounds_per_point(i, pound_per_point)
        if sure == "incomplete" or per is None:
            unscored += missing  # no achievement and no £ to set beside the points
        else:
            at_stake_points += missing
            at_stake_pounds += missing * per
        proj = projected.get(i["indicator_id"], {}).get("projected_pct")
        rows.append(IndicatorRow(
            i["indicator_id"], i["wording"], i["group"], i["numerator"], i["denominator"], pct, i["points"],
            i["max_points"], i.get("pounds"), lower, upper, proj, light, light_text, sure, why,
            bar(pct, lower, upper, proj) if sure != "incomplete" and i["kind"] == "patient" else None,
            i["kind"] == "patient" and i["denominator"] > i["numerator"]))
    reasons = []
    if provisional:
        reasons.append(f"{fresh.get('pending_events', 0)} record changes received are still being applied")
    incomplete = a["totals"]["incomplete_indicators"]
    if incomplete:
        reasons.append(f"{len(incomplete)} indicators cannot be scored yet (a cluster has no public copy): "
                       + ", ".join(incomplete))
    lower = [r.indicator_id for r in rows if r.certainty == "provisional" and r.why.startswith("a lower bound")]
    if lower:
        reasons.append("points and £ are a lower bound (scored without some PCA clusters) in " + ", ".join(lower))
    stand_in = [r.indicator_id for r in rows if r.certainty == "provisional" and "stand-in" in r.why]
    if stand_in:
        reasons.append("stand-in codelists in " + ", ".join(stand_in))
    overall = "provisional" if provisional or stand_in or lower else ("incomplete" if incomplete else "confirmed")
    months = monthly_points(history or {})
    start = date.fromisoformat(a["pped"]).replace(year=date.fromisoformat(a["pped"]).year - 1, day=1, month=4)
    projected_points = projection.get("projected_points") if projection else None
    chart = trajectory(months, start, float(a["totals"]["max_points"]), projected_points,
                       date.fromisoformat(a["achievement_date"]), float(a["totals"]["points"]))
    day, pped = date.fromisoformat(a["achievement_date"]), date.fromisoformat(a["pped"])
    return Overview(
        practice=a["practice"], qof_year=a["qof_year"], note=a.get("note") or "", achievement_date=day, pped=pped,
        days_left=(pped - day).days, view=a["view"], points=a["totals"]["points"],
        max_points=a["totals"]["max_points"], pounds=a["totals"]["pounds"],
        pounds_at_stake=round(at_stake_pounds, 2), points_at_stake=round(at_stake_points, 2),
        points_unscored=round(unscored, 2),
        projected_points=projected_points, projected_pounds=projection.get("projected_pounds") if projection else None,
        certainty=overall, certainty_why=reasons,
        indicators=sorted(rows, key=lambda r: ({"red": 0, "amber": 1, "green": 2, "none": 3}[r.light], r.indicator_id)),
        chart=chart, months=months,
    )

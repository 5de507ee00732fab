"""Worklist rows: the indicators service's gaps joined, at display time, to the identities registers returns
for the same user. Nothing here is stored; the CSV is built per request for the clinical system's import."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from typing import Any

from shared.qof.age import age_in_years


@dataclass(frozen=True)
class Identity:
    nhs_number: str
    name: str
    date_of_birth: date

    def age_on(self, day: date) -> int:
        return age_in_years(self.date_of_birth, day)


def identities(patients: list[dict[str, Any]]) -> dict[str, Identity]:
    out = {}
    for p in patients:
        name = " ".join(x for x in (p.get("given_name"), (p.get("family_name") or "").upper()) if x) or "(no name)"
        out[p["id"]] = Identity(p["nhs_number"], name, date.fromisoformat(p["date_of_birth"]))
    return out


@dataclass(frozen=True)
class Gap:
    indicator_id: str
    closes: str
    why: str  # the findings in one line
    rule: str  # the rule step that decided, with its text
    days_left: int | None
    pounds: float | None


@dataclass(frozen=True)
class Row:
    patient_id: str
    nhs_number: str
    name: str
    age: int | None
    gaps: list[Gap]

    @property
    def pounds(self) -> float:
        return round(sum(g.pounds or 0.0 for g in self.gaps), 2)


def _person(pid: str, ids: dict[str, Identity], day: date) -> tuple[str, str, int | None]:
    i = ids.get(pid)
    if i is None:  # not found in registers for this user: shown as such, never guessed
        return "not found", "(not in registers)", None
    return i.nhs_number, i.name, i.age_on(day)


def gap_of(item: dict[str, Any], pounds: float | None = None) -> Gap:
    why = item.get("because") or "; ".join(f["text"] for f in item.get("unmet") or []) or ""
    step = item.get("why") or {}
    rule = f"rule {step.get('rule')}: {step.get('text')}" if step.get("rule") else ""
    return Gap(item["indicator_id"], item.get("closes") or "", why, rule, item.get("days_left"), pounds)


def indicator_rows(worklist: dict[str, Any], ids: dict[str, Identity], day: date) -> list[Row]:
    per = worklist.get("pounds_per_remaining_patient")
    return [Row(i["patient_id"], *_person(i["patient_id"], ids, day), [gap_of(i, per)]) for i in worklist["items"]]


def next_best_rows(ranked: dict[str, Any], details: dict[tuple[str, str], dict[str, Any]], ids: dict[str, Identity],
                   day: date) -> list[Row]:
    """``details``: (patient, indicator) -> the gap item with its why-trace, where the page has it."""
    rows = []
    for x in ranked["items"]:
        gaps = []
        for g in x["gaps"]:
            item = details.get((x["patient_id"], g["indicator_id"]))
            gaps.append(gap_of(item, g["pounds"]) if item else
                        Gap(g["indicator_id"], g.get("closes") or "", "", "", g.get("days_left"), g["pounds"]))
        rows.append(Row(x["patient_id"], *_person(x["patient_id"], ids, day), gaps))
    return rows


CSV_COLUMNS = ["NHS number", "Name", "Age", "Indicator", "Action", "Days left", "Why", "£ per review"]


def csv_text(rows: list[Row]) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)
    for r in rows:
        for g in r.gaps:
            w.writerow([r.nhs_number, _safe(r.name), "" if r.age is None else r.age, g.indicator_id, _safe(g.closes),
                        "" if g.days_left is None else g.days_left, _safe(g.why),
                        "" if g.pounds is None else f"{g.pounds:.2f}"])
    return out.getvalue()


def _safe(text: str) -> str:
    """Keep a spreadsheet from reading a cell as a formula (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text

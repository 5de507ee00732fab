"""Exports: NHS England's long publication format and a FHIR R4 MeasureReport per indicator.

Both say each figure's standing (confirmed, provisional with the clusters it was scored without, incomplete):
the CSV in two columns after the publication's four, the MeasureReport in an extension and its narrative.
"""

from __future__ import annotations

import csv
import html
import io
from typing import Any

from fhir.resources.R4B.measurereport import MeasureReport

from services.indicators.service.achievement import Achievement
from services.indicators.service.scoring import Result

MEASURE_BASE = "https://qof-platform.example/Measure"
POPULATION = "http://terminology.hl7.org/CodeSystem/measure-population"
STANDING_EXTENSION = "https://qof-platform.example/StructureDefinition/qof-standing"
STANDING_TEXT = {
    "confirmed": "Confirmed: scored with every cluster its rules read.",
    "provisional": "Provisional (lower bound): scored without codes for {missing}; achievement, points and £ can "
                   "only rise once they are recorded.",
}


def publication_csv(a: Achievement) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["PRACTICE_CODE", "INDICATOR_CODE", "MEASURE", "VALUE", "STANDING", "MISSING_CLUSTERS"])
    for r in a.results:
        standing = [r.standing, " ".join(r.missing_clusters)]
        if r.readiness == "incomplete":
            # not scored: no figure, never a 0 that reads as achieved nothing
            w.writerow([a.practice, r.indicator.id, "ACHIEVED_POINTS", "", *standing])
            continue
        s = r.score
        if r.readiness != "attestation":
            for measure, value in (
                ("REGISTER", s.register_size),
                ("DENOMINATOR", s.denominator),
                ("NUMERATOR", s.numerator),
                ("PCAS", r.pcas_total),
            ):
                w.writerow([a.practice, r.indicator.id, measure, value, *standing])
        w.writerow([a.practice, r.indicator.id, "ACHIEVED_POINTS", f"{s.points:.2f}", *standing])
    return buf.getvalue()


def standing_extension(r: Result) -> dict[str, Any]:
    """A complex extension: ``standing`` (confirmed | provisional) and one ``missingCluster`` per cluster."""
    parts: list[dict[str, Any]] = [{"url": "standing", "valueCode": r.standing}]
    parts += [{"url": "missingCluster", "valueString": c} for c in r.missing_clusters]
    return {"url": STANDING_EXTENSION, "extension": parts}


def standing_narrative(r: Result) -> dict[str, str]:
    said = STANDING_TEXT[r.standing].format(missing=", ".join(r.missing_clusters))
    return {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml"><p>{html.escape(said)}</p></div>'}


def _population(code: str, count: int) -> dict[str, Any]:
    return {"code": {"coding": [{"system": POPULATION, "code": code}]}, "count": count}


def measure_report(a: Achievement, r: Result) -> dict[str, Any]:
    s = r.score
    report = MeasureReport.model_validate(
        {
            "resourceType": "MeasureReport",
            "text": standing_narrative(r),
            "extension": [standing_extension(r)],
            "status": "complete",
            "type": "summary",
            "measure": f"{MEASURE_BASE}/{r.ruleset.id}/{r.indicator.id}",
            "date": a.period.achievement_date.isoformat(),
            "period": {"start": r.ruleset.settings.start.isoformat(), "end": a.period.achievement_date.isoformat()},
            "reporter": {"identifier": {"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": a.practice}},
            "group": [
                {
                    "code": {"text": r.indicator.wording[:500] or r.indicator.id},
                    "population": [
                        _population("initial-population", s.register_size),
                        _population("denominator", s.denominator + r.pcas_total),
                        _population("denominator-exclusion", r.pcas_total),
                        _population("numerator", s.numerator),
                    ],
                    **(
                        {"measureScore": {"value": round(s.achievement_pct / 100, 6)}}
                        if s.achievement_pct is not None
                        else {}
                    ),
                }
            ],
        }
    )
    return report.model_dump(mode="json", exclude_none=True)

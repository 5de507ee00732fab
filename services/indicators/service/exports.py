"""Exports: NHS England's long publication format and a FHIR R4 MeasureReport per indicator."""

from __future__ import annotations

import csv
import io
from typing import Any

from fhir.resources.R4B.measurereport import MeasureReport

from services.indicators.service.achievement import Achievement
from services.indicators.service.scoring import Result

MEASURE_BASE = "https://qof-platform.example/Measure"
POPULATION = "http://terminology.hl7.org/CodeSystem/measure-population"


def publication_csv(a: Achievement) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["PRACTICE_CODE", "INDICATOR_CODE", "MEASURE", "VALUE"])
    for r in a.results:
        if r.readiness == "incomplete":
            continue
        s = r.score
        if r.readiness != "attestation":
            for measure, value in (
                ("REGISTER", s.register_size),
                ("DENOMINATOR", s.denominator),
                ("NUMERATOR", s.numerator),
                ("PCAS", r.pcas_total),
            ):
                w.writerow([a.practice, r.indicator.id, measure, value])
        w.writerow([a.practice, r.indicator.id, "ACHIEVED_POINTS", f"{s.points:.2f}"])
    return buf.getvalue()


def _population(code: str, count: int) -> dict[str, Any]:
    return {"code": {"coding": [{"system": POPULATION, "code": code}]}, "count": count}


def measure_report(a: Achievement, r: Result) -> dict[str, Any]:
    s = r.score
    report = MeasureReport.model_validate(
        {
            "resourceType": "MeasureReport",
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

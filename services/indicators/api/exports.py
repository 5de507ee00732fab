"""Exports: NHS England publication CSV and FHIR R4 MeasureReport."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse

from services.indicators.api.achievement import OnQuery
from services.indicators.api.deps import KernelDep, Reader, ScoringRead
from services.indicators.service.achievement import achievement
from services.indicators.service.exports import measure_report, publication_csv
from shared.problems import not_found
from shared.service import RuntimeDep

router = APIRouter(prefix="/v1/practices/{ods}", tags=["exports"], dependencies=[ScoringRead])


@router.get(
    "/export/publication.csv",
    response_class=PlainTextResponse,
    summary="PRACTICE_CODE,INDICATOR_CODE,MEASURE,VALUE (REGISTER, DENOMINATOR, NUMERATOR, PCAS, ACHIEVED_POINTS), "
    "STANDING (confirmed | provisional | incomplete), MISSING_CLUSTERS; the QOF year and date in the file name and "
    "the QOF-Year headers",
)
async def publication(ods: str, rt: RuntimeDep, kernel: KernelDep, _p: Reader, on: OnQuery = None) -> PlainTextResponse:
    async with rt.sessions() as s:
        a = await achievement(s, kernel, ods.upper(), on=on)
    p = a.period
    name = f"{a.practice}-qof-{p.qof_year.replace('/', '-')}-{p.achievement_date.isoformat()}.csv"
    return PlainTextResponse(
        publication_csv(a),
        media_type="text/csv",
        # the CSV's columns are fixed by the publication: its year and date travel in the name and headers
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "QOF-Year": p.qof_year,
            "QOF-Year-Closed": str(p.closed).lower(),
            "QOF-Achievement-Date": p.achievement_date.isoformat(),
        },
    )


@router.get(
    "/indicators/{indicator_id}/measure-report",
    summary="FHIR R4 MeasureReport (summary) of an indicator; its standing (confirmed | provisional, the "
    "missing clusters) in the qof-standing extension and the narrative",
    response_model=dict[str, Any],
)
async def report(
    ods: str, indicator_id: str, rt: RuntimeDep, kernel: KernelDep, _p: Reader, on: OnQuery = None
) -> JSONResponse:
    async with rt.sessions() as s:
        a = await achievement(s, kernel, ods.upper(), on=on)
    r = a.result(indicator_id)
    if r is None or r.readiness in ("incomplete", "attestation"):
        raise not_found(f"Scored indicator {indicator_id} in this practice's contract")
    return JSONResponse(measure_report(a, r), media_type="application/fhir+json")

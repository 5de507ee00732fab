"""Exports: NHS England publication CSV and FHIR R4 MeasureReport."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse

from services.indicators.api.deps import KernelDep, Reader
from services.indicators.service.achievement import achievement
from services.indicators.service.exports import measure_report, publication_csv
from shared.problems import not_found
from shared.service import RuntimeDep

router = APIRouter(prefix="/v1/practices/{ods}", tags=["exports"])


@router.get(
    "/export/publication.csv",
    response_class=PlainTextResponse,
    summary="PRACTICE_CODE,INDICATOR_CODE,MEASURE,VALUE (REGISTER, DENOMINATOR, NUMERATOR, PCAS, ACHIEVED_POINTS)",
)
async def publication(ods: str, rt: RuntimeDep, kernel: KernelDep, _p: Reader) -> PlainTextResponse:
    async with rt.sessions() as s:
        a = await achievement(s, kernel, ods.upper())
    return PlainTextResponse(
        publication_csv(a),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{a.practice}-qof.csv"'},
    )


@router.get(
    "/indicators/{indicator_id}/measure-report",
    summary="FHIR R4 MeasureReport (summary) of an indicator",
    response_model=dict[str, Any],
)
async def report(ods: str, indicator_id: str, rt: RuntimeDep, kernel: KernelDep, _p: Reader) -> JSONResponse:
    async with rt.sessions() as s:
        a = await achievement(s, kernel, ods.upper())
    r = a.result(indicator_id)
    if r is None or r.readiness in ("incomplete", "attestation"):
        raise not_found(f"Scored indicator {indicator_id} in this practice's contract")
    return JSONResponse(measure_report(a, r), media_type="application/fhir+json")

"""The scoring findings as a data-quality report: what a practice should fix in its coding so a figure is not
a bare 0% (success rules needing codes never recorded) or rests on stand-ins.

The record's own findings (codes outside any cluster, registers without a diagnosis, rejected imports) are the
registers service's ``GET /v1/practices/{ods}/quality``; the two are read side by side, and registers never
calls indicators.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

from fastapi import APIRouter
from pydantic import Field

from services.indicators.api.achievement import OnQuery
from services.indicators.api.deps import KernelDep, Reader, ScoringRead
from services.indicators.api.schemas import FindingOut, YearOut, data_quality_of, registers_not_scored, year_out
from services.indicators.service.achievement import achievement
from shared.service import RuntimeDep

router = APIRouter(prefix="/v1/practices/{ods}", tags=["data quality"], dependencies=[ScoringRead])

RECORD_QUALITY = "GET /v1/practices/{ods}/quality on the registers service"


class DataQualityOut(YearOut):
    practice: str
    achievement_date: date
    findings: list[FindingOut] = Field(description="Per indicator: success rules needing codes the practice has "
                                       "never recorded up to the date, clusters served by stand-in codelists")
    counts: dict[str, int] = Field(description="Findings per kind")
    registers_not_scored: dict[str, str] = Field(
        {}, description="Registers no indicator of the year reads, with why (as the achievement answer's)")
    record_quality: str = Field(RECORD_QUALITY, description="Where the record's own findings are")


@router.get("/data-quality", response_model=DataQualityOut,
            summary="Scoring findings: a 0% from codes never recorded, stand-in codelists (the record's own "
            "findings: registers' quality report)")
async def get_data_quality(ods: str, rt: RuntimeDep, kernel: KernelDep, _p: Reader, on: OnQuery = None
                           ) -> DataQualityOut:
    async with rt.sessions() as s:
        a = await achievement(s, kernel, ods.upper(), on=on)
    findings = data_quality_of(a)
    return DataQualityOut(practice=a.practice, achievement_date=a.period.achievement_date, **year_out(a),
                          findings=findings, counts=dict(sorted(Counter(f.kind for f in findings).items())),
                          registers_not_scored=registers_not_scored(a))

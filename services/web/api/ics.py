"""An ICS analyst's pages: aggregates across the ICB's practices only, small numbers withheld by the services."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from services.web.api.deps import IcsUser, calls, render

router = APIRouter(include_in_schema=False)


def loaded(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Practice rows of practices with figures (an ICB lists hundreds; most may not use the platform yet)."""
    return [r for r in rows if r["level"] == "practice"]


@router.get("/ics", response_class=HTMLResponse)
async def benchmarks_page(request: Request, user: IcsUser) -> HTMLResponse:
    bench = await calls(request, user).get("indicators", f"/v1/icbs/{user.icb}/benchmarks/indicators")
    practices = sorted({r["code"] for i in bench["indicators"] for r in loaded(i["rows"])})
    table = []
    for i in bench["indicators"]:
        by_code = {r["code"]: r for r in i["rows"]}
        total = next((r for r in i["rows"] if r["level"] == "icb"), None)
        table.append({"indicator": i, "total": total, "cells": [by_code.get(p) for p in practices]})
    return render(request, "ics.html", bench=bench, practices=practices, table=table, title="ICB benchmarks")


@router.get("/ics/workload", response_class=HTMLResponse)
async def workload_page(request: Request, user: IcsUser) -> HTMLResponse:
    agg = await calls(request, user).get("workload", f"/v1/icbs/{user.icb}/workload/aggregate",
                                         {"by": "provider"})
    return render(request, "ics_workload.html", agg=agg, title="Workload by provider")

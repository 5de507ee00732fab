"""The reference data in force: category taxonomy, contract clauses per year, staff rates."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from services.workload.api.deps import WorkloadDep
from shared.auth import Principal, require_scope
from shared.problems import not_found

router = APIRouter(prefix="/v1/workload/reference", tags=["workload reference data"])
ReaderAny = Annotated[Principal, Depends(require_scope("workload:read"))]


@router.get("/categories", summary="The category taxonomy")
async def categories(_: ReaderAny, wl: WorkloadDep) -> dict[str, Any]:
    return {
        "version": wl.taxonomy.version,
        "categories": [
            {
                "key": c.key,
                "label": c.label,
                "description": c.description,
                "default_clause": c.default_clause,
                "retired": c.retired,
            }
            for c in wl.taxonomy.categories
        ],
    }


@router.get("/clauses", summary="NHS Standard Contract clauses by contract year, with provenance")
async def clauses(
    _: ReaderAny,
    wl: WorkloadDep,
    year: Annotated[str | None, Query(description="e.g. 2025/26; all years when absent")] = None,
) -> dict[str, Any]:
    years = wl.clauses.years
    if year is not None:
        found = wl.clauses.year(year)
        if found is None:
            raise not_found(f"Contract year {year}")
        years = (found,)
    return {
        "version": wl.clauses.version,
        "years": [
            {
                "year": y.year,
                "starts": y.starts,
                "ends": y.ends,
                "edition": y.edition,
                "clauses": [
                    {
                        "key": c.key,
                        "number": c.number,
                        "title": c.title,
                        "requirement": c.requirement,
                        "contractual": c.contractual,
                        "verified": c.verified,
                        "note": c.note,
                        "deadline": c.deadline,
                        "sources": wl.clauses.source_urls(c),
                    }
                    for c in y.clauses.values()
                ],
            }
            for y in years
        ],
    }


@router.get("/rates", summary="Hourly staff rates used for costs (defaults plus settings overrides)")
async def rates(_: ReaderAny, wl: WorkloadDep) -> dict[str, Any]:
    return {
        "currency": "GBP",
        "rates": [
            {
                "role": role,
                "label": wl.rates.labels.get(role, role),
                "per_hour": rate,
                "source": "setting"
                if role in wl.rates.overridden
                else "default (assumption, see hourly_rates.yaml)",
            }
            for role, rate in wl.rates.rates.items()
        ],
    }

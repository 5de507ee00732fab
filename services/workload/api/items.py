"""Logging transferred work: full entries, quick capture, CSV import, listing and status changes."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response, status

from services.workload import csv_import, service
from services.workload.api.deps import FromQ, Reader, ToQ, WorkloadDep, Writer, period
from services.workload.schemas import ImportResult, ItemIn, ItemOut, ItemPage, QuickIn, StatusIn
from services.workload.service import Workload
from services.workload.store import repo
from services.workload.store.models import audit_log
from shared.audit import audit
from shared.auth import Principal
from shared.problems import Problem, invalid, not_found
from shared.service import Runtime, RuntimeDep

router = APIRouter(prefix="/v1/practices/{ods}/workload", tags=["workload items"])
MAX_UPLOAD_BYTES = 10 * 1024 * 1024


@router.post(
    "/items",
    response_model=ItemOut,
    status_code=status.HTTP_201_CREATED,
    summary="Log a piece of work a provider passed to the practice",
    responses={200: {"description": "An item with this client_ref was already logged"}},
)
async def log_item(
    ods: str, body: ItemIn, principal: Writer, rt: RuntimeDep, wl: WorkloadDep, response: Response
) -> ItemOut:
    return await _log_one(ods, body, "api", principal, rt, wl, response)


@router.post(
    "/quick",
    response_model=ItemOut,
    status_code=status.HTTP_201_CREATED,
    summary="Quick capture from a clinical-system integration (minimal fields)",
    responses={200: {"description": "An item with this client_ref was already logged"}},
)
async def quick_capture(
    ods: str, body: QuickIn, principal: Writer, rt: RuntimeDep, wl: WorkloadDep, response: Response
) -> ItemOut:
    item = body.as_item(date.today())
    if item.staff_role is None and item.minutes is not None:
        defaults = wl.settings.workload_default_roles
        role = defaults.get(ods.upper()) or defaults.get("*")
        if role is None:
            raise invalid([{"field": "staff_role", "reason": "say which staff role did the work (one of "
                            f"{', '.join(wl.rates.rates)}): its minutes cannot be costed without one, and the "
                            "practice has no default role"}])
        item = item.model_copy(update={"staff_role": role})
    return await _log_one(ods, item, "quick", principal, rt, wl, response)


async def _log_one(
    ods: str, item: ItemIn, source: str, principal: Principal, rt: Runtime, wl: Workload, response: Response
) -> ItemOut:
    """Log one item; an item whose client_ref was already logged answers 200 with the stored one."""
    async with rt.sessions() as session, session.begin():
        [logged] = await service.log_items(session, rt.tables, wl, ods.upper(), principal, [item], source=source)
    rt.events_written()
    if not logged.created:
        response.status_code = status.HTTP_200_OK
    return service.to_out(logged.item, wl)


@router.post(
    "/imports",
    response_model=ImportResult,
    status_code=status.HTTP_201_CREATED,
    summary="Bulk import from CSV (all rows or none)",
    description="Send the file as the request body with `Content-Type: text/csv`, or as the `file` "
    "part of a multipart form. Columns: " + ", ".join(csv_import.COLUMNS) + ".",
    openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def import_csv(
    ods: str, request: Request, principal: Writer, rt: RuntimeDep, wl: WorkloadDep
) -> ImportResult:
    raw = await _upload(request)
    items = csv_import.parse(raw, wl)
    async with rt.sessions() as session, session.begin():
        logged = await service.log_items(
            session, rt.tables, wl, ods.upper(), principal, items, source="csv", batch=True
        )
    rt.events_written()
    return ImportResult(imported=sum(1 for x in logged if x.created), item_ids=[x.item.id for x in logged])


async def _upload(request: Request) -> bytes:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise invalid([{"field": "file", "reason": "attach the CSV as the form part named file"}])
        raw = await upload.read()
    elif content_type.startswith(("text/csv", "application/csv", "text/plain")):
        raw = await request.body()
    else:
        raise Problem(
            415,
            "Unsupported media type",
            "Send text/csv or multipart/form-data with a file part",
            kind="unsupported-media-type",
        )
    if len(raw) > MAX_UPLOAD_BYTES:
        raise Problem(
            413, "Content too large", f"CSV files are limited to {MAX_UPLOAD_BYTES} bytes", kind="too-large"
        )
    return raw


@router.get("/items", response_model=ItemPage, summary="List logged items, newest first")
async def list_items(
    ods: str,
    principal: Reader,
    rt: RuntimeDep,
    wl: WorkloadDep,
    period_from: FromQ = None,
    period_to: ToQ = None,
    provider_ods: str | None = None,
    category: str | None = None,
    item_status: Annotated[str | None, Query(alias="status")] = None,
    specialty: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> ItemPage:
    period_from, period_to = period(period_from, period_to)
    flt = repo.ItemFilter(
        period_from, period_to, provider_ods, category, item_status, specialty.lower() if specialty else None
    )
    async with rt.sessions() as session, session.begin():
        rows, next_cursor = await repo.page(session, ods.upper(), flt, cursor, limit)
        await audit(
            session,
            audit_log,
            principal,
            "list",
            "workload_items",
            practice=ods.upper(),
            detail=f"{len(rows)} items",
        )
    return ItemPage(items=[service.to_out(r, wl) for r in rows], next_cursor=next_cursor)


@router.get("/items/{item_id}", response_model=ItemOut, summary="One logged item")
async def get_item(
    ods: str,
    item_id: str,
    principal: Reader,
    rt: RuntimeDep,
    wl: WorkloadDep,
    reveal: Annotated[
        Literal["nhs_number"] | None,
        Query(description="`nhs_number` decrypts the NHS number for this response (audited)"),
    ] = None,
) -> ItemOut:
    async with rt.sessions() as session, session.begin():
        item = await repo.get(session, ods.upper(), item_id)
        if item is None:
            raise not_found(f"Workload item {item_id}")
        action = "reveal-nhs-number" if reveal and item.nhs_number_token else "read"
        await audit(session, audit_log, principal, action, f"workload_item:{item.id}", practice=ods.upper())
    return service.to_out(item, wl, reveal=reveal == "nhs_number")


@router.post(
    "/items/{item_id}/status",
    response_model=ItemOut,
    summary="Move an item on: raised_with_provider, provider_responded, resolved",
)
async def change_status(
    ods: str, item_id: str, body: StatusIn, principal: Writer, rt: RuntimeDep, wl: WorkloadDep
) -> ItemOut:
    async with rt.sessions() as session, session.begin():
        item = await service.change_status(session, rt.tables, ods.upper(), principal, item_id, body)
    rt.events_written()
    return service.to_out(item, wl)

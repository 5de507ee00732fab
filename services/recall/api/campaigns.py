"""Campaigns: create from the plan, preview a run (channels, SMS cost, who moves into a PCA), run, record codes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select

from services.recall.api.deps import Now, RecallReader, RecallWriter
from services.recall.api.planning import plan_out
from services.recall.api.schemas import CampaignIn, CampaignOut
from services.recall.domain.planner import qof_year_start
from services.recall.runner import deps_of, execute, start
from services.recall.store.campaigns import check_codes, check_templates, counts, new_campaign
from services.recall.store.models import Campaign, audit_log
from services.recall.store.planning import make_plan, write_first_invitations
from services.recall.store.preview import preview, record_codes_after
from shared.audit import audit
from shared.problems import invalid, not_found
from shared.service import RuntimeDep

router = APIRouter(prefix="/v1/practices/{ods}/recall/campaigns", tags=["recall campaigns"])


def year_label(c: Campaign) -> str:
    return f"{c.year_start.year}-{str(c.year_start.year + 1)[2:]}"


async def campaign_out(rt: Any, c: Campaign) -> CampaignOut:
    async with rt.sessions() as s:
        n = await counts(s, c.id)
    return CampaignOut(id=c.id, practice_ods=c.practice_ods, name=c.name, year=year_label(c), status=c.status,
                       code_at=c.code_at, second_after_days=c.second_after_days, run_cap=c.run_cap, invitations=n)


@router.post("", response_model=CampaignOut, status_code=201, summary="Create a campaign; plan its first invitations")
async def create_campaign(
    ods: str, body: CampaignIn, request: Request, rt: RuntimeDep, principal: RecallWriter, now: Now
) -> CampaignOut:
    practice = ods.upper()
    errors: list[dict[str, Any]] = []
    if body.practice_ods is not None and body.practice_ods.upper() != practice:
        errors.append({"field": "practice_ods", "reason": f"campaign for {body.practice_ods} sent to {practice}"})
    errors += check_codes(body.invite_codes)
    if not errors:
        errors += await check_templates(deps_of(request.app).notify, {str(k): v for k, v in body.templates.items()})
    if errors:
        raise invalid(errors, "The campaign was not created and nothing was sent")
    async with rt.sessions() as s, s.begin():
        result = await make_plan(s, practice, now.date(), body.strategy, body.values, body.mop_up,
                                 body.second_after_days)
        c = new_campaign(practice, body, qof_year_start(now.date()), principal.subject)
        s.add(c)
        await s.flush()
        await write_first_invitations(s, c, result)
        await audit(s, audit_log, principal, "recall.campaign", c.id, practice=ods)
    out = await campaign_out(rt, c)
    out.plan = plan_out(result, body.strategy)
    return out


async def owned(rt: Any, ods: str, campaign_id: str) -> Campaign:
    async with rt.sessions() as s:
        c = await s.get(Campaign, campaign_id)
    if c is None or c.practice_ods != ods.upper():
        raise not_found("Campaign")
    return c


@router.get("", summary="The practice's campaigns")
async def list_campaigns(ods: str, rt: RuntimeDep, _p: RecallReader) -> list[CampaignOut]:
    async with rt.sessions() as s:
        rows = list(await s.scalars(select(Campaign).where(Campaign.practice_ods == ods.upper())
                                    .order_by(Campaign.created_at)))
    return [await campaign_out(rt, c) for c in rows]


@router.get("/{campaign_id}", response_model=CampaignOut, summary="A campaign and its invitations by stage")
async def read_campaign(ods: str, campaign_id: str, rt: RuntimeDep, _p: RecallReader) -> CampaignOut:
    return await campaign_out(rt, await owned(rt, ods, campaign_id))


@router.get("/{campaign_id}/preview", summary="What the next run would send, cost, and who it moves into a PCA")
async def preview_run(
    ods: str, campaign_id: str, request: Request, rt: RuntimeDep, _p: RecallReader, now: Now,
    stage: Annotated[int, Query(ge=1, le=2)] = 1,
) -> dict[str, Any]:
    c = await owned(rt, ods, campaign_id)
    return await preview(rt, deps_of(request.app), c, stage, now)


@router.post("/{campaign_id}/runs", summary="Send the invitations due now at a stage (first or second)")
async def run_campaign(
    ods: str, campaign_id: str, request: Request, rt: RuntimeDep, principal: RecallWriter,
    stage: Annotated[int, Query(ge=1, le=2)] = 1,
    wait: Annotated[bool, Query(description="Answer when the run has finished")] = False,
) -> JSONResponse:
    c = await owned(rt, ods, campaign_id)
    async with rt.sessions() as s, s.begin():
        await audit(s, audit_log, principal, "recall.run", f"{c.id} stage {stage}", practice=ods)
    if wait:
        r = await execute(request.app, c.id, stage)
        return JSONResponse({"campaign_id": c.id, "stage": stage, "sent": r.sent, "recovered": r.recovered,
                             "deferred_sms": r.deferred, "stopped": r.stopped, "failed": r.failed,
                             "retry_later": r.retry_later, "skipped": dict(r.skipped), "channels": dict(r.channels)})
    start(request.app, c.id, stage)
    return JSONResponse({"campaign_id": c.id, "stage": stage, "status": "sending"}, status_code=202)


@router.post("/{campaign_id}/record-codes",
             summary="Record invitation codes after the fact, for patients still outstanding")
async def record_codes(
    ods: str, campaign_id: str, rt: RuntimeDep, principal: RecallWriter, now: Now
) -> dict[str, int]:
    c = await owned(rt, ods, campaign_id)
    async with rt.sessions() as s, s.begin():
        n = await record_codes_after(s, c, now)
        await audit(s, audit_log, principal, "recall.record-codes", c.id, practice=ods)
    rt.events_written()
    return {"recorded": n}

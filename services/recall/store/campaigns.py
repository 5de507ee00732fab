"""Creating a campaign (checked against Notify and the shipped invitation codelists) and what it holds."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.recall.api.schemas import CampaignIn
from services.recall.outbound import Notify
from services.recall.store.models import Campaign, Invitation
from shared.codelists import CodelistLibrary, default_library


@lru_cache(maxsize=1)
def codelists() -> CodelistLibrary:
    return default_library()


def invite_cluster(register_id: str) -> str:
    """DM_REG -> DMINVITE_COD, the Primary Care Domain cluster of that condition's invitation codes."""
    return register_id.removesuffix("_REG") + "INVITE_COD"


def check_codes(codes: dict[str, str]) -> list[dict[str, Any]]:
    errors = []
    lib = codelists()
    for register, code in sorted(codes.items()):
        cluster = invite_cluster(register)
        field = f"invite_codes.{register}"
        if not lib.has(cluster):
            errors.append({"field": field, "reason": f"no {cluster} codelist is available to check the code against"})
        elif code not in lib.get(cluster):
            errors.append({"field": field, "reason": f"{code} is not in {cluster}"})
    return errors


async def check_templates(notify: Notify, templates: dict[str, str]) -> list[dict[str, Any]]:
    errors = []
    for channel, tid in sorted(templates.items()):
        t = await notify.template(tid)
        if t is None:
            errors.append({"field": f"templates.{channel}", "reason": f"Notify has no template {tid}"})
        elif t.get("type") != channel:
            errors.append({"field": f"templates.{channel}", "reason": f"template {tid} is a {t.get('type')} template"})
    return errors


def new_campaign(practice: str, body: CampaignIn, year_start: Any, actor: str) -> Campaign:
    return Campaign(
        practice_ods=practice,
        name=body.name,
        year_start=year_start,
        strategy=body.strategy,
        templates=dict(body.templates),
        invite_codes=dict(body.invite_codes),
        code_at=body.code_at,
        second_after_days=body.second_after_days,
        run_cap=body.run_cap,
        mop_up=body.mop_up,
        values=dict(body.values),
        status="ready",
        created_by=actor,
        created_at=datetime.now().astimezone(),
    )


async def counts(s: AsyncSession, campaign_id: str) -> dict[str, int]:
    rows = await s.execute(
        select(Invitation.stage, Invitation.status, func.count())
        .where(Invitation.campaign_id == campaign_id)
        .group_by(Invitation.stage, Invitation.status)
    )
    out: Counter[str] = Counter()
    for stage, status, n in rows:
        out[f"{stage}:{status}"] += n
    return dict(sorted(out.items()))

"""Notify's delivery receipts: a bearer token Notify was given, and a letter after a failed SMS or email."""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from services.recall.store.models import Invitation, events
from services.recall.store.sending import plan_fallback_letter
from shared.db import utcnow
from shared.events.outbox import enqueue
from shared.events.schemas import RecallDelivered, RecallFailed
from shared.problems import Problem
from shared.service import RuntimeDep

router = APIRouter(prefix="/v1/notify", tags=["notify callbacks"])
_bearer = HTTPBearer(auto_error=False)
FAILURES = {"permanent-failure", "temporary-failure", "technical-failure", "validation-failed"}


async def notify_caller(
    request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    expected = request.app.state.settings.notify_callback_token.get_secret_value()
    if creds is None or not hmac.compare_digest(creds.credentials.encode(), expected.encode()):
        raise Problem(401, "Unauthorized", "A delivery receipt needs the callback bearer token",
                      kind="unauthorized")


class Receipt(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    reference: str | None = None
    status: str
    notification_type: str | None = None
    completed_at: datetime | None = None


@router.post("/receipts", summary="Delivery receipt callback from GOV.UK Notify",
             dependencies=[Depends(notify_caller)])
async def receipt(body: Receipt, rt: RuntimeDep) -> dict[str, Any]:
    async with rt.sessions() as s, s.begin():
        inv = await s.scalar(select(Invitation).where(Invitation.notify_id == body.id))
        if inv is None:
            return {"matched": False}
        inv.delivery_status, inv.updated_at = body.status, utcnow()
        at = body.completed_at or utcnow()
        common: dict[str, Any] = {"practice_ods": inv.practice_ods, "patient_id": inv.patient_id, "recall_id": inv.id,
                  "channel": inv.channel or "letter", "conditions": list(inv.registers)}
        if body.status == "delivered":
            inv.status = "delivered"
            await enqueue(s, events, [RecallDelivered(**common, delivered_at=at)], source="recall")
        elif body.status in FAILURES:
            inv.status = "failed"
            await enqueue(s, events, [RecallFailed(**common, failed_at=at, reason=body.status)], source="recall")
            await plan_fallback_letter(s, inv)
    rt.events_written()
    return {"matched": True}

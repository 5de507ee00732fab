"""A local stand-in for GOV.UK Notify, answering as Notify's documented v2 API does.

For tests and the local stack only (``bin/up`` starts it; recall's ``QOF_NOTIFY_BASE_URL`` points at it):
``POST /v2/notifications/{sms,email,letter}``, ``GET /v2/notifications/{id}``, ``GET /v2/notifications``
(filters ``reference``, ``status``, ``template_type``), ``GET /v2/template/{id}`` and ``GET /v2/templates``,
with Notify's JWT auth (``iss`` = service id, HS256 with the key's secret, ``iat`` within 30 s) and its error
body ``{"status_code", "errors": [{"error", "message"}]}``. Each accepted notification is appended to a JSON
lines log (``QOF_NOTIFY_STANDIN_LOG``) and, when ``QOF_NOTIFY_STANDIN_CALLBACK_URL`` is set, a delivery receipt
is posted there with ``QOF_NOTIFY_CALLBACK_TOKEN`` as bearer token. Simulated outcomes: phone numbers ending
``0002``/``0003`` fail permanently/temporarily, as do the addresses ``perm-fail@simulator.notify`` and
``temp-fail@simulator.notify``; a phone number that is not a UK mobile is refused as Notify refuses it (400
``ValidationError``); everything else is delivered.

Test-only control: ``POST /_standin/refuse`` with ``{"status": 429 | 500, "count": n}`` makes the next ``n``
send requests answer as Notify does when rate-limited (429 ``RateLimitError``) or failing (500 ``Exception``),
accepting nothing; ``/_standin/*`` is no part of Notify's API.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jwt
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

DEFAULT_KEY = "local-0b5c6a3e-6a1f-4b55-9d9e-1f2a3b4c5d6e-7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
TEMPLATES: dict[str, dict[str, Any]] = {
    "3f1b2c4d-0001-4a00-8000-000000000001": {
        "type": "sms", "name": "Annual review invitation (SMS)", "subject": None,
        "body": "Dear ((name)), your annual review at ((practice)) is due in ((month)). Please call us to book.",
    },
    "3f1b2c4d-0002-4a00-8000-000000000002": {
        "type": "email", "name": "Annual review invitation (email)", "subject": "Your annual review",
        "body": "Dear ((name)),\n\nYour annual review at ((practice)) is due in ((month)). Please book.",
    },
    "3f1b2c4d-0003-4a00-8000-000000000003": {
        "type": "letter", "name": "Annual review invitation (letter)", "subject": "Your annual review",
        "body": "Dear ((name)), your annual review at ((practice)) is due in ((month)).",
    },
}
# Notify's documented error bodies for a rate-limited key and for its own failure.
REFUSALS = {429: ("RateLimitError", "Exceeded rate limit for key type LIVE of 3000 requests per 60 seconds"),
            500: ("Exception", "Internal server error")}
PLACEHOLDER = re.compile(r"\(\(([^)]+)\)\)")
UK_MOBILE = re.compile(r"^(?:\+?44|0)7\d{9}$")  # Notify refuses SMS to anything else (no international here)


def _error(code: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse({"status_code": code, "errors": [{"error": kind, "message": message}]}, status_code=code)


def _outcome(to: str) -> str:
    if to.endswith("0002") or to.startswith("perm-fail@"):
        return "permanent-failure"
    if to.endswith("0003") or to.startswith("temp-fail@"):
        return "temporary-failure"
    return "delivered"


def create_app() -> FastAPI:
    key = os.environ.get("QOF_NOTIFY_API_KEY", DEFAULT_KEY)
    service_id, secret = key[-73:-37], key[-36:]
    log_path = Path(os.environ.get("QOF_NOTIFY_STANDIN_LOG", "var/logs/notify-standin.jsonl"))
    log_path.parent.mkdir(parents=True, exist_ok=True)
    callback_url = os.environ.get("QOF_NOTIFY_STANDIN_CALLBACK_URL", "")
    callback_token = os.environ.get("QOF_NOTIFY_CALLBACK_TOKEN", "dev-callback-token-change-me")
    store: dict[str, dict[str, Any]] = {}
    templates = dict(TEMPLATES)
    pending: set[asyncio.Task[None]] = set()
    refusing: list[int] = []  # statuses the next send requests answer with, one each
    app = FastAPI(title="GOV.UK Notify stand-in", docs_url=None, redoc_url=None)

    def authorised(request: Request) -> JSONResponse | None:
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            return _error(401, "AuthError", "Unauthorized: authentication token must be provided")
        try:
            claims = jwt.decode(header[7:], secret, algorithms=["HS256"], options={"verify_iat": False})
        except jwt.PyJWTError:
            return _error(403, "AuthError", "Invalid token: signature, api token not found")
        if claims.get("iss") != service_id or abs(time.time() - float(claims.get("iat", 0))) > 30:
            return _error(403, "AuthError", "Invalid token: iss or iat")
        return None

    async def deliver(n: dict[str, Any]) -> None:
        n["status"] = _outcome(n["to"])
        n["completed_at"] = datetime.now(UTC).isoformat()
        if not callback_url:
            return
        body = {k: n[k] for k in ("id", "reference", "to", "status", "created_at", "completed_at", "sent_at",
                                   "notification_type")}
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                await client.post(callback_url, json=body, headers={"Authorization": f"Bearer {callback_token}"})
        except httpx.HTTPError:
            n["callback_failed"] = True

    async def send(request: Request, kind: str) -> JSONResponse:
        if (denied := authorised(request)) is not None:
            return denied
        if refusing:
            code = refusing.pop(0)
            return _error(code, *REFUSALS[code])
        data = await request.json()
        tpl = templates.get(str(data.get("template_id")))
        if tpl is None or tpl["type"] != kind:
            return _error(400, "BadRequestError", "Template not found")
        values = data.get("personalisation") or {}
        to = {"sms": data.get("phone_number"), "email": data.get("email_address"),
              "letter": values.get("address_line_1")}[kind]
        if kind == "sms" and to and not UK_MOBILE.match(re.sub(r"[\s()-]", "", str(to))):
            return _error(400, "ValidationError", "phone_number Not a UK mobile number")
        if not to:
            return _error(400, "ValidationError", f"{'phone_number' if kind == 'sms' else 'email_address' if kind == 'email' else 'personalisation address_line_1'} is a required property")  # noqa: E501
        missing = sorted(set(PLACEHOLDER.findall(tpl["body"])) - set(values))
        if missing:
            return _error(400, "BadRequestError", f"Missing personalisation: {', '.join(missing)}")
        body = PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), tpl["body"])
        now = datetime.now(UTC).isoformat()
        nid = str(uuid.uuid4())
        n = {"id": nid, "reference": data.get("reference"), "to": str(to), "notification_type": kind,
             "status": "created", "template": {"id": data["template_id"], "version": 1,
                                              "uri": f"/v2/template/{data['template_id']}"},
             "body": body, "subject": tpl["subject"], "created_at": now, "sent_at": now, "completed_at": None}
        store[nid] = n
        with log_path.open("a") as out:  # noqa: ASYNC230 (one short line, flushed before the answer)
            out.write(json.dumps({"id": nid, "reference": n["reference"], "type": kind, "at": now}) + "\n")
        task = asyncio.create_task(deliver(n))
        pending.add(task)
        task.add_done_callback(pending.discard)
        content: dict[str, Any] = {"body": body}
        if kind == "sms":
            content["from_number"] = "GP"
        else:
            content["subject"] = tpl["subject"]
        return JSONResponse({"id": nid, "reference": n["reference"], "content": content,
                             "uri": f"/v2/notifications/{nid}", "template": n["template"]}, status_code=201)

    @app.post("/v2/notifications/{kind}")
    async def post_notification(kind: str, request: Request) -> JSONResponse:
        if kind not in ("sms", "email", "letter"):
            return _error(404, "NotFound", "Not found")
        return await send(request, kind)

    def view(n: dict[str, Any]) -> dict[str, Any]:
        return {"id": n["id"], "reference": n["reference"], "type": n["notification_type"], "status": n["status"],
                "template": n["template"], "body": n["body"], "subject": n["subject"],
                "created_at": n["created_at"], "sent_at": n["sent_at"], "completed_at": n["completed_at"],
                "phone_number": n["to"] if n["notification_type"] == "sms" else None,
                "email_address": n["to"] if n["notification_type"] == "email" else None}

    @app.get("/v2/notifications/{nid}")
    async def get_notification(nid: str, request: Request) -> JSONResponse:
        if (denied := authorised(request)) is not None:
            return denied
        if nid not in store:
            return _error(404, "NoResultFound", "No result found")
        return JSONResponse(view(store[nid]))

    @app.get("/v2/notifications")
    async def list_notifications(request: Request) -> JSONResponse:
        if (denied := authorised(request)) is not None:
            return denied
        q = request.query_params
        items = [view(n) for n in reversed(store.values())
                 if (not q.get("reference") or n["reference"] == q["reference"])
                 and (not q.get("status") or n["status"] == q["status"])
                 and (not q.get("template_type") or n["notification_type"] == q["template_type"])]
        return JSONResponse({"notifications": items[:250], "links": {"current": str(request.url)}})

    def template_view(tid: str) -> dict[str, Any]:
        t = templates[tid]
        return {"id": tid, "type": t["type"], "name": t["name"], "subject": t["subject"], "body": t["body"],
                "version": 1, "created_at": "2026-04-01T00:00:00.000000Z", "updated_at": None,
                "created_by": "standin@localhost", "letter_contact_block": None}

    @app.get("/v2/template/{tid}")
    async def get_template(tid: str, request: Request) -> JSONResponse:
        if (denied := authorised(request)) is not None:
            return denied
        if tid not in templates:
            return _error(404, "NoResultFound", "No result found")
        return JSONResponse(template_view(tid))

    @app.get("/v2/templates")
    async def list_templates(request: Request) -> JSONResponse:
        if (denied := authorised(request)) is not None:
            return denied
        kind = request.query_params.get("type")
        return JSONResponse({"templates": [template_view(t) for t, v in templates.items()
                                           if not kind or v["type"] == kind]})

    @app.post("/_standin/refuse")
    async def refuse(request: Request) -> JSONResponse:
        """Test-only: the next ``count`` send requests are refused with ``status`` (429 or 500)."""
        data = await request.json()
        code, count = data.get("status"), data.get("count", 1)
        if code not in REFUSALS or not isinstance(count, int) or count < 0:
            return _error(400, "ValidationError", "status must be 429 or 500 and count a whole number")
        refusing[:] = [code] * count
        return JSONResponse({"refusing": len(refusing)})

    @app.get("/_standin/log")
    async def read_log() -> JSONResponse:
        """Every accepted notification (what tests check 'sent exactly once' against)."""
        return JSONResponse([{"id": n["id"], "reference": n["reference"], "type": n["notification_type"],
                              "status": n["status"]} for n in store.values()])

    return app

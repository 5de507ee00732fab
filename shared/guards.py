"""Request guards every service shares, run before routing: the NUL character is refused wherever it appears.

PostgreSQL text cannot hold U+0000, and no clinical field needs it, so a NUL in a path segment, a query
parameter or a JSON body is answered 422 naming the field, before any route, store or driver sees it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import suppress
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.problems import PROBLEM_JSON, TYPE_BASE

NUL = "\x00"
NUL_REASON = "must not contain the NUL character (U+0000)"


def nul_fields(value: Any, path: tuple[str, ...] = ()) -> Iterator[str]:
    """Dotted paths (``entries.0.unit``) of every key or string in a JSON value that holds a NUL."""
    if isinstance(value, str):
        if NUL in value:
            yield ".".join(path) or "body"
    elif isinstance(value, dict):
        for key, item in value.items():
            if NUL in key:
                yield ".".join((*path, key.replace(NUL, "\\u0000")))
            yield from nul_fields(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from nul_fields(item, (*path, str(i)))


def _templates(app: Any) -> list[re.Pattern[str]]:
    cached = getattr(app.state, "path_templates", None) if app is not None else None
    if cached is None and app is not None:
        cached = [re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(t)) + "$")
                  for t in app.openapi().get("paths", {})]
        app.state.path_templates = cached
    return cached or []


def _path_fields(app: Any, path: str) -> list[str]:
    """The names of the path parameters holding a NUL, from the OpenAPI path templates."""
    for pattern in _templates(app):
        match = pattern.match(path)
        if match:
            return [name for name, v in match.groupdict().items() if NUL in v] or ["path"]
    return ["path"]


class NulGuard:
    """ASGI middleware: 422 problem+json listing every path, query or JSON-body field that holds a NUL."""

    def __init__(self, app: ASGIApp, *, router_app: Any = None) -> None:
        self.app = app
        self.router_app = router_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        errors: list[dict[str, str]] = []
        if NUL in scope.get("path", ""):
            errors += [{"field": f, "reason": NUL_REASON, "location": "path"}
                       for f in _path_fields(self.router_app, scope["path"])]
        query = scope.get("query_string", b"").decode("latin-1")
        if query:
            errors += [{"field": k.replace(NUL, "\\u0000"), "reason": NUL_REASON, "location": "query"}
                       for k, v in parse_qsl(query, keep_blank_values=True) if NUL in k or NUL in v]
        media = dict(scope.get("headers", [])).get(b"content-type", b"").decode("latin-1").lower()
        if "json" in media and not errors:
            body, replay = await _buffer(receive)
            if b"\\u0000" in body:
                with suppress(ValueError):  # not JSON: the route answers that itself
                    errors += [{"field": f, "reason": NUL_REASON, "location": "body"}
                               for f in nul_fields(json.loads(body))]
            receive = replay
        if errors:
            await _refuse(scope, send, errors)
            return
        await self.app(scope, receive, send)


async def _buffer(receive: Receive) -> tuple[bytes, Receive]:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


async def _refuse(scope: Scope, send: Send, errors: list[dict[str, str]]) -> None:
    body = json.dumps({
        "type": TYPE_BASE + "validation", "title": "Invalid request", "status": 422,
        "detail": "The request has invalid fields", "errors": errors,
    }).encode()
    await send({"type": "http.response.start", "status": 422,
                "headers": [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})

"""RFC 9457 problem details for every error the platform returns.

Each problem has ``type``, ``title``, ``status`` and ``detail``; validation problems add ``errors``: a list
of ``{"field": ..., "reason": ...}`` (with ``index`` for batch entries) so a caller can fix each one.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.security_headers import BASELINE

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://qof-platform.example/problems/"
log = logging.getLogger("qof.http")


class Problem(Exception):
    def __init__(
        self,
        status: int,
        title: str,
        detail: str = "",
        *,
        kind: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.kind = kind or title.lower().replace(" ", "-")
        self.errors = errors
        self.headers = headers
        self.extra = extra

    def body(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"type": TYPE_BASE + self.kind, "title": self.title, "status": self.status}
        if self.detail:
            body["detail"] = self.detail
        if instance:
            body["instance"] = instance
        if self.errors is not None:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


def not_found(what: str) -> Problem:
    return Problem(404, "Not found", f"{what} was not found", kind="not-found")


def forbidden(detail: str) -> Problem:
    return Problem(403, "Forbidden", detail, kind="forbidden")


def invalid(errors: list[dict[str, Any]], detail: str = "The request has invalid fields") -> Problem:
    return Problem(422, "Invalid request", detail, kind="validation", errors=errors)


def _field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "request"


def validation_errors(raw: list[Any]) -> list[dict[str, Any]]:
    errors = []
    for err in raw:
        loc = list(err.get("loc", ()))
        errors.append(
            {
                "field": _field_path(loc),
                "reason": err.get("msg", "invalid"),
                "location": loc[0] if loc else "body",
            }
        )
    return errors


def problem_response(problem: Problem, request: Request) -> JSONResponse:
    return JSONResponse(
        problem.body(request.url.path),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=problem.headers,
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(invalid(validation_errors(list(exc.errors()))), request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = {401: "Unauthorized", 403: "Forbidden", 404: "Not found", 405: "Method not allowed"}.get(
            exc.status_code, "HTTP error"
        )
        return problem_response(
            Problem(exc.status_code, title, str(exc.detail or ""), headers=getattr(exc, "headers", None)),
            request,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # The route template, never the concrete path: paths carry patient and job ids.
        route = getattr(request.scope.get("route"), "path", "unmatched")
        log.error("unhandled error", extra={"error": type(exc).__name__, "route": route,
                                            "method": request.method})
        return problem_response(
            Problem(500, "Internal error", "An unexpected error occurred", kind="internal", headers=BASELINE),
            request,
        )

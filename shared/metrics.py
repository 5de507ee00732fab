"""Prometheus metrics shared by every service (labelled by service, so one process may host several)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.security import HTTPAuthorizationCredentials
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

from shared.auth import bearer_scheme, current_principal
from shared.problems import Problem

HTTP_REQUESTS = Counter("qof_http_requests_total", "HTTP requests", ["service", "method", "route", "status"])
HTTP_LATENCY = Histogram("qof_http_request_seconds", "HTTP request latency", ["service", "method", "route"])
EVENTS_PUBLISHED = Counter(
    "qof_events_published_total", "Events published from the outbox", ["service", "topic"]
)
EVENTS_CONSUMED = Counter("qof_events_consumed_total", "Events consumed", ["service", "topic", "outcome"])
OUTBOX_PENDING = Gauge("qof_outbox_pending", "Outbox rows not yet published", ["service"])
CONSUMER_LAG = Gauge(
    "qof_consumer_lag",
    "Events on the broker not yet applied by this consumer (high watermark - position + batch in hand)",
    ["service", "group", "topic", "partition"],
)
BROKER_UP = Gauge("qof_broker_connected", "1 when the service's producer is connected", ["service"])
BROKER_RESETS = Counter(
    "qof_broker_resets_total", "Broker restarts that lost published events (the outbox was replayed)", ["service"]
)
CONSUMER_RECOVERIES = Counter(
    "qof_consumer_recoveries_total", "Consumers reconnected and re-read from the start of the logs", ["service"]
)
EVENTS_RECOVERING = Gauge(
    "qof_events_recovering", "1 while replayed events are being published or re-read after a broker restart",
    ["service"],
)


def instrument(app: FastAPI, service: str) -> None:
    @app.middleware("http")
    async def _measure(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        start = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        # The route template (never the concrete path) keeps identifiers out of metric labels.
        template = getattr(route, "path", "unmatched")
        HTTP_REQUESTS.labels(service, request.method, template, str(response.status_code)).inc()
        HTTP_LATENCY.labels(service, request.method, template).observe(time.perf_counter() - start)
        return response

    router = APIRouter()

    @router.get("/metrics", include_in_schema=False, dependencies=[Depends(metrics_access)])
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    app.include_router(router)


async def metrics_access(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer_scheme)
) -> None:
    """Open in development and test; elsewhere a token with the ``metrics:read`` scope."""
    if request.app.state.settings.is_development:
        return
    principal = await current_principal(request, credentials)
    if not principal.has("metrics:read"):
        raise Problem(403, "Forbidden", "This route needs the metrics:read scope", kind="insufficient-scope")

"""Web app: factory and lifespan. Server-rendered pages for a practice's staff and ICS analysts over the other
services' APIs, with local sign-in for the embedded stack and an OIDC provider's in production."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.web.api import auth, ics, oidc, practice, records
from services.web.api.deps import Refused, SignInRequired, render
from services.web.oidc_client import Provider
from services.web.outbound import Platform, ServiceError
from services.web.settings import WebSettings, web_settings
from services.web.store.models import events
from services.web.store.repo import put_user
from shared.service import ServiceSpec, create_service_app

SERVICE = "web"
HERE = Path(__file__).parent
# Pages: own styles and images only, no script at all, forms post back here only, never framed.
PAGE_CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'")
LETTER_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"


def create_app(settings: WebSettings | None = None, *,
               transports: Mapping[str, httpx.AsyncBaseTransport] | None = None) -> FastAPI:
    """``transports`` reach in-process apps of the other services instead of their URLs (tests)."""
    cfg = settings or web_settings()
    spec = ServiceSpec(
        name=SERVICE,
        title="QOF Web",
        description="Pages for a practice's staff (QOF overview, worklists, a patient's QOF page, registers, "
        "recall, workload) and ICS analysts (ICB benchmarks, workload by provider).",
        tables=events,
        migrations_dir=HERE / "migrations",
        routers=[auth.router, oidc.router, practice.router, records.router, ics.router],
        on_startup=lambda app: _started(app, cfg, transports),
        on_shutdown=_stopping,
    )
    app = create_service_app(spec, cfg)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_middleware(PageHeaders)

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        return RedirectResponse(f"/login?next={quote(exc.next_url, safe='/')}", status_code=303)

    @app.exception_handler(Refused)
    async def _refused(request: Request, exc: Refused) -> HTMLResponse:
        return render(request, "error.html", exc.status, heading="Not available", detail=exc.detail,
                      title="Not available")

    @app.exception_handler(ServiceError)
    async def _service(request: Request, exc: ServiceError) -> HTMLResponse:
        status = exc.status if exc.status in (403, 404) else 502
        heading = {403: "Not available", 404: "Not found"}.get(status, f"The {exc.service} service did not answer")
        return render(request, "error.html", status, heading=heading, detail=exc.detail, title=heading)

    return app


class PageHeaders:
    """The pages' own Content-Security-Policy (the services' API one forbids even a stylesheet)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope.get("path", "")).startswith("/docs"):
            await self.app(scope, receive, send)
            return
        letter = "/letters/" in str(scope.get("path", ""))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = LETTER_CSP if letter else PAGE_CSP
                headers["Cache-Control"] = "no-store"  # pages name patients
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _started(app: FastAPI, settings: WebSettings, transports: Mapping[str, httpx.AsyncBaseTransport] | None
                   ) -> None:
    app.state.platform = Platform(settings, transports)
    app.state.oidc = Provider(settings) if settings.oidc_configured else None
    if settings.demo_users and settings.is_development:
        await seed_demo_users(app, settings)


async def seed_demo_users(app: FastAPI, settings: WebSettings) -> None:
    """The embedded stack's demo logins: a practice manager of the demo practice and an ICS analyst."""
    password = settings.demo_password.get_secret_value()
    async with app.state.runtime.sessions() as s, s.begin():
        await put_user(s, f"demo.{settings.demo_practice.lower()}", password, role="practice",
                       display_name=f"Practice manager, {settings.demo_practice.upper()}",
                       practice=settings.demo_practice)
        await put_user(s, f"analyst.{settings.demo_icb.lower()}", password, role="ics",
                       display_name=f"ICS analyst, {settings.demo_icb.upper()}", icb=settings.demo_icb)


async def _stopping(app: FastAPI) -> None:
    platform: Platform | None = getattr(app.state, "platform", None)
    if platform is not None:
        await platform.close()
    provider: Provider | None = getattr(app.state, "oidc", None)
    if provider is not None:
        await provider.close()

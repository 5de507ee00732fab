"""Calls to the other services over HTTP with the platform's token, minted per page for the signed-in user.

The token carries the user's own practice (or ICB) and role scopes, so each service applies its own access
rules: the web app never reads another service's database and never stores what it reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import httpx

from services.web.domain.users import SignedIn
from services.web.settings import WebSettings
from shared.auth import mint_token

SERVICES = ("registers", "indicators", "recall", "workload")
Params = httpx.QueryParams | Mapping[str, Any] | list[tuple[str, Any]] | None


class ServiceError(RuntimeError):
    """A service refused or failed a call: its status and the problem's detail, to show the user."""

    def __init__(self, service: str, status: int, detail: str) -> None:
        super().__init__(f"{service} answered {status}: {detail}")
        self.service = service
        self.status = status
        self.detail = detail


class Platform:
    """One HTTP client per service for the app's lifetime (``transports`` reach in-process apps in tests)."""

    def __init__(self, settings: WebSettings, transports: Mapping[str, httpx.AsyncBaseTransport] | None = None):
        self.settings = settings
        self.clients = {
            name: httpx.AsyncClient(base_url=getattr(settings, f"{name}_url"), timeout=60,
                                    transport=(transports or {}).get(name))
            for name in SERVICES
        }

    async def close(self) -> None:
        for c in self.clients.values():
            await c.aclose()

    def as_user(self, user: SignedIn) -> Calls:
        token = mint_token(self.settings, subject=f"web:{user.username}", scopes=list(user.scopes),
                           practices=[user.practice] if user.practice else None, icb=user.icb,
                           ttl=timedelta(minutes=self.settings.token_minutes))
        return Calls(self.clients, token)


class Calls:
    def __init__(self, clients: Mapping[str, httpx.AsyncClient], token: str) -> None:
        self.clients = clients
        self.headers = {"Authorization": f"Bearer {token}"}

    async def request(self, service: str, method: str, path: str, *, params: Params = None,
                      json: Any = None) -> httpx.Response:
        try:
            r = await self.clients[service].request(method, path, params=params, json=json,  # type: ignore[arg-type]
                                                    headers=self.headers)
        except httpx.HTTPError as exc:
            raise ServiceError(service, 503, f"{service} could not be reached ({type(exc).__name__})") from None
        if r.status_code >= 400:
            raise ServiceError(service, r.status_code, _detail(r))
        return r

    async def get(self, service: str, path: str, params: Params = None) -> Any:
        return (await self.request(service, "GET", path, params=params)).json()

    async def get_text(self, service: str, path: str, params: Params = None) -> str:
        return (await self.request(service, "GET", path, params=params)).text

    async def post(self, service: str, path: str, json: Any = None, params: Params = None) -> Any:
        r = await self.request(service, "POST", path, params=params, json=json)
        return r.json() if r.content else None


def _detail(r: httpx.Response) -> str:
    try:
        body = r.json()
    except ValueError:
        return r.text[:300]
    errors = body.get("errors") if isinstance(body, dict) else None
    if errors:
        return "; ".join(f"{e.get('field')}: {e.get('reason')}" for e in errors)
    return str(body.get("detail") or body.get("title") or r.reason_phrase) if isinstance(body, dict) else r.text[:300]

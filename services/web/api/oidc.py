"""Sign-in through the organisation's identity provider: OpenID Connect authorization code flow with PKCE.

``/login/oidc`` records a pending sign-in (state, nonce, PKCE verifier) and sends the browser to the provider;
``/login/oidc/callback`` takes it back: the state must be the one in this browser's cookie, the code is
exchanged, the ID token verified, and the person mapped to a platform user, or refused with a page that says
why. The session is the same as a local sign-in's.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from services.web.api.auth import safe_next, signed_in_redirect, start_session
from services.web.api.deps import render
from services.web.domain.oidc import SignInRefused, from_claims, identity
from services.web.oidc_client import Provider
from services.web.settings import WebSettings
from services.web.store.models import User
from services.web.store.repo import PENDING_MINUTES, linked_user, open_pending, put_oidc_user, take_pending

router = APIRouter(include_in_schema=False)
STATE_COOKIE = "qof_oidc_state"
CALLBACK = "/login/oidc/callback"


def refused(request: Request, reason: str, status: int = 403) -> HTMLResponse:
    response = render(request, "error.html", status, heading="You are not signed in", detail=reason,
                      title="Not signed in", back="/login")
    response.delete_cookie(STATE_COOKIE, path=CALLBACK)
    return response


@router.get("/login/oidc")
async def start(request: Request, next: str = "/") -> Response:
    settings: WebSettings = request.app.state.settings
    provider: Provider | None = request.app.state.oidc
    if provider is None:
        return RedirectResponse("/login", status_code=303)
    try:
        redirect = await provider.redirect()
    except SignInRefused as exc:
        return refused(request, exc.reason, 502)
    async with request.app.state.runtime.sessions() as s, s.begin():
        await open_pending(s, state=redirect.state, nonce=redirect.nonce, code_verifier=redirect.code_verifier,
                           next_url=safe_next(next))
    response = RedirectResponse(redirect.url, status_code=303)
    # Binds the sign-in to this browser (no login CSRF); Lax so it comes back on the provider's redirect.
    response.set_cookie(STATE_COOKIE, redirect.state, max_age=PENDING_MINUTES * 60, httponly=True,
                        samesite="lax", secure=settings.cookie_secure, path=CALLBACK)
    return response


@router.get(CALLBACK)
async def callback(
    request: Request,
    state: Annotated[str, Query(max_length=100)] = "",
    code: Annotated[str, Query(max_length=2000)] = "",
    error: Annotated[str, Query(max_length=100)] = "",
    error_description: Annotated[str, Query(max_length=500)] = "",
) -> Response:
    settings: WebSettings = request.app.state.settings
    provider: Provider | None = request.app.state.oidc
    if provider is None:
        return RedirectResponse("/login", status_code=303)
    cookie = request.cookies.get(STATE_COOKIE, "")
    if not state or not cookie or not hmac.compare_digest(state, cookie):
        return refused(request, "This sign-in was not started in this browser, or it has expired: start again.",
                       400)
    async with request.app.state.runtime.sessions() as s, s.begin():
        pending = await take_pending(s, state)
    if pending is None:
        return refused(request, "This sign-in has expired or was already used: start again.", 400)
    if error:
        reason = f"{settings.oidc_provider_name} did not sign you in ({error}{': ' if error_description else ''}"
        return refused(request, f"{reason}{error_description}).")
    if not code:
        return refused(request, "The sign-in provider sent no authorization code.", 400)
    try:
        claims = await provider.sign_in(code, pending.code_verifier, pending.nonce)
        who = identity(claims, settings.oidc_user_claim)
        async with request.app.state.runtime.sessions() as s, s.begin():
            user = await _platform_user(s, settings, who, claims)
            session_id = await start_session(s, user, settings, how="oidc")
    except SignInRefused as exc:
        return refused(request, exc.reason)
    response = signed_in_redirect(user, session_id, pending.next_url, settings)
    response.delete_cookie(STATE_COOKIE, path=CALLBACK)
    return response


async def _platform_user(s: AsyncSession, settings: WebSettings, who: str, claims: dict[str, Any]) -> User:
    """Claims mode: the ID token's practice or ICB claim; linked mode: the local user linked to ``who``."""
    if settings.oidc_users == "claims":
        mapped = from_claims(claims, practice_claim=settings.oidc_practice_claim, icb_claim=settings.oidc_icb_claim)
        return await put_oidc_user(s, who, mapped)
    user = await linked_user(s, who)
    if user is None:
        raise SignInRefused(f"Your {settings.oidc_provider_name} account is not linked to a QOF platform user. "
                            "Ask your administrator to add you.")
    return user

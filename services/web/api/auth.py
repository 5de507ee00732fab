"""Sign-in and sign-out with local users; the session cookie is HttpOnly, SameSite=Lax, Secure outside dev.
Sign-in through the OIDC provider (``api/oidc.py``) ends in the same session."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from services.web.api.deps import COOKIE, FormUser, render
from services.web.settings import WebSettings
from services.web.store.models import User, audit_log
from services.web.store.repo import authenticate, close_session, open_session, prune_sessions
from shared.audit import audit
from shared.auth import Principal, rate_limits
from shared.problems import Problem

router = APIRouter(include_in_schema=False)


def safe_next(url: str | None) -> str:
    """Only a path of this app (never another site) is followed after signing in."""
    return url if url and url.startswith("/") and not url.startswith("//") and "\\" not in url else "/"


def login_form(request: Request, status_code: int = 200, *, next: str = "/", error: str | None = None
               ) -> HTMLResponse:
    """The sign-in page: the provider's button when OIDC is configured, the password form unless turned off."""
    settings: WebSettings = request.app.state.settings
    return render(request, "login.html", status_code, next=safe_next(next), error=error,
                  local_users=settings.local_users,
                  oidc_name=settings.oidc_provider_name if settings.oidc_configured else None)


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, next: str = "/") -> HTMLResponse:
    return login_form(request, next=next)


@router.post("/login")
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    settings: WebSettings = request.app.state.settings
    if not settings.local_users:
        return login_form(request, 403, next=next, error="Sign-in with a user name and password is turned off "
                          "here: use your organisation's account.")
    limits = rate_limits(request)
    address = request.client.host if request.client else "unknown"
    try:
        limits.check_client(address)
    except Problem:
        return login_form(request, 429, next=next,
                          error="Too many failed sign-ins from this address: wait a minute and try again.")
    async with request.app.state.runtime.sessions() as s, s.begin():
        user = await authenticate(s, username, password)
        if user is None:
            limits.failed(address)
            return login_form(request, 401, next=next, error="The user name or password is not right.")
        session_id = await start_session(s, user, settings, how="password")
    return signed_in_redirect(user, session_id, next, settings)


async def start_session(s: AsyncSession, user: User, settings: WebSettings, *, how: str) -> str:
    """A new sign-in session for this user (audited), whichever way they signed in."""
    await prune_sessions(s)
    session_id = await open_session(s, user, settings.session_hours)
    who = Principal(f"web:{user.username}", frozenset(), frozenset([user.practice_ods] if user.practice_ods
                                                                   else []), user.icb_ods)
    await audit(s, audit_log, who, "web.sign_in", user.username, practice=user.practice_ods, detail=how)
    return session_id


def signed_in_redirect(user: User, session_id: str, next: str, settings: WebSettings) -> Response:
    """To the page asked for (or the user's home page) with the session cookie."""
    target = safe_next(next)
    if target == "/":
        target = "/overview" if user.role == "practice" else "/ics"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(COOKIE, session_id, max_age=int(settings.session_hours * 3600), httponly=True,
                        samesite="lax", secure=settings.cookie_secure, path="/")
    return response


@router.post("/logout")
async def logout(request: Request, _user: FormUser) -> Response:
    session_id = request.cookies.get(COOKIE)
    if session_id:
        async with request.app.state.runtime.sessions() as s, s.begin():
            await close_session(s, session_id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response

"""Sign-in and sign-out with local users; the session cookie is HttpOnly, SameSite=Lax, Secure outside dev."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.web.api.deps import COOKIE, FormUser, render
from services.web.settings import WebSettings
from services.web.store.models import audit_log
from services.web.store.repo import authenticate, close_session, open_session, prune_sessions
from shared.audit import audit
from shared.auth import Principal, rate_limits
from shared.problems import Problem

router = APIRouter(include_in_schema=False)


def _safe_next(url: str | None) -> str:
    """Only a path of this app (never another site) is followed after signing in."""
    return url if url and url.startswith("/") and not url.startswith("//") and "\\" not in url else "/"


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, next: str = "/") -> HTMLResponse:
    return render(request, "login.html", next=_safe_next(next), error=None)


@router.post("/login")
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    settings: WebSettings = request.app.state.settings
    limits = rate_limits(request)
    address = request.client.host if request.client else "unknown"
    try:
        limits.check_client(address)
    except Problem:
        return render(request, "login.html", 429, next=_safe_next(next),
                      error="Too many failed sign-ins from this address: wait a minute and try again.")
    async with request.app.state.runtime.sessions() as s, s.begin():
        user = await authenticate(s, username, password)
        if user is None:
            limits.failed(address)
            return render(request, "login.html", 401, next=_safe_next(next),
                          error="The user name or password is not right.")
        await prune_sessions(s)
        session_id = await open_session(s, user, settings.session_hours)
        who = Principal(f"web:{user.username}", frozenset(), frozenset([user.practice_ods] if user.practice_ods
                                                                       else []), user.icb_ods)
        await audit(s, audit_log, who, "web.sign_in", user.username, practice=user.practice_ods)
    target = _safe_next(next)
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

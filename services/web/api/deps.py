"""What every page needs: the signed-in user from the session cookie, the platform client, the templates."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from services.web.domain.users import SignedIn
from services.web.outbound import Calls, Platform
from services.web.store.repo import signed_in

COOKIE = "qof_session"
templates = Jinja2Templates(directory=Path(__file__).resolve().parents[1] / "templates")


class SignInRequired(Exception):
    """No valid session: the page answers with a redirect to the sign-in page."""

    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


class Refused(Exception):
    """Signed in, but this page is not for this user's role (or a form's CSRF token is wrong)."""

    def __init__(self, detail: str, status: int = 403) -> None:
        self.detail = detail
        self.status = status


async def current_user(request: Request) -> SignedIn:
    session_id = request.cookies.get(COOKIE)
    user = None
    if session_id:
        async with request.app.state.runtime.sessions() as s:
            user = await signed_in(s, session_id)
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target)
    request.state.user = user
    return user


async def practice_user(user: Annotated[SignedIn, Depends(current_user)]) -> SignedIn:
    if user.role != "practice" or not user.practice:
        raise Refused("These pages are for a practice's staff; an ICS analyst sees aggregates only.")
    return user


async def ics_user(user: Annotated[SignedIn, Depends(current_user)]) -> SignedIn:
    if user.role != "ics" or not user.icb:
        raise Refused("These pages are for ICS analysts.")
    return user


async def checked_form(
    user: Annotated[SignedIn, Depends(current_user)], csrf: Annotated[str, Form()] = ""
) -> SignedIn:
    """A form post must carry the session's CSRF token (a page of this app rendered it)."""
    if not csrf or csrf != user.csrf:
        raise Refused("This form has expired: reload the page and send it again.", 400)
    return user


User = Annotated[SignedIn, Depends(current_user)]
PracticeUser = Annotated[SignedIn, Depends(practice_user)]
IcsUser = Annotated[SignedIn, Depends(ics_user)]
FormUser = Annotated[SignedIn, Depends(checked_form)]


def calls(request: Request, user: SignedIn) -> Calls:
    platform: Platform = request.app.state.platform
    return platform.as_user(user)


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("user", getattr(request.state, "user", None))
    return templates.TemplateResponse(request, name, context, status_code=status_code)

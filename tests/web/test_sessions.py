"""The web app's sign-in: every page needs a session, each role reaches its own pages only, forms carry the
session's CSRF token, passwords are stored as scrypt hashes. In-process, without the other services."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from services.web.app import create_app
from services.web.domain.passwords import hash_password, verify_password
from services.web.settings import web_settings
from services.web.store.models import Session, User
from shared.testing import running

PASSWORD = "a-password-for-tests"
PUBLIC = {"/login", "/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/static"}


@pytest.fixture
async def web(tmp_path: Path) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    cfg = web_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'web.db'}", environment="test",
                       demo_password=PASSWORD, auth_failure_limit="100000/minute")
    app = create_app(cfg)
    async with running(app) as client:
        yield app, client


async def sign_in(client: httpx.AsyncClient, user: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/login", data={"username": user, "password": password, "next": "/"})


def page_routes(app: FastAPI) -> list[tuple[str, str]]:
    out = []
    for r in (route for router in app.state.spec.routers for route in router.routes):
        path = getattr(r, "path", "")
        if path in PUBLIC or path.startswith("/docs"):
            continue
        for method in sorted(getattr(r, "methods", None) or []):
            if method != "HEAD":
                out.append((method, re.sub(r"\{\w+\}", "X1", path)))
    return out


async def test_every_page_without_a_session_goes_to_sign_in(web: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, client = web
    routes = page_routes(app)
    assert ("GET", "/overview") in routes and ("GET", "/ics") in routes and ("POST", "/workload/quick") in routes
    for method, path in routes:
        r = await client.request(method, path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login"), (method, path, r.status_code)
    forged = await client.get("/overview", headers={"Cookie": "qof_session=not-a-session"}, follow_redirects=False)
    assert forged.status_code == 303


async def test_sign_in_sets_a_protected_cookie_and_roles_keep_to_their_pages(
        web: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, client = web
    bad = await sign_in(client, "demo.a81001", "wrong")
    assert bad.status_code == 401 and "not right" in bad.text
    ok = await sign_in(client, "demo.a81001")
    assert ok.status_code == 303 and ok.headers["location"] == "/overview"
    cookie = ok.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    # the practice user's session does not open the ICS pages
    assert (await client.get("/ics")).status_code == 403
    # a form without the session's CSRF token is refused before anything is sent
    r = await client.post("/workload/quick", data={"provider_ods": "RTD", "category": "other"})
    assert r.status_code == 400
    page = await client.get("/login")
    assert 'for="username"' in page.text and 'for="password"' in page.text  # labelled fields
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp  # no script may run on any page
    async with app.state.runtime.sessions() as s:
        user = await s.get(User, "demo.a81001")
        assert user is not None and user.password_hash.startswith("scrypt$") and PASSWORD not in user.password_hash
        stored = list(await s.scalars(select(Session.id_hash)))
    session_id = client.cookies["qof_session"]
    assert session_id not in stored and len(stored) == 1  # only a digest of the cookie is kept
    client.cookies.clear()
    analyst = await sign_in(client, "analyst.qhm")
    assert analyst.headers["location"] == "/ics"
    for path in ("/overview", "/worklists", "/worklists/DM020/export.csv", "/patients/X1", "/workload"):
        assert (await client.get(path)).status_code == 403, path


async def test_after_sign_in_only_a_path_of_this_app_is_followed(web: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _app, client = web
    for target, expected in [("/registers", "/registers"), ("https://elsewhere.example/", "/overview"),
                             ("//elsewhere.example", "/overview")]:
        r = await client.post("/login", data={"username": "demo.a81001", "password": PASSWORD, "next": target})
        assert r.headers["location"] == expected, target


def test_password_hashes_are_salted_and_verified() -> None:
    a, b = hash_password("correct horse"), hash_password("correct horse")
    assert a != b and verify_password("correct horse", a) and verify_password("correct horse", b)
    assert not verify_password("Correct horse", a) and not verify_password("x", "not-a-hash")

"""Sign-in through an OpenID Connect provider (a stand-in on loopback), following each redirect by hand: the
authorization code flow with PKCE ends in the same session as a local sign-in, and the page calls carry the
platform's token for the mapped practice. Refused: a state not from this browser, a nonce not the one sent,
a signature not by the provider's published key, a person the platform does not know.

OpenID Connect Core 1.0, §3.1.3.7: "The Client MUST validate the signature of all other ID Tokens according
to JWS using the algorithm specified in the JWT alg Header Parameter. The Client MUST use the keys provided
by the Issuer." ... "If a nonce value was sent in the Authentication Request, a nonce Claim MUST be present
and its value checked to verify that it is the same value as the one that was sent in the Authentication
Request."
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from sqlalchemy import select

from services.registers.app import create_app as registers_app
from services.web.app import create_app
from services.web.domain.oidc import SignInRefused, verified_claims
from services.web.settings import web_settings
from services.web.store.models import Session, User
from services.web.store.repo import link_user
from shared.settings import settings_for
from shared.testing import running
from tests.web.oidc_provider import CLIENT_ID, CLIENT_SECRET, KID, StandIn, serving

WEB = "http://testserver"
PROVIDER_NAME = "Test NHS Login"


@dataclass
class Flow:
    app: FastAPI
    browser: httpx.AsyncClient  # the web app, in process, with a cookie jar like a browser's
    provider: StandIn


@pytest.fixture(scope="module")
def stand_in() -> Iterator[StandIn]:
    with serving() as p:
        yield p


@pytest.fixture
async def registers(tmp_path: Path) -> AsyncIterator[FastAPI]:
    app = registers_app(settings_for("registers", database_url=f"sqlite+aiosqlite:///{tmp_path / 'r.db'}",
                                     kafka_enabled=False, environment="test"))
    async with running(app):
        yield app


def web_app(url: str, provider: StandIn, registers: FastAPI, **extra: Any) -> FastAPI:
    provider.claims, provider.nonce, provider.signing_key = {}, None, None
    cfg = web_settings(database_url=url, environment="test",
                       demo_users=False, oidc_issuer=provider.issuer, oidc_client_id=CLIENT_ID,
                       oidc_client_secret=CLIENT_SECRET, oidc_redirect_url=f"{WEB}/login/oidc/callback",
                       oidc_provider_name=PROVIDER_NAME, **extra)
    return create_app(cfg, transports={"registers": httpx.ASGITransport(app=registers)})


@asynccontextmanager
async def claims_mode(url: str, provider: StandIn, registers: FastAPI) -> AsyncIterator[Flow]:
    app = web_app(url, provider, registers, oidc_users="claims")
    async with running(app) as browser:
        yield Flow(app, browser, provider)


@pytest.fixture
async def flow(tmp_path: Path, stand_in: StandIn, registers: FastAPI) -> AsyncIterator[Flow]:
    async with claims_mode(f"sqlite+aiosqlite:///{tmp_path / 'web.db'}", stand_in, registers) as f:
        yield f


@pytest.fixture
async def flow_on_each_database(database_url: str, stand_in: StandIn, registers: FastAPI) -> AsyncIterator[Flow]:
    async with claims_mode(database_url, stand_in, registers) as f:
        yield f


async def to_provider(f: Flow, next_url: str = "/") -> str:
    """The sign-in button's link, up to the provider's redirect back: the callback URL it sends the browser to."""
    start = await f.browser.get("/login/oidc", params={"next": next_url})
    assert start.status_code == 303
    authorize = start.headers["location"]
    asked = parse_qs(urlsplit(authorize).query)
    assert authorize.startswith(f"{f.provider.issuer}/authorize?")
    assert asked["code_challenge_method"] == ["S256"] and asked["nonce"][0] and asked["state"][0]
    async with httpx.AsyncClient() as at_provider:
        back = await at_provider.get(authorize)
    assert back.status_code == 302
    return back.headers["location"]


async def callback(f: Flow, url: str) -> httpx.Response:
    assert url.startswith(f"{WEB}/login/oidc/callback?")
    return await f.browser.get(url.removeprefix(WEB))


async def signed_in_sessions(app: FastAPI) -> int:
    async with app.state.runtime.sessions() as s:
        return len(list(await s.scalars(select(Session.id_hash))))


async def test_code_flow_with_pkce_signs_in_to_the_practice_pages(flow_on_each_database: Flow) -> None:
    flow = flow_on_each_database
    flow.provider.claims = {"sub": "user-7781", "name": "Pat Manager", "ods": "a81001"}
    page = await flow.browser.get("/login")
    assert f"Sign in with {PROVIDER_NAME}" in page.text and 'href="/login/oidc?next=/"' in page.text
    back = await to_provider(flow, "/registers")
    done = await callback(flow, back)
    assert done.status_code == 303 and done.headers["location"] == "/registers", done.text
    assert "qof_session" in flow.browser.cookies
    # the code went back with the PKCE verifier whose S256 challenge the provider was sent
    assert flow.provider.token_requests[-1]["code_verifier"]
    registers = await flow.browser.get("/registers")
    assert registers.status_code == 200 and "Registers and data quality" in registers.text
    assert "Pat Manager · A81001" in registers.text  # the signed-in header: name and practice from the claims
    assert (await flow.browser.get("/ics")).status_code == 403  # a practice's staff, not an analyst
    async with flow.app.state.runtime.sessions() as s:
        user = await s.scalar(select(User).where(User.oidc_identity == "user-7781"))
    assert user is not None and user.role == "practice" and user.practice_ods == "A81001"
    # the same callback again is refused: a code and its state are used once
    flow.browser.cookies.delete("qof_session")
    again = await callback(flow, back)
    assert again.status_code == 400 and "start again" in again.text


async def test_a_state_not_from_this_browser_is_refused(flow: Flow) -> None:
    flow.provider.claims = {"sub": "user-1", "ods": "A81001"}
    back = await to_provider(flow)
    forged = back.replace("state=", "state=x")
    r = await callback(flow, forged)
    assert r.status_code == 400 and "not started in this browser" in r.text
    other_browser = httpx.AsyncClient(transport=httpx.ASGITransport(app=flow.app), base_url=WEB)
    async with other_browser:
        r = await other_browser.get(back.removeprefix(WEB))
    assert r.status_code == 400 and "not started in this browser" in r.text
    assert await signed_in_sessions(flow.app) == 0


async def test_an_id_token_with_another_nonce_is_refused(flow: Flow) -> None:
    flow.provider.claims = {"sub": "user-1", "ods": "A81001"}
    flow.provider.nonce = "a-nonce-from-another-sign-in"
    r = await callback(flow, await to_provider(flow))
    assert r.status_code == 403 and "not for this sign-in (nonce)" in r.text
    assert await signed_in_sessions(flow.app) == 0


async def test_an_id_token_not_signed_by_the_published_key_is_refused(flow: Flow) -> None:
    flow.provider.claims = {"sub": "user-1", "ods": "A81001"}
    flow.provider.signing_key = RSAKey.generate_key(2048, parameters={"kid": KID})  # same kid, another key
    r = await callback(flow, await to_provider(flow))
    assert r.status_code == 403 and "could not be verified" in r.text
    assert await signed_in_sessions(flow.app) == 0
    assert (await flow.browser.get("/registers")).status_code == 303  # still not signed in


async def test_a_person_with_no_practice_or_icb_claim_is_refused(flow: Flow) -> None:
    flow.provider.claims = {"sub": "user-1", "name": "Someone Else"}
    r = await callback(flow, await to_provider(flow))
    assert r.status_code == 403 and "not set up for the QOF platform" in r.text and 'href="/login"' in r.text
    assert await signed_in_sessions(flow.app) == 0


async def test_linked_mode_signs_in_a_linked_local_user_and_refuses_an_unknown_one(
        database_url: str, stand_in: StandIn, registers: FastAPI) -> None:
    app = web_app(database_url, stand_in, registers, oidc_users="linked", local_users=False)
    async with running(app) as browser:
        f = Flow(app, browser, stand_in)
        page = await browser.get("/login")
        assert f"Sign in with {PROVIDER_NAME}" in page.text and 'name="password"' not in page.text
        refused = await browser.post("/login", data={"username": "x", "password": "y"})
        assert refused.status_code == 403 and "turned off" in refused.text
        # an ODS claim does not let an unlinked person in when the platform's own records decide
        stand_in.claims = {"sub": "9990001", "ods": "A81001"}
        r = await callback(f, await to_provider(f))
        assert r.status_code == 403 and "not linked to a QOF platform user" in r.text
        async with app.state.runtime.sessions() as s, s.begin():
            s.add(User(username="analyst.qhm", display_name="ICS analyst", role="ics", icb_ods="QHM",
                       password_hash="none"))
            await s.flush()
            assert await link_user(s, "analyst.qhm", "9990001")
        r = await callback(f, await to_provider(f))
        assert r.status_code == 303 and r.headers["location"] == "/ics"
        assert (await browser.get("/registers")).status_code == 403  # the linked record's role, not the claim


def _token(key: RSAKey, **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": "https://idp.example", "aud": CLIENT_ID, "sub": "s1", "iat": now, "exp": now + 300,
            "nonce": "n1", **claims}
    return jwt.encode({"alg": "RS256", "kid": KID}, {k: v for k, v in body.items() if v is not None}, key)


@pytest.mark.parametrize(("claims", "refusal"), [
    ({"exp": int(time.time()) - 120}, "exp"),  # expired beyond the 60 s leeway
    ({"aud": "another-client"}, "aud"),
    ({"iss": "https://elsewhere.example"}, "iss"),
    ({"aud": [CLIENT_ID, "another-client"]}, "azp"),  # several audiences and no authorised party
    ({"nonce": None}, "nonce"),
])
def test_an_id_token_for_another_client_issuer_or_time_is_refused(claims: dict[str, Any], refusal: str) -> None:
    key = RSAKey.generate_key(2048, parameters={"kid": KID})
    keys = KeySet([key])
    ok = verified_claims(_token(key), keys, issuer="https://idp.example", client_id=CLIENT_ID, nonce="n1")
    assert ok["sub"] == "s1"
    with pytest.raises(SignInRefused, match=refusal):
        verified_claims(_token(key, **claims), keys, issuer="https://idp.example", client_id=CLIENT_ID, nonce="n1")


def test_production_refuses_a_sign_in_nobody_could_use_or_one_over_plain_http() -> None:
    base = {"environment": "production", "jwt_secret": "s" * 32, "demo_users": False}
    with pytest.raises(RuntimeError, match="QOF_LOCAL_USERS=false needs QOF_OIDC_ISSUER"):
        web_settings(**base, local_users=False).check_production_safety()
    with pytest.raises(RuntimeError, match="QOF_OIDC_CLIENT_ID"):
        web_settings(**base, oidc_issuer="https://idp.example").check_production_safety()
    with pytest.raises(RuntimeError, match="https"):
        web_settings(**base, oidc_issuer="http://idp.example", oidc_client_id="c",
                     oidc_redirect_url="https://qof.example/login/oidc/callback").check_production_safety()
    web_settings(**base, oidc_issuer="https://idp.example", oidc_client_id="c", local_users=False,
                 oidc_redirect_url="https://qof.example/login/oidc/callback").check_production_safety()


async def test_a_sign_in_the_provider_declined_says_so(flow: Flow) -> None:
    flow.provider.claims = {"sub": "user-1", "ods": "A81001"}
    back = await to_provider(flow)
    state = parse_qs(urlsplit(back).query)["state"][0]
    r = await flow.browser.get("/login/oidc/callback", params={"state": state, "error": "access_denied",
                                                               "error_description": "The user cancelled"})
    assert r.status_code == 403 and f"{PROVIDER_NAME} did not sign you in (access_denied: The user cancelled)" in r.text
    assert await signed_in_sessions(flow.app) == 0

"""A small OpenID Connect provider for the web app's sign-in tests, served by uvicorn on loopback: discovery,
JWKS, an authorize endpoint that signs the person in at once and redirects back with a code, and a token
endpoint that checks the client, the redirect URI and the PKCE verifier and issues an RS256 ID token signed
with a key made for the test run."""

from __future__ import annotations

import base64
import hashlib
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlencode

import uvicorn
from fastapi import FastAPI, Form, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse
from joserfc import jwt
from joserfc.jwk import RSAKey

CLIENT_ID = "qof-web-test"
CLIENT_SECRET = "a-client-secret-for-tests"
KID = "test-key-1"


@dataclass
class StandIn:
    """What the provider does on the next sign-in; tests change it to make it misbehave."""

    issuer: str = ""
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": KID}))
    claims: dict[str, Any] = field(default_factory=dict)  # the person signed in at /authorize
    nonce: str | None = None  # put this nonce in the ID token instead of the one asked for
    signing_key: RSAKey | None = None  # sign with this key (still naming KID) instead of the published one
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    token_requests: list[dict[str, str]] = field(default_factory=list)


def stand_in_app(p: StandIn) -> FastAPI:
    app = FastAPI()

    @app.get("/.well-known/openid-configuration")
    async def discovery() -> dict[str, Any]:
        return {"issuer": p.issuer, "authorization_endpoint": f"{p.issuer}/authorize",
                "token_endpoint": f"{p.issuer}/token", "jwks_uri": f"{p.issuer}/jwks",
                "response_types_supported": ["code"], "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"], "code_challenge_methods_supported": ["S256"]}

    @app.get("/jwks")
    async def jwks() -> dict[str, Any]:
        return {"keys": [p.key.as_dict(private=False)]}

    @app.get("/authorize")
    async def authorize(client_id: str, redirect_uri: str, response_type: str, scope: str, state: str,
                        nonce: str, code_challenge: str, code_challenge_method: Annotated[str, Query()]
                        ) -> RedirectResponse:
        assert client_id == CLIENT_ID and response_type == "code" and "openid" in scope.split()
        assert code_challenge_method == "S256"
        code = secrets.token_urlsafe(16)
        p.codes[code] = {"nonce": nonce, "challenge": code_challenge, "redirect_uri": redirect_uri,
                         "claims": dict(p.claims)}
        return RedirectResponse(f"{redirect_uri}?{urlencode({'code': code, 'state': state})}", status_code=302)

    @app.post("/token")
    async def token(request: Request, grant_type: Annotated[str, Form()], code: Annotated[str, Form()],
                    redirect_uri: Annotated[str, Form()], code_verifier: Annotated[str, Form()]) -> JSONResponse:
        p.token_requests.append({"grant_type": grant_type, "code": code, "code_verifier": code_verifier})
        basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {basic}":
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        issued = p.codes.pop(code, None)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(code_verifier.encode()).digest()).rstrip(b"=").decode()
        if (issued is None or grant_type != "authorization_code" or redirect_uri != issued["redirect_uri"]
                or challenge != issued["challenge"]):
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        now = int(time.time())
        claims = {"iss": p.issuer, "aud": CLIENT_ID, "iat": now, "exp": now + 300,
                  "nonce": p.nonce or issued["nonce"], **issued["claims"]}
        id_token = jwt.encode({"alg": "RS256", "kid": KID}, claims, p.signing_key or p.key)
        return JSONResponse({"access_token": secrets.token_urlsafe(16), "token_type": "Bearer",
                             "expires_in": 300, "id_token": id_token})

    return app


@contextmanager
def serving() -> Iterator[StandIn]:
    """The provider on a free loopback port for the ``with`` block."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    p = StandIn(issuer=f"http://127.0.0.1:{sock.getsockname()[1]}")
    server = uvicorn.Server(uvicorn.Config(stand_in_app(p), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the OIDC stand-in did not start")
        time.sleep(0.02)
    try:
        yield p
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()

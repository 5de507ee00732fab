"""The identity provider as the web app reaches it: discovery, its JWKS, the authorization URL (code flow with
PKCE S256, state and nonce) and the code exchange, through Authlib's OAuth 2 client."""

from __future__ import annotations

import asyncio
import warnings
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.deprecate import AuthlibDeprecationWarning
from joserfc.jwk import KeySet

with warnings.catch_warnings():
    # Authlib 1.9 asks for the httpx2 package; plain httpx is the client the whole platform uses.
    warnings.filterwarnings("ignore", message="The httpx module is deprecated", category=AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client
    from authlib.integrations.httpx_client import OAuthError as AuthlibOAuthError

from services.web.domain.oidc import SignInRefused, UnknownSigningKey, verified_claims
from services.web.settings import WebSettings

DISCOVERY = "/.well-known/openid-configuration"


@dataclass(frozen=True)
class Redirect:
    url: str
    state: str
    nonce: str
    code_verifier: str


class Provider:
    """One configured provider; its metadata and keys are read on first use and kept (keys re-read when a
    token names a key not held)."""

    def __init__(self, settings: WebSettings, http: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self.issuer = settings.oidc_issuer.rstrip("/")
        self.http = http or httpx.AsyncClient(timeout=15)
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None
        self._lock = asyncio.Lock()

    async def close(self) -> None:
        await self.http.aclose()

    async def _json(self, url: str) -> dict[str, Any]:
        try:
            r = await self.http.get(url)
            r.raise_for_status()
            body = r.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise SignInRefused(f"The sign-in provider could not be reached ({type(exc).__name__}).") from None
        if not isinstance(body, dict):
            raise SignInRefused("The sign-in provider's answer was not understood.")
        return body

    async def metadata(self) -> dict[str, Any]:
        async with self._lock:
            if self._metadata is None:
                meta = await self._json(self.issuer + DISCOVERY)
                # OIDC Discovery §4.3: the issuer in the document must be the one configured.
                if str(meta.get("issuer", "")).rstrip("/") != self.issuer:
                    raise SignInRefused("The sign-in provider's discovery document names another issuer.")
                for field in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                    if not meta.get(field):
                        raise SignInRefused(f"The sign-in provider's discovery document has no {field}.")
                self._metadata = meta
            return self._metadata

    async def keys(self, *, refresh: bool = False) -> KeySet:
        meta = await self.metadata()
        if self._keys is None or refresh:
            self._keys = KeySet.import_key_set(await self._json(meta["jwks_uri"]))  # type: ignore[arg-type]
        return self._keys

    def _client(self) -> AsyncOAuth2Client:
        s = self.settings
        return AsyncOAuth2Client(client_id=s.oidc_client_id, client_secret=s.oidc_client_secret.get_secret_value()
                                 or None, scope=s.oidc_scopes, redirect_uri=s.oidc_redirect_url,
                                 code_challenge_method="S256", timeout=15)

    async def redirect(self) -> Redirect:
        meta = await self.metadata()
        state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
        async with self._client() as client:
            url, _ = client.create_authorization_url(meta["authorization_endpoint"], state=state,
                                                     code_verifier=verifier, nonce=nonce)
        return Redirect(url, state, nonce, verifier)

    async def sign_in(self, code: str, code_verifier: str, nonce: str) -> dict[str, Any]:
        """Exchange the code (with the PKCE verifier) and return the verified ID token's claims."""
        meta = await self.metadata()
        async with self._client() as client:
            try:
                token = await client.fetch_token(meta["token_endpoint"], grant_type="authorization_code",
                                                 code=code, code_verifier=code_verifier)
            except (AuthlibOAuthError, httpx.HTTPError) as exc:
                raise SignInRefused(f"The sign-in provider did not accept the sign-in ({exc}).") from None
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise SignInRefused("The sign-in provider sent no ID token.")
        issuer, client_id = str(meta["issuer"]), self.settings.oidc_client_id
        try:
            return verified_claims(id_token, await self.keys(), issuer=issuer, client_id=client_id, nonce=nonce)
        except UnknownSigningKey:
            return verified_claims(id_token, await self.keys(refresh=True), issuer=issuer, client_id=client_id,
                                   nonce=nonce)

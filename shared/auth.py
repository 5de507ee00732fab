"""Bearer-JWT authentication (OAuth2 client-credentials shape) with scopes and organisation claims.

Claims: ``sub``, ``scope`` (space-separated), and ``practices`` (list of practice ODS codes) and/or ``icb``
(an ICB ODS code, for analytics consumers who see aggregates only). Every route declares the scope it needs
with ``require_scope``; practice routes also call ``principal.check_practice``.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.problems import Problem
from shared.ratelimit import RateLimits
from shared.settings import ServiceSettings

SCOPES = {
    "records:read": "Read patients, coded records and registers of the token's practices",
    "records:write": "Write patients and coded records for the token's practices",
    "patients:contact": "Read patient contact details (recall service only)",
    "indicators:read": "Read achievement, worklists and exports",
    "indicators:write": "Record attestations, contracts and trigger recomputes",
    "recall:read": "Read recall plans and messages",
    "recall:write": "Plan and send invitations",
    "workload:read": "Read the transferred-work log and its reports",
    "workload:write": "Log transferred work",
    "analytics:read": "Aggregates across practices of an ICB (small numbers suppressed)",
    "metrics:read": "Scrape /metrics outside development and test",
    "admin": "Operate the platform (jobs, dead letters)",
}

bearer_scheme = HTTPBearer(auto_error=False)


@dataclass(frozen=True)
class Principal:
    subject: str
    scopes: frozenset[str]
    practices: frozenset[str] = field(default_factory=frozenset)
    icb: str | None = None

    def has(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes

    def check_practice(self, ods: str) -> None:
        if ods.upper() not in self.practices:
            raise Problem(
                403, "Forbidden", f"This token does not grant access to practice {ods}", kind="forbidden"
            )


def mint_token(
    settings: ServiceSettings,
    *,
    subject: str,
    scopes: list[str],
    practices: list[str] | None = None,
    icb: str | None = None,
    ttl: timedelta = timedelta(hours=12),
) -> str:
    unknown = set(scopes) - set(SCOPES)
    if unknown:
        raise ValueError(f"unknown scopes: {', '.join(sorted(unknown))}")
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "sub": subject,
        "scope": " ".join(sorted(scopes)),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
    }
    if practices:
        claims["practices"] = sorted({p.upper() for p in practices})
    if icb:
        claims["icb"] = icb.upper()
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS256")


def decode_token(settings: ServiceSettings, token: str) -> Principal:
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret.get_secret_value(),
            algorithms=["HS256"],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "sub", "scope"]},
        )
    except jwt.ExpiredSignatureError:
        raise _unauthorized("The token has expired") from None
    except jwt.PyJWTError as exc:
        raise _unauthorized(f"The token is not valid: {exc}") from None
    practices = claims.get("practices") or []
    if not isinstance(practices, list):
        raise _unauthorized("The practices claim must be a list of ODS codes")
    return Principal(
        subject=str(claims["sub"]),
        scopes=frozenset(str(claims["scope"]).split()),
        practices=frozenset(str(p).upper() for p in practices),
        icb=claims.get("icb"),
    )


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "Unauthorized", detail, kind="unauthorized", headers={"WWW-Authenticate": "Bearer"})


async def current_principal(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer_scheme)
) -> Principal:
    settings: ServiceSettings = request.app.state.settings
    limits = rate_limits(request)
    address = request.client.host if request.client else "unknown"
    limits.check_client(address)
    try:
        if credentials is None:
            raise _unauthorized("A bearer token is required")
        principal = decode_token(settings, credentials.credentials)
    except Problem:
        limits.failed(address)
        raise
    limits.hit_token(credentials.credentials)
    request.state.principal = principal
    return principal


def rate_limits(request: Request) -> RateLimits:
    state = request.app.state
    if getattr(state, "rate_limits", None) is None:
        state.rate_limits = RateLimits.from_settings(state.settings)
    return state.rate_limits  # type: ignore[no-any-return]


def require_scope(scope: str):
    # No ``from __future__ import annotations`` in this module: FastAPI must see these annotations as
    # objects, because they close over ``scope``.
    async def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.has(scope):
            raise Problem(403, "Forbidden", f"This route needs the {scope} scope", kind="insufficient-scope")
        return principal

    return dependency


def practice_access(scope: str):
    """Dependency for ``/v1/practices/{ods}/...`` routes: the scope and that practice in the token."""

    async def dependency(
        ods: str, principal: Annotated[Principal, Depends(require_scope(scope))]
    ) -> Principal:
        principal.check_practice(ods)
        return principal

    return dependency

"""OpenID Connect sign-in without I/O: the ID token's checks (OIDC Core 1.0 §3.1.3.7) and who it names."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from services.web.domain.users import Role

# Asymmetric algorithms only: a shared-secret (HS*) or unsigned ID token is never accepted.
ID_TOKEN_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
LEEWAY_SECONDS = 60  # clock skew between the provider and this host
ODS_CODE = re.compile(r"^[A-Z0-9]{3,10}$")


class SignInRefused(Exception):
    """The provider's answer does not sign this person in; ``reason`` is shown to them."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnknownSigningKey(SignInRefused):
    """Signed with a key not in the JWKS held: the provider may have rotated its keys (fetch them again)."""


@dataclass(frozen=True)
class Mapped:
    """The platform user an ID token stands for (claims mode)."""

    role: Role
    practice: str | None
    icb: str | None
    display_name: str


def verified_claims(id_token: str, keys: KeySet, *, issuer: str, client_id: str, nonce: str,
                    now: int | None = None) -> dict[str, Any]:
    """The ID token's claims once its signature (against the provider's JWKS), issuer, audience, authorised
    party, expiry and nonce are right; otherwise ``SignInRefused``."""
    try:
        token = jwt.decode(id_token, keys, algorithms=list(ID_TOKEN_ALGORITHMS))
    except InvalidKeyIdError:
        raise UnknownSigningKey("The provider's ID token was signed with a key it does not publish.") from None
    except (JoseError, ValueError) as exc:
        raise SignInRefused(f"The provider's ID token could not be verified ({type(exc).__name__}).") from None
    claims = dict(token.claims)
    registry = jwt.JWTClaimsRegistry(
        now=now, leeway=LEEWAY_SECONDS,
        iss={"essential": True, "value": issuer}, aud={"essential": True, "value": client_id},
        sub={"essential": True}, exp={"essential": True}, iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        registry.validate(claims)
    except JoseError as exc:
        claim = getattr(exc, "claim", None) or str(exc)
        raise SignInRefused(f"The provider's ID token was not for this sign-in ({claim}).") from None
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise SignInRefused("The provider's ID token was issued to another application (azp).")
    return claims


def identity(claims: dict[str, Any], claim: str) -> str:
    """The value that identifies the user; an e-mail address only when the provider has not said it is
    unverified."""
    value = claims.get(claim)
    if not isinstance(value, str) or not value.strip():
        raise SignInRefused(f"The provider did not say who you are (no '{claim}' in the ID token).")
    if claim == "email" and claims.get("email_verified") is False:
        raise SignInRefused("The provider has not verified your e-mail address.")
    return value.strip().lower() if claim == "email" else value


def _code(claims: dict[str, Any], claim: str) -> str | None:
    value = claims.get(claim) if claim else None
    if value is None or value == "":
        return None
    code = str(value).strip().upper()
    if not ODS_CODE.match(code):
        raise SignInRefused(f"The '{claim}' claim is not an ODS code.")
    return code


def from_claims(claims: dict[str, Any], *, practice_claim: str, icb_claim: str) -> Mapped:
    """Claims mode: a practice claim makes a practice's staff member, an ICB claim an ICS analyst."""
    practice, icb = _code(claims, practice_claim), _code(claims, icb_claim)
    name = str(claims.get("name") or claims.get("preferred_username") or claims.get("email") or "Signed-in user")
    if practice and icb:
        raise SignInRefused("Your account names both a practice and an ICB: the platform cannot tell which "
                            "pages are yours. Ask your administrator to give you one of them.")
    if practice:
        return Mapped("practice", practice, None, name[:200])
    if icb:
        return Mapped("ics", None, icb, name[:200])
    raise SignInRefused("Your account is not set up for the QOF platform (no practice or ICB). Ask your "
                        "administrator to add you.")

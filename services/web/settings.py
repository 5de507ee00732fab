"""The web app's settings (prefix ``QOF_``) beside the platform ones: where the other services are, sessions,
local users for the embedded stack and the OIDC provider used in production."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from shared.settings import ServiceSettings, settings_for

SERVICE = "web"
DEV_DEMO_PASSWORD = "demo-password-change-me"


class WebSettings(ServiceSettings):
    registers_url: str = "http://127.0.0.1:8001"
    indicators_url: str = "http://127.0.0.1:8002"
    recall_url: str = "http://127.0.0.1:8003"
    workload_url: str = "http://127.0.0.1:8004"
    session_hours: float = Field(8.0, description="A sign-in lasts this long")
    token_minutes: float = Field(5.0, description="Lifetime of the token minted for each page's calls")
    demo_users: bool = Field(True, description="Create the demo practice user and ICS analyst (development only)")
    demo_practice: str = "A81001"
    demo_icb: str = "QHM"
    demo_password: SecretStr = Field(SecretStr(DEV_DEMO_PASSWORD), description="Password of both demo users")
    # Production sign-in through the organisation's identity provider (OpenID Connect, authorization code flow).
    oidc_issuer: str = Field("", description="e.g. https://login.example.nhs.uk; empty: local users only")
    oidc_client_id: str = ""
    oidc_client_secret: SecretStr = SecretStr("")
    oidc_redirect_url: str = Field("", description="https://<web host>/login/oidc/callback")
    oidc_practice_claim: str = Field("ods", description="ID-token claim naming the user's practice ODS code")
    oidc_icb_claim: str = Field("icb", description="ID-token claim naming an ICS analyst's ICB")
    oidc_provider_name: str = Field("your organisation", description="Shown as 'Sign in with <name>'")
    oidc_scopes: str = "openid profile email"
    oidc_users: Literal["linked", "claims"] = Field(
        "linked", description="linked: a local user record whose OIDC identity is the token's user claim; "
        "claims: the practice or ICB claim of the ID token decides")
    oidc_user_claim: str = Field("sub", description="ID-token claim that identifies the user (sub or email)")
    local_users: bool = Field(True, description="Sign-in with a local user name and password")

    @property
    def oidc_configured(self) -> bool:
        return bool(self.oidc_issuer)

    @property
    def cookie_secure(self) -> bool:
        """Secure cookies everywhere but development and test (served over plain HTTP on 127.0.0.1)."""
        return not self.is_development

    def check_production_safety(self) -> None:
        super().check_production_safety()
        if self.is_development:
            return
        if self.demo_users:
            raise RuntimeError("QOF_DEMO_USERS must be false outside development and test")
        if not self.local_users and not self.oidc_configured:
            raise RuntimeError("QOF_LOCAL_USERS=false needs QOF_OIDC_ISSUER: nobody could sign in")
        if self.oidc_configured:
            missing = [n for n in ("oidc_client_id", "oidc_redirect_url") if not getattr(self, n)]
            if missing:
                raise RuntimeError(f"QOF_OIDC_ISSUER is set but {', '.join('QOF_' + m.upper() for m in missing)} "
                                   "is not")
            if not (self.oidc_issuer.startswith("https://") and self.oidc_redirect_url.startswith("https://")):
                raise RuntimeError("QOF_OIDC_ISSUER and QOF_OIDC_REDIRECT_URL must be https outside development")


def web_settings(**overrides: object) -> WebSettings:
    base = settings_for(SERVICE, kafka_enabled=False)
    return WebSettings(**{**base.model_dump(), "kafka_enabled": False, **overrides})

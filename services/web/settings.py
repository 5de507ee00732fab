"""The web app's settings (prefix ``QOF_``) beside the platform ones: where the other services are, sessions,
local users for the embedded stack and the OIDC provider used in production."""

from __future__ import annotations

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


def web_settings(**overrides: object) -> WebSettings:
    base = settings_for(SERVICE, kafka_enabled=False)
    return WebSettings(**{**base.model_dump(), "kafka_enabled": False, **overrides})

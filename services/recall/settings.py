"""Recall's own settings (prefix ``QOF_RECALL_``) beside the platform ones."""

from __future__ import annotations

from datetime import time

from pydantic import Field, SecretStr

from shared.settings import ServiceSettings, settings_for

SERVICE = "recall"
# A well-formed key for the local Notify stand-in only: "<name>-<service id>-<secret>".
DEV_NOTIFY_KEY = "local-0b5c6a3e-6a1f-4b55-9d9e-1f2a3b4c5d6e-7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"


class RecallSettings(ServiceSettings):
    notify_base_url: str = Field("http://127.0.0.1:8010", description="GOV.UK Notify API base URL")
    notify_api_key: SecretStr = SecretStr(DEV_NOTIFY_KEY)
    notify_callback_token: SecretStr = SecretStr("dev-callback-token-change-me")
    registers_url: str = "http://127.0.0.1:8001"
    sms_start: time = time(8, 0)
    sms_end: time = time(20, 0)
    notify_per_minute: int = 3000
    sms_fragment_pence: float = Field(
        2.64, description="Price of one SMS fragment, pence (ANCHORS §3.3 quotes 2.2 to 2.64p)"
    )
    letter_pence: float | None = Field(None, description="Price of one letter, pence, if the practice knows it")

    def check_production_safety(self) -> None:
        super().check_production_safety()
        if self.environment == "production" and self.notify_api_key.get_secret_value() == DEV_NOTIFY_KEY:
            raise RuntimeError("QOF_NOTIFY_API_KEY must be set in production")


def recall_settings(**overrides: object) -> RecallSettings:
    base = settings_for(SERVICE, **overrides)
    return RecallSettings(**{**base.model_dump(), **overrides})

"""Settings for every service, read from the environment (prefix ``QOF_``) by pydantic-settings.

Platform-wide values (broker, signing key, data folder) use ``QOF_<NAME>``; a service's own database
uses ``QOF_<SERVICE>_DATABASE_URL`` so that one environment can describe the whole stack.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SIGNING_KEY = "dev-only-signing-key-change-me-in-production-0000"
DEV_ENVIRONMENTS = frozenset({"development", "test"})
MIN_SECRET_BYTES = 32  # RFC 7518 section 3.2: an HS256 key of at least the hash's 256 bits


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QOF_", env_file=".env", extra="ignore")

    service_name: str = "platform"
    environment: str = Field(default="development", description="development | test | production (or any "
                             "other name: everything but development and test is run as production)")
    data_dir: Path = Path("var")
    database_url: str = ""
    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_enabled: bool = True
    jwt_secret: SecretStr = SecretStr(DEV_SIGNING_KEY)
    jwt_issuer: str = "qof-platform"
    jwt_audience: str = "qof-platform"
    outbox_poll_seconds: float = 0.1
    outbox_batch_size: int = 1000
    consumer_max_attempts: int = 3
    consumer_group: str = Field(default="", description="Kafka consumer group; default qof-<service>")
    consume: bool = Field(default=True, description="Run the event consumer in this instance; false for instances "
                          "that only answer requests, so that reading never takes the consumer's CPU")
    reads_at_once: int = Field(default=1, ge=1, description="Scoring reads (achievement, worklists, exports, "
                               "benchmarks, the patient page) answered at once by an instance; the rest wait their "
                               "turn, so that readers never take more than their share of the event loop from the "
                               "consumer applying events. They are CPU-bound on one loop: more at once adds no "
                               "throughput, only delay to events")
    run_migrations: bool = True
    log_level: str = "INFO"
    # Key for fields encrypted at rest (Fernet, urlsafe base64 of 32 bytes); a dev key is derived if empty.
    field_encryption_key: SecretStr = SecretStr("")
    # Rate limits (the ``limits`` notation): failed authentications per client address, requests per token.
    auth_failure_limit: str = "60/minute"
    token_request_limit: str = "3000/minute"

    @field_validator("environment")
    @classmethod
    def _normalise_environment(cls, value: str) -> str:
        return value.strip().lower()

    @property
    def is_development(self) -> bool:
        """Development and test only: every other environment is held to production's rules."""
        return self.environment in DEV_ENVIRONMENTS

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite+aiosqlite:///{(self.data_dir / f'{self.service_name}.db').as_posix()}"

    def check_production_safety(self) -> None:
        """Outside development and test: refuse the development signing key and short secrets."""
        if self.is_development:
            return
        secret = self.jwt_secret.get_secret_value()
        if secret == DEV_SIGNING_KEY:
            raise RuntimeError(f"QOF_JWT_SECRET must be set in {self.environment}: the development key is "
                               "refused outside development and test")
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise RuntimeError(f"QOF_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes in "
                               f"{self.environment}")


def settings_for(service: str, **overrides: object) -> ServiceSettings:
    """Settings of one service: platform values plus ``QOF_<SERVICE>_DATABASE_URL`` if set."""
    values: dict[str, object] = {"service_name": service}
    own_url = os.environ.get(f"QOF_{service.upper()}_DATABASE_URL")
    if own_url:
        values["database_url"] = own_url
    values.update(overrides)
    return ServiceSettings(**values)  # type: ignore[arg-type]

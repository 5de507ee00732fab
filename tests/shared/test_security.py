"""Production safety, security headers, rate limits, /metrics access and error logs, over a real service."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import APIRouter

from services.registers.app import create_app
from shared.settings import DEV_SIGNING_KEY, ServiceSettings, settings_for
from shared.testing import bearer, running

STRONG = "s" * 32
PATIENTS = "/v1/practices/A81001/patients"


def cfg(tmp_path: Path, **extra: Any) -> ServiceSettings:
    extra.setdefault("environment", "test")
    return settings_for("registers", database_url=f"sqlite+aiosqlite:///{tmp_path / 'r.db'}",
                        kafka_enabled=False, **extra)


@pytest.mark.parametrize("environment", ["production", "PRODUCTION", "prod", " Prod ", "staging"])
def test_every_environment_but_development_and_test_refuses_dev_and_short_keys(
    tmp_path: Path, environment: str
) -> None:
    for secret, refused in ((DEV_SIGNING_KEY, True), ("k", True), ("s" * 31, True), (STRONG, False)):
        settings = cfg(tmp_path, environment=environment, jwt_secret=secret)
        assert not settings.is_development
        if refused:
            with pytest.raises(RuntimeError, match="QOF_JWT_SECRET"):
                settings.check_production_safety()
        else:
            settings.check_production_safety()


async def test_a_production_service_will_not_start_with_the_development_key(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="development key"):
        async with running(create_app(cfg(tmp_path, environment="PRODUCTION"))):
            pass


async def test_security_headers_and_no_server(tmp_path: Path) -> None:
    settings = cfg(tmp_path)
    app = create_app(settings)
    headers = bearer(settings, scopes=["records:read"], practices=["A81001"])
    async with app.router.lifespan_context(app):
        for base, tls in (("http://testserver", False), ("https://testserver", True)):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base) as client:
                r = await client.get(PATIENTS, headers=headers)
                assert r.status_code == 200
                assert r.headers["x-content-type-options"] == "nosniff"
                assert r.headers["x-frame-options"] == "DENY"
                assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
                assert r.headers["cache-control"] == "no-store", "patient data is never cached"
                assert "server" not in r.headers
                assert ("strict-transport-security" in r.headers) is tls
                assert "no-store" not in (await client.get("/healthz")).headers.get("cache-control", "")


async def test_authentication_failures_are_limited_per_client(tmp_path: Path) -> None:
    settings = cfg(tmp_path, auth_failure_limit="5/minute")
    async with running(create_app(settings)) as client:
        for _ in range(5):
            r = await client.get(PATIENTS, headers={"Authorization": "Bearer not-a-token"})
            assert r.status_code == 401
        r = await client.get(PATIENTS, headers={"Authorization": "Bearer not-a-token"})
        assert r.status_code == 429
        assert r.headers["content-type"] == "application/problem+json"
        assert 1 <= int(r.headers["retry-after"]) <= 60
        good = bearer(settings, scopes=["records:read"], practices=["A81001"])
        assert (await client.get(PATIENTS, headers=good)).status_code == 429, "the address is held off"


async def test_requests_are_limited_per_token(tmp_path: Path) -> None:
    settings = cfg(tmp_path, token_request_limit="3/minute")
    async with running(create_app(settings)) as client:
        one = bearer(settings, scopes=["records:read"], practices=["A81001"], subject="one")
        other = bearer(settings, scopes=["records:read"], practices=["A81001"], subject="other")
        assert [(await client.get(PATIENTS, headers=one)).status_code for _ in range(4)] == [200, 200, 200, 429]
        r = await client.get(PATIENTS, headers=one)
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert r.json()["type"].endswith("/rate-limited")
        assert (await client.get(PATIENTS, headers=other)).status_code == 200


async def test_metrics_need_a_scope_outside_development(tmp_path: Path) -> None:
    dev = cfg(tmp_path)
    async with running(create_app(dev)) as client:
        assert (await client.get("/metrics")).status_code == 200
    prod = cfg(tmp_path, environment="production", jwt_secret=STRONG)
    async with running(create_app(prod)) as client:
        assert (await client.get("/metrics")).status_code == 401
        reader = bearer(prod, scopes=["records:read"], practices=["A81001"])
        assert (await client.get("/metrics", headers=reader)).status_code == 403
        scraper = bearer(prod, scopes=["metrics:read"])
        assert (await client.get("/metrics", headers=scraper)).status_code == 200


class Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def test_unhandled_errors_log_the_route_template(tmp_path: Path) -> None:
    app = create_app(cfg(tmp_path))
    kept = Keep()
    logging.getLogger("qof.http").addHandler(kept)
    boom = APIRouter()

    @boom.get("/v1/practices/{ods}/boom/{item_id}")
    async def fail(ods: str, item_id: str) -> None:
        raise RuntimeError("boom")

    app.include_router(boom)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            r = await client.get("/v1/practices/A81001/boom/patient-123")
    logging.getLogger("qof.http").removeHandler(kept)
    assert r.status_code == 500
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["cache-control"] == "no-store"
    record = next(r for r in kept.records if r.getMessage() == "unhandled error")
    assert record.route == "/v1/practices/{ods}/boom/{item_id}"  # type: ignore[attr-defined]
    assert "patient-123" not in str(record.__dict__)

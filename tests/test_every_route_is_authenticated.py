"""Across every service: no /v1 route answers without a token, and an analytics token reaches no practice route."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from cli.services import built
from shared.settings import settings_for
from shared.testing import bearer, running

# The web app has no /v1 API: its pages need a session cookie instead (tests/web/test_sessions.py).
SERVICES = [s.name for s in built() if s.name != "web"]


def concrete(path: str) -> str:
    values = {"ods": "A81001", "icb": "QHM"}
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: values.get(m.group(1), "X1"), path)


@pytest.mark.parametrize("service", SERVICES)
async def test_every_route_needs_a_token_and_keeps_analysts_out_of_practices(service: str, tmp_path: Path) -> None:
    settings = settings_for(service, database_url=f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}",
                            kafka_enabled=False, environment="test", auth_failure_limit="100000/minute")
    app = importlib.import_module(f"services.{service}.app").create_app(settings)
    analyst = bearer(settings, scopes=["analytics:read"], icb="QHM")
    operations = [(method.upper(), path) for path, item in app.openapi()["paths"].items() if path.startswith("/v1")
                  for method in item]
    assert operations
    async with running(app) as client:
        for method, template in operations:
            path = concrete(template)
            r = await client.request(method, path)
            assert r.status_code == 401, (method, template, r.status_code)
            assert r.headers["content-type"] == "application/problem+json"
            if "{ods}" in template:
                r = await client.request(method, path, headers=analyst)
                assert r.status_code == 403, (method, template, r.status_code)

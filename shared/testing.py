"""Helpers for the test suite and benchmarks: run a service app in-process against real backends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
from fastapi import FastAPI

from shared.auth import mint_token
from shared.settings import ServiceSettings


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Start the app's lifespan (migrations, relay, consumers) and yield an HTTP client bound to it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=60) as client:
            yield client


def bearer(
    settings: ServiceSettings,
    *,
    scopes: list[str],
    practices: list[str] | None = None,
    icb: str | None = None,
    subject: str = "test-client",
    ttl: timedelta = timedelta(hours=1),
) -> dict[str, str]:
    token = mint_token(settings, subject=subject, scopes=scopes, practices=practices, icb=icb, ttl=ttl)
    return {"Authorization": f"Bearer {token}"}

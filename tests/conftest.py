"""Fixtures over real backends: the tansu broker and the machine's PostgreSQL, plus SQLite files.

Storage and end-to-end tests take the ``database_url`` fixture, which runs them once on SQLite and once on
a fresh PostgreSQL database (created per test, dropped after). Set ``QOF_TEST_PG`` to point elsewhere.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from shared.broker import LocalBroker

PG_ADMIN = os.environ.get("QOF_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def broker() -> Iterator[LocalBroker]:
    b = LocalBroker().start()
    yield b
    b.stop()


async def _create_pg_database() -> tuple[str, str]:
    name = f"qof_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return name, f"{base}/{name}"


async def _drop_pg_database(name: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    name, url = await _create_pg_database()
    try:
        yield url
    finally:
        await _drop_pg_database(name)


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    name, url = await _create_pg_database()
    try:
        yield url
    finally:
        await _drop_pg_database(name)

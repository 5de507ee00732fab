"""Async SQLAlchemy engines: SQLite (aiosqlite) as the embedded default, PostgreSQL (asyncpg) in production."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
from sqlalchemy import BigInteger, ColumnDefault, Integer, MetaData, Table, event, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

# An auto-incrementing 64-bit key on PostgreSQL that is still SQLite's ROWID alias.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


# Constraint names fixed by convention, so every service's Alembic migrations name them the same way.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def service_metadata() -> MetaData:
    """The metadata of one service's own database."""
    return MetaData(naming_convention=NAMING_CONVENTION)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(at: datetime | None) -> datetime | None:
    """A stored time as an aware UTC time: SQLite hands back the naive UTC it was given."""
    if at is None or at.tzinfo is not None:
        return at
    return at.replace(tzinfo=UTC)


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    if is_sqlite(url):
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            # WAL lets readers run beside the single writer; NORMAL sync is durable across app crashes.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA cache_size=-131072")  # 128 MiB: the entry indexes stay in memory
            cur.execute("PRAGMA temp_store=MEMORY")
            cur.close()

        return engine
    return create_async_engine(url, echo=echo, pool_size=10, max_overflow=10, pool_pre_ping=True)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def transaction(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work: commits on success, rolls back on any error."""
    async with factory() as session, session.begin():
        yield session


async def ping(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def bulk_insert(session: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows fast, in the session's transaction: the hot path of batch ingestion.

    SQLAlchemy's per-row parameter processing costs more than SQLite or PostgreSQL spend writing, so this
    goes to the driver: ``executemany`` with the columns' own bind processors on SQLite, and ``COPY`` on
    PostgreSQL (asyncpg ``copy_records_to_table``). Columns absent from the rows take their Python defaults.
    """
    if not rows:
        return
    conn = await session.connection()
    dialect = conn.dialect
    columns = [c for c in table.columns if c.key in rows[0] or c.default is not None]
    getters = []
    for c in columns:
        arg = c.default.arg if isinstance(c.default, ColumnDefault) else None
        default = None if callable(arg) else arg
        factory = arg if callable(arg) else None
        getters.append((c.key, default, factory))

    def values(row: dict[str, Any]) -> list[Any]:
        out = []
        for key, default, factory in getters:
            if key in row:
                out.append(row[key])
            elif factory is not None:
                out.append(factory(None))  # SQLAlchemy wraps column defaults to take a context
            else:
                out.append(default)
        return out

    if dialect.name == "postgresql":
        raw = await conn.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        try:
            await driver.copy_records_to_table(
                table.name, records=[tuple(values(r)) for r in rows], columns=[c.name for c in columns]
            )
        except asyncpg.IntegrityConstraintViolationError as exc:
            # The same exception SQLAlchemy raises on the other paths, so callers handle one type.
            raise IntegrityError(f"COPY into {table.name}", None, exc) from exc
        return
    processors = [c.type._cached_bind_processor(dialect) for c in columns]
    converting = [i for i, p in enumerate(processors) if p is not None]
    params = []
    memo: dict[tuple[int, Any], Any] = {}
    for row in rows:
        vals = values(row)
        for i in converting:
            v = vals[i]
            if isinstance(v, dict | list):  # JSON documents: unhashable, and rarely repeated
                vals[i] = processors[i](v)  # type: ignore[misc]
            elif v is not None:
                # Batches repeat the same timestamps and dates: convert each distinct value once.
                key = (i, v)
                if key not in memo:
                    memo[key] = processors[i](v)  # type: ignore[misc]
                vals[i] = memo[key]
        params.append(tuple(vals))
    sql = (
        f"INSERT INTO {table.name} ({', '.join(c.name for c in columns)}) "
        f"VALUES ({', '.join('?' for _ in columns)})"
    )
    await conn.exec_driver_sql(sql, params)


class StatisticsKeeper:
    """Refreshes a table's planner statistics after bulk growth (PostgreSQL).

    A bulk load can grow a table from nothing to millions of rows before autovacuum analyses it (or where it is
    off); planning the batch lookups against empty statistics makes them scan instead of probe. This keeps the
    statistics within ``growth`` of the real size, as autovacuum's own analyze threshold would.
    """

    def __init__(self, minimum: int = 20_000, growth: float = 0.5) -> None:
        self.minimum = minimum
        self.growth = growth
        self._since: dict[str, int] = {}
        self._known: dict[str, int] = {}

    async def inserted(self, session: AsyncSession, table: Table, rows: int) -> None:
        conn = await session.connection()
        if conn.dialect.name != "postgresql" or rows <= 0:
            return
        name = table.name
        self._since[name] = self._since.get(name, 0) + rows
        if self._since[name] < max(self.minimum, self.growth * self._known.get(name, 0)):
            return
        # Claimed before the await: requests running beside this one must not each analyse the table too (they
        # queued on its lock, one after another, holding their writes for seconds).
        self._known[name] = self._known.get(name, 0) + self._since[name]
        self._since[name] = 0
        await conn.exec_driver_sql(f"ANALYZE {name}")


UPSERT_CHUNK = 500


def insert_for(session: AsyncSession) -> Callable[[Table], Any]:
    """The dialect's ``INSERT`` construct, which has ``ON CONFLICT`` on SQLite and PostgreSQL alike."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    return pg_insert if dialect == "postgresql" else sqlite_insert  # type: ignore[return-value]


async def upsert(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> None:
    """Insert or update by primary key, on SQLite and PostgreSQL alike."""
    if not rows:
        return
    make = insert_for(session)
    cols = [c for c in rows[0] if c not in keys]
    for i in range(0, len(rows), UPSERT_CHUNK):
        stmt = make(table).values(list(rows[i : i + UPSERT_CHUNK]))
        stmt = (
            stmt.on_conflict_do_update(index_elements=list(keys), set_={c: stmt.excluded[c] for c in cols})
            if cols
            else stmt.on_conflict_do_nothing(index_elements=list(keys))
        )
        await session.execute(stmt)

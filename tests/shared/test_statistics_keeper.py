"""Planner statistics after bulk growth (PostgreSQL): one ``ANALYZE`` per growth step, however many requests
insert at the same moment. Before, every request that crossed the threshold while the first was analysing ran
its own, and on the load bench ten of them queued on the table's lock, holding registers' writes for 3.7 s."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import Column, Integer, MetaData, Table, event

from shared.db import StatisticsKeeper, create_engine, session_factory


async def test_requests_growing_a_table_together_analyse_it_once(database_url: str) -> None:
    metadata = MetaData()
    table = Table("grown", metadata, Column("id", Integer, primary_key=True))
    engine = create_engine(database_url)
    analysed: list[str] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("ANALYZE"):
            analysed.append(statement)

    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        sessions = session_factory(engine)

        async def request(keeper: StatisticsKeeper, rows: int) -> None:
            async with sessions() as s, s.begin():
                await keeper.inserted(s, table, rows)

        one_by_one = StatisticsKeeper(minimum=100, growth=0.5)
        await request(one_by_one, 60)  # below the minimum: nothing to do
        assert analysed == []
        for _ in range(8):
            await request(one_by_one, 50)
        steps = len(analysed)  # 110, 210 and 360 rows: one ANALYZE per growth step
        assert steps == (3 if database_url.startswith("postgresql") else 0)  # SQLite is left to plan alone

        analysed.clear()
        together = StatisticsKeeper(minimum=100, growth=0.5)
        await request(together, 60)
        await asyncio.gather(*(request(together, 50) for _ in range(8)))  # the same rows, all at once
        assert len(analysed) == steps
    finally:
        await engine.dispose()

"""Writes of a unit of consumed events, held until the unit ends and then written in bulk.

A full-history load arrives as thousands of events each carrying a patient's whole record; writing each
event's rows as it is handled spends far more in building statements than the database spends storing them.
Handlers stage patients and coded entries here (the last version of a row in the unit wins, as it would have
by writing in order); :func:`flush` replaces them with one delete of the rows that exist and one driver-level
insert (``COPY`` on PostgreSQL, ``executemany`` on SQLite). Anything that reads or updates these tables within
the unit flushes first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.indicators.store.models import CODED_EVENTS, PATIENTS
from shared.db import bulk_insert

KEY = "indicators.staged"  # session.info key
IN_CHUNK = 2000  # ids per IN (…): well under SQLite's and asyncpg's bound-parameter limits


@dataclass
class Staged:
    patients: dict[str, dict[str, Any]] = field(default_factory=dict)
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)


def staged(session: AsyncSession) -> Staged:
    held: Staged = session.info.setdefault(KEY, Staged())
    return held


def stage_patient(session: AsyncSession, row: dict[str, Any]) -> None:
    staged(session).patients[row["patient_id"]] = row


def stage_entries(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    entries = staged(session).entries
    for r in rows:
        entries.pop(r["entry_id"], None)  # a re-recorded entry takes its place at the end, as a write would
        entries[r["entry_id"]] = r


async def _replace(session: AsyncSession, table: Table, key: str, rows: dict[str, dict[str, Any]],
                   flag: str | None = None) -> set[str]:
    """Delete the stored rows with these keys, insert the new ones; returns the keys whose stored row had
    ``flag`` set."""
    col = table.c[key]
    ids = list(rows)
    flagged: set[str] = set()
    for i in range(0, len(ids), IN_CHUNK):
        part = ids[i : i + IN_CHUNK]
        cols = [col] if flag is None else [col, table.c[flag]]
        found = (await session.execute(select(*cols).where(col.in_(part)))).all()
        if found:
            await session.execute(delete(table).where(col.in_([r[0] for r in found])))
            flagged.update(r[0] for r in found if flag is not None and r[1])
    await bulk_insert(session, table, list(rows.values()))
    return flagged


async def flush(session: AsyncSession) -> list[dict[str, Any]]:
    """Write what the unit staged; returns the entry rows written whose code a rule reads, or whose stored
    version's code did (a correction may replace a relevant code with one no rule reads)."""
    held: Staged | None = session.info.pop(KEY, None)
    if held is None:
        return []
    if held.patients:
        await _replace(session, PATIENTS, "patient_id", held.patients)
    if not held.entries:
        return []
    was_relevant = await _replace(session, CODED_EVENTS, "entry_id", held.entries, "relevant")
    return [r for r in held.entries.values() if r["relevant"] or r["entry_id"] in was_relevant]

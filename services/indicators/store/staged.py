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
from services.indicators.store.recorded import note_entries, recount
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
                   *kept: str) -> dict[str, dict[str, Any]]:
    """Delete the stored rows with these keys, insert the new ones; returns the replaced rows' ``kept``
    columns by key."""
    col = table.c[key]
    ids = list(rows)
    old: dict[str, dict[str, Any]] = {}
    for i in range(0, len(ids), IN_CHUNK):
        part = ids[i : i + IN_CHUNK]
        found = (await session.execute(select(col, *(table.c[k] for k in kept)).where(col.in_(part)))).all()
        if found:
            await session.execute(delete(table).where(col.in_([r[0] for r in found])))
            old.update((r[0], dict(zip(kept, r[1:], strict=True))) for r in found)
    await bulk_insert(session, table, list(rows.values()))
    return old


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
    old = await _replace(session, CODED_EVENTS, "entry_id", held.entries,
                         "relevant", "retracted", "code", "effective_date")
    await note_entries(session, held.entries.values())
    # A replaced live entry that moved to another code or a later date may have been its code's earliest.
    moved = {(r["practice_ods"], was["code"]) for k, was in old.items() if not was["retracted"]
             for r in [held.entries[k]] if r["code"] != was["code"] or r["effective_date"] > was["effective_date"]}
    if moved:
        await recount(session, moved)
    return [r for r in held.entries.values() if r["relevant"] or old.get(r["entry_id"], {}).get("relevant")]

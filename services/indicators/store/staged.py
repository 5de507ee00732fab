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
from datetime import date
from typing import Any

from sqlalchemy import Table, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.indicators.store.models import CODED_EVENTS, PATIENTS
from services.indicators.store.recorded import note_entries, recount
from services.indicators.store.stale import (
    ENTRY_FIELDS,
    PATIENT_FIELDS,
    entry_changed_since,
    note,
    patient_changed_since,
)
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


@dataclass(frozen=True)
class Flushed:
    entries: list[dict[str, Any]]  # entry rows written whose code a rule reads, or whose stored version's did
    since: dict[str, date]  # practice -> the earliest date from which the record changed


async def flush(session: AsyncSession) -> Flushed:
    """Write what the unit staged; returns the relevant entry rows written (a correction may replace a
    relevant code with one no rule reads) and the earliest date each practice's record changed from."""
    held: Staged | None = session.info.pop(KEY, None)
    since: dict[str, date] = {}
    if held is None:
        return Flushed([], since)
    if held.patients:
        before = await _replace(session, PATIENTS, "patient_id", held.patients, *PATIENT_FIELDS)
        for pid, row in held.patients.items():
            was = before.get(pid)
            day = patient_changed_since(was, row)
            note(since, row["practice_ods"], day)
            if was is not None and was["practice_ods"] != row["practice_ods"]:
                note(since, was["practice_ods"], day)
    if not held.entries:
        return Flushed([], since)
    old = await _replace(session, CODED_EVENTS, "entry_id", held.entries, *ENTRY_FIELDS)
    await note_entries(session, held.entries.values())
    # A replaced live entry that moved to another code or a later date may have been its code's earliest.
    moved = {(r["practice_ods"], was["code"]) for k, was in old.items() if not was["retracted"]
             for r in [held.entries[k]] if r["code"] != was["code"] or r["effective_date"] > was["effective_date"]}
    if moved:
        await recount(session, moved)
    for eid, row in held.entries.items():
        note(since, row["practice_ods"], entry_changed_since(old.get(eid), row))
    return Flushed(
        [r for r in held.entries.values() if r["relevant"] or old.get(r["entry_id"], {}).get("relevant")], since)

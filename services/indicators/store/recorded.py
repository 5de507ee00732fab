"""The codes each practice has recorded, with the date of each code's earliest live entry.

An achievement answer says which success rules ask for clusters the practice has never recorded by the date
scored (a 0% that is a coding gap); reading that from ``coded_events`` meant a ``DISTINCT`` over the whole
record on every answer. ``practice_codes`` holds it instead: new entries lower a code's first date in the same
transaction as they are written; a retraction, or a correction that moves an entry to another code or a later
date, recounts the codes it touched from the entries themselves, so the table never claims a code the record
no longer has by that date.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import case, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.indicators.store.models import CODED_EVENTS, PRACTICE_CODES
from shared.db import bulk_insert, insert_for

CHUNK = 500
Pair = tuple[str, str]  # (practice, code)


async def recorded_codes(session: AsyncSession, practice: str, upto: date) -> set[str]:
    """Every code the practice has recorded in a live entry dated up to ``upto``."""
    pc = PRACTICE_CODES.c
    q = select(pc.code).where(pc.practice_ods == practice, pc.first_date <= upto)
    return set((await session.scalars(q)).all())


async def note_entries(session: AsyncSession, rows: Iterable[dict[str, Any]]) -> None:
    """Lower each code's first date to the earliest of these newly written live entries."""
    first: dict[Pair, date] = {}
    for r in rows:
        if r.get("retracted"):
            continue
        key = (r["practice_ods"], r["code"])
        if key not in first or r["effective_date"] < first[key]:
            first[key] = r["effective_date"]
    if not first:
        return
    t = PRACTICE_CODES
    make = insert_for(session)
    values = [{"practice_ods": p, "code": c, "first_date": d} for (p, c), d in sorted(first.items())]
    for i in range(0, len(values), CHUNK):
        stmt = make(t).values(values[i : i + CHUNK])
        earlier = case((stmt.excluded.first_date < t.c.first_date, stmt.excluded.first_date), else_=t.c.first_date)
        await session.execute(stmt.on_conflict_do_update(index_elements=["practice_ods", "code"],
                                                         set_={"first_date": earlier}))


async def recount(session: AsyncSession, pairs: Iterable[Pair]) -> None:
    """Work these codes' first dates out again from the live entries (after entries left or moved)."""
    by_practice: dict[str, set[str]] = {}
    for practice, code in pairs:
        by_practice.setdefault(practice, set()).add(code)
    t, ec = PRACTICE_CODES, CODED_EVENTS.c
    for practice, codes in sorted(by_practice.items()):
        wanted = sorted(codes)
        for i in range(0, len(wanted), CHUNK):
            part = wanted[i : i + CHUNK]
            await session.execute(delete(t).where(t.c.practice_ods == practice, t.c.code.in_(part)))
            found = await session.execute(
                select(ec.code, func.min(ec.effective_date))
                .where(ec.practice_ods == practice, ec.code.in_(part), ec.retracted.is_(False))
                .group_by(ec.code)
            )
            await bulk_insert(session, t, [{"practice_ods": practice, "code": c, "first_date": d} for c, d in found])

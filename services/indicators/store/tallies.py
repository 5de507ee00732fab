"""Per-practice tallies of the stored outcomes, kept as outcomes are replaced.

Every achievement answer, and every re-score after a consumer batch, counts the practice's outcomes by rule
set, indicator, status and field. As a ``GROUP BY`` over the outcomes that is a pass over every patient's rows
on each read, which under load took the CPU the consumer needed. The tallies are changed in the same
transaction as the outcomes, by the difference between the rows replaced and the rows written, so they always
equal that ``GROUP BY``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.indicators.store.models import OUTCOME_TALLIES
from shared.db import bulk_insert, insert_for

CHUNK = 500
Key = tuple[str, str, str, str, date]  # rule set, indicator, status, field ('' for none), achievement date
Counts = dict[tuple[str, str], dict[tuple[str, str | None], int]]


def _key(row: dict[str, Any]) -> Key:
    return (row["ruleset_id"], row["indicator_id"], row["status"], row["field"] or "", row["achievement_date"])


async def retally(
    session: AsyncSession, practice: str, replaced: Iterable[dict[str, Any]] | None, rows: Iterable[dict[str, Any]]
) -> None:
    """Move the practice's tallies by ``rows`` written less the stored rows they ``replaced`` (None: every
    outcome of the practice was replaced, so the tallies are the rows')."""
    t = OUTCOME_TALLIES
    written = Counter(map(_key, rows))
    if replaced is None:
        await session.execute(delete(t).where(t.c.practice_ods == practice))
        await bulk_insert(session, t, [_row(practice, k, n) for k, n in sorted(written.items())])
        return
    change = Counter(written)
    change.subtract(Counter(map(_key, replaced)))
    moved = [_row(practice, k, n) for k, n in sorted(change.items()) if n]
    if not moved:
        return
    make = insert_for(session)
    # In key order, so that two instances moving the same practice's tallies take their row locks in one order.
    for i in range(0, len(moved), CHUNK):
        stmt = make(t).values(moved[i : i + CHUNK])
        await session.execute(stmt.on_conflict_do_update(
            index_elements=["practice_ods", "ruleset_id", "indicator_id", "status", "field", "achievement_date"],
            set_={"patients": t.c.patients + stmt.excluded.patients}))
    await session.execute(delete(t).where(t.c.practice_ods == practice, t.c.patients <= 0))


def _row(practice: str, key: Key, n: int) -> dict[str, Any]:
    rs, ind, status, fld, day = key
    return {"practice_ods": practice, "ruleset_id": rs, "indicator_id": ind, "status": status, "field": fld,
            "achievement_date": day, "patients": n}


async def tallied(session: AsyncSession, practice: str) -> tuple[date | None, Counts]:
    """The latest achievement date of the practice's stored outcomes, and (rule set, indicator) ->
    (status, field) -> patients."""
    tc = OUTCOME_TALLIES.c
    q = select(tc.ruleset_id, tc.indicator_id, tc.status, tc.field, tc.achievement_date, tc.patients).where(
        tc.practice_ods == practice)
    out: Counts = defaultdict(dict)
    latest: date | None = None
    for rs, ind, status, fld, day, n in await session.execute(q):
        per = out[(rs, ind)]
        per[(status, fld or None)] = per.get((status, fld or None), 0) + int(n)
        latest = day if latest is None or day > latest else latest
    return latest, out


async def tallied_dates(session: AsyncSession, practice: str) -> set[tuple[str, date]]:
    """(rule set, achievement date) of the practice's stored outcomes: one pair per rule set when they are all
    for one day."""
    tc = OUTCOME_TALLIES.c
    q = select(tc.ruleset_id, tc.achievement_date).where(tc.practice_ods == practice).distinct()
    return {(rs, day) for rs, day in await session.execute(q)}

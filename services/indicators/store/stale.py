"""Which stored month ends a unit of consumed events made stale (``StaleMonthEnds``).

A change to the record counts from the earliest date it moves: an entry's effective date (its stored
version's too, when a correction moves or replaces it), a registration, deregistration or death date, and a
changed date of birth or sex from registration. The consumer marks the practice with that date in the same
transaction; the month-end reader (``service.month_ends``) recomputes the month ends from it and clears the
mark it read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import case, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.indicators.store.models import STALE_MONTH_ENDS
from shared.db import insert_for, utcnow

SCOPES = ("history", "baselines")
PATIENT_DATES = ("registered_on", "deregistered_on", "died_on")
PATIENT_FIELDS = ("practice_ods", "date_of_birth", "sex", *PATIENT_DATES)
ENTRY_FIELDS = ("patient_id", "code", "effective_date", "value", "relevant", "retracted")


def earliest(*days: date | None) -> date | None:
    return min((d for d in days if d is not None), default=None)


def patient_changed_since(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> date | None:
    """The earliest date from which ``new`` (a patient row) changes the record, None when it does not."""
    if old is None:
        return new["registered_on"]
    if old["date_of_birth"] != new["date_of_birth"] or old["sex"] != new["sex"] or \
            old["practice_ods"] != new["practice_ods"]:
        return earliest(old["registered_on"], new["registered_on"])
    return earliest(*(d for k in PATIENT_DATES if old[k] != new[k] for d in (old[k], new[k])))


def entry_changed_since(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> date | None:
    """The earliest date from which ``new`` (an entry row replacing ``old``) changes what a rule reads."""
    if old is None:
        return new["effective_date"] if new["relevant"] else None
    if all(old[k] == new[k] for k in ENTRY_FIELDS):
        return None
    was = bool(old["relevant"]) and not old["retracted"]
    return earliest(new["effective_date"] if new["relevant"] else None, old["effective_date"] if was else None)


def note(since: dict[str, date], practice: str, day: date | None) -> None:
    """Keep the earliest changed date per practice."""
    if day is not None and (practice not in since or day < since[practice]):
        since[practice] = day


async def mark_stale(session: AsyncSession, since: Mapping[str, date]) -> None:
    """Mark each practice's month ends from its date on as stale; an existing mark only moves earlier."""
    if not since:
        return
    now = utcnow()
    rows = [{"practice_ods": p, "scope": sc, "since": d, "marked_at": now}
            for p, d in sorted(since.items()) for sc in SCOPES]
    t = STALE_MONTH_ENDS
    stmt = insert_for(session)(t).values(rows)
    await session.execute(stmt.on_conflict_do_update(
        index_elements=["practice_ods", "scope"],
        set_={"since": case((stmt.excluded.since < t.c.since, stmt.excluded.since), else_=t.c.since),
              "marked_at": stmt.excluded.marked_at},
    ))


@dataclass(frozen=True)
class Mark:
    since: date
    marked_at: datetime


async def stale_mark(session: AsyncSession, practice: str, scope: str) -> Mark | None:
    t = STALE_MONTH_ENDS.c
    row = (await session.execute(
        select(t.since, t.marked_at).where(t.practice_ods == practice, t.scope == scope))).first()
    return None if row is None else Mark(row[0], row[1])


async def clear_stale(session: AsyncSession, practice: str, scopes: tuple[str, ...], mark: Mark) -> None:
    """Clear the marks read as ``mark``; one a later event wrote (another ``marked_at``) stays."""
    t = STALE_MONTH_ENDS.c
    await session.execute(delete(STALE_MONTH_ENDS).where(
        t.practice_ods == practice, t.scope.in_(scopes), t.marked_at == mark.marked_at))

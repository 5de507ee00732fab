"""Month-end achievement computed from the dated record, so history and projection work on the first day of use.

A practice first loaded on 3 December has no snapshots taken in April to November; the record itself says how
each month ended (codes, registration, deregistration and death all carry dates). For each month end from
1 April of the year scored today to the last one before today, and for last year's final (31 March), the
practice is scored as of that date on that date's rule set and stored as that month's snapshot, with the
month end as its achievement date. A month whose snapshot was taken during the month (by a refresh before it
ended) is replaced by its month-end figure once the month is over; the current month keeps today's figure.
The earlier finals an improvement route's baseline reads (``baselines``) are computed the same way.

A month end once stored is recomputed when the record changes on or before it: consumed events with such a
date (a back-dated result, a diagnosis dated last June, a deregistration dated in the past) and a full
recompute mark the practice stale from that date (``store.stale``), and the next read recomputes the month
ends from it on; earlier ones stand.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.indicators.service.achievement import achievement
from services.indicators.service.baselines import baseline_finals, finals_before
from services.indicators.service.evaluation import aggregate_state, contract_on
from services.indicators.service.kernel import Kernel
from services.indicators.store.models import SNAPSHOTS
from services.indicators.store.stale import SCOPES, clear_stale, stale_mark
from services.indicators.store.state import contract_of, load_patients
from shared.db import upsert


def month_end(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def month_ends_before(start: date, end: date, today: date) -> list[date]:
    """Month ends from ``start`` up to ``end`` that are before ``today``."""
    out, day = [], month_end(start)
    while day <= end and day < today:
        out.append(day)
        day = month_end(day + timedelta(days=1))
    return out


def wanted_dates(kernel: Kernel, ruleset_id: str) -> list[date]:
    """The month ends the history of the year scored on ``ruleset_id`` needs: each one since its 1 April that
    has passed, the previous year's final when a rule set covers it, and the earlier finals its improvement
    baselines read."""
    s = kernel.ruleset(ruleset_id).settings
    days = month_ends_before(s.start, s.pped, kernel.today())
    finals = dict.fromkeys([*baseline_finals(kernel, ruleset_id), *finals_before(s.start, 1)])
    return sorted(d for d in finals if kernel.qof_ruleset_for(d)) + days


def stale_dates(kernel: Kernel, ruleset_id: str, since: date, wanted: list[date], stored: set[date]) -> list[date]:
    """The month ends a change to the record from ``since`` on made stale: the wanted ones from that date,
    and the closed month ends held for this year and last (the history read shows both years)."""
    today = kernel.today()
    s = kernel.ruleset(ruleset_id).settings
    last_year = s.start.replace(year=s.start.year - 1)
    held = {month_end(d) for d in stored if d >= last_year}
    return sorted({d for d in [*wanted, *held] if since <= d < today})


async def fill_month_ends(
    session: AsyncSession, kernel: Kernel, practice: str, *, baselines_only: bool = False
) -> list[date]:
    """Score and store each wanted month end the snapshots do not hold yet (``baselines_only``: only the
    finals the improvement baselines read), and each one marked stale since (``store.stale``); returns the
    dates computed."""
    contract = contract_on(kernel, await contract_of(session, practice, kernel), kernel.today())
    wanted = (baseline_finals if baselines_only else wanted_dates)(kernel, contract.ruleset_id)
    scope = "baselines" if baselines_only else "history"
    mark = await stale_mark(session, practice, scope)
    if not wanted and mark is None:
        return []
    done = {
        (rid, day)
        for rid, day in await session.execute(
            select(SNAPSHOTS.c.ruleset_id, SNAPSHOTS.c.achievement_date)
            .where(SNAPSHOTS.c.practice_ods == practice)
            .distinct()
        )
    }
    missing = {d for d in wanted if (contract_on(kernel, contract, d).ruleset_id, d) not in done}
    if mark is not None:
        stored = set() if baselines_only else {d for _, d in done}
        missing.update(stale_dates(kernel, contract.ruleset_id, mark.since, wanted, stored))
    rows: list[dict[str, Any]] = []
    patients = await load_patients(session, practice, kernel) if missing else []
    for day in sorted(missing) if patients else []:
        a = await achievement(session, kernel, practice, on=day, contract=contract, live=True, patients=patients)
        rows.extend(
            {"practice_ods": practice, "ruleset_id": r.ruleset.id, "indicator_id": r.indicator.id,
             "month": day.strftime("%Y-%m"), **aggregate_state(r, day)}
            for r in a.results
            if r.readiness != "incomplete"
        )
    # Written only now that the figures are computed, so the mark and the snapshots are held for the moment
    # the writes take, not for the scoring: the consumer marks the practice again in any batch that back-dates
    # a change, and must not wait for a read to finish scoring (on SQLite, for its write lock).
    if mark is not None:
        # history recomputes the baselines' finals too (its mark is never later than theirs)
        await clear_stale(session, practice, SCOPES if scope == "history" else (scope,), mark)
    if not patients:
        return []
    await upsert(session, SNAPSHOTS, rows, ("practice_ods", "ruleset_id", "indicator_id", "month"))
    return sorted(missing)

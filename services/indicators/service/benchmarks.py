"""ICB benchmarks: per practice and per PCN aggregates with small-number suppression.

Counts of 7 or fewer are withheld (``null`` with ``suppressed: true``); the others are rounded to the nearest
5. Achievement % is computed from the rounded counts shown, and withheld when either of its counts is withheld
(a percentage from the raw counts would give them back). No patient ids, ever.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.indicators.store.models import INDICATOR_STATE
from shared.disclosure import disclose
from shared.organisations import Organisation, practices_in_icb


def practices_of(icb: str) -> dict[str, Organisation]:
    return {o.practice_ods: o for o in practices_in_icb(icb)}


Counted = tuple[str, int, int, int, int]  # practice, register size, denominator, numerator, PCAs


@dataclass(frozen=True)
class Row:
    kind: str  # practice | pcn | icb
    code: str
    pcn: str | None
    practices: int
    register_size: int | None
    denominator: int | None
    numerator: int | None
    pcas: int | None
    achievement_pct: float | None
    suppressed: bool


def _row(kind: str, code: str, pcn: str | None, practices: int, reg: int, den: int, num: int, pcas: int) -> Row:
    shown = [disclose(x) for x in (reg, den, num, pcas)]
    # The percentage is worked from the disclosed counts, never the raw ones: a raw percentage beside rounded
    # counts gives the exact counts back, and a total's exact counts minus its other rows give a withheld row.
    pct = None
    if shown[1] and shown[2] is not None:
        pct = round(100 * shown[2] / shown[1], 1)
    return Row(kind, code, pcn, practices, shown[0], shown[1], shown[2], shown[3], pct, any(x is None for x in shown))


def _rows(found: list[Counted], orgs: dict[str, Organisation], icb: str | None = None) -> list[Row]:
    """Practice rows, then PCN rows, then (given ``icb``) the ICB total, each suppressed on its own counts."""
    out: list[Row] = []
    pcn: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    total = [0, 0, 0, 0, 0]
    for p, reg, den, num, pcas in sorted(found):
        out.append(_row("practice", p, orgs[p].pcn_ods, 1, reg, den, num, pcas))
        acc = pcn[orgs[p].pcn_ods]
        for i, v in enumerate((1, reg, den, num, pcas)):
            acc[i] += v
            total[i] += v
    for code, (n, reg, den, num, pcas) in sorted(pcn.items()):
        out.append(_row("pcn", code, None, n, reg, den, num, pcas))
    if icb is not None:
        out.append(_row("icb", icb.upper(), None, *total))
    return out


async def benchmarks(session: AsyncSession, icb: str, indicator_id: str, ruleset_id: str) -> list[Row]:
    orgs = practices_of(icb)
    st = INDICATOR_STATE.c
    rows = (
        await session.execute(
            select(st.practice_ods, st.register_size, st.denominator, st.numerator, st.pcas).where(
                st.indicator_id == indicator_id, st.ruleset_id == ruleset_id, st.practice_ods.in_(list(orgs))
            )
        )
    ).all()
    return _rows([tuple(r) for r in rows], orgs)  # type: ignore[misc]


async def all_benchmarks(session: AsyncSession, icb: str, ruleset_id: str) -> dict[str, list[Row]]:
    """Every indicator of the rule set at once: indicator id -> practice, PCN and ICB total rows."""
    orgs = practices_of(icb)
    st = INDICATOR_STATE.c
    found: dict[str, list[Counted]] = defaultdict(list)
    q = select(st.indicator_id, st.practice_ods, st.register_size, st.denominator, st.numerator, st.pcas).where(
        st.ruleset_id == ruleset_id, st.practice_ods.in_(list(orgs))
    )
    for iid, *rest in (await session.execute(q)).all():
        found[iid].append(tuple(rest))  # type: ignore[arg-type]
    return {iid: _rows(rows, orgs, icb) for iid, rows in sorted(found.items())}

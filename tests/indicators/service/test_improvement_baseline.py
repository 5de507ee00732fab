"""The 2026/27 vaccination improvement route on the practice's own baseline, computed from the record
(SQLite and PostgreSQL).

Rule text (../shared/reference/qof-2026-27/README.md): "a practice may instead earn points on a sliding scale for
improving on its own baseline (a two-year average); at year end it is paid the higher of the two. The lower
improvement threshold is five percentage points; the rest of the scale is not yet confirmed" (the upper end is a
[U] setting of the rule set). VI002: "children who reached 18 months old in the preceding 12 months, who have
received at least 1 dose of MMR between the ages of 12 and 18 months".

The childhood vaccination clusters have no public codelist: the kernel here is built on test-only codelists.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import select

from services.indicators.domain import compile_ruleset, load_ruleset
from services.indicators.service.kernel import Kernel
from services.indicators.store.models import SNAPSHOTS
from shared.codelists import CodelistLibrary, read_catalogue
from tests.indicators.conftest import test_code
from tests.indicators.service.helpers import (
    PRACTICE,
    SAME_PCN,
    deliver,
    indicator,
    indicators_app,
    recorded,
    registered,
)

TODAY = date(2026, 12, 3)
MMR = test_code("MMRVAC1_COD")
# (date of birth, children, of whom had one MMR at 12-18 months): one cohort reaching 18 months in each year
COHORTS = {
    "2024/25": (date(2023, 1, 15), 2, 1, date(2024, 2, 1)),  # 50 %
    "2025/26": (date(2024, 1, 15), 2, 1, date(2025, 2, 1)),  # 50 %
    "2026/27": (date(2025, 1, 15), 7, 4, date(2026, 2, 1)),  # 57.14 % by today
}


@lru_cache(maxsize=1)
def test_kernel() -> Kernel:
    library = CodelistLibrary(read_catalogue())
    missing = sorted({c for rid in ("qof-2024-25", "qof-2025-26", "qof-2026-27")
                      for r in compile_ruleset(load_ruleset(rid), library).readiness.values() for c in r.missing})
    for cluster in missing:
        library.add_export(cluster, "test", f"code,term\n{test_code(cluster)},{cluster} (test)\n", source="test",
                           kind="local")
    return Kernel(library, today=lambda: TODAY)


test_kernel.__test__ = False  # type: ignore[attr-defined]


async def _children(app: Any, practice: str, years: tuple[str, ...]) -> None:
    for year in years:
        dob, n, vaccinated, on = COHORTS[year]
        for i in range(n):
            pid = f"{practice}-{year[:4]}-{i}"
            await deliver(app, registered(pid, practice=practice, dob=dob, registered_on=dob))
            if i < vaccinated:
                await deliver(app, recorded(pid, (f"{pid}-mmr", MMR, on, None), practice=practice))


async def test_vi002_is_paid_on_the_higher_of_thresholds_and_improvement_on_its_own_baseline(
    database_url: str,
) -> None:
    rs = load_ruleset("qof-2026-27")
    vi002 = rs.indicator("VI002")
    route = vi002.improvement
    assert route is not None and vi002.lower_threshold and vi002.upper_threshold
    async with indicators_app(database_url, today=TODAY, compiled=test_kernel()) as (app, client, headers):
        await _children(app, PRACTICE, ("2024/25", "2025/26", "2026/27"))
        body = (await client.get(f"/v1/practices/{PRACTICE}/achievement", headers=headers)).json()
        vi = indicator(body, "VI002")
        assert (vi["denominator"], vi["numerator"]) == (7, 4)
        pct, baseline = 100 * 4 / 7, (50.0 + 50.0) / 2
        assert pct < vi002.lower_threshold.value  # nothing by the thresholds
        gain = pct - baseline  # 7.14 points over the baseline: between the lower (5) and upper improvement gain
        expected = vi002.points.value * (gain - route.lower_gain_pp.value) / (
            route.upper_gain_pp.value - route.lower_gain_pp.value)
        assert 0 < expected < vi002.points.value
        assert abs(vi["points"] - expected) < 0.01
        assert "baseline of 50.00 %" in vi["improvement_note"]
        # the finals it read were computed from the record, each on its own year's rule set
        sn = SNAPSHOTS.c
        async with app.state.runtime.sessions() as s:
            rows = await s.execute(select(sn.ruleset_id, sn.achievement_date, sn.achievement_pct).where(
                sn.practice_ods == PRACTICE, sn.indicator_id == "VI002", sn.month.like("%-03")))
            finals = {(r, d.isoformat()): p for r, d, p in rows}
        assert finals == {("qof-2024-25", "2025-03-31"): 50.0, ("qof-2025-26", "2026-03-31"): 50.0}


async def test_no_baseline_when_a_previous_year_cannot_be_computed(database_url: str) -> None:
    """No children reached 18 months in 2024/25: that year has no achievement, so there is no two-year
    baseline; only the thresholds pay, and the answer says why."""
    async with indicators_app(database_url, today=TODAY, compiled=test_kernel()) as (app, client, headers):
        await _children(app, SAME_PCN, ("2025/26", "2026/27"))
        body = (await client.get(f"/v1/practices/{SAME_PCN}/achievement", headers=headers)).json()
        vi = indicator(body, "VI002")
        assert (vi["denominator"], vi["numerator"], vi["points"]) == (7, 4, 0.0)
        assert "improvement route not scored: no baseline" in vi["improvement_note"]


async def test_a_worklist_read_first_prices_gaps_on_the_same_baseline_as_the_achievement(database_url: str) -> None:
    """The £ a worklist puts on VI002's gaps comes from the same score as the achievement's, improvement route
    included: read before any achievement answer has computed the baseline, it is what it is after one."""
    async with indicators_app(database_url, today=TODAY, compiled=test_kernel()) as (app, client, headers):
        await _children(app, PRACTICE, ("2024/25", "2025/26", "2026/27"))
        url = f"/v1/practices/{PRACTICE}/indicators/VI002/worklist"
        first = (await client.get(url, headers=headers)).json()
        body = (await client.get(f"/v1/practices/{PRACTICE}/achievement", headers=headers)).json()
        again = (await client.get(url, headers=headers)).json()
        assert indicator(body, "VI002")["points"] > 0  # paid on the improvement route
        prices = ("pounds_to_upper_threshold", "pounds_per_remaining_patient", "pounds_next_patient")
        assert {k: first[k] for k in prices} == {k: again[k] for k in prices}

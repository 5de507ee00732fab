"""Worklists that can still be worked: a gap whose deadline has passed unlocks nothing, so next-best does not
count it, and next-best and time-sensitive list the same gaps with the same days left (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date

from services.indicators.service.kernel import Kernel
from shared.codelists import CodelistLibrary, read_catalogue
from tests.indicators.conftest import with_test_codelists
from tests.indicators.service.helpers import PRACTICE, TODAY, deliver, indicators_app, on_register, recorded, registered

AST = "195967001"  # AST_COD asthma (real refset code)
BASE = f"/v1/practices/{PRACTICE}"


def _kernel() -> Kernel:
    """AST012 needs FeNO/spirometry clusters that are not public: test codelists stand in for them."""
    library = CodelistLibrary(read_catalogue())
    with_test_codelists(library, "qof-2025-26")
    return Kernel(library, today=lambda: TODAY)


async def test_expired_gap_is_not_counted_and_lists_agree(database_url: str) -> None:
    # AST012: "Asthma diagnosis on or after 1 April 2025: objective test between 3 months before and 3 months
    # after diagnosis"; the gap's deadline is "3 months after the asthma diagnosis".
    late, soon = f"{PRACTICE}-late", f"{PRACTICE}-soon"
    async with indicators_app(database_url, compiled=_kernel()) as (app, client, headers):
        for pid, dx in ((late, date(2025, 5, 1)), (soon, date(2025, 12, 1))):
            await deliver(app, registered(pid), recorded(pid, (f"{pid}-dx", AST, dx, None)),
                          on_register(pid, "AST_REG"))
        wl = (await client.get(f"{BASE}/indicators/AST012/worklist", headers=headers)).json()
        days = {i["patient_id"]: i["days_left"] for i in wl["items"]}
        # deadline 2025-08-01 passed 167 days before 2026-01-15; 2026-03-01 is 45 days ahead
        assert days == {late: (date(2025, 8, 1) - TODAY).days, soon: 45}

        nb = (await client.get(f"{BASE}/worklist/next-best", headers=headers)).json()
        ts = (await client.get(f"{BASE}/worklist/time-sensitive", headers=headers)).json()
        assert nb["expired_gaps"] == ts["expired_gaps"] == 1
        nb_gaps = {(p["patient_id"], g["indicator_id"]): g for p in nb["items"] for g in p["gaps"]}
        assert (late, "AST012") not in nb_gaps
        assert all(g["days_left"] is None or g["days_left"] >= 0 for g in nb_gaps.values())
        # every time-sensitive gap is in next-best with the same days left, and every next-best gap with a
        # deadline is time-sensitive
        ts_gaps = {(i["patient_id"], i["indicator_id"]): i["days_left"] for i in ts["items"]}
        assert ts_gaps == {k: g["days_left"] for k, g in nb_gaps.items() if g["days_left"] is not None}
        assert ts_gaps[(soon, "AST012")] == 45 and nb_gaps[(soon, "AST012")]["pounds"] > 0

"""``GET /registers?on=D`` uses the register definitions of the QOF year containing D.

Rule text (../shared/reference/qof-2026-27/README.md): "the asthma register now starts at age 5 (was 6)";
NDH003's "register widened to previous gestational diabetes, aged >= 18".
"""

from __future__ import annotations

from datetime import date

from tests.registers.helpers import PRACTICE, code, entry, patient, registers_app

GDM = "11687002"  # GESTDIAB_COD gestational diabetes mellitus


def _size(body: dict, register: str) -> int:
    return next(r for r in body["registers"] if r["register_id"] == register)["size"]


async def test_registers_on_a_date_use_that_years_definitions(database_url: str) -> None:
    async with registers_app(database_url) as (_app, client, headers):
        base = f"/v1/practices/{PRACTICE}"
        # 1: a child born 1 June 2020 (5 on 31 March 2026 and on 1 April 2026) with asthma and treatment
        # 2: an adult with previous gestational diabetes only
        people = [patient(1, dob=date(2020, 6, 1), registered_on=date(2020, 6, 1)), patient(2)]
        assert (await client.put(f"{base}/patients", json={"patients": people}, headers=headers)).status_code == 200
        batch = {"entries": [
            entry("a1", 1, code("AST_COD"), date(2025, 10, 1)),
            entry("a2", 1, code("ASTTRT_COD"), date(2026, 3, 1)),
            entry("g1", 2, GDM, date(2021, 6, 1)),
        ]}
        assert (await client.post(f"{base}/records", json=batch, headers=headers)).status_code == 200
        closed = (await client.get(f"{base}/registers", params={"on": "2026-03-31"}, headers=headers)).json()
        current = (await client.get(f"{base}/registers", params={"on": "2026-04-01"}, headers=headers)).json()
        assert closed["qof_year"] == "2025-26" and current["qof_year"] == "2026-27"
        assert (_size(closed, "AST_REG"), _size(current, "AST_REG")) == (0, 1)
        assert (_size(closed, "NDH_REG"), _size(current, "NDH_REG")) == (0, 1)
        ob = next(r for r in current["registers"] if r["register_id"] == "OB_REG")
        assert "ETH2016AI_COD" in ob["missing_clusters"] and "27.5" in ob["notes"]

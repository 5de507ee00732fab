"""Registers and indicators give the same register sizes for any date: the record goes into the registers
service, the events it writes to its outbox are handed to the indicators' handlers as the consumer does, and
``GET registers?on=D`` equals the indicators' register sizes at D, on dates in more than one QOF year
(indicators on SQLite and PostgreSQL). The broker path itself is covered by ``test_e2e``.

Rule text (PCD output descriptions): a register holds the patients "registered at the achievement date" whose
latest diagnosis code is "not followed by a later resolved code", with the register's age limits "in full years
at the achievement date".

Every register the registers service keeps is in the indicators' register sizes on every date, 0 when empty,
and one no indicator of the year reads is said to be unscored, not dropped. OST004 (2024/25): "The contractor
establishes and maintains a register of patients: 1. Aged 50 or over and who have not attained the age of 75 with
a record of a fragility fracture on or after 1 April 2012 and a diagnosis of osteoporosis confirmed on DXA scan,
and 2. Aged 75 or over with a record of a fragility fracture on or after 1 April 2014 and a diagnosis of
osteoporosis"; QOF_RULES.md §1.3: "In 2025/26 all 32 indicators protected in 2024/25 were permanently retired,
including every register indicator" (OST004 among them), while "the registers themselves still have to be
maintained".
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select

from services.registers.app import create_app as create_registers
from shared.events.envelope import Envelope
from shared.testing import bearer, running
from tests.indicators.service.helpers import DM, DMRES, deliver, indicators_app
from tests.registers.helpers import code, entry, patient
from tests.registers.helpers import settings as registers_settings

TODAY = date(2026, 12, 3)
HYP = "10725009"  # HYP_COD
AST = "195967001"  # AST_COD
DATES = (date(2025, 3, 31), date(2025, 10, 1), date(2026, 3, 31), date(2026, 4, 1), date(2026, 11, 30), TODAY)

# seq -> (patient fields, [(code, date)])
PEOPLE: dict[int, tuple[dict[str, Any], list[tuple[str, date]]]] = {
    701: ({}, [(DM, date(2015, 6, 1)), (HYP, date(2012, 1, 1))]),
    702: ({}, [(DM, date(2026, 9, 10))]),  # diagnosed in 2026/27
    703: ({}, [(DM, date(2015, 6, 1)), (DMRES, date(2026, 4, 20))]),  # resolved in 2026/27
    704: ({"deregistered_on": "2026-06-01"}, [(DM, date(2015, 6, 1))]),  # left in 2026/27
    705: ({"died_on": "2026-05-01"}, [(HYP, date(2015, 6, 1))]),  # died in 2026/27
    706: ({"registered_on": date(2025, 11, 1)}, [(DM, date(2015, 6, 1))]),  # joined during 2025/26
    707: ({"dob": date(2008, 10, 1)}, [(DM, date(2020, 1, 1))]),  # 17 on 2025-10-01: DM_REG is 17 or over
    # 5 throughout: on the asthma register of 2026/27 ("now starts at age 5 (was 6)") only
    708: ({"dob": date(2021, 1, 10), "registered_on": date(2021, 1, 10)},
          [(AST, date(2025, 6, 1)), (code("ASTTRT_COD"), date(2026, 2, 1)), (code("ASTTRT_COD"), date(2026, 11, 1))]),
    # 76 with a fragility fracture in 2019 and osteoporosis: on the osteoporosis register in every year
    709: ({"dob": date(1950, 1, 1)}, [(code("OSTEO_COD"), date(2020, 1, 1)), (code("FF_COD"), date(2019, 6, 1))]),
}


async def test_register_sizes_agree_on_dates_in_both_years(database_url: str, tmp_path: Path) -> None:
    practice = "A81031"
    reg_cfg = registers_settings(f"sqlite+aiosqlite:///{tmp_path / 'registers.db'}")
    reg_app = create_registers(reg_cfg)
    reg_headers = bearer(reg_cfg, scopes=["records:read", "records:write"], practices=[practice])
    async with running(reg_app) as reg, indicators_app(database_url, today=TODAY) as (
        ind_app, ind, _h,
    ):
        headers = bearer(ind_app.state.settings, scopes=["indicators:read"], practices=[practice])
        base = f"/v1/practices/{practice}"
        people = [patient(seq, **fields) for seq, (fields, _) in PEOPLE.items()]
        r = await reg.put(f"{base}/patients", headers=reg_headers, json={"patients": people})
        assert r.status_code == 200, r.text
        entries = [entry(f"agree-{seq}-{i}", seq, c, d) for seq, (_, codes) in PEOPLE.items()
                   for i, (c, d) in enumerate(codes)]
        r = await reg.post(f"{base}/records", headers=reg_headers, json={"entries": entries})
        assert r.status_code == 200, r.text

        async def registers_on(day: date) -> dict[str, int]:
            body = (await reg.get(f"{base}/registers?on={day}", headers=reg_headers)).json()
            return {x["register_id"]: x["size"] for x in body["registers"]}

        kernel = ind_app.state.kernel
        covered = [d for d in DATES if kernel.qof_ruleset_for(d) is not None]
        assert len({kernel.qof_ruleset_for(d) for d in covered}) >= 2 and len(covered) >= 4

        answers: dict[date, dict[str, Any]] = {}

        async def mismatches() -> list[date]:
            out = []
            for day in covered:
                r = await ind.get(f"{base}/achievement?on={day}", headers=headers)
                assert r.status_code == 200, r.text
                answers[day] = r.json()
                if r.json()["register_sizes"] != await registers_on(day):
                    out.append(day)
            return out

        outbox = reg_app.state.runtime.tables.outbox
        async with reg_app.state.runtime.sessions() as s:
            rows = (await s.execute(select(outbox.c.body).order_by(outbox.c.seq))).all()
        await deliver(ind_app, *(Envelope.from_bytes(r[0]).payload() for r in rows))
        assert not await mismatches()
        # a date no rule set covers is said, not clamped
        assert (await ind.get(f"{base}/achievement?on=2027-06-01", headers=headers)).status_code == 422
        # the record's own dates show in the sizes: not the same register on every date
        assert (await registers_on(date(2025, 3, 31))).get("DM_REG") == 3  # 701, 703, 704 (707 is 16)
        assert (await registers_on(date(2026, 3, 31))).get("DM_REG") == 5  # + 706 joined, 707 turned 17
        assert (await registers_on(date(2026, 3, 31))).get("AST_REG") == 0
        assert (await registers_on(date(2026, 11, 30))).get("AST_REG") == 1
        # every register kept, empty ones as 0: none dropped
        assert answers[TODAY]["register_sizes"]["PAD_REG"] == 0
        # the osteoporosis register: scored in 2024/25 (OST004), counted but unscored once OST004 was retired
        before, after = answers[date(2025, 3, 31)], answers[TODAY]
        assert before["qof_year"] == "2024/25" and before["register_sizes"]["OSTEO_REG"] == 1
        assert "OSTEO_REG" not in before["registers_not_scored"]
        assert next(i for i in before["indicators"] if i["indicator_id"] == "OST004")["numerator"] == 1
        assert after["qof_year"] == "2026/27" and after["register_sizes"]["OSTEO_REG"] == 1
        assert "no indicator of QOF 2026/27" in after["registers_not_scored"]["OSTEO_REG"]
        assert "OST004" not in {i["indicator_id"] for i in after["indicators"]}
        # a register a 2026/27 indicator reads is scored, through a derived register too (CHOL_REG: PAD_REG)
        assert "DM_REG" not in after["registers_not_scored"] and "PAD_REG" not in after["registers_not_scored"]

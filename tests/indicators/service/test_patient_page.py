"""A patient's QOF page (GET /v1/practices/{ods}/patients/{id}/indicators): every indicator of the year, the
patient's status in each, and the rule step and entry that decided it.

DM020 (2025/26): "The percentage of patients with diabetes, on the register, without moderate or severe frailty
in whom the last IFCC-HbA1c is 58 mmol/mol or less in the preceding 12 months." Its chain, rule 2: "Select
patients whose latest IFCC-HbA1c in the 12 months up to and including PPED is ≤ 58 mmol/mol"; rule 7: "Reject
patients who chose not to receive diabetes indicator care (DMPCADEC_COD) in the 12 months up to and including
PPED" (a personalised care adjustment).
"""

from __future__ import annotations

from datetime import date

from shared.testing import bearer

from .helpers import (
    DMPCADEC,
    HBA1C,
    PRACTICE,
    SAME_PCN,
    deliver,
    diabetic,
    indicators_app,
    on_register,
    recorded,
    registered,
)

BASE = f"/v1/practices/{PRACTICE}/patients"


def standing(body: dict, indicator_id: str) -> dict:
    return next(i for i in body["indicators"] if i["indicator_id"] == indicator_id)


async def test_numerator_gap_pca_and_not_in_population_each_name_the_deciding_step(sqlite_url: str) -> None:
    async with indicators_app(sqlite_url) as (app, client, headers):
        await diabetic(app, "in-target", 50.0)
        await diabetic(app, "high", 71.0, when=date(2025, 9, 2))
        await diabetic(app, "declined")
        await deliver(app, recorded("declined", ("declined-pca", DMPCADEC, date(2025, 11, 1), None)))
        await deliver(app, registered("no-dm", dob=date(1960, 5, 1)))

        r = await client.get(f"{BASE}/in-target/indicators", headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["qof_year"] == "2025/26" and body["achievement_date"] == "2026-01-15"
        assert body["registered"] is True and "DM_REG" in body["registers"]
        dm = standing(body, "DM020")
        assert (dm["status"], dm["rule"]) == ("numerator", "2")
        assert dm["rule_text"].startswith("Select patients whose latest IFCC-HbA1c")
        assert (dm["evidence"]["code"], dm["evidence"]["date"], dm["evidence"]["value"]) == (HBA1C, "2025-10-01", 50.0)

        gap = standing((await client.get(f"{BASE}/high/indicators", headers=headers)).json(), "DM020")
        assert gap["status"] == "gap"
        assert gap["unmet"][0]["text"] == "latest IFCC-HbA1c 71 mmol/mol on 2025-09-02 (target ≤ 58)"
        assert gap["closes"] and gap["because"].startswith(gap["unmet"][0]["text"])

        pca = standing((await client.get(f"{BASE}/declined/indicators", headers=headers)).json(), "DM020")
        assert (pca["status"], pca["field"], pca["rule"]) == ("pca", "DMPCADEC", "7")
        assert pca["evidence"]["code"] == DMPCADEC and pca["evidence"]["date"] == "2025-11-01"

        other = (await client.get(f"{BASE}/no-dm/indicators", headers=headers)).json()
        out = standing(other, "DM020")
        assert out["status"] == "not_in_population" and out["reason"] == "not on DM_REG on the achievement date"
        # the patient's own indicators come before the ones they are not in
        statuses = [i["status"] for i in other["indicators"]]
        assert statuses.index("not_in_population") > max(
            (n for n, s in enumerate(statuses) if s in ("numerator", "gap", "pca", "excluded")), default=-1)


async def test_a_patient_of_another_practice_is_not_found_and_other_tokens_are_refused(sqlite_url: str) -> None:
    async with indicators_app(sqlite_url) as (app, client, headers):
        await deliver(app, registered("elsewhere", practice=SAME_PCN), on_register("elsewhere", practice=SAME_PCN))
        assert (await client.get(f"{BASE}/elsewhere/indicators", headers=headers)).status_code == 404
        assert (await client.get(f"/v1/practices/{SAME_PCN}/patients/elsewhere/indicators",
                                 headers=headers)).status_code == 200
        cfg = app.state.settings
        own_only = bearer(cfg, scopes=["indicators:read"], practices=[SAME_PCN])
        assert (await client.get(f"{BASE}/elsewhere/indicators", headers=own_only)).status_code == 403
        analyst = bearer(cfg, scopes=["analytics:read", "indicators:read"], icb="QHM")
        assert (await client.get(f"{BASE}/elsewhere/indicators", headers=analyst)).status_code == 403

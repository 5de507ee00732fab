"""The data-quality report finds each kind of coding problem, and counts them per recorder."""

from datetime import date

from tests.registers.helpers import PRACTICE, code, entry, patient, registers_app


async def test_quality_findings(database_url: str) -> None:
    hba1c = code("IFCCHBAM_COD")
    sys_bp = code("SYSBP_COD")
    async with registers_app(database_url) as (_app, client, headers):
        base = f"/v1/practices/{PRACTICE}"
        r = await client.put(
            f"{base}/patients", json={"patients": [patient(i) for i in range(1, 6)]}, headers=headers
        )
        assert r.status_code == 200
        entries = [
            # 1: two HbA1c >= 48 and no diabetes code
            entry("h1", 1, hba1c, date(2024, 1, 10), 52, recorded_by="nurse-1"),
            entry("h2", 1, hba1c, date(2024, 6, 10), 55, recorded_by="nurse-1"),
            # 2: diabetes resolved, then metformin prescribed
            entry("d1", 2, code("DM_COD"), date(2015, 1, 1)),
            entry("d2", 2, code("DMRES_COD"), date(2020, 1, 1)),
            entry(
                "d3",
                2,
                sorted(
                    __import__("shared.codelists", fromlist=["x"])
                    .default_library()
                    .get("ANTIDIABETIC_DMD_opensafely")
                    .codes
                )[0],
                date(2023, 1, 1),
                kind="medication",
            ),
            # 3: implausible (but possible) systolic BP, and a duplicate
            entry("b1", 3, sys_bp, date(2024, 2, 1), 260, recorded_by="hca-2"),
            entry("b2", 3, sys_bp, date(2024, 3, 1), 130, recorded_by="hca-2"),
            entry("b3", 3, sys_bp, date(2024, 3, 1), 130, recorded_by="hca-2"),
            # 4: a valid SNOMED CT concept in none of the codelists (Verhoeff-valid)
            entry("u1", 4, "271737000", date(2024, 4, 1), recorded_by="gp-3"),
        ]
        r = await client.post(f"{base}/records", json={"entries": entries}, headers=headers)
        assert r.status_code == 200, r.text
        assert {f["flag"] for f in r.json()["flags"]} >= {"unknown-code", "implausible-value"}
        report = (await client.get(f"{base}/quality", headers=headers)).json()
        summary = report["summary"]
        assert summary["suspected-uncoded"] == 1
        assert summary["resolved-but-treated"] == 1
        assert summary["implausible-value"] == 1
        assert summary["duplicate"] == 1
        assert summary["unknown-code"] == 1
        recorders = {r["recorded_by"]: r for r in report["recorders"]}
        assert recorders["hca-2"]["findings"] == 2  # the implausible value and the second duplicate
        assert recorders["gp-3"]["by_kind"] == {"unknown-code": 1}
        # Correcting the patient's date of birth to after an entry makes that entry's date impossible.
        r = await client.put(
            f"{base}/patients", headers=headers,
            json={"patients": [patient(4, dob=date(2024, 6, 1), registered_on=date(2024, 6, 1))]},
        )
        assert r.status_code == 200, r.text
        report = (await client.get(f"{base}/quality", headers=headers)).json()
        assert report["summary"]["impossible-date"] == 1

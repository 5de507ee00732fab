"""Providers are named from the ODS list of NHS trusts (shipped data) alike in every output: the item, the
CSV report, the escalation summary and the letter."""

from __future__ import annotations

import html

import httpx

from services.workload.refdata import nhs_trusts, provider_name
from tests.workload.conftest import PRACTICE_A

BASE = f"/v1/practices/{PRACTICE_A}/workload"
NEWCASTLE = "The Newcastle upon Tyne Hospitals NHS Foundation Trust"


def test_the_ods_list_names_trusts() -> None:
    # ODS etr.csv: RTD,"THE NEWCASTLE UPON TYNE HOSPITALS NHS FOUNDATION TRUST"
    assert nhs_trusts()["RTD"] == NEWCASTLE
    assert len(nhs_trusts()) > 200
    assert provider_name("ZZ9", "Local Hospice") == "Local Hospice", "a provider not listed keeps its name"


async def test_every_output_names_the_provider_alike(client: httpx.AsyncClient, writer_a: dict[str, str]) -> None:
    quick = {"provider_ods": "RTD", "category": "discharge_summary_late", "minutes": 10, "staff_role": "admin"}
    r = await client.post(f"{BASE}/quick", json=quick, headers=writer_a)
    assert r.status_code == 201, r.text
    assert r.json()["provider_name"] == NEWCASTLE
    csv_text = (await client.get(f"{BASE}/reports/summary.csv", params={"by": "provider"}, headers=writer_a)).text
    assert NEWCASTLE in csv_text and "RTD,RTD" not in csv_text
    escalation = html.unescape((await client.get(f"{BASE}/escalation", headers=writer_a)).text)
    assert f"{NEWCASTLE} (RTD)" in escalation and "RTD (RTD)" not in escalation
    letter = html.unescape((await client.get(f"{BASE}/letters/RTD", headers=writer_a)).text)
    assert NEWCASTLE in letter

"""Hostile and malformed input is refused with problem+json naming the field, on SQLite and PostgreSQL."""

from __future__ import annotations

import codecs
from datetime import date
from typing import Any

import httpx
import pytest

from tests.registers.helpers import PRACTICE, code, entry, patient, registers_app

BASE = f"/v1/practices/{PRACTICE}"
TODAY = date(2026, 6, 1)
NUL = "\u0000"


def fields(r: httpx.Response) -> set[str]:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    return {e["field"] for e in r.json()["errors"]}


async def _with_patient(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    r = await client.put(f"{BASE}/patients", json={"patients": [patient(1)]}, headers=headers)
    assert r.status_code == 200, r.text
    return str(next(iter(r.json()["ids"].values())))


async def test_nul_anywhere_is_a_422_naming_the_field(database_url: str) -> None:
    async with registers_app(database_url) as (_, client, headers):
        pid = await _with_patient(client, headers)
        bp = code("BP_COD")
        body: dict[str, Any] = {"entries": [
            entry(f"e{NUL}1", 1, bp, date(2024, 1, 1), 120, unit=f"mm{NUL}Hg", recorded_by=f"GP{NUL}")]}
        r = await client.post(f"{BASE}/records", json=body, headers=headers)
        assert fields(r) == {"entries.0.entry_id", "entries.0.unit", "entries.0.recorded_by"}
        r = await client.put(f"{BASE}/patients", json={"patients": [patient(2, given_name=f"A{NUL}n")]},
                             headers=headers)
        assert fields(r) == {"patients.0.given_name"}
        r = await client.get(f"{BASE}/patients", params={"cursor": f"x{NUL}"}, headers=headers)
        assert fields(r) == {"cursor"}
        r = await client.get(f"{BASE}/patients/{pid}%00", headers=headers)
        assert fields(r) == {"patient_id"}
        r = await client.get(f"{BASE}/imports/job%00", headers=headers)
        assert fields(r) == {"job_id"}
        r = await client.get(f"{BASE}/patients/{pid}", headers=headers)
        assert r.status_code == 200, "the patient is untouched"


@pytest.mark.parametrize("change, field", [
    ({"date_of_birth": "2027-01-01", "registered_on": "2027-01-01"}, "date_of_birth"),
    ({"date_of_birth": "1960-05-17", "registered_on": "1950-01-01"}, "registered_on"),
    ({"date_of_birth": "1960-05-17", "died_on": "1959-12-31"}, "died_on"),
])
async def test_patient_dates_that_cannot_be(database_url: str, change: dict[str, str], field: str) -> None:
    from services.registers.api.deps import today

    async with registers_app(database_url) as (app, client, headers):
        app.dependency_overrides[today] = lambda: TODAY
        r = await client.put(f"{BASE}/patients", json={"patients": [patient(3), {**patient(4), **change}]},
                             headers=headers)
        assert f"patients.1.{field}" in fields(r)
        r = await client.get(f"{BASE}/patients", headers=headers)
        assert r.json()["items"] == [], "a rejected batch changes nothing"


@pytest.mark.parametrize("value", ["Infinity", "-Infinity", "NaN", "1e308"])
async def test_values_on_codes_without_a_range_must_be_finite_and_sane(database_url: str, value: str) -> None:
    async with registers_app(database_url) as (_, client, headers):
        await _with_patient(client, headers)
        # DM_COD carries no value, so plausible_values.csv has no range for it
        nhs, dm = patient(1)["nhs_number"], code("DM_COD")
        body = (f'{{"entries": [{{"entry_id": "v1", "nhs_number": "{nhs}", "code": "{dm}", '
                f'"effective_date": "2024-01-01", "value": {value}}}]}}')
        r = await client.post(f"{BASE}/records", content=body, headers={**headers,
                                                                           "Content-Type": "application/json"})
        # schema errors name entries.0.value; batch checks name the field with the entry's index
        assert {f.split(".")[-1] for f in fields(r)} == {"value"}
        assert r.json()["errors"][0].get("index", 0) == 0


CSV_TEXT = "NHS Number,SNOMED Code,Date,Value,Unit,Recorded By\n{nhs},{code},01/03/2024,48,mmol/mol,Dr Müller\n"


async def test_header_only_csv_is_refused_at_once(sqlite_url: str) -> None:
    async with registers_app(sqlite_url) as (_, client, headers):
        r = await client.post(f"{BASE}/imports/csv", content=b"NHS Number,SNOMED Code,Date\n\n",
                              headers={**headers, "Content-Type": "text/csv"})
        assert r.status_code == 422, r.text
        assert "no data rows" in r.json()["errors"][0]["reason"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "cp1252"])
async def test_csv_encodings_are_detected(sqlite_url: str, encoding: str) -> None:
    async with registers_app(sqlite_url) as (_, client, headers):
        await _with_patient(client, headers)
        text = CSV_TEXT.format(nhs=patient(1)["nhs_number"], code=code("IFCCHBAM_COD"))
        r = await client.post(f"{BASE}/imports/csv", content=text.encode(encoding),
                              headers={**headers, "Content-Type": "text/csv"})
        assert r.status_code == 202, r.text
        for _ in range(200):
            job = (await client.get(r.json()["links"]["self"], headers=headers)).json()
            if job["status"] in ("done", "failed"):
                break
        assert job["status"] == "done" and job["accepted"] == 1, job


def test_unreadable_encoding_is_refused_with_the_reason() -> None:
    from services.registers.domain.csv_encoding import EncodingRefused, decode_csv

    with pytest.raises(EncodingRefused, match="not UTF-8, UTF-16 or Windows-1252"):
        decode_csv(b"NHS Number,Code\n" + "\u3042".encode("shift_jis") + b"\x81\x8d\x90")
    assert decode_csv(codecs.BOM_UTF16_BE + "a,b\n".encode("utf-16-be"))[0] == "a,b\n"

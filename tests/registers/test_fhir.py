"""FHIR R4 (UK Core) bundles over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx

from shared.identifiers import synthetic_nhs_number
from tests.registers.helpers import OTHER, PRACTICE, patient, registers_app

SAMPLES = Path(__file__).parent / "samples"
FHIR = {"Content-Type": "application/fhir+json"}


def sample(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / name).read_text())


async def post(client: httpx.AsyncClient, headers: dict[str, str], bundle: object,
               ods: str = PRACTICE, register: bool = True) -> httpx.Response:
    return await client.post(f"/v1/practices/{ods}/fhir", content=json.dumps(bundle),
                             headers={**headers, **FHIR}, params={"register": str(register).lower()})


async def records_of(client: httpx.AsyncClient, headers: dict[str, str], nhs: str) -> list[dict[str, Any]]:
    r = await client.get(f"/v1/practices/{PRACTICE}/patients", params={"nhs_number": nhs}, headers=headers)
    items = r.json()["items"]
    if not items:
        return []
    r = await client.get(f"/v1/practices/{PRACTICE}/patients/{items[0]['id']}/records", headers=headers)
    assert r.status_code == 200, r.text
    return list(r.json())


async def register_sizes(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, int]:
    r = await client.get(f"/v1/practices/{PRACTICE}/registers", headers=headers)
    return {x["register_id"]: x["size"] for x in r.json()["registers"]}


def statuses(body: dict[str, Any]) -> list[str]:
    return [e["response"]["status"] for e in body["entry"]]


async def test_transaction_stores_everything_and_is_idempotent(database_url: str) -> None:
    bundle = sample("uk_core_transaction.json")
    nhs = bundle["entry"][0]["resource"]["identifier"][0]["value"]
    async with registers_app(database_url) as (_app, client, headers):
        r = await post(client, headers, bundle)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("application/fhir+json")
        body = r.json()
        assert body["resourceType"] == "Bundle" and body["type"] == "transaction-response"
        assert statuses(body) == ["201 Created"] * 7

        records = await records_of(client, headers, nhs)
        got = {(x["code"], x["kind"], x["value"], x["unit"]) for x in records}
        assert got == {
            ("44054006", "condition", None, None),
            ("271649006", "observation", 138.0, "mmHg"),
            ("271650006", "observation", 84.0, "mmHg"),
            ("999791000000106", "observation", 58.0, "mmol/mol"),
            ("985151000000100", "immunisation", None, None),
            ("20448411000001102", "medication", None, None),
            ("182836005", "procedure", None, None),
        }
        assert all(x["source"] == "fhir" for x in records)
        by_code = {x["code"]: x for x in records}
        assert by_code["44054006"]["effective_date"] == "2019-03-11"
        assert by_code["20448411000001102"]["effective_date"] == "2025-06-01"
        bp_id = "Observation/5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d21"
        assert by_code["271649006"]["entry_id"] == f"{bp_id}#271649006"
        assert (await register_sizes(client, headers))["DM_REG"] == 1

        again = await post(client, headers, bundle)
        assert again.status_code == 200
        assert statuses(again.json()) == ["200 OK"] * 7
        assert len(await records_of(client, headers, nhs)) == 7


async def test_transaction_with_one_bad_entry_stores_nothing(database_url: str) -> None:
    bundle = sample("uk_core_transaction.json")
    bundle["entry"][3]["resource"]["effectiveDateTime"] = "2031-02-01T09:00:00+00:00"
    bundle["entry"][6]["resource"]["code"]["coding"][0]["code"] = "182836004"  # check digit broken
    async with registers_app(database_url) as (_app, client, headers):
        r = await post(client, headers, bundle)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/fhir+json")
        outcome = r.json()
        assert outcome["resourceType"] == "OperationOutcome"
        errors = [i for i in outcome["issue"] if i["severity"] == "error"]
        where = {i["expression"][0] for i in errors}
        assert where == {"Bundle.entry[3].resource.effectiveDateTime", "Bundle.entry[6].resource.code"}
        assert any("future" in i["diagnostics"] for i in errors)

        r = await client.get(f"/v1/practices/{PRACTICE}/patients", headers=headers)
        assert r.json()["items"] == []
        assert (await register_sizes(client, headers))["DM_REG"] == 0


async def test_batch_stores_the_valid_entries_and_answers_each(database_url: str) -> None:
    bundle = sample("uk_core_batch_with_problems.json")
    nhs = bundle["entry"][0]["resource"]["identifier"][0]["value"]
    async with registers_app(database_url) as (_app, client, headers):
        r = await post(client, headers, bundle)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["type"] == "batch-response"
        # A resource QOF does not use is answered 200 with an informational issue, not refused.
        assert statuses(body) == ["201 Created"] * 3 + ["422 Unprocessable Entity"] + ["201 Created"] * 3 + [
            "200 OK"]
        bad = body["entry"][3]["response"]["outcome"]
        assert bad["resourceType"] == "OperationOutcome"
        assert bad["issue"][0]["severity"] == "error"
        assert bad["issue"][0]["code"] == "invalid"
        assert bad["issue"][0]["expression"] == ["Observation.effectiveDateTime"]
        assert "future" in bad["issue"][0]["diagnostics"]
        unsupported = body["entry"][7]["response"]["outcome"]["issue"][0]
        assert unsupported["code"] == "informational" and unsupported["severity"] == "information"
        assert "AllergyIntolerance" in unsupported["diagnostics"]

        codes = sorted(x["code"] for x in await records_of(client, headers, nhs))
        assert codes == sorted(["44054006", "271649006", "271650006", "985151000000100", "20448411000001102",
                                "182836005"])
        assert (await register_sizes(client, headers))["DM_REG"] == 1


async def test_blood_pressure_components_become_two_entries(sqlite_url: str) -> None:
    bundle = sample("uk_core_transaction.json")
    bp = bundle["entry"][2]
    bp["resource"]["subject"] = {"identifier": {"system": "https://fhir.nhs.uk/Id/nhs-number",
                                                "value": synthetic_nhs_number(5)}}
    collection = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": bp["resource"]}]}
    async with registers_app(sqlite_url) as (_app, client, headers):
        r = await client.put(f"/v1/practices/{PRACTICE}/patients", json={"patients": [patient(5)]},
                             headers=headers)
        assert r.status_code == 200
        r = await post(client, headers, collection)
        assert r.status_code == 200, r.text
        assert r.json()["type"] == "batch-response"
        assert statuses(r.json()) == ["201 Created"]
        records = await records_of(client, headers, synthetic_nhs_number(5))
        assert sorted((x["code"], x["value"]) for x in records) == [("271649006", 138.0), ("271650006", 84.0)]
        assert {x["effective_date"] for x in records} == {"2025-09-02"}


async def test_refused_entries_and_references(sqlite_url: str) -> None:
    base = sample("uk_core_transaction.json")
    patient_entry = base["entry"][0]
    no_code = copy.deepcopy(base["entry"][3])
    del no_code["resource"]["code"]
    dangling = copy.deepcopy(base["entry"][1])
    dangling["resource"]["id"] = "cond-dangling"
    dangling["resource"]["subject"] = {"reference": "Patient/nobody"}
    retracted = copy.deepcopy(base["entry"][6])
    retracted["resource"].update(id="proc-eie", status="entered-in-error")
    partial = copy.deepcopy(base["entry"][5])
    partial["resource"].update(id="med-partial", effectivePeriod={"start": "2025-06"})
    partial["resource"].pop("dateAsserted")
    bundle = {"resourceType": "Bundle", "type": "batch",
              "entry": [patient_entry, no_code, dangling, retracted, partial]}
    async with registers_app(sqlite_url) as (_app, client, headers):
        r = await post(client, headers, bundle)
        assert r.status_code == 200, r.text
        entries = r.json()["entry"]
        assert statuses(r.json()) == ["201 Created", "400 Bad Request", "422 Unprocessable Entity",
                                      "422 Unprocessable Entity", "422 Unprocessable Entity"]
        issue = [e["response"].get("outcome", {}).get("issue", [{}])[0] for e in entries]
        assert issue[1]["code"] == "required" and issue[1]["expression"] == ["Observation.code"]
        assert issue[2]["expression"] == ["Condition.subject"]
        assert issue[3]["code"] == "not-supported" and "retract" in issue[3]["diagnostics"]
        assert issue[4]["expression"] == ["MedicationStatement.effectivePeriod.start"]
        assert "partial date" in issue[4]["diagnostics"]


async def test_bad_requests_are_problems(sqlite_url: str) -> None:
    async with registers_app(sqlite_url) as (_app, client, headers):
        url = f"/v1/practices/{PRACTICE}/fhir"
        r = await client.post(url, content=b"{not json", headers={**headers, **FHIR})
        assert r.status_code == 400
        assert r.headers["content-type"].startswith("application/problem+json")
        r = await client.post(url, json={"resourceType": "Patient"}, headers=headers)
        assert r.status_code == 400 and "Bundle" in r.json()["detail"]
        r = await client.post(url, json={"resourceType": "Bundle", "type": "searchset"}, headers=headers)
        assert r.status_code == 400
        r = await client.post(url, content=b"<Bundle/>",
                              headers={**headers, "Content-Type": "application/xml"})
        assert r.status_code == 415
        assert r.headers["content-type"].startswith("application/problem+json")


async def test_another_practice_is_refused(sqlite_url: str) -> None:
    async with registers_app(sqlite_url) as (_app, client, headers):
        r = await post(client, headers, sample("uk_core_transaction.json"), ods=OTHER)
        assert r.status_code == 403
        assert r.headers["content-type"].startswith("application/problem+json")
        r = await client.get(f"/v1/practices/{OTHER}/patients", headers=headers)
        assert r.status_code == 403

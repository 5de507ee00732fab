"""FHIR as integrators send it: contained and urn:uuid references, resources QOF does not use, patients the
practice holds or not, duplicate fullUrls; on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from services.registers.store.models import audit_log
from tests.registers.helpers import PRACTICE, patient, registers_app

SAMPLES = Path(__file__).parent / "samples"
FHIR = {"Content-Type": "application/fhir+json"}
URL = f"/v1/practices/{PRACTICE}/fhir"


def sample() -> dict[str, Any]:
    return dict(json.loads((SAMPLES / "uk_core_transaction.json").read_text()))


def statuses(body: dict[str, Any]) -> list[str]:
    return [e["response"]["status"] for e in body["entry"]]


async def post(client: httpx.AsyncClient, headers: dict[str, str], bundle: object,
               **params: str) -> httpx.Response:
    return await client.post(URL, content=json.dumps(bundle), headers={**headers, **FHIR}, params=params)


def immunisation_event(nhs: str) -> dict[str, Any]:
    """The shape of an Immunisation API event: the Patient contained in the Immunization."""
    immunization = copy.deepcopy(sample()["entry"][4]["resource"])
    immunization["contained"] = [{"resourceType": "Patient", "id": "Pat1", "identifier": [
        {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": nhs}], "birthDate": "1958-07-14"}]
    immunization["patient"] = {"reference": "#Pat1"}
    return {"resourceType": "Bundle", "type": "batch", "entry": [
        {"fullUrl": "urn:uuid:0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d", "resource": immunization,
         "request": {"method": "POST", "url": "Immunization"}}]}


async def registered(client: httpx.AsyncClient, headers: dict[str, str], **extra: Any) -> str:
    p = patient(11, **extra)
    r = await client.put(f"/v1/practices/{PRACTICE}/patients", json={"patients": [p]}, headers=headers)
    assert r.status_code == 200, r.text
    return str(p["nhs_number"])


async def test_patient_contained_in_an_immunization_is_resolved(database_url: str) -> None:
    async with registers_app(database_url) as (_, client, headers):
        nhs = await registered(client, headers)
        r = await post(client, headers, immunisation_event(nhs))
        assert r.status_code == 200, r.text
        assert statuses(r.json()) == ["201 Created"]


async def test_resources_qof_does_not_use_are_answered_not_refused(database_url: str) -> None:
    bundle = sample()
    ref = {"reference": bundle["entry"][0]["fullUrl"]}  # urn:uuid: reference to the bundle's Patient
    extra = [
        {"resourceType": "Encounter", "id": "enc1", "status": "finished",
         "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"}, "subject": ref},
        {"resourceType": "Practitioner", "id": "gp1"},
        {"resourceType": "Organization", "id": "org1", "name": "A surgery"},
        {"resourceType": "Claim", "id": "c1"},
    ]
    bundle["entry"] += [{"fullUrl": f"urn:uuid:00000000-0000-4000-8000-00000000000{i}", "resource": res,
                         "request": {"method": "POST", "url": res["resourceType"]}} for i, res in enumerate(extra)]
    async with registers_app(database_url) as (_, client, headers):
        r = await post(client, headers, bundle, register="true")
        assert r.status_code == 200, r.text
        body = r.json()
        assert statuses(body) == ["201 Created"] * 7 + ["200 OK"] * 4
        for e in body["entry"][7:]:
            issue = e["response"]["outcome"]["issue"][0]
            assert issue["severity"] == "information" and "not used for QOF" in issue["diagnostics"]
        bundle["entry"][-1]["resource"] = {"resourceType": "NotAResource", "id": "x"}
        r = await post(client, headers, bundle)
        assert r.status_code == 422, "a real error still refuses the transaction"


async def test_a_bundle_registers_no_patient_unless_asked(database_url: str) -> None:
    async with registers_app(database_url) as (_, client, headers):
        r = await post(client, headers, sample())
        assert r.status_code == 422, r.text
        issues = [i for i in r.json()["issue"] if i["severity"] == "error"]
        assert any(i["code"] == "not-found" and "register=true" in i["diagnostics"] for i in issues)
        listed = await client.get(f"/v1/practices/{PRACTICE}/patients", headers=headers)
        assert listed.json()["items"] == []
        r = await post(client, headers, sample(), register="true")
        assert r.status_code == 200 and statuses(r.json())[0] == "201 Created"


async def test_changes_to_a_held_patient_are_reported_and_audited(database_url: str) -> None:
    bundle = sample()
    async with registers_app(database_url) as (app, client, headers):
        assert (await post(client, headers, bundle, register="true")).status_code == 200
        changed = copy.deepcopy(bundle)
        changed["entry"][0]["resource"]["birthDate"] = "1958-07-15"
        changed["entry"][0]["resource"]["name"][0]["family"] = "Renamed"
        r = await post(client, headers, changed)
        assert r.status_code == 200, r.text
        issues = r.json()["entry"][0]["response"]["outcome"]["issue"]
        assert {i["expression"][0] for i in issues} == {"Patient.birthDate", "Patient.name.family"}
        assert all(i["severity"] == "information" for i in issues)
        async with app.state.runtime.sessions() as s:
            rows = (await s.execute(select(audit_log).where(audit_log.c.action == "patient.update"))).all()
        assert len(rows) == 1 and "Patient.birthDate" in rows[0].detail
        again = await post(client, headers, changed)
        assert again.json()["entry"][0]["response"].get("outcome") is None, "nothing changed the second time"


async def test_duplicate_full_urls_refuse_the_bundle_naming_both(sqlite_url: str) -> None:
    bundle = sample()
    bundle["entry"][5]["fullUrl"] = bundle["entry"][2]["fullUrl"]
    async with registers_app(sqlite_url) as (_, client, headers):
        r = await post(client, headers, bundle, register="true")
        assert r.status_code == 400, r.text
        detail = r.json()["detail"]
        assert "Bundle.entry[2].fullUrl" in detail and "Bundle.entry[5].fullUrl" in detail


async def test_fhir_xml_is_accepted(database_url: str) -> None:
    from fhir.resources.R4B.bundle import Bundle

    xml = Bundle.model_validate(sample()).model_dump_xml()
    assert xml.lstrip().startswith(b"<?xml") and b'<Bundle xmlns="http://hl7.org/fhir">' in xml
    async with registers_app(database_url) as (_, client, headers):
        r = await client.post(URL, content=xml, params={"register": "true"},
                              headers={**headers, "Content-Type": "application/fhir+xml"})
        assert r.status_code == 200, r.text
        assert statuses(r.json()) == ["201 Created"] * 7
        hostile = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                   b'<Bundle xmlns="http://hl7.org/fhir"><type value="batch"/></Bundle>')
        r = await client.post(URL, content=hostile, headers={**headers, "Content-Type": "application/fhir+xml"})
        assert r.status_code == 400 and "document type" in r.json()["detail"]

"""Working example values and test scripts for every route of the Postman collection.

Each route of each service's OpenAPI has one ``Example`` here, keyed ``(service, "METHOD /path")``: path
variables, query, body, the status expected and JavaScript checks of the response shape. Requests run in
the order of the OpenAPI paths; an example can save a value from its response (``save``) for the later
ones, so the collection builds its own data: it registers two test patients (NHS numbers from the 999
range reserved for testing), records codes from the shipped codelists, and reads them back.
A ``negative`` example is an extra request that must be refused with problem+json.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cli.services import ROOT

SAMPLES = ROOT / "docs" / "examples"
BUNDLE = SAMPLES / "bundle.json"
EXPORT = SAMPLES / "export.csv"

# 999-range test NHS numbers (valid check digits); the first two are the demo practice's patients 1 and 13.
NHS_A = "9990000115"
NHS_B = "9990001448"
NHS_BAD = "9990000116"  # check digit broken

# SNOMED CT concepts, each from a shipped codelist (shared/codelists/data).
T2DM = "44054006"  # DM_COD: type 2 diabetes mellitus
HBA1C = "1049301000000100"  # IFCCHBAM_COD: HbA1c level (IFCC standardised)
SYSTOLIC = "271649006"  # BP_COD: systolic blood pressure
DM_INVITE = "1110921000000100"  # DMINVITE_COD: invitation for diabetes review

PROBLEM = ("pm.expect(pm.response.headers.get('Content-Type')).to.include('application/problem+json');\n"
           "pm.expect(body).to.include.keys(['type', 'title', 'status', 'detail']);")


def keys(*names: str) -> str:
    return f"pm.expect(body).to.include.keys({json.dumps(list(names))});"


def each(*names: str) -> str:
    """A JSON array, each element with these keys."""
    return (f"pm.expect(body).to.be.an('array');\n"
            f"body.forEach((x) => pm.expect(x).to.include.keys({json.dumps(list(names))}));")


def page(*names: str, field_name: str = "items") -> str:
    """An object with a list under ``field_name``, each element with these keys."""
    return (f"pm.expect(body).to.have.property('{field_name}').that.is.an('array');\n"
            f"body.{field_name}.forEach((x) => pm.expect(x).to.include.keys({json.dumps(list(names))}));")


def content_type(kind: str) -> str:
    return f"pm.expect(pm.response.headers.get('Content-Type')).to.include('{kind}');"


def problem_with(field_name: str) -> str:
    return (PROBLEM + "\npm.expect(body.errors.map((e) => e.field).join(' ')).to.include("
            + json.dumps(field_name) + ");")


@dataclass(frozen=True)
class Example:
    status: int
    checks: str = ""  # JavaScript over ``body`` (JSON, or text); the OpenAPI response shape is checked too
    path: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    body: Any = None  # JSON body
    raw: tuple[str, str] | None = None  # (content type, text) for non-JSON bodies
    save: dict[str, str] = field(default_factory=dict)  # collection variable -> JavaScript over ``body``
    token: str = "token"  # the variable holding the bearer, or "" for no Authorization header
    name: str = ""  # a name for an extra (negative) request
    json_body: bool = True  # whether the answer is JSON


def _sample(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _patients() -> dict[str, Any]:
    return {"patients": [
        {"nhs_number": NHS_A, "given_name": "Arthur", "family_name": "Harrison", "date_of_birth": "1994-09-20",
         "sex": "male", "registered_on": "2011-04-01",
         "contact": {"mobile": "07700 900722", "email": "arthur.harrison.1@example.com", "allow_sms": True,
                     "preferred_channel": "sms"}},
        {"nhs_number": NHS_B, "given_name": "Ravi", "family_name": "Jackson", "date_of_birth": "2001-05-31",
         "sex": "male", "registered_on": "2019-10-25"},
    ]}


HEALTH = {
    "GET /healthz": Example(200, "pm.expect(body.status).to.eql('ok');"),
    "GET /readyz": Example(200, "pm.expect(body.status).to.be.oneOf(['ok', 'degraded']);"),
}

REGISTERS: dict[str, Example | list[Example]] = {
    **HEALTH,
    "PUT /v1/practices/{ods}/patients": [
        Example(200, f"pm.expect(body.ids).to.have.keys(['{NHS_A}', '{NHS_B}']);", body=_patients(),
                save={"patientId": f"body.ids['{NHS_A}']", "otherPatientId": f"body.ids['{NHS_B}']"}),
        Example(422, problem_with("nhs_number"), name="Refused: NHS number with a wrong check digit",
                body={"patients": [{**_patients()["patients"][1], "nhs_number": NHS_BAD}]}),
    ],
    "GET /v1/practices/{ods}/patients": Example(
        200, f"pm.expect(body.items).to.have.lengthOf(1);\npm.expect(body.items[0].nhs_number).to.eql('{NHS_A}');",
        query={"nhs_number": NHS_A}),
    "GET /v1/practices/{ods}/patients/{patient_id}": [
        Example(200, f"pm.expect(body.nhs_number).to.eql('{NHS_A}');\n"
                     "pm.expect(body.id).to.eql(pm.collectionVariables.get('patientId'));",
                path={"patient_id": "{{patientId}}"}),
        Example(401, PROBLEM, path={"patient_id": "{{patientId}}"}, token="", name="Refused: no bearer token"),
    ],
    "GET /v1/practices/{ods}/contacts": Example(
        200, "pm.expect(body.items).to.have.lengthOf(1);", query={"nhs_number": NHS_A}),
    "POST /v1/practices/{ods}/records": [
        Example(200, "pm.expect(body.received).to.eql(3);", body={"entries": [
            {"entry_id": "postman-dm-1", "nhs_number": NHS_A, "code": T2DM, "effective_date": "2024-05-02"},
            {"entry_id": "postman-hba1c-1", "nhs_number": NHS_A, "code": HBA1C, "effective_date": "2026-10-01",
             "value": 52, "unit": "mmol/mol"},
            {"entry_id": "postman-bp-1", "nhs_number": NHS_A, "code": SYSTOLIC, "effective_date": "2026-10-01",
             "value": 138, "unit": "mm[Hg]"}]}),
        Example(422, problem_with("effective_date"), name="Refused: an entry dated in the future",
                body={"entries": [{"entry_id": "postman-future", "nhs_number": NHS_A, "code": HBA1C,
                                   "effective_date": "2099-01-01", "value": 52, "unit": "mmol/mol"}]}),
    ],
    "POST /v1/practices/{ods}/records/retract": Example(
        200, "pm.expect(body.retracted + body.already_retracted).to.eql(1);  // a second run finds it retracted",
        body={"entry_ids": ["postman-bp-1"], "reason": "recorded against the wrong patient"}),
    "GET /v1/practices/{ods}/patients/{patient_id}/records": Example(
        200, "const hba1c = body.find((e) => e.entry_id === 'postman-hba1c-1');\n"
             f"pm.expect(hba1c.code).to.eql('{HBA1C}');\npm.expect(hba1c.value).to.eql(52);",
        path={"patient_id": "{{patientId}}"}, query={"include_retracted": "true"}),
    "POST /v1/practices/{ods}/fhir": Example(
        200, "pm.expect(body.resourceType).to.eql('Bundle');\npm.expect(body.type).to.eql('transaction-response');",
        raw=("application/fhir+json", "BUNDLE")),
    "POST /v1/practices/{ods}/imports/csv": Example(
        202, "pm.expect(body.status).to.be.oneOf(['queued', 'running', 'done']);", raw=("text/csv", "EXPORT"),
        save={"importJobId": "body.id"}),
    "GET /v1/practices/{ods}/imports/{job_id}": Example(
        200, "pm.expect(body.id).to.eql(pm.collectionVariables.get('importJobId'));\n"
             "pm.expect(body.total_rows).to.eql(4);", path={"job_id": "{{importJobId}}"}),
    "GET /v1/practices/{ods}/registers": Example(
        200, "pm.expect(body.practice).to.eql(pm.variables.get('practice'));\n"
             "pm.expect(body.registers.map((r) => r.register_id)).to.include('DM_REG');"),
    "GET /v1/practices/{ods}/registers/{register_id}/patients": Example(
        200, "pm.expect(body.register_id).to.eql('DM_REG');\n"
             "pm.expect(body.items.map((p) => p.patient_id)).to.include(pm.collectionVariables.get('patientId'));",
        path={"register_id": "DM_REG"}, query={"limit": "50"}),
    "POST /v1/practices/{ods}/registers/refresh": Example(200, "pm.expect(body.changes).to.be.a('number');"),
    "GET /v1/practices/{ods}/quality": Example(200, "pm.expect(body.practice).to.eql(pm.variables.get('practice'));"),
}

EXAMPLES: dict[str, dict[str, Example | list[Example]]] = {
    "registers": REGISTERS,
}


def examples_for(service: str, route: str) -> list[Example]:
    found = EXAMPLES.get(service, {}).get(route)
    if found is None:
        return []
    return found if isinstance(found, list) else [found]


def raw_text(marker: str) -> str:
    return {"BUNDLE": _sample(BUNDLE), "EXPORT": _sample(EXPORT)}.get(marker, marker)

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


def poll_job(base: str, kind: str, checks: str, tries: int = 40) -> str:
    """Read the job again every 250 ms until it is no longer queued or running, then check it."""
    return f"""const poll = (job, left) => {{
  if (!['queued', 'running'].includes(job.status) || left === 0) {{
    pm.test('job finished', () => {{
      {checks.replace(chr(10), chr(10) + '      ')}
    }});
    return;
  }}
  const url = pm.variables.get('{base}') + '/v1/practices/' + pm.variables.get('practice') + '/{kind}/' + job.id;
  setTimeout(() => pm.sendRequest({{url: url, header: {{Authorization: 'Bearer ' + pm.variables.get('token')}}}},
    (err, res) => poll(err ? {{status: String(err)}} : res.json(), left - 1)), 250);
}};
poll(body, {tries});"""


@dataclass(frozen=True)
class Example:
    status: int
    checks: str = ""  # JavaScript over ``body`` (JSON, or text); the OpenAPI response shape is checked too
    path: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    body: Any = None  # JSON body
    raw: tuple[str, str] | None = None  # (content type, text) for non-JSON bodies
    form: dict[str, str] = field(default_factory=dict)  # multipart fields; "@name": a file of docs/examples
    save: dict[str, str] = field(default_factory=dict)  # collection variable -> JavaScript over ``body``
    token: str = "token"  # the variable holding the bearer, or "" for no Authorization header
    name: str = ""  # a name for an extra (negative) request
    json_body: bool = True  # whether the answer is JSON
    script: str = ""  # more JavaScript, run after the checks (may add its own pm.test)
    # Run the request again (every 250 ms, up to 40 times) while it answers this status: what it needs
    # arrives by an event the service may not have consumed yet.
    retry_on: int | None = None


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
        200, "pm.expect(body.id).to.eql(pm.collectionVariables.get('importJobId'));",
        path={"job_id": "{{importJobId}}"},
        script=poll_job("registersBaseUrl", "imports",
                        "pm.expect(job.status).to.eql('done');\npm.expect(job.total_rows).to.eql(4);\n"
                        "pm.expect(job.rejected).to.eql(0);")),
    "GET /v1/practices/{ods}/registers": Example(
        200, "pm.expect(body.practice).to.eql(pm.variables.get('practice'));\n"
             "pm.expect(body.registers.map((r) => r.register_id)).to.include('DM_REG');"),
    "GET /v1/practices/{ods}/registers/{register_id}/patients": Example(
        200, "pm.expect(body.register_id).to.eql('DM_REG');\n"
             "pm.expect(body.items.map((p) => p.patient_id)).to.include(pm.collectionVariables.get('patientId'));",
        # The whole register in one page: the patient made above is found among the demo practice's too.
        path={"register_id": "DM_REG"}, query={"limit": "5000"}),
    "POST /v1/practices/{ods}/registers/refresh": Example(200, "pm.expect(body.changes).to.be.a('number');"),
    "GET /v1/practices/{ods}/quality": Example(200, "pm.expect(body.practice).to.eql(pm.variables.get('practice'));"),
}

PRACTICE_PATH = "pm.expect(body.practice).to.eql(pm.variables.get('practice'));"

INDICATORS: dict[str, Example | list[Example]] = {
    **HEALTH,
    "GET /v1/practices/{ods}/achievement": [
        Example(200, PRACTICE_PATH),
        Example(200, PRACTICE_PATH, query={"view": "year-end"}, name="Achievement projected to the year end"),
        Example(403, PROBLEM, path={}, token="icbToken", name="Refused: an ICB token reads no practice"),
    ],
    "GET /v1/practices/{ods}/indicators/{indicator_id}": Example(
        200, "pm.expect(body.indicator_id).to.eql('DM020');", path={"indicator_id": "DM020"}),
    "GET /v1/practices/{ods}/history": Example(200, "", query={"indicator": "DM020"}),
    "GET /v1/practices/{ods}/projection": Example(200, PRACTICE_PATH),
    "GET /v1/practices/{ods}/what-if": [
        Example(200, "", query={"ruleset": "qof-2025-26"}),
        Example(422, problem_with("ruleset"), query={"ruleset": "qof-1999-00"}, name="Refused: unknown rule set"),
    ],
    "GET /v1/practices/{ods}/indicators/{indicator_id}/worklist": Example(
        200, "", path={"indicator_id": "DM020"}, query={"limit": "20"}),
    "GET /v1/practices/{ods}/worklist/next-best": Example(200, "", query={"limit": "20"}),
    "GET /v1/practices/{ods}/patients/{patient_id}/indicators": [
        Example(200, "pm.expect(body.patient_id).to.eql(pm.collectionVariables.get('patientId'));\n"
                     "pm.expect(body.indicators.map((i) => i.indicator_id)).to.include('DM020');",
                path={"patient_id": "{{patientId}}"}),
        Example(404, PROBLEM, path={"patient_id": "00000000-0000-4000-8000-000000000000"},
                name="Refused: a patient who is not the practice's"),
    ],
    "GET /v1/practices/{ods}/worklist/time-sensitive": Example(200, "", query={"limit": "20"}),
    "PUT /v1/practices/{ods}/contract": Example(
        200, "pm.expect(body.ruleset_id).to.eql('qof-2026-27');", body={"ruleset_id": "qof-2026-27"}),
    "GET /v1/practices/{ods}/contract": Example(200, "pm.expect(body.ruleset_id).to.eql('qof-2026-27');"),
    "PUT /v1/practices/{ods}/attestations/{indicator_id}": Example(
        422, problem_with("indicator_id"), path={"indicator_id": "QI014"},
        name="Refused: QI014 (quality improvement, attested) belongs to 2024/25, not the practice's year",
        body={"activity": "Frailty QI", "plan": "PDSA cycles", "network_meetings": ["2026-05-01", "2026-11-01"]}),
    "POST /v1/practices/{ods}/recompute": Example(
        202, "pm.expect(body.status).to.be.oneOf(['queued', 'running', 'done']);", query={"mode": "async"},
        save={"recomputeJobId": "body.id"}),
    "GET /v1/practices/{ods}/recompute/{job_id}": Example(
        200, "pm.expect(body.id).to.eql(pm.collectionVariables.get('recomputeJobId'));",
        path={"job_id": "{{recomputeJobId}}"}),
    "GET /v1/practices/{ods}/export/publication.csv": Example(
        200, content_type("text/csv") + "\npm.expect(body.split('\\n')[0]).to.eql("
        "'PRACTICE_CODE,INDICATOR_CODE,MEASURE,VALUE,STANDING,MISSING_CLUSTERS');", json_body=False),
    "GET /v1/practices/{ods}/indicators/{indicator_id}/measure-report": Example(
        200, "pm.expect(body.resourceType).to.eql('MeasureReport');\n"
             "pm.expect(body.extension[0].extension[0].url).to.eql('standing');", path={"indicator_id": "DM020"}),
    "GET /v1/practices/{ods}/data-quality": Example(
        200, "pm.expect(body.practice).to.eql(pm.variables.get('practice'));\n"
             "pm.expect(body.record_quality).to.include('registers');\n"
             "body.findings.forEach((f) => pm.expect(f.kind).to.be.oneOf(['never-recorded', 'stand-in']));",
    ),
    "GET /v1/rulesets": Example(200, "pm.expect(body.map((r) => r.id)).to.include('qof-2026-27');"),
    "GET /v1/rulesets/{ruleset_id}": Example(
        200, "pm.expect(body.id).to.eql('qof-2026-27');", path={"ruleset_id": "qof-2026-27"}),
    "GET /v1/icbs/{icb}/benchmarks": Example(
        200, "pm.expect(body.standing).to.be.oneOf(['confirmed', 'provisional', 'incomplete']);",
        query={"indicator": "DM020"}, token="icbToken"),
    "GET /v1/icbs/{icb}/benchmarks/indicators": Example(
        200, "pm.expect(body.indicators.map((i) => i.indicator_id)).to.include('DM020');\n"
             "body.indicators.forEach((i) => i.rows.forEach((r) => pm.expect(r).to.not.have.property('patient_id')));",
        token="icbToken"),
    "GET /v1/codelists/releases": Example(200, "", token="adminToken"),
    "POST /v1/codelists/releases": Example(
        422, problem_with("version"), token="adminToken",
        name="Refused: a release upload with an unusable version (nothing changes)",
        form={"version": "../not-a-version", "source": "example", "date": "2025-11-07", "@file": "EXPORT"}),
    "POST /v1/codelists/releases/{version}/apply": Example(
        404, PROBLEM, path={"version": "19000101"}, token="adminToken",
        name="Refused: applying a release that was never uploaded"),
    "POST /v1/codelists/restore": Example(
        409, PROBLEM, token="adminToken", name="Refused: restoring when no release has been applied"),
}

RECALL_CLINICS = {"clinics": [{"name": "diabetes review", "registers": ["DM_REG"],
                               "capacity": {str(m): 20 for m in range(1, 13)}}]}
TEMPLATES = {"sms": "3f1b2c4d-0001-4a00-8000-000000000001", "email": "3f1b2c4d-0002-4a00-8000-000000000002",
             "letter": "3f1b2c4d-0003-4a00-8000-000000000003"}
CAMPAIGN = "pm.collectionVariables.get('campaignId')"

RECALL: dict[str, Example | list[Example]] = {
    **HEALTH,
    "PUT /v1/practices/{ods}/recall/clinics": Example(200, "", body=RECALL_CLINICS),
    "POST /v1/practices/{ods}/recall/plan": Example(200, "", body={"strategy": "birthday", "mop_up": True}),
    "POST /v1/practices/{ods}/recall/campaigns": Example(
        201, "pm.expect(body.name).to.eql('Diabetes reviews');",
        body={"name": "Diabetes reviews", "strategy": "birthday", "templates": TEMPLATES,
              "invite_codes": {"DM_REG": DM_INVITE}, "second_after_days": 14},
        save={"campaignId": "body.id"}),
    "GET /v1/practices/{ods}/recall/campaigns": Example(
        200, f"pm.expect(body.map((c) => c.id)).to.include({CAMPAIGN});"),
    "GET /v1/practices/{ods}/recall/campaigns/{campaign_id}": Example(
        200, f"pm.expect(body.id).to.eql({CAMPAIGN});", path={"campaign_id": "{{campaignId}}"}),
    "GET /v1/practices/{ods}/recall/campaigns/{campaign_id}/preview": Example(
        200, "", path={"campaign_id": "{{campaignId}}"}, query={"stage": "1"}),
    "POST /v1/practices/{ods}/recall/campaigns/{campaign_id}/runs": Example(
        200, "", path={"campaign_id": "{{campaignId}}"}, query={"stage": "1", "wait": "true"}),
    "POST /v1/practices/{ods}/recall/campaigns/{campaign_id}/record-codes": Example(
        200, "", path={"campaign_id": "{{campaignId}}"}),
    "PUT /v1/practices/{ods}/recall/patients/{patient_id}": Example(
        200, "", path={"patient_id": "{{patientId}}"}, body={"recall_month": 9, "opted_out": False},
        retry_on=404),  # recall learns of the patient from patient.registered
    "GET /v1/practices/{ods}/recall/lookup": Example(200, "", query={"nhs_number": NHS_A}),
    "GET /v1/practices/{ods}/recall/lists/{name}": Example(200, "", path={"name": "invited-once"}),
    "GET /v1/practices/{ods}/recall/responses": Example(200, ""),
    "POST /v1/notify/receipts": [
        Example(200, "", token="notifyCallbackToken",
                body={"id": "00000000-0000-4000-8000-000000000000", "status": "delivered",
                      "notification_type": "sms"}),
        Example(401, PROBLEM, name="Refused: a receipt without Notify's callback token",
                body={"id": "00000000-0000-4000-8000-000000000000", "status": "delivered"}),
    ],
}

WORK_ITEM = {"received_on": "2026-11-20", "provider_ods": "RTD",
             "provider_name": "The Newcastle upon Tyne Hospitals NHS Foundation Trust", "specialty": "cardiology",
             "category": "results_to_chase", "staff_role": "salaried_gp", "minutes": 15,
             "description": "Echo result requested by the clinic, not sent to the patient", "nhs_number": NHS_A}
WORK_CSV = ("received_on,provider_ods,provider_name,category,staff_role,minutes\n"
            "2026-11-21,RTD,The Newcastle upon Tyne Hospitals NHS Foundation Trust,fit_note_not_issued,salaried_gp,10\n"
            "2026-11-22,RTD,The Newcastle upon Tyne Hospitals NHS Foundation Trust,results_to_chase,gp_partner,12\n")
ITEM = "pm.collectionVariables.get('workItemId')"

WORKLOAD: dict[str, Example | list[Example]] = {
    **HEALTH,
    "POST /v1/practices/{ods}/workload/items": [
        Example(201, "pm.expect(body.provider_ods).to.eql('RTD');", body=WORK_ITEM, save={"workItemId": "body.id"}),
        Example(422, problem_with("category"), body={**WORK_ITEM, "category": "not-a-category"},
                name="Refused: an unknown category"),
    ],
    "GET /v1/practices/{ods}/workload/items": Example(
        200, f"pm.expect(body.items.map((i) => i.id)).to.include({ITEM});", query={"provider_ods": "RTD"}),
    "POST /v1/practices/{ods}/workload/quick": Example(
        201, "pm.expect(body.category).to.eql('phlebotomy_monitoring');",
        body={"provider_ods": "RTD", "category": "phlebotomy_monitoring", "staff_role": "practice_nurse",
              "minutes": 10}),
    "POST /v1/practices/{ods}/workload/imports": Example(
        201, "pm.expect(body.imported).to.eql(2);", raw=("text/csv", WORK_CSV)),
    "GET /v1/practices/{ods}/workload/items/{item_id}": Example(
        200, f"pm.expect(body.id).to.eql({ITEM});", path={"item_id": "{{workItemId}}"}),
    "POST /v1/practices/{ods}/workload/items/{item_id}/status": Example(
        200, "pm.expect(body.status).to.eql('raised_with_provider');", path={"item_id": "{{workItemId}}"},
        body={"status": "raised_with_provider", "note": "raised with the trust's GP liaison"}),
    "GET /v1/practices/{ods}/workload/reports/summary": Example(200, "", query={"by": "provider,month"}),
    "GET /v1/practices/{ods}/workload/reports/summary.csv": Example(
        200, content_type("text/csv"), query={"by": "provider"}, json_body=False),
    "GET /v1/practices/{ods}/workload/letters/{provider_ods}": [
        Example(200, content_type("text/html"), path={"provider_ods": "RTD"}, json_body=False),
        Example(200, content_type("application/pdf"), path={"provider_ods": "RTD"}, query={"format": "pdf"},
                json_body=False, name="The letter to a provider as PDF"),
    ],
    "POST /v1/practices/{ods}/workload/letters/{provider_ods}/raised": Example(200, "", path={"provider_ods": "RTD"}),
    "GET /v1/practices/{ods}/workload/escalation": Example(200, content_type("text/html"), json_body=False),
    "GET /v1/workload/reference/categories": Example(200, ""),
    "GET /v1/workload/reference/clauses": Example(200, ""),
    "GET /v1/workload/reference/rates": Example(200, ""),
    "GET /v1/icbs/{icb}/workload/aggregate": Example(200, "", token="icbToken"),
}

EXAMPLES: dict[str, dict[str, Example | list[Example]]] = {
    "registers": REGISTERS,
    "indicators": INDICATORS,
    "recall": RECALL,
    "workload": WORKLOAD,
    "web": dict(HEALTH),  # its pages are HTML behind a session cookie, outside the OpenAPI
}


def examples_for(service: str, route: str) -> list[Example]:
    found = EXAMPLES.get(service, {}).get(route)
    if found is None:
        return []
    return found if isinstance(found, list) else [found]


def raw_text(marker: str) -> str:
    return {"BUNDLE": _sample(BUNDLE), "EXPORT": _sample(EXPORT)}.get(marker, marker)


def sample_path(marker: str) -> str:
    """A shipped sample as a path relative to the project root (newman runs from there)."""
    return {"BUNDLE": BUNDLE, "EXPORT": EXPORT}[marker].relative_to(ROOT).as_posix()

"""FHIR R4 (UK Core) bundles: Patients and coded clinical resources, answered with a FHIR response Bundle."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError

from services.registers.api.deps import KnowledgeDep, RecordsWriter, Today
from services.registers.domain.fhir_mapping import (
    BundleError,
    Mapped,
    ParsedBundle,
    map_bundle,
    parse_bundle,
    refusal_outcome,
)
from services.registers.domain.fhir_xml import FhirXmlError, bundle_from_xml
from services.registers.store.imports import TransactionRefused, apply_bundle
from services.registers.store.models import audit_log
from services.registers.store.records import conflict
from shared.audit import audit
from shared.problems import Problem
from shared.service import RuntimeDep

router = APIRouter(prefix="/v1/practices/{ods}", tags=["fhir"])
FHIR_JSON = "application/fhir+json"
FHIR_XML = "application/fhir+xml"
ACCEPTED_MEDIA = (FHIR_JSON, "application/json", FHIR_XML)
MAX_BYTES = 50 * 1024 * 1024
_EXAMPLE = {"resourceType": "Bundle", "type": "transaction", "entry": [{
    "fullUrl": "urn:uuid:4f6b2c1e-0d7a-4c55-9d0e-3a1f7e1c2b10",
    "resource": {"resourceType": "Patient", "identifier": [
        {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9990000018"}],
        "gender": "female", "birthDate": "1960-05-17"},
    "request": {"method": "PUT", "url": "Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|9990000018"}}]}


def _parse(body: bytes, media: str) -> tuple[ParsedBundle, list[Mapped]]:
    raw: object
    if media == FHIR_XML:
        try:
            raw = bundle_from_xml(body)
        except FhirXmlError as exc:
            raise Problem(400, "Bad request", str(exc), kind="unparseable") from None
    else:
        try:
            raw = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise Problem(400, "Bad request", "The body is not JSON", kind="unparseable") from None
    try:
        bundle = parse_bundle(raw)
    except BundleError as exc:
        raise Problem(400, "Bad request", str(exc), kind="invalid-bundle") from None
    return bundle, map_bundle(bundle)


DESCRIPTION = (
    "Patient, Condition, Observation (blood pressure as components, lab values as valueQuantity), "
    "Immunization, MedicationStatement, MedicationRequest and Procedure, coded in SNOMED CT (dm+d for"
    " medicines). A `transaction` is all or nothing: any refused entry refuses the bundle (422, an "
    "OperationOutcome listing every problem). In a `batch` or `collection` each entry stands alone. "
    "The answer is a `batch-response` / `transaction-response` Bundle with one response per entry, in"
    " order, as FHIR JSON. The Bundle may be sent as FHIR JSON or FHIR XML (`application/fhir+xml`)."
)


@router.post(
    "/fhir", summary="Submit a FHIR R4 (UK Core) Bundle: batch, transaction or collection",
    description=DESCRIPTION,
    responses={200: {"content": {FHIR_JSON: {}}, "description": "A response Bundle"},
               400: {"description": "Not JSON or not a usable Bundle (problem+json)"},
               415: {"description": "Not application/fhir+json, application/json or application/fhir+xml"},
               422: {"content": {FHIR_JSON: {}}, "description": "Transaction refused: an OperationOutcome"}},
    openapi_extra={"requestBody": {"required": True, "content": {
        FHIR_JSON: {"schema": {"type": "object"}, "example": _EXAMPLE},
        "application/json": {"schema": {"type": "object"}},
        FHIR_XML: {"schema": {"type": "string"}}}}})
async def post_bundle(ods: str, request: Request, rt: RuntimeDep, principal: RecordsWriter, today: Today,
                      kb: KnowledgeDep, register: Annotated[bool, Query(
                          description="Register Patients whose NHS number the practice does not hold (as of "
                          "today); without it such a Patient is refused")] = False) -> JSONResponse:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in ACCEPTED_MEDIA:
        raise Problem(415, "Unsupported media type", f"Send the Bundle as {' or '.join(ACCEPTED_MEDIA)}",
                      kind="unsupported-media-type")
    body = await request.body()
    if len(body) > MAX_BYTES:
        raise Problem(413, "Content too large", f"A Bundle may be at most {MAX_BYTES // (1024 * 1024)} MiB; "
                      "split it", kind="too-large")
    bundle, mapped = await asyncio.to_thread(_parse, body, media)
    try:
        async with rt.sessions() as s, s.begin():
            reply = await apply_bundle(s, ods.upper(), bundle, mapped, knowledge=kb, today=today,
                                       register=register)
            await audit(s, audit_log, principal, "records.write", f"{reply.entries_written} entries",
                        practice=ods, detail=f"fhir {bundle.type}; {reply.patients_written} patients")
            for patient_id, elements in reply.changed.items():
                await audit(s, audit_log, principal, "patient.update", patient_id, practice=ods,
                            detail="fhir: " + ", ".join(elements))
    except TransactionRefused as exc:
        return JSONResponse(refusal_outcome(exc.refused), status_code=422, media_type=FHIR_JSON)
    except IntegrityError:
        raise conflict() from None
    rt.events_written()
    return JSONResponse(reply.body, media_type=FHIR_JSON)

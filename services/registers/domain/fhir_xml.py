"""FHIR XML (``application/fhir+xml``, the form UK Core publishes its examples in) read into FHIR JSON.

The Bundle is parsed with ``fhir.resources``' XML support (lxml) and dumped as the JSON the rest of the
mapping reads. Document type declarations are refused before parsing: FHIR XML has none, and entities are
the door to XML external-entity attacks.
"""

from __future__ import annotations

import json
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError


class FhirXmlError(ValueError):
    pass


def bundle_from_xml(body: bytes) -> dict[str, Any]:
    head = body[:4096].lower()
    if b"<!doctype" in head or b"<!entity" in body.lower():
        raise FhirXmlError("FHIR XML carries no document type declaration or entities")
    try:
        bundle = Bundle.model_validate_xml(body)
    except ValidationError as exc:
        where = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:10])
        raise FhirXmlError(f"the XML is not a valid FHIR R4 Bundle: {where}") from None
    except Exception as exc:  # lxml's syntax errors and fhir_core's element errors
        raise FhirXmlError(f"the body is not FHIR XML: {type(exc).__name__}: {str(exc)[:200]}") from None
    return dict(json.loads(bundle.model_dump_json(exclude_none=True)))

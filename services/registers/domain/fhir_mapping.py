"""FHIR R4 (UK Core) bundles to the registers' own shapes, and the FHIR answers back (pure: no I/O).

Parsing uses the ``fhir.resources`` 8.x **R4B** models. fhir.resources 8 ships only R4B and R5 models; for the
resources this module reads (Bundle, Patient, Condition, Observation, Immunization, MedicationStatement,
MedicationRequest, Procedure, OperationOutcome) R4B is structurally the same as R4: every element that UK Core
R4 senders populate has the same name, type and cardinality. Parsing R4 content with R4B models is therefore
exact for this subset, and it keeps the platform on a maintained release instead of pinning the old 6.x line,
the last to ship R4 models, which no longer receives fixes.

The Bundle envelope and each entry's resource are parsed separately, so that one malformed resource in a
``batch`` is answered on its own entry instead of refusing the whole bundle.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from typing import Any, Literal
from zoneinfo import ZoneInfo

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle, BundleEntry, BundleEntryResponse
from fhir.resources.R4B.operationoutcome import OperationOutcome, OperationOutcomeIssue
from pydantic import ValidationError

from services.registers.domain.validation import patient_date_problems
from services.registers.schemas import ContactIn, EntryIn, EntryKind, PatientIn, PatientOut
from shared.identifiers import nhs_number_problem, normalise_nhs_number

NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
SNOMED = "http://snomed.info/sct"
DMD = "https://dmd.nhs.uk"
LOINC = "http://loinc.org"
VACCINATION_PROCEDURE = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-VaccinationProcedure"
# LOINC blood-pressure components -> the SNOMED CT concepts of SYSBP_COD / DIABP_COD.
LOINC_TO_SNOMED = {"8480-6": "271649006", "8462-4": "271650006"}
BUNDLE_TYPES = {"batch": "batch-response", "transaction": "transaction-response",
                "collection": "batch-response"}
CLINICAL: dict[str, EntryKind] = {
    "Condition": "condition", "Observation": "observation", "Immunization": "immunisation",
    "MedicationStatement": "medication", "MedicationRequest": "medication", "Procedure": "procedure",
}
SUPPORTED = {"Patient", *CLINICAL}
# Statuses saying there is nothing to record: the sender withdraws, or the act did not happen.
NOTHING_TO_RECORD = {"entered-in-error", "cancelled", "not-done", "not-taken", "refuted"}
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
UK = ZoneInfo("Europe/London")
MAX_ENTRIES = 10_000
WRITE_METHODS = {"POST", "PUT"}

IssueCode = Literal["invalid", "not-supported", "required", "structure", "value", "informational",
                    "not-found"]
STATUS_TEXT = {200: "200 OK", 201: "201 Created", 400: "400 Bad Request", 404: "404 Not Found",
               422: "422 Unprocessable Entity"}


class BundleError(ValueError):
    """The body is not a usable Bundle at all (answered 400 as a whole)."""


@dataclass(frozen=True)
class Issue:
    code: IssueCode
    expression: str
    diagnostics: str
    severity: Literal["error", "warning", "information"] = "error"


@dataclass(frozen=True)
class FhirPatient:
    """What a Patient resource says; merged with what the practice already holds by ``patient_in``."""

    nhs_number: str
    given_name: str | None
    family_name: str | None
    date_of_birth: date
    sex: str
    died_on: date | None
    email: str | None
    mobile: str | None
    address: str | None
    postcode: str | None


@dataclass(frozen=True)
class MappedEntry:
    entry: EntryIn
    paths: dict[str, str]  # EntryIn field -> FHIRPath of the element it came from


@dataclass
class Mapped:
    """One Bundle entry, mapped: a patient, coded entries, or the reasons it is refused."""

    index: int
    resource_type: str
    patient: FhirPatient | None = None
    entries: list[MappedEntry] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    refused_status: int = 422

    @property
    def refused(self) -> bool:
        return bool(self.issues)

    def refuse(self, code: IssueCode, expression: str, diagnostics: str, status: int = 422) -> Mapped:
        self.issues.append(Issue(code, expression, diagnostics))
        # A structural problem (400) outranks a business-rule one (422).
        self.refused_status = status if len(self.issues) == 1 else min(self.refused_status, status)
        return self


@dataclass(frozen=True)
class ParsedEntry:
    index: int
    full_url: str | None
    resource_type: str | None
    resource: Any | None
    problem: Mapped | None


@dataclass(frozen=True)
class ParsedBundle:
    type: str
    entries: list[ParsedEntry]

    @property
    def response_type(self) -> str:
        return BUNDLE_TYPES[self.type]


def parse_bundle(raw: object) -> ParsedBundle:
    """Parse the envelope strictly and each resource on its own; raise ``BundleError`` for a non-Bundle."""
    if not isinstance(raw, dict) or raw.get("resourceType") != "Bundle":
        raise BundleError("the body is not a FHIR Bundle (resourceType must be \"Bundle\")")
    if raw.get("type") not in BUNDLE_TYPES:
        raise BundleError(f"Bundle.type must be one of {', '.join(sorted(BUNDLE_TYPES))}")
    entries = raw.get("entry") or []
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise BundleError("Bundle.entry must be a list of entries")
    if len(entries) > MAX_ENTRIES:
        raise BundleError(f"the Bundle has {len(entries)} entries; at most {MAX_ENTRIES} are accepted "
                          "at once")
    shell = {**raw, "entry": [{k: v for k, v in e.items() if k != "resource"} for e in entries] or None}
    try:
        Bundle.model_validate({k: v for k, v in shell.items() if v is not None})
    except ValidationError as exc:
        raise BundleError("the Bundle envelope is invalid: " + _errors_text(exc, "Bundle")) from None
    first: dict[str, int] = {}
    for i, e in enumerate(entries):
        url = e.get("fullUrl")
        if isinstance(url, str) and url in first:
            raise BundleError(f"Bundle.entry[{first[url]}].fullUrl and Bundle.entry[{i}].fullUrl are both "
                              f"'{url}': each entry needs its own fullUrl, or references cannot tell them apart")
        if isinstance(url, str):
            first[url] = i
    return ParsedBundle(str(raw["type"]), [_parse_entry(i, e) for i, e in enumerate(entries)])


def _parse_entry(index: int, entry: dict[str, Any]) -> ParsedEntry:
    full_url = entry.get("fullUrl")
    resource = entry.get("resource")
    method = str((entry.get("request") or {}).get("method") or "POST").upper()
    if method not in WRITE_METHODS:
        where = f"Bundle.entry[{index}].request.method"
        return ParsedEntry(index, full_url, None, None, Mapped(index, "Bundle").refuse(
            "not-supported", where, f"{where}: {method} is not supported here; send resources with POST or "
            "PUT (to withdraw an entry, retract it: POST /records/retract)"))
    if not isinstance(resource, dict):
        return ParsedEntry(index, full_url, None, None, Mapped(index, "Bundle").refuse(
            "required", f"Bundle.entry[{index}].resource", "the entry has no resource", 400))
    rtype = str(resource.get("resourceType") or "")
    if rtype not in SUPPORTED:
        return ParsedEntry(index, full_url, rtype, None, _not_for_qof(index, rtype))
    try:
        parsed = get_fhir_model_class(rtype).model_validate(resource)
    except ValidationError as exc:
        mapped = Mapped(index, rtype)
        for err in exc.errors()[:20]:
            path = ".".join([rtype, *(str(p) for p in err["loc"] if not isinstance(p, int))])
            mapped.refuse("required" if err["type"] == "missing" else "structure", path,
                          f"{path}: {err['msg']}", 400)
        return ParsedEntry(index, full_url, rtype, None, mapped)
    return ParsedEntry(index, full_url, rtype, parsed, None)


def _not_for_qof(index: int, rtype: str) -> Mapped:
    """A resource QOF does not use (Encounter, Practitioner, Claim...) is answered, not refused; a name
    that is no FHIR R4 resource type at all is refused."""
    try:
        get_fhir_model_class(rtype)
    except (KeyError, ValueError, AttributeError, ImportError):
        return Mapped(index, rtype or "Resource").refuse(
            "not-supported", rtype or "Resource", f"'{rtype or '(none)'}' is not a FHIR R4 resource type")
    out = Mapped(index, rtype)
    out.warnings.append(Issue("informational", rtype, f"{rtype} is not used for QOF and was not stored; "
                              f"stored: {', '.join(sorted(SUPPORTED))}", "information"))
    return out


def _errors_text(exc: ValidationError, root: str) -> str:
    return "; ".join(f"{'.'.join([root, *map(str, e['loc'])])}: {e['msg']}" for e in exc.errors()[:10])


# --- references and codes -------------------------------------------------------------------------------

def nhs_number_of(identifiers: Iterable[Any] | None) -> str | None:
    for ident in identifiers or ():
        if ident.system == NHS_NUMBER_SYSTEM and ident.value:
            return normalise_nhs_number(str(ident.value))
    return None


@dataclass(frozen=True)
class PatientIndex:
    """NHS numbers of the bundle's Patients, by fullUrl and by ``Patient/<id>``."""

    by_ref: dict[str, str]

    @classmethod
    def of(cls, entries: Iterable[ParsedEntry]) -> PatientIndex:
        refs: dict[str, str] = {}
        for e in entries:
            if e.resource_type != "Patient" or e.resource is None:
                continue
            nhs = nhs_number_of(e.resource.identifier)
            if nhs is None:
                continue
            if e.full_url:
                refs[e.full_url] = nhs
                if "/Patient/" in e.full_url:
                    refs["Patient/" + e.full_url.rsplit("/Patient/", 1)[1]] = nhs
            if e.resource.id:
                refs[f"Patient/{e.resource.id}"] = nhs
        return cls(refs)

    def resolve(self, ref: Any | None, container: Any | None = None) -> str | None:
        """The NHS number a reference points to: a Patient of the bundle (by fullUrl, ``urn:uuid:`` included,
        or ``Patient/<id>``), a Patient ``contained`` in the referring resource (``#id``), or the reference's
        own NHS number identifier."""
        if ref is None:
            return None
        if ref.reference and ref.reference.startswith("#") and container is not None:
            for inner in getattr(container, "contained", None) or []:
                if inner.get_resource_type() == "Patient" and inner.id == ref.reference[1:]:
                    return nhs_number_of(inner.identifier)
        if ref.reference and ref.reference in self.by_ref:
            return self.by_ref[ref.reference]
        if ref.identifier is not None and ref.identifier.system == NHS_NUMBER_SYSTEM and ref.identifier.value:
            return normalise_nhs_number(str(ref.identifier.value))
        return None


def coding_code(concept: Any | None, systems: tuple[str, ...]) -> str | None:
    """The code of the preferred coding in ``systems`` (a user-selected one first, then in system order)."""
    codings = [c for c in (concept.coding or []) if c.system in systems and c.code] if concept else []
    codings.sort(key=lambda c: (not c.userSelected, systems.index(c.system)))
    return str(codings[0].code) if codings else None


def staff_of(ref: Any | None) -> str | None:
    """A staff identifier for ``recorded_by``: the reference's identifier, then its id, then its display."""
    if ref is None:
        return None
    if ref.identifier is not None and ref.identifier.value:
        value = str(ref.identifier.value)
    elif ref.reference and not ref.reference.startswith("#"):
        value = ref.reference.rstrip("/").rsplit("/", 1)[-1]
    else:
        value = ref.display or ""
    return value[:100] or None


def to_date(value: object) -> date | str:
    """A FHIR date/dateTime as a UK calendar date, or the reason it cannot be one."""
    if isinstance(value, datetime):
        return value.astimezone(UK).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    return f"'{value}' is a partial date: a full date (YYYY-MM-DD) is needed"


def _first(resource: Any, paths: Iterable[str]) -> tuple[str, object] | None:
    for path in paths:
        value: object = resource
        for part in path.split("."):
            value = getattr(value, part, None)
            if isinstance(value, list):
                value = value[0] if value else None
        if value is not None:
            return path, value
    return None


# --- resources ------------------------------------------------------------------------------------------

DATE_PATHS = {
    "Observation": ("effectiveDateTime", "effectivePeriod.start", "effectiveInstant", "issued"),
    "Condition": ("onsetDateTime", "onsetPeriod.start", "recordedDate"),
    "Immunization": ("occurrenceDateTime", "recorded"),
    "MedicationStatement": ("effectiveDateTime", "effectivePeriod.start", "dateAsserted"),
    "MedicationRequest": ("authoredOn",),
    "Procedure": ("performedDateTime", "performedPeriod.start"),
}
SUBJECT_PATH = {"Immunization": "patient"}
STAFF_PATHS = {
    "Observation": ("performer",),
    "Condition": ("recorder", "asserter"),
    "Immunization": ("performer.actor",),
    "MedicationStatement": ("informationSource",),
    "MedicationRequest": ("recorder", "requester"),
    "Procedure": ("recorder", "performer.actor"),
}


def map_patient(index: int, res: Any) -> Mapped:
    out = Mapped(index, "Patient")
    nhs = nhs_number_of(res.identifier)
    if nhs is None:
        return out.refuse("required", "Patient.identifier",
                          f"Patient.identifier: an identifier with system {NHS_NUMBER_SYSTEM} is required")
    problem = nhs_number_problem(nhs)
    if problem:
        out.refuse("invalid", "Patient.identifier",
                   f"Patient.identifier: the NHS number is invalid: {problem}")
    born = to_date(res.birthDate) if res.birthDate is not None else "Patient.birthDate is required"
    if isinstance(born, str):
        out.refuse("required" if res.birthDate is None else "invalid", "Patient.birthDate",
                   f"Patient.birthDate: {born}")
    died: date | str | None = to_date(res.deceasedDateTime) if res.deceasedDateTime is not None else None
    if isinstance(died, str):
        out.refuse("invalid", "Patient.deceasedDateTime", f"Patient.deceasedDateTime: {died}")
    if out.refused or isinstance(born, str) or isinstance(died, str):
        return out
    name = next((n for n in res.name or [] if n.use in (None, "official", "usual")), None)
    telecom = res.telecom or []
    email = next((t.value for t in telecom if t.system == "email" and t.value), None)
    mobile = next((t.value for t in telecom
                   if t.system in ("phone", "sms") and t.use == "mobile" and t.value), None)
    home = next((a for a in res.address or [] if a.use in (None, "home")), None)
    out.patient = FhirPatient(
        nhs_number=nhs, given_name=(" ".join(name.given or []) or None) if name else None,
        family_name=name.family if name else None, date_of_birth=born, sex=res.gender or "unknown",
        died_on=died, email=email, mobile=mobile,
        address=(", ".join(home.line or []) or None) if home else None,
        postcode=home.postalCode if home else None)
    return out


def patient_in(p: FhirPatient, stored: PatientOut | None, today: date) -> PatientIn | list[Issue]:
    """The upsert for ``p``: what FHIR says, and what only the practice holds (registration, preferences).

    A patient new to the platform is taken as registered today: UK Core's Patient carries no registration
    date.
    """
    base = stored.contact if stored else ContactIn.model_validate({})
    contact = base.model_copy(update={k: v for k, v in (("email", p.email), ("mobile", p.mobile),
                                                         ("address", p.address), ("postcode", p.postcode))
                                      if v is not None})
    fields = {"nhs_number": p.nhs_number, "given_name": p.given_name, "family_name": p.family_name,
              "date_of_birth": p.date_of_birth, "sex": p.sex, "died_on": p.died_on,
              "registered_on": stored.registered_on if stored else today,
              "deregistered_on": stored.deregistered_on if stored else None,
              "contact": contact.model_dump()}
    where = {"nhs_number": "Patient.identifier", "date_of_birth": "Patient.birthDate",
             "sex": "Patient.gender", "given_name": "Patient.name", "family_name": "Patient.name",
             "died_on": "Patient.deceasedDateTime"}
    try:
        patient = PatientIn.model_validate(fields)
    except ValidationError as exc:
        issues = []
        for err in exc.errors():
            key = str(err["loc"][0])
            path = where.get(key, "Patient.telecom" if key == "contact" else "Patient")
            issues.append(Issue("invalid", path, f"{path}: {err['msg']}"))
        return issues
    dates = [Issue("invalid", where.get(k, "Patient"), f"{where.get(k, 'Patient')}: {reason}")
             for k, reason in patient_date_problems(patient, today) if k != "registered_on" or stored]
    return dates or patient


def _code_of(rtype: str, res: Any) -> tuple[str, str | None]:
    """(FHIRPath, code) of the resource's SNOMED CT (or dm+d) concept."""
    if rtype in ("MedicationStatement", "MedicationRequest"):
        return "medicationCodeableConcept", coding_code(res.medicationCodeableConcept, (DMD, SNOMED))
    if rtype == "Immunization":
        for ext in res.extension or []:
            if ext.url == VACCINATION_PROCEDURE:
                code = coding_code(ext.valueCodeableConcept, (SNOMED,))
                if code:
                    return f"extension.where(url='{VACCINATION_PROCEDURE}').valueCodeableConcept", code
        return "vaccineCode", coding_code(res.vaccineCode, (SNOMED, DMD))
    code = coding_code(res.code, (SNOMED,))
    if code is None and rtype == "Observation":
        code = LOINC_TO_SNOMED.get(coding_code(res.code, (LOINC,)) or "")
    return "code", code


def _status_refusal(rtype: str, res: Any) -> str | None:
    status = getattr(res, "status", None)
    if rtype == "Condition":
        status = coding_code(res.verificationStatus, (CONDITION_VERIFICATION,))
    return status if status in NOTHING_TO_RECORD else None


def _quantity(q: Any | None) -> tuple[float | None, str | None]:
    if q is None or q.value is None:
        return None, None
    value = float(q.value) if isinstance(q.value, Decimal | int | float) else None
    unit = q.unit or q.code
    return value, (str(unit)[:40] if unit else None)


def map_clinical(index: int, entry: ParsedEntry, patients: PatientIndex) -> Mapped:
    rtype = str(entry.resource_type)
    res: Any = entry.resource
    out = Mapped(index, rtype)
    if res.id:
        base_id = f"{rtype}/{res.id}"
    elif entry.full_url:
        base_id = f"{rtype}/{entry.full_url}"
    else:
        return out.refuse("required", f"{rtype}.id", f"{rtype}.id: a resource id or an entry fullUrl is "
                          "needed so that sending the resource again is recognised")
    if len(base_id) > 180:
        out.refuse("invalid", f"{rtype}.id", f"{rtype}.id: the id is longer than the 180 characters accepted")
    status = _status_refusal(rtype, res)
    if status:
        return out.refuse("not-supported", f"{rtype}.status", f"{rtype}.status: '{status}' means there is "
                          "nothing to record; to withdraw an entry sent before, retract it "
                          "(POST /records/retract)")
    subject_path = f"{rtype}.{SUBJECT_PATH.get(rtype, 'subject')}"
    subject = getattr(res, SUBJECT_PATH.get(rtype, "subject"))
    nhs = patients.resolve(subject, res)
    if subject is None:
        out.refuse("required", subject_path, f"{subject_path}: the patient is required")
    elif nhs is None:
        out.refuse("invalid", subject_path, f"{subject_path}: the reference resolves to no Patient in the "
                   f"bundle and carries no identifier with system {NHS_NUMBER_SYSTEM}")
    dated = _first(res, DATE_PATHS[rtype])
    on = to_date(dated[1]) if dated else None
    date_path = f"{rtype}.{dated[0] if dated else DATE_PATHS[rtype][0]}"
    if on is None:
        out.refuse("required", date_path, f"{date_path}: an effective date is required (one of "
                   f"{', '.join(DATE_PATHS[rtype])})")
    elif isinstance(on, str):
        out.refuse("invalid", date_path, f"{date_path}: {on}")
    if rtype.startswith("Medication") and res.medicationCodeableConcept is None and res.medicationReference:
        return out.refuse("not-supported", f"{rtype}.medicationReference", f"{rtype}.medicationReference: "
                          "send the medicine as medicationCodeableConcept with a dm+d code")
    staff = _first(res, STAFF_PATHS[rtype])
    recorded_by = staff_of(staff[1]) if staff else None
    code_path, code = _code_of(rtype, res)
    components = list(res.component or []) if rtype == "Observation" else []
    paths = {"nhs_number": subject_path, "effective_date": date_path, "entry_id": f"{rtype}.id"}
    candidates: list[tuple[str, str, dict[str, str], float | None, str | None]] = []
    for i, comp in enumerate(components):
        comp_code = coding_code(comp.code, (SNOMED,)) or LOINC_TO_SNOMED.get(
            coding_code(comp.code, (LOINC,)) or "")
        where = f"Observation.component[{i}]"
        if comp_code is None:
            out.warnings.append(Issue("not-supported", f"{where}.code", f"{where}.code: no SNOMED CT coding "
                                      "(nor a LOINC blood-pressure code); the component was not stored",
                                      "warning"))
            continue
        value, unit = _quantity(comp.valueQuantity)
        candidates.append((f"{base_id}#{comp_code}", comp_code,
                           {"code": f"{where}.code", "value": f"{where}.valueQuantity"}, value, unit))
    if not candidates:
        if code is None:
            medicine = rtype.startswith("Medication")
            systems = f"dm+d ({DMD}) or SNOMED CT" if medicine else f"SNOMED CT ({SNOMED})"
            out.refuse("invalid" if getattr(res, code_path, None) else "required",
                       f"{rtype}.{code_path}", f"{rtype}.{code_path}: no {systems} coding")
        else:
            value, unit = _quantity(res.valueQuantity) if rtype == "Observation" else (None, None)
            candidates.append((base_id, code, {"code": f"{rtype}.{code_path}",
                                               "value": "Observation.valueQuantity"}, value, unit))
    if out.refused or nhs is None or not isinstance(on, date):
        return out
    for entry_id, concept, located, value, unit in candidates:
        built = EntryIn(entry_id=entry_id, nhs_number=nhs, code=concept, effective_date=on, value=value,
                        unit=unit, kind=CLINICAL[rtype], recorded_by=recorded_by)
        out.entries.append(MappedEntry(built, {**paths, **located}))
    return out


def map_bundle(bundle: ParsedBundle) -> list[Mapped]:
    patients = PatientIndex.of(bundle.entries)
    mapped: list[Mapped] = []
    for e in bundle.entries:
        if e.problem is not None:
            mapped.append(e.problem)
        elif e.resource_type == "Patient":
            mapped.append(map_patient(e.index, e.resource))
        else:
            mapped.append(map_clinical(e.index, e, patients))
    return mapped


# --- answers --------------------------------------------------------------------------------------------

def operation_outcome(issues: Iterable[Issue],
                      prefix: Callable[[str], str] = lambda p: p) -> OperationOutcome:
    return OperationOutcome(issue=[
        OperationOutcomeIssue(severity=i.severity, code=i.code, diagnostics=i.diagnostics,
                              expression=[prefix(i.expression)]) for i in issues])


def response_bundle(response_type: str, answers: list[tuple[int, list[Issue]]]) -> dict[str, Any]:
    """``answers``: per request entry, in order, the HTTP status and its issues (errors or warnings)."""
    entries = [BundleEntry(response=BundleEntryResponse(
        status=STATUS_TEXT[status], outcome=operation_outcome(issues) if issues else None))
        for status, issues in answers]
    return Bundle(type=response_type, entry=entries or None).model_dump(mode="json")


def in_bundle(index: int, path: str) -> str:
    """``Observation.code`` of entry 3 -> ``Bundle.entry[3].resource.code``."""
    rest = path.partition(".")[2]
    return f"Bundle.entry[{index}].resource" + (f".{rest}" if rest else "")


def refusal_outcome(refused: list[Mapped]) -> dict[str, Any]:
    """The OperationOutcome of a refused transaction: every problem, located in the bundle."""
    outcome = operation_outcome([Issue("informational", "Bundle", "the transaction was refused as a whole; "
                                       "nothing was stored", "information")])
    for m in refused:
        outcome.issue.extend(operation_outcome(m.issues, partial(in_bundle, m.index)).issue)
    return outcome.model_dump(mode="json")

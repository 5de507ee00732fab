"""Pure FHIR mapping: codes, dates, references, entry ids."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from services.registers.domain.fhir_mapping import (
    LOINC_TO_SNOMED,
    BundleError,
    map_bundle,
    parse_bundle,
    patient_in,
)
from shared.codelists import default_library

SAMPLES = Path(__file__).parent / "samples"


def test_loinc_blood_pressure_maps_into_our_codelists() -> None:
    lib = default_library()
    assert LOINC_TO_SNOMED["8480-6"] in lib.get("SYSBP_COD").codes
    assert LOINC_TO_SNOMED["8462-4"] in lib.get("DIABP_COD").codes


def test_sample_codes_come_from_our_codelists() -> None:
    lib = default_library()
    bundle = parse_bundle(json.loads((SAMPLES / "uk_core_transaction.json").read_text()))
    codes = {me.entry.code for m in map_bundle(bundle) for me in m.entries}
    assert codes & lib.get("DM_COD").codes == {"44054006"}
    assert codes & lib.get("IFCCHBAM_COD").codes == {"999791000000106"}
    assert codes & lib.get("STATIN_DMD_opensafely").codes == {"20448411000001102"}
    assert codes & lib.get("FLU_COD").codes == {"985151000000100"}


def test_mapping_of_the_transaction_sample() -> None:
    bundle = parse_bundle(json.loads((SAMPLES / "uk_core_transaction.json").read_text()))
    mapped = map_bundle(bundle)
    assert [m.refused for m in mapped] == [False] * 7
    person = mapped[0].patient
    assert person is not None and person.nhs_number == "9990000115" and person.postcode == "LS1 4AP"
    bp = mapped[2].entries
    assert [(e.entry.code, e.entry.value, e.entry.recorded_by) for e in bp] == [
        ("271649006", 138.0, "G8133438"), ("271650006", 84.0, "G8133438")]
    assert bp[1].paths["value"] == "Observation.component[1].valueQuantity"
    # 2025-09-02T10:15+01:00 is the same day in the UK; ids carry the resource type.
    assert bp[0].entry.effective_date == date(2025, 9, 2)
    assert mapped[1].entries[0].entry.entry_id == "Condition/c1e2d3f4-0a1b-4c2d-9e3f-4a5b6c7d8e91"
    assert mapped[4].entries[0].entry.kind == "immunisation"


def test_late_evening_utc_is_the_next_uk_day_in_summer() -> None:
    raw = json.loads((SAMPLES / "uk_core_transaction.json").read_text())
    raw["entry"][3]["resource"]["effectiveDateTime"] = "2025-06-30T23:30:00Z"
    mapped = map_bundle(parse_bundle(raw))
    assert mapped[3].entries[0].entry.effective_date == date(2025, 7, 1)


def test_entry_without_id_uses_the_full_url() -> None:
    raw = json.loads((SAMPLES / "uk_core_transaction.json").read_text())
    del raw["entry"][6]["resource"]["id"]
    mapped = map_bundle(parse_bundle(raw))
    assert mapped[6].entries[0].entry.entry_id == "Procedure/urn:uuid:d4e5f6a7-b8c9-4d0e-8f1a-2b3c4d5e6f61"


def test_new_patient_is_registered_today_and_keeps_stored_registration() -> None:
    raw = json.loads((SAMPLES / "uk_core_transaction.json").read_text())
    person = map_bundle(parse_bundle(raw))[0].patient
    assert person is not None
    made = patient_in(person, None, date(2026, 1, 5))
    assert not isinstance(made, list)
    assert made.registered_on == date(2026, 1, 5) and made.contact.mobile == "07700 900123"


@pytest.mark.parametrize("raw", [[], {"resourceType": "Bundle", "type": "document"},
                                 {"resourceType": "Bundle", "type": "batch", "entry": "x"}])
def test_unusable_bundles(raw: object) -> None:
    with pytest.raises(BundleError):
        parse_bundle(raw)


def test_reads_and_deletes_are_not_supported_entries() -> None:
    raw = {"resourceType": "Bundle", "type": "batch", "entry": [
        {"request": {"method": "GET", "url": "Patient?identifier=x"}},
        {"request": {"method": "DELETE", "url": "Observation/1"}}]}
    mapped = map_bundle(parse_bundle(raw))
    assert [(m.issues[0].code, m.issues[0].expression) for m in mapped] == [
        ("not-supported", "Bundle.entry[0].request.method"), ("not-supported", "Bundle.entry[1].request.method")]

"""The generator's output: deterministic, valid against the registers contract, plausible."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from datetime import date
from pathlib import Path

from services.registers.schemas import EntryIn, PatientIn
from shared.codelists import default_library
from shared.identifiers import nhs_number_problem, snomed_problem
from shared.qof.registers import CodeEvent, RegistersByYear
from shared.synthetic import SyntheticIcs, SyntheticPatient, SyntheticPractice


def _first(practice: SyntheticPractice, n: int) -> list[SyntheticPatient]:
    return list(itertools.islice(practice, n))


def test_same_seed_same_output(as_of: date) -> None:
    a = _first(SyntheticPractice("A81001", 300, seed=11, as_of=as_of), 300)
    b = _first(SyntheticPractice("A81001", 300, seed=11, as_of=as_of), 300)
    assert [r.patient for r in a] == [r.patient for r in b]
    assert [r.entries for r in a] == [r.entries for r in b]


def test_other_seed_other_output(as_of: date) -> None:
    a = list(SyntheticPractice("A81001", 50, seed=1, as_of=as_of).patients())
    b = list(SyntheticPractice("A81001", 50, seed=2, as_of=as_of).patients())
    assert [p["date_of_birth"] for p in a] != [p["date_of_birth"] for p in b]


def test_patients_stream_matches_histories(as_of: date) -> None:
    practice = SyntheticPractice("A81001", 100, seed=5, as_of=as_of)
    assert list(practice.patients()) == [r.patient for r in practice]


def test_nhs_numbers_valid_unique_and_in_test_range(practice_10k: list[SyntheticPatient]) -> None:
    numbers = [r.patient["nhs_number"] for r in practice_10k]
    assert len(set(numbers)) == len(numbers)
    for n in numbers:
        assert n.startswith("999") and nhs_number_problem(n) is None, n


def test_every_record_fits_the_registers_contract(practice_full: list[SyntheticPatient]) -> None:
    for record in practice_full:
        PatientIn.model_validate(record.patient)
        for entry in record.entries:
            EntryIn.model_validate(entry)
            assert entry["nhs_number"] == record.patient["nhs_number"]


def test_every_code_is_valid_snomed_and_in_the_library(practice_full: list[SyntheticPatient]) -> None:
    lib = default_library()
    known = frozenset().union(*(lib.get(c).codes for c in lib.clusters if _loads(c)))
    codes = {e["code"] for r in practice_full for e in r.entries}
    assert len(codes) > 100
    for code in codes:
        assert snomed_problem(code) is None, code
        assert code in known, code


def _loads(cluster: str) -> bool:
    try:
        default_library().get(cluster)
    except ValueError:  # a few stand-in files are in formats the parser does not read
        return False
    return True


def test_no_dates_in_the_future_or_before_birth(practice_full: list[SyntheticPatient], as_of: date) -> None:
    today = as_of.isoformat()
    for record in practice_full:
        p = record.patient
        assert p["date_of_birth"] <= p["registered_on"] <= today
        end = p["deregistered_on"] or today
        for e in record.entries:
            assert p["date_of_birth"] <= e["effective_date"] <= end, (p, e)


def test_entry_ids_unique_and_deterministic(practice_full: list[SyntheticPatient]) -> None:
    ids = [e["entry_id"] for r in practice_full for e in r.entries]
    assert len(ids) == len(set(ids))
    assert ids[0].startswith("syn-A81001-1-")


def test_full_history_volume_and_span(practice_full: list[SyntheticPatient], as_of: date) -> None:
    entries = [e for r in practice_full for e in r.entries]
    per_patient = len(entries) / len(practice_full)
    assert 130 <= per_patient <= 270  # 10,000 patients give 150-250; a small sample varies more
    kinds = Counter(e["kind"] for e in entries)
    assert set(kinds) == {"observation", "condition", "medication", "immunisation", "procedure"}
    oldest = min(e["effective_date"] for e in entries if e["kind"] != "condition")
    assert oldest >= date(as_of.year - 11, 1, 1).isoformat()


def test_recent_history_is_a_subset_of_full(as_of: date) -> None:
    full = SyntheticPractice("A81001", 200, seed=9, history="full", as_of=as_of)
    recent = SyntheticPractice("A81001", 200, seed=9, history="recent", as_of=as_of)
    full_entries = {e["entry_id"]: e for e in full.entries()}
    recent_entries = list(recent.entries())
    assert 0 < len(recent_entries) < len(full_entries) / 3
    for e in recent_entries:
        assert full_entries[e["entry_id"]] == e
        assert e["effective_date"] >= "2025-04-01" or e["kind"] == "condition"


def test_blood_pressure_mostly_controlled_in_hypertension(practice_10k: list[SyntheticPatient]) -> None:
    lib = default_library()
    sys_codes = lib.get("SYSBP_COD").codes
    controlled = total = 0
    for r in practice_10k:
        if "HYP" not in r.conditions:
            continue
        readings = [e for e in r.entries if e["code"] in sys_codes and e["value"] is not None]
        if readings:
            total += 1
            controlled += max(readings, key=lambda e: e["effective_date"])["value"] <= 140
    assert 0.6 <= controlled / total <= 0.8


def test_invitations_at_least_seven_days_apart(practice_10k: list[SyntheticPatient]) -> None:
    lib = default_library()
    invites = lib.get("DMINVITE_COD").codes | lib.get("HYPINVITE_COD").codes
    seen = 0
    for r in practice_10k:
        by_code: dict[str, list[str]] = {}
        for e in r.entries:
            if e["code"] in invites:
                by_code.setdefault(e["code"], []).append(e["effective_date"])
        dates = sorted({d for ds in by_code.values() for d in ds})
        for a, b in itertools.pairwise(dates):
            seen += 1
            assert (date.fromisoformat(b) - date.fromisoformat(a)).days >= 7
    assert seen > 50


def test_deliberate_coding_problems_are_seeded(practice_10k: list[SyntheticPatient]) -> None:
    lib = default_library()
    dm, hba1c = lib.get("DM_COD").codes, lib.get("IFCCHBAM_COD").codes
    problems = Counter(r.problem for r in practice_10k if r.problem)
    assert set(problems) == {"resolved_then_medication", "hba1c_without_diagnosis", "implausible_value"}
    assert 0.004 <= sum(problems.values()) / len(practice_10k) <= 0.02
    for r in practice_10k:
        if r.problem == "hba1c_without_diagnosis":
            assert not any(e["code"] in dm for e in r.entries)
            assert sum(1 for e in r.entries if e["code"] in hba1c and (e["value"] or 0) >= 48) >= 2


def test_contact_details_are_fictional(practice_10k: list[SyntheticPatient]) -> None:
    for r in practice_10k[:2000]:
        c = r.patient["contact"]
        assert c["mobile"] is None or c["mobile"].startswith("07700 900")
        assert c["email"] is None or c["email"].endswith("@example.com")


def test_age_structure_is_england_like(practice_10k: list[SyntheticPatient], as_of: date) -> None:
    ages = [as_of.year - int(r.patient["date_of_birth"][:4]) for r in practice_10k]
    over_65 = sum(a >= 65 for a in ages) / len(ages)
    under_16 = sum(a < 16 for a in ages) / len(ages)
    assert 0.16 <= over_65 <= 0.21
    assert 0.16 <= under_16 <= 0.21


def test_ics_practices_are_real_codes_with_distinct_patients(as_of: date) -> None:
    ics = SyntheticIcs("QHM", practices=4, patients=1200, seed=2, as_of=as_of)
    assert len(ics.practices) == 4 and sum(len(p) for p in ics.practices) == 1200
    pairs = list(ics.patients())
    numbers = [p["nhs_number"] for _, p in pairs]
    assert len(set(numbers)) == 1200
    assert {ods for ods, _ in pairs} == {p.ods for p in ics.practices}


def test_the_bin_up_demo_practice_has_no_one_leaving_before_birth_or_registration() -> None:
    # The registers API refuses a list with a deregistration before birth or registration, so the demo
    # practice `bin/up` loads (A81001, 2,000 patients, seed 1) must not hold one on any day; on
    # 2026-12-03 a baby born in October was drawn to leave in June.
    for day in (date(2026, 12, 3), date(2027, 3, 31)):
        for record in SyntheticPractice("A81001", 2000, seed=1, history="recent", as_of=day):
            p = record.patient
            for end in (p["deregistered_on"], p["died_on"]):
                if end is not None:
                    assert p["date_of_birth"] <= p["registered_on"] <= end <= day.isoformat(), p


def test_the_demo_practice_keeps_its_dates_and_agrees_with_the_shipped_examples() -> None:
    # The README: "the shipped sample [docs/examples/bundle.json] updates demo patient 1". The demo `bin/up`
    # loads (A81001, seed 1, generated as of the day it runs) must hold that patient as the sample has them, on
    # any day: dates of birth and registration are fixed, not drawn back from the day it runs.
    def demo(day: date) -> list[dict[str, object]]:
        return list(SyntheticPractice("A81001", 13, seed=1, history="recent", as_of=day).patients())

    days = (date(2026, 12, 4), date(2027, 2, 10), date(2027, 9, 1))
    first, *later = (demo(d) for d in days)
    for other in later:
        assert [(p["date_of_birth"], p["registered_on"]) for p in other] == \
            [(p["date_of_birth"], p["registered_on"]) for p in first]
    bundle = json.loads((Path(__file__).parents[2] / "docs" / "examples" / "bundle.json").read_text())
    (sample,) = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"]
    one = first[0]
    assert one["nhs_number"] == sample["identifier"][0]["value"]
    assert (one["given_name"], one["family_name"]) == (sample["name"][0]["given"][0], sample["name"][0]["family"])
    assert (one["date_of_birth"], one["sex"]) == (sample["birthDate"], sample["gender"])
    assert one["contact"]["mobile"] == sample["telecom"][0]["value"]  # type: ignore[index]


def test_osteoporosis_patients_have_the_fracture_the_register_needs(
        practice_10k: list[SyntheticPatient], as_of: date) -> None:
    # OST004: a register of patients aged 50 or over "with a record of a fragility fracture on or after 1 April
    # 2012 and a diagnosis of osteoporosis": a diagnosis alone puts no one on it. England 2020-21: 0.278% of the
    # whole list (shared/reference/national_prevalence_england_2020_21_computed.csv).
    registers = RegistersByYear(default_library())
    listed = on = 0
    for r in practice_10k:
        p = r.patient
        if p["deregistered_on"] or p["died_on"]:
            continue
        listed += 1
        events = [CodeEvent(e["code"], date.fromisoformat(e["effective_date"]), e.get("value")) for e in r.entries]
        on += "OSTEO_REG" in registers.evaluate(events, date.fromisoformat(p["date_of_birth"]), as_of)
    assert 0.1 < 100 * on / listed < 0.6, (on, listed)

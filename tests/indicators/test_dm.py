"""DM020 / DM021 / DM036: the v46 chain (QOF_RULES.md §2.2) path by path."""

from __future__ import annotations

from datetime import date

import pytest

from .conftest import (
    DIA,
    DM,
    DMINVITE,
    DMMAX,
    DMPCADEC,
    DMPCAPU,
    FRUCT,
    HBA1C,
    HOME,
    MILDFRAIL,
    MODFRAIL,
    SEVFRAIL,
    SYS,
    ev,
    outcome,
    patient,
)

DX = ev(DM, date(2015, 6, 1))


@pytest.mark.covers("DM020", year="2025-26")
def test_latest_hba1c_at_target_is_numerator_with_evidence(q26):
    o = outcome(q26, patient(DX, ev(HBA1C, date(2025, 10, 1), 55.0)), "DM020")
    assert o.status == "numerator" and o.trace.rule == "2"
    assert o.trace.evidence.code == HBA1C and o.trace.evidence.value == 55.0
    assert o.trace.evidence.date == date(2025, 10, 1) and "Haemoglobin A1c" in o.trace.evidence.term


@pytest.mark.covers("DM020", year="2025-26")
def test_target_boundary_58_inclusive(q26):
    assert outcome(q26, patient(DX, ev(HBA1C, date(2025, 10, 1), 58.0)), "DM020").status == "numerator"
    assert outcome(q26, patient(DX, ev(HBA1C, date(2025, 10, 1), 59.0)), "DM020").status == "denominator_only"


@pytest.mark.covers("DM020", year="2025-26")
def test_later_out_of_range_value_overrides_earlier_in_range(q26):
    p = patient(DX, ev(HBA1C, date(2025, 6, 1), 50.0), ev(HBA1C, date(2026, 1, 10), 70.0))
    o = outcome(q26, p, "DM020")
    assert o.status == "denominator_only"
    assert o.gap.closes.startswith("IFCC-HbA1c ≤ 58")
    assert (
        outcome(
            q26, patient(DX, ev(HBA1C, date(2025, 6, 1), 70.0), ev(HBA1C, date(2026, 1, 10), 50.0)), "DM020"
        ).status
        == "numerator"
    )


@pytest.mark.covers("DM020", year="2025-26")
def test_12_month_window_exclusive_start_inclusive_end(q26):
    # PPED 31/03/2026: the window is 01/04/2025 .. 31/03/2026
    assert outcome(q26, patient(DX, ev(HBA1C, date(2025, 3, 31), 50.0)), "DM020").status == "denominator_only"
    assert outcome(q26, patient(DX, ev(HBA1C, date(2025, 4, 1), 50.0)), "DM020").status == "numerator"
    assert outcome(q26, patient(DX, ev(HBA1C, date(2026, 3, 31), 50.0)), "DM020").status == "numerator"


@pytest.mark.covers("DM020", year="2025-26")
def test_entries_after_achievement_date_are_ignored(q26):
    p = patient(DX, ev(HBA1C, date(2026, 2, 1), 50.0))
    assert outcome(q26, p, "DM020", on=date(2026, 1, 31)).status == "denominator_only"


@pytest.mark.covers("DM020", "DM021", year="2025-26")
def test_moderate_or_severe_frailty_moves_patient_between_dm020_and_dm021(q26):
    frail = patient(DX, ev(MODFRAIL, date(2024, 1, 1)), ev(HBA1C, date(2025, 10, 1), 70.0))
    assert outcome(q26, frail, "DM020").status == "excluded_from_population"
    assert outcome(q26, frail, "DM020").field == "MDSEVFRAIL"
    assert outcome(q26, frail, "DM021").status == "numerator"  # ≤ 75
    recovered = patient(DX, ev(SEVFRAIL, date(2023, 1, 1)), ev(MILDFRAIL, date(2025, 1, 1)))
    assert outcome(q26, recovered, "DM021").status == "excluded_from_population"
    assert outcome(q26, recovered, "DM020").status == "denominator_only"


@pytest.mark.covers("DM020", year="2025-26")
def test_pca_paths_in_rule_order(q26):
    cases = [
        ((ev(FRUCT, date(2025, 9, 1)),), "IFCCHBA"),
        ((ev(DMMAX, date(2025, 9, 1)),), "DMMAX"),
        ((ev(DMPCAPU, date(2025, 9, 1)),), "DMPCAPU"),
        ((ev(DMPCADEC, date(2025, 9, 1)),), "DMPCADEC"),
    ]
    for extra, field in cases:
        o = outcome(q26, patient(DX, *extra), "DM020")
        assert (o.status, o.field) == ("pca", field)


@pytest.mark.covers("DM020", year="2025-26")
def test_success_overrides_a_pca(q26):
    p = patient(DX, ev(DMPCADEC, date(2025, 9, 1)), ev(HBA1C, date(2025, 12, 1), 50.0))
    assert outcome(q26, p, "DM020").status == "numerator"


@pytest.mark.covers("DM020", year="2025-26")
def test_pca_older_than_12_months_does_not_count(q26):
    assert outcome(q26, patient(DX, ev(DMPCADEC, date(2025, 3, 31))), "DM020").status == "denominator_only"


@pytest.mark.covers("DM020", year="2025-26")
def test_invitations_7_days_apart_make_a_pca_6_days_do_not(q26):
    seven = patient(DX, ev(DMINVITE, date(2025, 11, 1)), ev(DMINVITE, date(2025, 11, 8)))
    six = patient(DX, ev(DMINVITE, date(2025, 11, 1)), ev(DMINVITE, date(2025, 11, 7)))
    assert (outcome(q26, seven, "DM020").status, outcome(q26, seven, "DM020").field) == ("pca", "DMIFINVITE")
    gap = outcome(q26, six, "DM020")
    assert gap.status == "denominator_only"
    assert gap.gap.invites_so_far == 1 and gap.gap.one_more_invite_makes_pca


@pytest.mark.covers("DM020", year="2025-26")
def test_invitations_must_follow_latest_out_of_target_result(q26):
    before = patient(
        DX, ev(DMINVITE, date(2025, 5, 1)), ev(DMINVITE, date(2025, 5, 20)), ev(HBA1C, date(2025, 6, 1), 80.0)
    )
    after = patient(
        DX, ev(HBA1C, date(2025, 6, 1), 80.0), ev(DMINVITE, date(2025, 7, 1)), ev(DMINVITE, date(2025, 7, 20))
    )
    assert outcome(q26, before, "DM020").status == "denominator_only"
    assert outcome(q26, before, "DM020").gap.invites_so_far == 0
    assert outcome(q26, after, "DM020").field == "DMIFINVITE"


@pytest.mark.covers("DM020", year="2025-26")
def test_newly_diagnosed_and_newly_registered_9_month_windows(q26):
    new_dx = patient(ev(DM, date(2025, 7, 1)))
    old_dx = patient(ev(DM, date(2025, 6, 30)))
    assert outcome(q26, new_dx, "DM020").field == "DIAG1_DT9M"
    assert outcome(q26, old_dx, "DM020").status == "denominator_only"
    new_reg = patient(DX, registered_on=date(2025, 7, 1))
    assert outcome(q26, new_reg, "DM020").field == "REG1_DAT9"
    assert outcome(q26, patient(DX, registered_on=date(2025, 6, 30)), "DM020").status == "denominator_only"


@pytest.mark.covers("DM033", year="2024-25")
@pytest.mark.covers("DM036", year="2025-26")
def test_dm036_blood_pressure_replaces_dm033(q25, q26):
    p = patient(DX, ev(SYS, date(2025, 11, 1), 138.0), ev(DIA, date(2025, 11, 1), 88.0))
    assert outcome(q26, p, "DM036").status == "numerator"
    assert outcome(q26, p, "DM033") is None
    home = patient(
        DX, ev(SYS, date(2024, 11, 1), 138.0), ev(DIA, date(2024, 11, 1), 84.0), ev(HOME, date(2024, 11, 1))
    )
    assert outcome(q25, home, "DM033", date(2025, 3, 31)).status == "denominator_only"  # home: 138 > 135

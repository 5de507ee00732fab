"""Why-trace of a gap: the evidence of the success rule that failed (latest entry, value and date, or its absence
in the window), in ``PatientOutcome.trace.unmet`` and ``Gap.why``."""

from __future__ import annotations

from datetime import date

import pytest

from .conftest import DIA, DM, DMINVITE, HBA1C, HYP, SYS, T, bp, ev, outcome, patient

DX = ev(DM, date(2015, 6, 1))
ASPIRIN = "10063011000001103"  # ANTIPLAT_COD aspirin 75mg


@pytest.mark.covers("DM020", year="2025-26")
def test_dm020_latest_value_out_of_target(q26):
    o = outcome(q26, patient(DX, ev(HBA1C, date(2025, 9, 2), 71.0)), "DM020")
    assert o.status == "denominator_only" and o.trace.evidence is None  # decided by "otherwise select"
    (f,) = o.trace.unmet
    assert f.rule == "2" and f.text == "latest IFCC-HbA1c 71 mmol/mol on 2025-09-02 (target ≤ 58)"
    assert [(e.code, e.date, e.value) for e in f.evidence] == [(HBA1C, date(2025, 9, 2), 71.0)]
    assert (f.window_from, f.window_to) == (date(2025, 4, 1), date(2026, 3, 31))
    assert o.gap.why.startswith(f.text)


@pytest.mark.covers("DM020", year="2025-26")
def test_dm020_absence_names_the_window_and_the_older_result(q26):
    o = outcome(q26, patient(DX, ev(HBA1C, date(2025, 1, 2), 50.0)), "DM020")
    (f,) = o.trace.unmet
    assert f.text == "no IFCC-HbA1c since 2025-04-01 (latest 50 mmol/mol on 2025-01-02)"
    assert f.evidence[0].date == date(2025, 1, 2)
    bare = outcome(q26, patient(DX), "DM020").trace.unmet[0]
    assert bare.text == "no IFCC-HbA1c since 2025-04-01" and bare.evidence == ()
    # mid-year the window ends on the achievement date
    mid = outcome(q26, patient(DX), "DM020", date(2025, 11, 30)).trace.unmet[0]
    assert mid.window_to == date(2025, 11, 30)


@pytest.mark.covers("HYP008", year="2025-26")
def test_hyp008_latest_bp_both_values_clinic_or_home(q26):
    hyp = (ev(HYP, date(2015, 1, 1)),)
    clinic = outcome(q26, patient(*hyp, *bp(date(2025, 10, 1), 150, 85), registers=("HYP_REG",)), "HYP008")
    (f,) = clinic.trace.unmet
    assert f.text == "latest blood pressure 150/85 mmHg on 2025-10-01 (clinic, target ≤ 140/90)"
    assert [(e.code, e.value) for e in f.evidence] == [(SYS, 150), (DIA, 85)]
    home = outcome(q26, patient(*hyp, *bp(date(2025, 10, 1), 138, 80, home=True), registers=("HYP_REG",)), "HYP008")
    assert home.trace.unmet[0].text == "latest blood pressure 138/80 mmHg on 2025-10-01 (home, target ≤ 135/85)"


@pytest.mark.covers("CHD005", year="2025-26")
def test_chd005_no_antiplatelet_since_the_window_start(full26):
    chd = patient(ev(T("CHD_COD"), date(2015, 1, 1)), ev(ASPIRIN, date(2024, 12, 1)), registers=("CHD_REG",))
    o = outcome(full26, chd, "CHD005")
    assert o.status == "denominator_only"
    (f,) = o.trace.unmet
    assert f.text.startswith("no antiplatelet or oral anticoagulant since 2025-04-01 (latest on 2024-12-01)")
    assert f.evidence[0].code == ASPIRIN


@pytest.mark.covers("DM020", year="2025-26")
def test_invitations_so_far(q26):
    o = outcome(q26, patient(DX, ev(DMINVITE, date(2025, 10, 3))), "DM020")
    assert o.gap.invites_so_far == 1 and o.gap.invited_on == (date(2025, 10, 3),)
    assert o.gap.why == "no IFCC-HbA1c since 2025-04-01; 1 invitation so far (2025-10-03)"


@pytest.mark.covers("DM020", year="2025-26")
def test_only_gaps_carry_findings(q26):
    assert outcome(q26, patient(DX, ev(HBA1C, date(2025, 10, 1), 50.0)), "DM020").trace.unmet == ()

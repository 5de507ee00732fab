"""CVD golden tests: CHD005, CHD015/016, STIA007, STIA014/015, CHOL003/004, AF006/008, HF003/006/007.

Real codes come from the project codelists; clusters whose refset is not public get a one-code test codelist
(``with_test_codelists``), so the chain logic is tested while the real indicator stays incomplete.
PPED 31/03/2026: 12 months = 01/04/2025..31/03/2026, 6 months from 01/10/2025, 9 months from 01/07/2025,
3 months from 01/01/2026.
"""

from __future__ import annotations

from datetime import date

import pytest

from .conftest import DEN, NUM, T, bp, ev, patient, st

CHD = "22298006"  # CHD_COD myocardial infarction
STRK = "1089411000000104"  # STRK_COD cerebral infarction
TIA = "1208871009"  # TIA_COD
HSTRK = "1078001000000105"  # HSTRK_COD haemorrhagic stroke (also in STRK_COD)
PAD = "12236991000119103"  # PAD_COD
AFIB = "120041000119109"  # AFIB_COD
HFLVSD = "134401001"  # HFLVSD_COD left ventricular systolic dysfunction
ASPIRIN = "10063011000001103"  # ANTIPLAT_COD aspirin 75mg
WARFARIN = "10138911000001108"  # ORANTICOAG_COD and VITK_COD warfarin 1mg
DOAC = "13504711000001102"  # DOAC_COD Pradaxa 75mg
STATIN = "10294811000001100"  # STAT_COD simvastatin 80mg
OTHER_LLT = "10138711000001106"  # LLTOTHER_COD, not a statin
XSTAT = "16524331000119104"  # XSTAT_COD rhabdomyolysis due to statin
STATCONTR = "152166006"  # STATCONTR_COD statins contraindicated
LIPADV = "293417004"  # LIPIDTHERADV_COD
LDL = "1010591000000104"  # LDLCCHOL_COD
HTMAX, BPDEC = "407567007", "413123006"
ACEI, ARB = "102611000001100", "117011000001107"  # ACEI_COD / ARB_COD
ACEDEC, AIIDEC = "134397009", "401084003"
XACE, XAII = "18321000122100", "293513003"
BETA = "10241311000001102"  # LBB_COD
STATINDEC = "134396000"  # STATINDEC_COD statin declined (real refset code)

CHDREG = ("CHD_REG",)
STIAREG = ("STIA_REG",)
YOUNG = date(1946, 4, 1)  # 79 on 31/03/2026
OLD = date(1946, 3, 31)  # 80 on 31/03/2026


def _chd(*events, **kw):
    return patient(ev(CHD, date(2015, 1, 1)), *events, **{"registers": CHDREG, **kw})


def test_cvd_indicators_incomplete_or_provisional_without_the_unpublished_clusters(q26):
    """Missing success, exclusion or diagnosis-date clusters: incomplete. Missing only PCA / invitation
    clusters: provisional, a lower bound naming them (tests/indicators/test_partial_scoring.py)."""
    incomplete = {
        "CHOL004": "NONHDLCCHOL_COD", "AF006": "CHADVASC_COD", "AF008": "DOACDEC_COD",
        "HF003": "REDEJCFRAC_COD", "HF006": "XLBB_COD", "HF007": "HFRVW_COD",
    }
    for ind, cluster in incomplete.items():
        assert q26.readiness[ind].readiness == "incomplete" and cluster in q26.incomplete[ind], ind
    provisional = {
        "CHD005": "CHDINVITE_COD", "CHD015": "CHDPCADEC_COD", "STIA007": "STIAPCAPU_COD",
        "STIA014": "STIAINVITE_COD", "CHOL003": "CHOLMAX_COD",
    }
    for ind, cluster in provisional.items():
        assert q26.readiness[ind].readiness == "provisional" and cluster in q26.readiness[ind].missing, ind
    assert st(q26, patient(ev(AFIB, date(2015, 1, 1)), registers=("AFIB_REG",)), "AF006") is None  # never evaluated


# ---------------------------------------------------------------- CHD005 / STIA007


@pytest.mark.covers("CHD005", year="2025-26")
def test_chd005_antiplatelet_or_anticoagulant_in_12_months(full26):
    assert full26.readiness["CHD005"].readiness == "stand-in"
    assert st(full26, _chd(ev(ASPIRIN, date(2025, 4, 1))), "CHD005") == NUM
    assert st(full26, _chd(ev(ASPIRIN, date(2025, 3, 31))), "CHD005") == DEN
    assert st(full26, _chd(ev(WARFARIN, date(2026, 3, 31))), "CHD005") == NUM


@pytest.mark.covers("CHD005", year="2025-26")
def test_chd005_pcas_and_success_overriding_them(full26):
    assert st(full26, _chd(ev(T("SALDEC_COD"), date(2025, 6, 1))), "CHD005") == ("pca", "SALDEC")
    assert st(full26, _chd(ev(T("XSAL_COD"), date(2010, 6, 1))), "CHD005") == ("pca", "XSAL")
    assert st(full26, _chd(ev(T("CHDPCAPU_COD"), date(2025, 6, 1))), "CHD005") == ("pca", "CHDPCAPU")
    assert st(full26, _chd(ev(T("CHDPCADEC_COD"), date(2025, 6, 1))), "CHD005") == ("pca", "CHDPCADEC")
    assert st(full26, _chd(ev(T("CHDPCADEC_COD"), date(2025, 3, 31))), "CHD005") == DEN  # 13 months ago
    both = _chd(ev(T("CHDPCADEC_COD"), date(2025, 6, 1)), ev(ASPIRIN, date(2025, 9, 1)))
    assert st(full26, both, "CHD005") == NUM


@pytest.mark.covers("CHD005", year="2025-26")
def test_chd005_invitations_7_vs_6_days_new_diagnosis_and_registration(full26):
    inv = T("CHDINVITE_COD")
    assert st(full26, _chd(ev(inv, date(2025, 10, 1)), ev(inv, date(2025, 10, 8))), "CHD005") == ("pca", "CHDINVITE")
    assert st(full26, _chd(ev(inv, date(2025, 10, 1)), ev(inv, date(2025, 10, 7))), "CHD005") == DEN
    # invitations before the service year do not count
    assert st(full26, _chd(ev(inv, date(2025, 3, 1)), ev(inv, date(2025, 4, 1))), "CHD005") == DEN
    new = patient(ev(CHD, date(2026, 1, 1)), registers=CHDREG)
    assert st(full26, new, "CHD005") == ("pca", "DIAG1_DAT")
    assert st(full26, patient(ev(CHD, date(2025, 12, 31)), registers=CHDREG), "CHD005") == DEN
    assert st(full26, _chd(registered_on=date(2026, 1, 1)), "CHD005") == ("pca", "REG1_DAT3")
    assert st(full26, _chd(registered_on=date(2025, 12, 31)), "CHD005") == DEN


@pytest.mark.covers("STIA007", year="2025-26")
def test_stia007_non_haemorrhagic_only(full26):
    haem = patient(ev(HSTRK, date(2018, 1, 1)), registers=STIAREG)
    assert st(full26, haem, "STIA007") == ("excluded_from_population", "OSTREXCL")
    haem_and_tia = patient(ev(HSTRK, date(2018, 1, 1)), ev(TIA, date(2020, 1, 1)), registers=STIAREG)
    assert st(full26, haem_and_tia, "STIA007") == DEN
    isch = patient(ev(STRK, date(2018, 1, 1)), ev(ASPIRIN, date(2025, 11, 1)), registers=STIAREG)
    assert st(full26, isch, "STIA007") == NUM
    salde = patient(ev(STRK, date(2018, 1, 1)), ev(T("SALDEC_COD"), date(2025, 5, 1)), registers=STIAREG)
    assert st(full26, salde, "STIA007") == ("pca", "SALDIPDEC")
    new = patient(ev(TIA, date(2026, 2, 1)), registers=STIAREG)
    assert st(full26, new, "STIA007") == ("pca", "DIAG1_DAT")


# ---------------------------------------------------------------- BP: CHD015/016, STIA014/015


@pytest.mark.covers("CHD015", "CHD016", "STIA014", "STIA015", year="2025-26")
@pytest.mark.parametrize(
    ("ind", "other", "dx", "reg", "clinic", "home"),
    [
        ("CHD015", "CHD016", CHD, CHDREG, (140, 90), (135, 85)),
        ("STIA014", "STIA015", STRK, STIAREG, (140, 90), (135, 85)),
    ],
)
def test_bp_under_80(full26, ind, other, dx, reg, clinic, home):
    def p(*events, **kw):
        return patient(ev(dx, date(2015, 1, 1)), *events, **{"registers": reg, "dob": YOUNG, **kw})

    s, d = clinic
    day = date(2025, 12, 1)
    assert st(full26, p(*bp(day, s, d)), ind) == NUM
    assert st(full26, p(*bp(day, s + 1, d)), ind) == DEN
    assert st(full26, p(*bp(day, s, d + 1)), ind) == DEN
    hs, hd = home
    assert st(full26, p(*bp(day, hs, hd, home=True)), ind) == NUM
    assert st(full26, p(*bp(day, hs + 1, hd, home=True)), ind) == DEN
    assert st(full26, p(*bp(day, hs, hd + 1, home=True)), ind) == DEN
    # the latest reading decides, both ways
    assert st(full26, p(*bp(date(2025, 6, 1), 120, 70), *bp(date(2026, 2, 1), 160, 95)), ind) == DEN
    assert st(full26, p(*bp(date(2025, 6, 1), 160, 95), *bp(date(2026, 2, 1), 120, 70)), ind) == NUM
    # 12-month window
    assert st(full26, p(*bp(date(2025, 3, 31), 120, 70)), ind) == DEN
    assert st(full26, p(*bp(date(2025, 4, 1), 120, 70)), ind) == NUM
    # 79/80 split
    assert st(full26, p(*bp(day, 120, 70)), other) == ("excluded_from_population", "PAT_AGEU80")
    assert st(full26, p(*bp(day, 120, 70), dob=OLD), ind) == ("excluded_from_population", "PAT_AGEO79")


@pytest.mark.covers("CHD016", "STIA015", year="2025-26")
@pytest.mark.parametrize(("ind", "dx", "reg"), [("CHD016", CHD, CHDREG), ("STIA015", STRK, STIAREG)])
def test_bp_80_and_over(full26, ind, dx, reg):
    def p(*events):
        return patient(ev(dx, date(2015, 1, 1)), *events, registers=reg, dob=OLD)

    day = date(2025, 12, 1)
    assert st(full26, p(*bp(day, 150, 90)), ind) == NUM
    assert st(full26, p(*bp(day, 151, 90)), ind) == DEN
    assert st(full26, p(*bp(day, 150, 91)), ind) == DEN
    assert st(full26, p(*bp(day, 145, 85, home=True)), ind) == NUM
    assert st(full26, p(*bp(day, 146, 85, home=True)), ind) == DEN


@pytest.mark.covers("CHD015", year="2025-26")
def test_chd015_pcas_invitations_after_latest_reading_and_9_month_windows(full26):
    def p(*events, **kw):
        return _chd(*events, **{"dob": YOUNG, **kw})

    assert st(full26, p(ev(HTMAX, date(2025, 5, 1))), "CHD015") == ("pca", "HTMAX")
    assert st(full26, p(ev(BPDEC, date(2025, 5, 1))), "CHD015") == ("pca", "BPORHBPDEC")
    assert st(full26, p(ev(T("CHDPCAPU_COD"), date(2025, 5, 1))), "CHD015") == ("pca", "CHDPCAPU")
    # success overrides the PCA
    assert st(full26, p(ev(HTMAX, date(2025, 5, 1)), *bp(date(2025, 8, 1), 130, 80)), "CHD015") == NUM
    inv = T("CHDINVITE_COD")
    after = p(*bp(date(2025, 6, 1), 160, 95), ev(inv, date(2025, 7, 1)), ev(inv, date(2025, 7, 8)))
    assert st(full26, after, "CHD015") == ("pca", "CHDBPINV")
    before = p(ev(inv, date(2025, 5, 1)), ev(inv, date(2025, 5, 8)), *bp(date(2025, 6, 1), 160, 95))
    assert st(full26, before, "CHD015") == DEN
    six = p(*bp(date(2025, 6, 1), 160, 95), ev(inv, date(2025, 7, 1)), ev(inv, date(2025, 7, 7)))
    assert st(full26, six, "CHD015") == DEN
    new = patient(ev(CHD, date(2025, 7, 1)), registers=CHDREG, dob=YOUNG)
    assert st(full26, new, "CHD015") == ("pca", "DIAG1_DT9M")
    assert st(full26, patient(ev(CHD, date(2025, 6, 30)), registers=CHDREG, dob=YOUNG), "CHD015") == DEN
    assert st(full26, p(registered_on=date(2025, 7, 1)), "CHD015") == ("pca", "REG1_DAT9")
    assert st(full26, p(registered_on=date(2025, 6, 30)), "CHD015") == DEN


# ---------------------------------------------------------------- CHOL003 / CHOL004


@pytest.mark.covers("CHOL003", "CHOL004", year="2025-26")
def test_chol_registers_are_derived_from_the_shared_ones(full26):
    ckd = patient(ev("433144002", date(2020, 1, 1)), registers=("CKD_REG",))
    assert st(full26, ckd, "CHOL003") == DEN  # CKD G3a-G5: on CHOL_REG
    assert st(full26, ckd, "CHOL004") is None  # not on CHOL2_REG
    pad = patient(ev(PAD, date(2020, 1, 1)), registers=("PAD_REG",))
    assert st(full26, pad, "CHOL004") == DEN
    assert st(full26, patient(registers=("HYP_REG",)), "CHOL003") is None


@pytest.mark.covers("CHOL003", year="2025-26")
def test_chol003_statin_or_other_llt_if_statin_declined_or_unsuitable(full26):
    assert st(full26, _chd(ev(STATIN, date(2025, 10, 1))), "CHOL003") == NUM
    assert st(full26, _chd(ev(STATIN, date(2025, 9, 30))), "CHOL003") == DEN  # 6-month window
    assert st(full26, _chd(ev(OTHER_LLT, date(2025, 12, 1))), "CHOL003") == DEN
    declined = _chd(ev(OTHER_LLT, date(2025, 12, 1)), ev(STATINDEC, date(2025, 5, 1)))
    assert st(full26, declined, "CHOL003") == NUM
    assert st(full26, _chd(ev(OTHER_LLT, date(2025, 12, 1)), ev(XSTAT, date(2012, 1, 1))), "CHOL003") == NUM
    assert st(full26, _chd(ev(OTHER_LLT, date(2025, 12, 1)), ev(STATCONTR, date(2019, 1, 1))), "CHOL003") == NUM


@pytest.mark.covers("CHOL003", year="2025-26")
def test_chol003_exclusions_and_pcas(full26):
    dm = _chd(ev(STATIN, date(2025, 12, 1)), registers=("CHD_REG", "DM_REG"))
    assert st(full26, dm, "CHOL003") == ("excluded_from_population", "DMCVDEXC")
    haem = patient(ev(HSTRK, date(2020, 1, 1)), registers=STIAREG)
    assert st(full26, haem, "CHOL003") == ("excluded_from_population", "HSTRK")
    haem_chd = patient(ev(HSTRK, date(2020, 1, 1)), ev(CHD, date(2019, 1, 1)), registers=("STIA_REG", "CHD_REG"))
    assert st(full26, haem_chd, "CHOL003") == DEN
    cases = [
        (ev(T("CHOLMAX_COD"), date(2025, 6, 1)), "CHOLMAX"),
        (ev(LIPADV, date(2015, 6, 1)), "LLTADV"),
        (ev(STATCONTR, date(2025, 6, 1)), "LLTCONNIND"),
        (ev(T("LLTDEC_COD"), date(2025, 6, 1)), "LLTDEC12M"),
    ]
    for e, field in cases:
        assert st(full26, _chd(e), "CHOL003") == ("pca", field), field
    inv = T("CHOLINVITE_COD")
    assert st(full26, _chd(ev(inv, date(2025, 9, 1)), ev(inv, date(2025, 9, 8))), "CHOL003") == ("pca", "CHOLINVITE")
    assert st(full26, _chd(registers=("CHD_REG", "PALCARE_REG")), "CHOL003") == ("pca", "PALCARDAT2")
    assert st(full26, patient(ev(CHD, date(2026, 1, 1)), registers=CHDREG), "CHOL003") == ("pca", "DIAG1_DAT")
    assert st(full26, _chd(ev(T("CHOLMAX_COD"), date(2025, 6, 1)), ev(STATIN, date(2026, 1, 5))), "CHOL003") == NUM


@pytest.mark.covers("CHOL004", year="2025-26")
def test_chol004_ldl_then_non_hdl_if_no_ldl(full26):
    nonhdl = T("NONHDLCCHOL_COD")
    day = date(2025, 11, 1)
    assert st(full26, _chd(ev(LDL, day, 2.0)), "CHOL004") == NUM
    assert st(full26, _chd(ev(LDL, day, 2.1)), "CHOL004") == DEN
    assert st(full26, _chd(ev(nonhdl, day, 2.6)), "CHOL004") == NUM
    assert st(full26, _chd(ev(nonhdl, day, 2.7)), "CHOL004") == DEN
    # non-HDL counts only where LDL is not recorded
    assert st(full26, _chd(ev(LDL, day, 2.5), ev(nonhdl, day, 2.2)), "CHOL004") == DEN
    assert st(full26, _chd(ev(LDL, date(2025, 6, 1), 1.5), ev(LDL, date(2026, 1, 1), 2.4)), "CHOL004") == DEN
    assert st(full26, _chd(ev(LDL, date(2025, 6, 1), 2.4), ev(LDL, date(2026, 1, 1), 1.5)), "CHOL004") == NUM
    assert st(full26, _chd(ev(LDL, date(2025, 3, 31), 1.5)), "CHOL004") == DEN


@pytest.mark.covers("CHOL004", year="2025-26")
def test_chol004_pcas_statin_decline_does_not_count_and_9_month_windows(full26):
    assert st(full26, _chd(ev(T("CHOLDEC_COD"), date(2025, 6, 1))), "CHOL004") == ("pca", "CHOLDEC")
    assert st(full26, _chd(ev(T("CHOLMAX_COD"), date(2025, 6, 1))), "CHOL004") == ("pca", "CHOLMAX")
    # declining a statin does not remove a patient from CHOL004 (Suvera, QOF business rules 24/25)
    assert st(full26, _chd(ev(STATINDEC, date(2025, 6, 1))), "CHOL004") == DEN
    inv = T("CHOLINVITE_COD")
    after = _chd(ev(LDL, date(2025, 6, 1), 3.0), ev(inv, date(2025, 7, 1)), ev(inv, date(2025, 7, 8)))
    assert st(full26, after, "CHOL004") == ("pca", "CHOLINVITE")
    before = _chd(ev(inv, date(2025, 5, 1)), ev(inv, date(2025, 5, 8)), ev(LDL, date(2025, 6, 1), 3.0))
    assert st(full26, before, "CHOL004") == DEN
    assert st(full26, patient(ev(CHD, date(2025, 7, 1)), registers=CHDREG), "CHOL004") == ("pca", "DIAG1_DT9M")
    assert st(full26, patient(ev(CHD, date(2025, 6, 30)), registers=CHDREG), "CHOL004") == DEN
    assert st(full26, _chd(registered_on=date(2025, 7, 1)), "CHOL004") == ("pca", "REG1_DAT9")


# ---------------------------------------------------------------- AF006 / AF008


def _af(*events, **kw):
    return patient(ev(AFIB, date(2015, 1, 1)), *events, **{"registers": ("AFIB_REG",), **kw})


@pytest.mark.covers("AF006", year="2025-26")
def test_af006_score_in_12_months_unless_a_previous_score_of_2_or_more(full26):
    vasc, chads = T("CHADVASC_COD"), T("CHAD_COD")
    assert st(full26, _af(ev(vasc, date(2025, 4, 1), 1)), "AF006") == NUM
    assert st(full26, _af(ev(vasc, date(2025, 3, 31), 3)), "AF006") == ("excluded_from_population", "CHAD_VAL2")
    assert st(full26, _af(ev(chads, date(2019, 3, 31), 2)), "AF006") == ("excluded_from_population", "CHAD_VAL2")
    assert st(full26, _af(ev(vasc, date(2024, 3, 31), 1)), "AF006") == DEN
    assert st(full26, _af(ev(T("AFIBPCAPU_COD"), date(2025, 6, 1))), "AF006") == ("pca", "AFIBPCAPU")
    assert st(full26, _af(ev(T("AFIBPCADEC_COD"), date(2025, 6, 1))), "AF006") == ("pca", "AFIBPCADEC")
    inv = T("AFIBINVITE_COD")
    assert st(full26, _af(ev(inv, date(2025, 6, 1)), ev(inv, date(2025, 6, 8))), "AF006") == ("pca", "AFIBINV1")
    assert st(full26, _af(ev(inv, date(2025, 6, 1)), ev(inv, date(2025, 6, 7))), "AF006") == DEN
    new = patient(ev(AFIB, date(2026, 1, 1)), registers=("AFIB_REG",))
    assert st(full26, new, "AF006") == ("pca", "DIAG1_DAT")


@pytest.mark.covers("AF008", year="2025-26")
def test_af008_doac_or_vka_if_doac_declined_or_unsuitable(full26):
    vasc = ev(T("CHADVASC_COD"), date(2024, 6, 1), 3)
    assert st(full26, _af(ev(T("CHADVASC_COD"), date(2025, 6, 1), 1)), "AF008") == (
        "excluded_from_population",
        "CHADVASC",
    )
    # the latest score decides
    low_now = _af(vasc, ev(T("CHADVASC_COD"), date(2025, 6, 1), 1), ev(DOAC, date(2026, 1, 1)))
    assert st(full26, low_now, "AF008")[0] == "excluded_from_population"
    assert st(full26, _af(vasc, ev(DOAC, date(2025, 10, 1))), "AF008") == NUM
    assert st(full26, _af(vasc, ev(DOAC, date(2025, 9, 30))), "AF008") == DEN  # 6 months
    assert st(full26, _af(vasc, ev(WARFARIN, date(2026, 1, 1))), "AF008") == DEN
    vka_dec = _af(vasc, ev(WARFARIN, date(2026, 1, 1)), ev(T("DOACDEC_COD"), date(2025, 5, 1)))
    assert st(full26, vka_dec, "AF008") == NUM
    vka_x = _af(vasc, ev(WARFARIN, date(2026, 1, 1)), ev(T("XDOAC_COD"), date(2025, 5, 1)))
    assert st(full26, vka_x, "AF008") == NUM
    assert st(full26, _af(vasc, ev(T("ORANTICOAGDEC_COD"), date(2025, 5, 1))), "AF008") == ("pca", "GENORANTID")
    assert st(full26, _af(vasc, ev(T("XORANTICOAG_COD"), date(2010, 5, 1))), "AF008") == ("pca", "XGORANTICO")


# ---------------------------------------------------------------- HF003 / HF006 / HF007


def _hf2(*events, **kw):
    return patient(ev(HFLVSD, date(2015, 1, 1)), *events, **{"registers": ("HF1_REG", "HF2_REG"), **kw})


@pytest.mark.covers("HF003", year="2025-26")
def test_hf003_ace_inhibitor_or_arb(full26):
    assert st(full26, _hf2(ev(ACEI, date(2025, 10, 1))), "HF003") == NUM
    assert st(full26, _hf2(ev(ARB, date(2026, 3, 31))), "HF003") == NUM
    assert st(full26, _hf2(ev(ACEI, date(2025, 9, 30))), "HF003") == DEN
    assert st(full26, _hf2(ev(ACEDEC, date(2025, 6, 1))), "HF003") == ("pca", "ACEDEC")
    assert st(full26, _hf2(ev(AIIDEC, date(2025, 6, 1))), "HF003") == ("pca", "ACEDEC")
    assert st(full26, _hf2(ev(XACE, date(2015, 6, 1)), ev(XAII, date(2016, 6, 1))), "HF003") == ("pca", "XACE")
    assert st(full26, _hf2(ev(XACE, date(2015, 6, 1))), "HF003") == DEN  # an ARB is still possible
    assert st(full26, patient(registers=("HF1_REG",)), "HF003") is None  # HF2_REG only


@pytest.mark.covers("HF006", "HF007", year="2025-26")
def test_hf006_beta_blocker_and_hf007_review(full26):
    assert st(full26, _hf2(ev(BETA, date(2025, 12, 1))), "HF006") == NUM
    assert st(full26, _hf2(ev(T("LBBDEC_COD"), date(2025, 6, 1))), "HF006") == ("pca", "LBBDEC")
    assert st(full26, _hf2(ev(T("XLBB_COD"), date(2012, 6, 1))), "HF006") == ("pca", "XLBB")
    rvw, med = T("HFRVW_COD"), T("HFMEDRVW_COD")
    assert st(full26, _hf2(ev(rvw, date(2025, 6, 1)), ev(med, date(2025, 6, 1))), "HF007") == NUM
    assert st(full26, _hf2(ev(rvw, date(2025, 6, 1))), "HF007") == DEN  # both parts needed
    assert st(full26, _hf2(ev(rvw, date(2025, 3, 31)), ev(med, date(2025, 6, 1))), "HF007") == DEN
    assert st(full26, _hf2(ev(T("MEDRVWDEC_COD"), date(2025, 6, 1))), "HF007") == ("pca", "MEDRVWDEC")
    inv = T("HFINVITE_COD")
    assert st(full26, _hf2(ev(inv, date(2025, 6, 1)), ev(inv, date(2025, 6, 8))), "HF007") == ("pca", "HFINVITE")

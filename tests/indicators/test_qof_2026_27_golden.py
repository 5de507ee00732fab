"""QOF 2026/27 golden tests: each new or changed indicator, path by path, against the reference wording
(../shared/reference/qof-2026-27/README.md and indicators_2026_27.csv, quoted per test).

PPED 31/03/2027: 12 months = 01/04/2026..31/03/2027, 6 months from 01/10/2026, 9 months from 01/07/2026,
3 months from 01/01/2027. Clusters with no public copy get a one-code test codelist (``with_test_codelists``).
"""

from __future__ import annotations

from datetime import date

import pytest

from shared.codelists import CodelistLibrary

from .conftest import (
    DEN,
    DM,
    DMPCAPU,
    HBA1C,
    HYP,
    MILDFRAIL,
    MODFRAIL,
    NUM,
    SEVFRAIL,
    T,
    bp,
    ev,
    patient,
    st,
    with_test_codelists,
)

PPED = date(2027, 3, 31)
EXC = "excluded_from_population"
CHD = "22298006"  # CHD_COD myocardial infarction
STRK = "1089411000000104"  # STRK_COD cerebral infarction
ACEI, ARB = "102611000001100", "117011000001107"  # ACEI_COD / ARB_COD
BETA = "10241311000001102"  # LBB_COD
BMI = "60621009"  # BMIVAL_COD


@pytest.fixture()
def q27(library: CodelistLibrary):
    return with_test_codelists(library, "qof-2026-27")


def real(library: CodelistLibrary, cluster: str) -> str:
    return sorted(library.get(cluster).codes)[0]


def s27(engine, p, indicator):
    return st(engine, p, indicator, PPED)


# ------------------------------------------------------------------ CD001 / CD002

def _cvd(*events, dob=date(1960, 5, 1), registers=("CHD_REG",), **kw):
    return patient(*events, dob=dob, registers=registers, **kw)


@pytest.mark.covers("CD001", year="2026-27")
def test_cd001_chd_or_stroke_aged_79_or_under_bp_140_90(q27):
    """CD001: "CHD or stroke/TIA, aged <=79, without moderate/severe frailty: last BP in 12m <=140/90
    (HBPM/ABPM <=135/85)"."""
    assert s27(q27, _cvd(*bp(date(2026, 10, 1), 140, 90)), "CD001") == NUM
    assert s27(q27, _cvd(*bp(date(2026, 10, 1), 141, 90)), "CD001") == DEN
    assert s27(q27, _cvd(*bp(date(2026, 10, 1), 140, 91)), "CD001") == DEN
    # stroke/TIA alone is in the population (replaces STIA014 too)
    assert s27(q27, _cvd(*bp(date(2026, 10, 1), 130, 80), registers=("STIA_REG",)), "CD001") == NUM
    # neither register: not in the population
    assert s27(q27, _cvd(*bp(date(2026, 10, 1), 130, 80), registers=("HYP_REG",)), "CD001") is None
    # home readings: 135/85
    assert s27(q27, _cvd(*bp(date(2026, 10, 1), 135, 85, home=True)), "CD001") == NUM
    assert s27(q27, _cvd(*bp(date(2026, 10, 1), 136, 85, home=True)), "CD001") == DEN


@pytest.mark.covers("CD001", year="2026-27")
def test_cd001_window_and_age_edges(q27):
    assert s27(q27, _cvd(*bp(date(2026, 4, 1), 130, 80)), "CD001") == NUM
    assert s27(q27, _cvd(*bp(date(2026, 3, 31), 130, 80)), "CD001") == DEN
    assert s27(q27, _cvd(*bp(date(2027, 3, 31), 130, 80)), "CD001") == NUM
    # aged 79 on PPED: CD001; 80 on PPED: CD002
    at79, at80 = date(1947, 4, 1), date(1947, 3, 31)
    assert s27(q27, _cvd(*bp(date(2026, 10, 1), 130, 80), dob=at79), "CD001") == NUM
    assert s27(q27, _cvd(*bp(date(2026, 10, 1), 130, 80), dob=at80), "CD001") == (EXC, "PAT_AGEO79")


@pytest.mark.covers("CD001", year="2026-27")
def test_cd001_moderate_or_severe_frailty_excluded(q27):
    """"Moderate or severe frailty (MODFRAIL_COD / SEVFRAIL_COD ...) excludes patients from CD001, CD002,
    HYP010, HYP011 and, as before, DM036"."""
    reading = bp(date(2026, 10, 1), 130, 80)
    assert s27(q27, _cvd(*reading, ev(MODFRAIL, date(2020, 1, 1))), "CD001") == (EXC, "MDSEVFRAIL")
    assert s27(q27, _cvd(*reading, ev(SEVFRAIL, date(2026, 5, 1))), "CD001") == (EXC, "MDSEVFRAIL")
    assert s27(q27, _cvd(*reading, ev(MILDFRAIL, date(2026, 5, 1))), "CD001") == NUM
    # the latest frailty code decides: mild after moderate is not excluded
    later_mild = (ev(MODFRAIL, date(2024, 1, 1)), ev(MILDFRAIL, date(2026, 5, 1)))
    assert s27(q27, _cvd(*reading, *later_mild), "CD001") == NUM
    # a frailty code after PPED is not seen
    assert s27(q27, _cvd(*reading, ev(SEVFRAIL, date(2027, 4, 1))), "CD001") == NUM


@pytest.mark.covers("CD001", year="2026-27")
def test_cd001_pcas_from_chd_and_stroke_care(q27):
    for cluster, field in (("CHDPCAPU_COD", "CHDPCAPU"), ("STIAPCAPU_COD", "CHDPCAPU"),
                           ("CHDPCADEC_COD", "CHDPCADEC"), ("STIAPCADEC_COD", "CHDPCADEC")):
        assert s27(q27, _cvd(ev(T(cluster), date(2026, 6, 1))), "CD001") == ("pca", field), cluster
    # newly diagnosed (earliest CHD/stroke/TIA code in the 9 months) and newly registered
    assert s27(q27, _cvd(ev(STRK, date(2026, 7, 1)), registers=("STIA_REG",)), "CD001") == ("pca", "DIAG1_DT9M")
    assert s27(q27, _cvd(ev(STRK, date(2026, 6, 30)), registers=("STIA_REG",)), "CD001") == DEN
    assert s27(q27, _cvd(registered_on=date(2026, 7, 1)), "CD001") == ("pca", "REG1_DAT9")
    assert s27(q27, _cvd(ev(CHD, date(2010, 1, 1))), "CD001") == DEN


@pytest.mark.covers("CD002", year="2026-27")
def test_cd002_aged_80_or_over_bp_150_90(q27):
    """CD002: "CHD or stroke/TIA, aged >=80, without moderate/severe frailty: last BP in 12m <=150/90
    (HBPM/ABPM <=145/85)"."""
    old = date(1940, 1, 1)
    assert s27(q27, _cvd(*bp(date(2026, 10, 1), 150, 90), dob=old), "CD002") == NUM
    assert s27(q27, _cvd(*bp(date(2026, 10, 1), 151, 90), dob=old), "CD002") == DEN
    assert s27(q27, _cvd(*bp(date(2026, 10, 1), 145, 85, home=True), dob=old), "CD002") == NUM
    assert s27(q27, _cvd(*bp(date(2026, 10, 1), 146, 85, home=True), dob=old), "CD002") == DEN
    under_80 = s27(q27, _cvd(*bp(date(2026, 10, 1), 140, 80), dob=date(1947, 4, 1)), "CD002")
    assert under_80 is not None and under_80[0] == EXC  # 79 on PPED: CD001's, not CD002's
    assert s27(q27, _cvd(*bp(date(2026, 10, 1), 140, 80), ev(MODFRAIL, date(2025, 1, 1)), dob=old),
               "CD002") == (EXC, "MDSEVFRAIL")


# ------------------------------------------------------------------ HYP010 / HYP011

def _hyp(*events, dob=date(1960, 5, 1)):
    return patient(ev(HYP, date(2010, 1, 1)), *events, dob=dob, registers=("HYP_REG",))


@pytest.mark.covers("HYP010", "HYP011", year="2026-27")
def test_hyp010_hyp011_same_targets_frailty_now_excluded(q27):
    """HYP010: "Hypertension, aged <=79, without moderate/severe frailty: last BP <=140/90 (HBPM/ABPM
    <=135/85)"; HYP011: "aged >=80 ... <=150/90 (HBPM/ABPM <=145/85)"."""
    assert s27(q27, _hyp(*bp(date(2026, 10, 1), 140, 90)), "HYP010") == NUM
    assert s27(q27, _hyp(*bp(date(2026, 10, 1), 141, 90)), "HYP010") == DEN
    assert s27(q27, _hyp(*bp(date(2026, 10, 1), 135, 85, home=True)), "HYP010") == NUM
    assert s27(q27, _hyp(*bp(date(2026, 10, 1), 130, 80), ev(SEVFRAIL, date(2026, 1, 1))), "HYP010") == (
        EXC, "MDSEVFRAIL")
    assert s27(q27, _hyp(*bp(date(2026, 10, 1), 130, 80), ev(MILDFRAIL, date(2026, 1, 1))), "HYP010") == NUM
    old = date(1940, 1, 1)
    assert s27(q27, _hyp(*bp(date(2026, 10, 1), 150, 90), dob=old), "HYP011") == NUM
    assert s27(q27, _hyp(*bp(date(2026, 10, 1), 150, 91), dob=old), "HYP011") == DEN
    assert s27(q27, _hyp(*bp(date(2026, 10, 1), 150, 90), ev(MODFRAIL, date(2026, 1, 1)), dob=old),
               "HYP011") == (EXC, "MDSEVFRAIL")
    assert s27(q27, _hyp(*bp(date(2026, 3, 31), 130, 80), dob=old), "HYP011") == DEN  # window edge


# ------------------------------------------------------------------ HF009

def _hf(*events, **kw):
    return patient(ev("134401001", date(2015, 1, 1)), *events, registers=("HF1_REG", "HF2_REG"), **kw)


def _four(d: date, *, skip: str = "") -> list:
    drugs = {"ras": ACEI, "bb": BETA, "mra": T("MRA_COD"), "sglt2": T("SGLT2_COD")}
    return [ev(code, d) for name, code in drugs.items() if name != skip]


@pytest.mark.covers("HF009", year="2026-27")
def test_hf009_all_four_drug_classes(q27):
    """HF009: "HFrEF: treated with all four pillars - ACEi/ARB/ARNI + beta-blocker + MRA + SGLT2i"."""
    assert s27(q27, _hf(*_four(date(2026, 12, 1))), "HF009") == NUM
    for missing in ("ras", "bb", "mra", "sglt2"):  # 3 of 4 is not achievement
        assert s27(q27, _hf(*_four(date(2026, 12, 1), skip=missing)), "HF009") == DEN, missing
    # ARB or ARNI stand for the ACE-I
    others = [ev(c, date(2026, 12, 1)) for c in (BETA, T("MRA_COD"), T("SGLT2_COD"))]
    assert s27(q27, _hf(ev(ARB, date(2026, 12, 1)), *others), "HF009") == NUM
    assert s27(q27, _hf(ev(T("ARNI_COD"), date(2026, 12, 1)), *others), "HF009") == NUM


@pytest.mark.covers("HF009", year="2026-27")
def test_hf009_six_month_window_and_pcas(q27):
    assert s27(q27, _hf(*_four(date(2026, 10, 1))), "HF009") == NUM
    assert s27(q27, _hf(*_four(date(2026, 9, 30))), "HF009") == DEN
    both = [*_four(date(2026, 12, 1), skip="mra"), ev(T("MRA_COD"), date(2026, 9, 30))]
    assert s27(q27, _hf(*both), "HF009") == DEN  # one class outside the window
    assert s27(q27, _hf(ev(T("HFPCAPU_COD"), date(2026, 6, 1))), "HF009") == ("pca", "HFPCAPU")
    assert s27(q27, _hf(ev(T("HFPCADEC_COD"), date(2026, 6, 1))), "HF009") == ("pca", "HFPCADEC")
    assert s27(q27, _hf(registered_on=date(2027, 1, 1)), "HF009") == ("pca", "REG1_DAT3")
    assert s27(q27, _hf(registered_on=date(2026, 12, 31)), "HF009") == DEN
    assert s27(q27, patient(registers=("HF1_REG",)), "HF009") is None  # HF without reduced EF


# ------------------------------------------------------------------ DM037

def _eight(library: CodelistLibrary, d: date, *, skip: str = "") -> list:
    codes = {
        "bmi": (BMI, 27.0), "bp_s": ("100151000000109", 130.0), "bp_d": ("100161000000107", 80.0),
        "hba1c": (HBA1C, 50.0), "chol": (real(library, "CHOL2_COD"), 4.0),
        "smok": (real(library, "SMOK_anystatus_gmsde"), None),  # the SMOK_COD stand-in (aliases.csv)
        "foot": (T("FRC_COD"), None), "acr": (T("UACR_COD"), 2.0), "renal": (real(library, "CRE_COD"), 80.0),
    }
    return [ev(code, d, value) for name, (code, value) in codes.items() if not name.startswith(skip or "~")]


@pytest.mark.covers("DM037", year="2026-27")
def test_dm037_all_eight_care_processes_all_or_nothing(q27, library):
    """DM037: "all 8 NICE care processes in 12m (BMI, BP, HbA1c, cholesterol, smoking status, foot exam, urine
    ACR, eGFR/creatinine); all-or-nothing; no single-indicator exceptions"."""
    dx = ev(DM, date(2015, 1, 1))
    assert s27(q27, patient(dx, *_eight(library, date(2026, 9, 1))), "DM037") == NUM
    for missing in ("bmi", "bp", "hba1c", "chol", "smok", "foot", "acr", "renal"):
        assert s27(q27, patient(dx, *_eight(library, date(2026, 9, 1), skip=missing)), "DM037") == DEN, missing
    # eGFR counts as the renal test as creatinine does
    egfr = [*_eight(library, date(2026, 9, 1), skip="renal"), ev(T("EGFR_COD"), date(2026, 9, 1), 70.0)]
    assert s27(q27, patient(dx, *egfr), "DM037") == NUM


@pytest.mark.covers("DM037", year="2026-27")
def test_dm037_window_edges_and_no_single_process_exceptions(q27, library):
    dx = ev(DM, date(2015, 1, 1))
    assert s27(q27, patient(dx, *_eight(library, date(2026, 4, 1))), "DM037") == NUM
    late_foot = [*_eight(library, date(2026, 9, 1), skip="foot"), ev(T("FRC_COD"), date(2026, 3, 31))]
    assert s27(q27, patient(dx, *late_foot), "DM037") == DEN
    # a foot-examination decline (DM012's FEDEC) no longer excepts the patient
    declined = [*_eight(library, date(2026, 9, 1), skip="foot"), ev(T("FEDEC_COD"), date(2026, 9, 1))]
    assert s27(q27, patient(dx, *declined), "DM037") == DEN
    assert s27(q27, patient(dx, ev(DMPCAPU, date(2026, 6, 1))), "DM037") == ("pca", "DMPCAPU")
    assert s27(q27, patient(dx, registered_on=date(2027, 1, 1)), "DM037") == ("pca", "REG1_DAT3")


# ------------------------------------------------------------------ NDH003

@pytest.mark.covers("NDH003", year="2026-27")
def test_ndh003_hba1c_or_fasting_glucose_in_12_months(q27):
    """NDH003: "NDH or previous gestational diabetes: HbA1c or fasting glucose in 12m" (the register widened
    to previous gestational diabetes: see tests/registers/test_register_years.py)."""
    gdm = ev("11687002", date(2019, 6, 1))  # GESTDIAB_COD: on the 2026/27 NDH register
    assert s27(q27, patient(gdm, ev(HBA1C, date(2026, 4, 1), 40.0), registers=("NDH_REG",)), "NDH003") == NUM
    assert s27(q27, patient(gdm, ev(HBA1C, date(2026, 3, 31), 40.0), registers=("NDH_REG",)), "NDH003") == DEN
    fasting = ev(T("FASPLASGLUC_COD"), date(2027, 3, 31), 6.0)
    assert s27(q27, patient(gdm, fasting, registers=("NDH_REG",)), "NDH003") == NUM
    assert s27(q27, patient(gdm, registers=("DM_REG",)), "NDH003") is None
    assert load_points(q27, "NDH003") == 20


def load_points(engine, indicator: str) -> float:
    return engine.ruleset.indicator(indicator).points.value


# ------------------------------------------------------------------ AST014 / AST015, OB004 / OB005, VI

@pytest.mark.covers("AST014", "AST015", year="2026-27")
def test_ast014_ast015_renamed_with_unchanged_points(q27):
    """AST014/AST015: "renamed because the asthma register now starts at age 5 (was 6)"; points 15 / 20."""
    assert (load_points(q27, "AST014"), load_points(q27, "AST015")) == (15, 20)
    rs = q27.ruleset
    assert rs.indicator("AST015").population.list_type == "05OV"
    five = patient(registers=("AST_REG",), dob=date(2021, 6, 1), registered_on=date(2021, 6, 1))
    assert s27(q27, five, "AST015") is not None  # a 5-year-old on the register is in the population


def _ob(*events, **kw):
    return patient(ev(BMI, date(2026, 9, 1), 36.0), *events, registers=("OB_REG",), **kw)


@pytest.mark.covers("OB004", year="2026-27")
def test_ob004_referral_to_weight_management(q27):
    """OB004: "Obesity: referral to a weight management programme (PCAs: service unavailable / unsuitable /
    declined per PCIT template)"."""
    assert s27(q27, _ob(ev(T("WMPREF_COD"), date(2026, 4, 1))), "OB004") == NUM
    assert s27(q27, _ob(ev(T("WMPREF_COD"), date(2026, 3, 31))), "OB004") == DEN
    assert s27(q27, _ob(ev(T("OBPCADEC_COD"), date(2026, 6, 1))), "OB004") == ("pca", "OBPCA")
    assert s27(q27, _ob(ev(T("OBPCAPU_COD"), date(2026, 6, 1))), "OB004") == ("pca", "OBPCA")
    assert s27(q27, _ob(registered_on=date(2027, 1, 1)), "OB004") == ("pca", "REG1_DAT3")
    assert s27(q27, patient(registers=("DM_REG",)), "OB004") is None


@pytest.mark.covers("OB005", year="2026-27")
def test_ob005_shared_decision_making_in_pharmacotherapy_subset(q27):
    """OB005: "shared decision-making and pharmacotherapy/behavioural support"; denominator "OB register
    subset meeting pharmacotherapy criteria [U]" (read as latest BMI >= 35 in 12 months)."""
    assert s27(q27, _ob(ev(T("OBSDM_COD"), date(2026, 10, 1))), "OB005") == NUM
    assert s27(q27, _ob(), "OB005") == DEN
    lower = patient(ev(BMI, date(2026, 9, 1), 34.9), ev(T("OBSDM_COD"), date(2026, 10, 1)), registers=("OB_REG",))
    assert s27(q27, lower, "OB005") == (EXC, "OBPHARMCRIT")
    edge = patient(ev(BMI, date(2026, 9, 1), 35.0), ev(T("OBSDM_COD"), date(2026, 10, 1)), registers=("OB_REG",))
    assert s27(q27, edge, "OB005") == NUM


@pytest.mark.covers("VI002", year="2026-27")
def test_vi002_mmrv_counts_as_mmr(q27):
    """VI002: "Reached 18m: >=1 MMR (now MMR or MMRV) aged 12-18m"."""
    dob = date(2025, 6, 1)  # 18 months on 1 December 2026, in the year
    child = patient(ev(T("MMRVVAC_COD"), date(2026, 7, 1)), dob=dob, registers=(), registered_on=dob)
    assert s27(q27, child, "VI002") == NUM
    too_early = patient(ev(T("MMRVVAC_COD"), date(2026, 5, 31)), dob=dob, registers=(), registered_on=dob)
    assert s27(q27, too_early, "VI002") == DEN


AST = "195967001"  # AST_COD asthma


def _child_asthma(*events, dob=date(2021, 6, 1)):
    return patient(*events, registers=("AST_REG",), dob=dob, registered_on=dob)


@pytest.mark.covers("AST014", year="2026-27")
def test_ast014_objective_test_around_diagnosis_for_a_five_year_old(q27):
    """AST014: "New asthma diagnosis (on/after 1 Apr 2025): objective test 3m before/after diagnosis (was
    AST012)", on the asthma register "now aged >=5"."""
    dx = ev(AST, date(2026, 6, 1))
    assert s27(q27, _child_asthma(dx, ev(T("FENO_COD"), date(2026, 3, 1))), "AST014") == NUM  # 3 months before
    assert s27(q27, _child_asthma(dx, ev(T("PEFR_COD"), date(2026, 9, 1))), "AST014") == NUM  # 3 months after
    assert s27(q27, _child_asthma(dx, ev(T("FENO_COD"), date(2026, 9, 2))), "AST014") == DEN
    assert s27(q27, _child_asthma(dx), "AST014") == DEN
    # diagnosed before 1 April 2025: not in AST014
    old_dx = s27(q27, _child_asthma(ev(AST, date(2025, 3, 31))), "AST014")
    assert old_dx == (EXC, "DIAG_DAT25")
    assert s27(q27, _child_asthma(ev(AST, date(2025, 4, 1))), "AST014") == DEN
    # diagnosed in the 3 months up to PPED: tests still possible
    assert s27(q27, _child_asthma(ev(AST, date(2027, 1, 1))), "AST014") == ("pca", "DIAG1_DAT")


@pytest.mark.covers("VI003", year="2026-27")
def test_vi003_mmrv_counts_towards_the_two_mmr_doses(q27):
    """VI003: "Reached 5y: DTaP/IPV booster + 2 MMR/MMRV aged 1-5"."""
    dob = date(2021, 10, 1)  # 5 on 1 October 2026, in the year
    booster = ev(T("DTAPIPVVACBOOST_COD"), date(2025, 1, 10))
    mixed = patient(booster, ev(T("MMRVAC1_COD"), date(2022, 10, 5)), ev(T("MMRVVAC_COD"), date(2025, 1, 10)),
                    dob=dob, registers=(), registered_on=dob)
    assert s27(q27, mixed, "VI003") == NUM
    one = patient(booster, ev(T("MMRVVAC_COD"), date(2025, 1, 10)), dob=dob, registers=(), registered_on=dob)
    assert s27(q27, one, "VI003") == DEN

"""Diabetes golden tests beyond DM020/021/036: DM006, DM012, DM014, DM022/023 (2024/25), DM034/035 (2025/26)."""

from __future__ import annotations

from datetime import date

import pytest

from .conftest import DEN, DM, DMINVITE, DMPCADEC, MODFRAIL, NUM, PPED_25, T, ev, patient, st

ACEI, ARB = "102611000001100", "117011000001107"
STATIN = "10294811000001100"
OTHER_LLT = "10138711000001106"
XSTAT = "16524331000119104"
QRISK = "1085871000000105"  # QRISKSCORE_COD
T2 = "44054006"  # DMTYPE2_COD diabetes mellitus type 2
CHD = "22298006"
HSTRK = "1078001000000105"
DX = ev(DM, date(2015, 6, 1))
STATINDEC = "134396000"  # STATINDEC_COD statin declined (real refset code)
PRT = "29738008"  # PRT_COD proteinuria (real refset code)
DSEP = "415270003"  # DSEP_COD referral to diabetes structured education program (real refset code)
DSEPDEC = "306591000000103"  # DSEPDEC_COD diabetes structured education programme declined (real refset code)


def test_dm_more_incomplete_without_unpublished_clusters(q25, q26):
    assert "FRC_COD" in q26.incomplete["DM012"]
    # PRT_COD, DSEP_COD (+ DSEPDEC/PU/SU) and STATINDEC_COD are public refsets now (catalogue.csv): DM006 and
    # DM014 are scorable (DM006 with the ACE/ARB stand-ins); DM034 still waits for LLTDEC_COD and CHOLMAX_COD
    assert "DM006" not in q26.incomplete and q26.readiness["DM006"].readiness == "stand-in"
    assert "DM014" not in q26.incomplete and q26.readiness["DM014"].readiness == "ready"
    # missing only in PCA steps: scored as a lower bound (provisional), naming them
    assert set(q26.readiness["DM034"].missing) == {"LLTDEC_COD", "CHOLMAX_COD"}
    assert q26.readiness["DM034"].readiness == "provisional"
    assert "CHOLMAX_COD" in q25.readiness["DM022"].missing and "LLTDEC_COD" in q26.readiness["DM035"].missing


@pytest.mark.covers("DM006", year="2025-26")
def test_dm006_nephropathy_ace_or_arb(full26):
    prt = ev(PRT, date(2020, 1, 1))
    assert st(full26, patient(DX), "DM006") == ("excluded_from_population", "PRT_COD")
    assert st(full26, patient(DX, prt, ev(ACEI, date(2025, 10, 1))), "DM006") == NUM
    assert st(full26, patient(DX, prt, ev(ARB, date(2025, 10, 1))), "DM006") == NUM
    assert st(full26, patient(DX, prt, ev(ARB, date(2025, 9, 30))), "DM006") == DEN
    assert st(full26, patient(DX, prt, ev("134397009", date(2025, 5, 1))), "DM006") == ("pca", "ACEDEC")
    assert st(full26, patient(DX, prt, ev(DMPCADEC, date(2025, 5, 1))), "DM006") == ("pca", "DMPCADEC")
    inv = (ev(DMINVITE, date(2025, 5, 1)), ev(DMINVITE, date(2025, 5, 8)))
    assert st(full26, patient(DX, prt, *inv), "DM006") == ("pca", "DMINVITE")
    new = patient(ev(DM, date(2026, 1, 1)), prt)
    assert st(full26, new, "DM006") == ("pca", "DIAG1_DAT")


@pytest.mark.covers("DM012", year="2025-26")
def test_dm012_foot_check(full26):
    assert st(full26, patient(DX, ev(T("FRC_COD"), date(2025, 4, 1))), "DM012") == NUM
    assert st(full26, patient(DX, ev(T("FRC_COD"), date(2025, 3, 31))), "DM012") == DEN
    amputee = patient(DX, ev(T("AMPL_COD"), date(2010, 1, 1)), ev(T("AMPR_COD"), date(2012, 1, 1)))
    assert st(full26, amputee, "DM012") == ("excluded_from_population", "AMPR3_DAT")
    assert st(full26, patient(DX, ev(T("AMPL_COD"), date(2010, 1, 1))), "DM012") == DEN
    assert st(full26, patient(DX, ev(T("FEDEC_COD"), date(2025, 5, 1))), "DM012") == ("pca", "FEDEC")
    assert st(full26, patient(DX, ev(T("FEPU_COD"), date(2025, 5, 1))), "DM012") == ("pca", "FEPU")


@pytest.mark.covers("DM014", year="2025-26")
def test_dm014_cohort_is_diagnosed_21_to_9_months_before_pped(full26):
    dsep = DSEP  # real DSEP_COD code
    # diagnosed 21 or more months before PPED (on or before 30/06/2024): excluded (DM_DAT2)
    assert st(full26, patient(ev(DM, date(2024, 6, 30))), "DM014") == ("excluded_from_population", "DM_DAT2")
    assert st(full26, patient(ev(DM, date(2024, 7, 1))), "DM014") == DEN
    assert st(full26, patient(ev(DM, date(2025, 6, 30))), "DM014") == DEN
    # diagnosed in the last 9 months: numerator if already referred, otherwise excluded (DM_DAT3)
    assert st(full26, patient(ev(DM, date(2025, 7, 1))), "DM014") == ("excluded_from_population", "DM_DAT3")
    assert st(full26, patient(ev(DM, date(2025, 7, 1)), ev(dsep, date(2025, 8, 1))), "DM014") == NUM
    # referral within 9 months after diagnosis
    assert st(full26, patient(ev(DM, date(2024, 9, 1)), ev(dsep, date(2025, 6, 1))), "DM014") == NUM
    assert st(full26, patient(ev(DM, date(2024, 9, 1)), ev(dsep, date(2025, 6, 2))), "DM014") == DEN
    assert st(full26, patient(ev(DM, date(2024, 9, 1)), ev(dsep, date(2024, 8, 31))), "DM014") == DEN
    dec = patient(ev(DM, date(2024, 9, 1)), ev(DSEPDEC, date(2025, 1, 1)))
    assert st(full26, dec, "DM014") == ("pca", "DSEPDEC")
    late_dec = patient(ev(DM, date(2024, 9, 1)), ev(DSEPDEC, date(2025, 6, 8)))  # day 280
    assert st(full26, late_dec, "DM014") == DEN
    o = [x for x in full26.evaluate(patient(ev(DM, date(2024, 9, 1))), date(2026, 3, 31)) if x.indicator_id == "DM014"]
    assert o[0].gap.deadline == date(2025, 6, 1)


@pytest.mark.covers("DM022", year="2024-25")
def test_dm022_statin_2024_25(full25):
    old = dict(dob=date(1970, 1, 1))
    assert st(full25, patient(DX, ev(STATIN, date(2024, 10, 1)), **old), "DM022", PPED_25) == NUM
    assert st(full25, patient(DX, ev(STATIN, date(2024, 9, 30)), **old), "DM022", PPED_25) == DEN
    young = patient(DX, dob=date(1985, 4, 1))  # 39 on 31/03/2025
    assert st(full25, young, "DM022", PPED_25) == ("excluded_from_population", "PAT_AGEU39")
    assert st(full25, patient(DX, dob=date(1985, 3, 31)), "DM022", PPED_25) == DEN  # 40
    frail = patient(DX, ev(MODFRAIL, date(2024, 1, 1)), **old)
    assert st(full25, frail, "DM022", PPED_25) == ("excluded_from_population", "MDSEVFRAIL")
    cvd = patient(DX, registers=("DM_REG", "CHD_REG"), **old)
    assert st(full25, cvd, "DM022", PPED_25) == ("excluded_from_population", "CVDHIST")
    low_risk = patient(DX, ev(T2, date(2015, 6, 1)), ev(QRISK, date(2023, 1, 1), 8.0), **old)
    assert st(full25, low_risk, "DM022", PPED_25) == ("excluded_from_population", "DMTYPE2")
    stale = patient(DX, ev(T2, date(2015, 6, 1)), ev(QRISK, date(2022, 3, 31), 8.0), **old)
    assert st(full25, stale, "DM022", PPED_25) == DEN  # QRISK older than 3 years
    assert st(full25, patient(DX, ev(STATINDEC, date(2024, 6, 1)), **old), "DM022", PPED_25) == (
        "pca",
        "STATINDEC",
    )
    # 2024/25: other lipid-lowering therapy does not count
    assert st(full25, patient(DX, ev(OTHER_LLT, date(2025, 1, 1)), ev(XSTAT, date(2020, 1, 1)), **old), "DM022",
              PPED_25) == ("pca", "XSTAT")


@pytest.mark.covers("DM023", year="2024-25")
def test_dm023_statin_with_cvd_2024_25(full25):
    cvd = dict(registers=("DM_REG", "CHD_REG"))
    assert st(full25, patient(DX), "DM023", PPED_25) == ("excluded_from_population", "CVDNOHIST")
    assert st(full25, patient(DX, ev(STATIN, date(2025, 1, 1)), **cvd), "DM023", PPED_25) == NUM
    haem = patient(DX, ev(HSTRK, date(2020, 1, 1)))
    assert st(full25, haem, "DM023", PPED_25) == ("excluded_from_population", "HSTRK")
    assert st(full25, patient(DX, **cvd), "DM023", PPED_25) == DEN


@pytest.mark.covers("DM034", "DM035", year="2025-26")
def test_dm034_dm035_other_llt_counts_if_statin_declined_or_unsuitable(full26):
    old = dict(dob=date(1970, 1, 1))
    llt = ev(OTHER_LLT, date(2026, 1, 1))
    assert st(full26, patient(DX, llt, **old), "DM034") == DEN
    assert st(full26, patient(DX, llt, ev(STATINDEC, date(2025, 6, 1)), **old), "DM034") == NUM
    assert st(full26, patient(DX, llt, ev(XSTAT, date(2015, 6, 1)), **old), "DM034") == NUM
    both_dec = patient(DX, ev(STATINDEC, date(2025, 6, 1)), ev(T("LLTDEC_COD"), date(2025, 6, 1)), **old)
    assert st(full26, both_dec, "DM034") == ("pca", "OLLTCONDEC")
    # statin declined alone no longer removes the patient (an LLT can still be offered)
    assert st(full26, patient(DX, ev(STATINDEC, date(2025, 6, 1)), **old), "DM034") == DEN
    cvd = dict(registers=("DM_REG", "CHD_REG"))
    assert st(full26, patient(DX, ev(CHD, date(2018, 1, 1)), llt, ev(XSTAT, date(2015, 6, 1)), **cvd), "DM035") == NUM
    assert st(full26, patient(DX, ev(STATIN, date(2025, 10, 1)), **cvd), "DM035") == NUM
    assert st(full26, patient(DX, **cvd), "DM034") == ("excluded_from_population", "CVDHIST")
    assert st(full26, patient(DX, ev(T("CHOLMAX_COD"), date(2025, 6, 1)), **cvd), "DM035") == ("pca", "CHOLMAX")

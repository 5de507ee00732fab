"""Mental health and dementia golden tests: MH002, MH003, MH006, MH007, MH011, MH012, DEM004."""

from __future__ import annotations

from datetime import date

import pytest

from .conftest import DEN, HBA1C, NUM, SYS, T, ev, patient, st

SCHIZ = "58214004"  # MH_COD schizophrenia
BMI = "60621009"  # BMIVAL_COD
CHOL = "1005671000000105"  # CHOL2_COD serum cholesterol
DEM = "52448006"  # DEM_COD dementia
BP = "72313002"  # BP_COD systolic arterial pressure
MHREG = ("MH1_REG",)


def _mh(*events, **kw):
    return patient(ev(SCHIZ, date(2012, 1, 1)), *events, **{"registers": MHREG, **kw})


def test_mh_and_dementia_incomplete_without_unpublished_clusters(q26):
    for ind in ("MH002", "MH003", "MH006", "MH007", "MH011", "MH012"):
        assert q26.readiness[ind].readiness == "incomplete" and "MHREM_COD" in q26.incomplete[ind]
    assert "DEMCPRVW_COD" in q26.incomplete["DEM004"]


@pytest.mark.covers("MH002", "MH003", "MH006", "MH007", "MH012", year="2025-26")
@pytest.mark.parametrize(
    ("ind", "done", "decline", "field"),
    [
        ("MH002", lambda d: ev(T("MHP_COD"), d), None, None),
        ("MH003", lambda d: ev(BP, d, 120.0), "413123006", "BPDEC"),
        ("MH006", lambda d: ev(BMI, d, 27.0), T("BMIDEC_COD"), "BMIDEC"),
        ("MH007", lambda d: ev(T("ALC_COD"), d), T("ALCSCRNDEC_COD"), "ALCDEC"),
        ("MH012", lambda d: ev(HBA1C, d, 40.0), T("GLUCDEC_COD"), "GLUCDEC"),
    ],
)
def test_mh_checks_in_12_months_pcas_and_remission(full26, ind, done, decline, field):
    assert st(full26, _mh(done(date(2025, 4, 1))), ind) == NUM
    assert st(full26, _mh(done(date(2025, 3, 31))), ind) == DEN
    if decline:
        assert st(full26, _mh(ev(decline, date(2025, 6, 1))), ind) == ("pca", field)
        assert st(full26, _mh(ev(decline, date(2025, 6, 1)), done(date(2025, 9, 1))), ind) == NUM
    assert st(full26, _mh(ev(T("MHPCAPU_COD"), date(2025, 6, 1))), ind) == ("pca", "MHPCAPU")
    assert st(full26, _mh(ev(T("MHPCADEC_COD"), date(2025, 6, 1))), ind) == ("pca", "MHPCADEC")
    inv = T("MHINVITE_COD")
    assert st(full26, _mh(ev(inv, date(2025, 6, 1)), ev(inv, date(2025, 6, 8))), ind) == ("pca", "MHINVITE")
    assert st(full26, _mh(ev(inv, date(2025, 6, 1)), ev(inv, date(2025, 6, 7))), ind) == DEN
    rem = _mh(ev(T("MHREM_COD"), date(2020, 1, 1)), done(date(2025, 9, 1)))
    assert st(full26, rem, ind) == ("excluded_from_population", "MHREM_DAT")
    relapse = _mh(ev(T("MHREM_COD"), date(2020, 1, 1)), ev(SCHIZ, date(2023, 1, 1)))
    assert st(full26, relapse, ind) == DEN
    assert st(full26, patient(ev(SCHIZ, date(2026, 1, 1)), registers=MHREG), ind) == ("pca", "DIAG1_DAT")
    assert st(full26, _mh(registered_on=date(2026, 1, 1)), ind) == ("pca", "REG1_DAT3")


@pytest.mark.covers("MH003", year="2025-26")
def test_mh003_any_bp_reading_counts(full26):
    assert st(full26, _mh(ev(SYS, date(2025, 10, 1), 180.0)), "MH003") == NUM


@pytest.mark.covers("MH011", year="2025-26")
def test_mh011_lipid_profile_window(full26):
    assert st(full26, _mh(ev(CHOL, date(2025, 10, 1), 5.0)), "MH011") == NUM
    # 24 months for patients without risk factors; the risk-factor split to 12 months is not modelled [U]
    assert st(full26, _mh(ev(CHOL, date(2024, 4, 1), 5.0)), "MH011") == NUM
    assert st(full26, _mh(ev(CHOL, date(2024, 3, 31), 5.0)), "MH011") == DEN
    assert st(full26, _mh(ev(T("CHOLDEC_COD"), date(2025, 6, 1))), "MH011") == ("pca", "CHOLDEC")


@pytest.mark.covers("MH012", year="2025-26")
def test_mh012_excludes_the_diabetes_register(full26):
    dm = _mh(registers=("MH1_REG", "DM_REG"))
    assert st(full26, dm, "MH012") == ("excluded_from_population", "DM_DAT4")
    assert st(full26, _mh(ev(T("GLUC_COD"), date(2025, 6, 1), 5.5)), "MH012") == NUM


def _dem(*events, **kw):
    return patient(ev(DEM, date(2019, 1, 1)), *events, **{"registers": ("DEM_REG",), **kw})


@pytest.mark.covers("DEM004", year="2025-26")
def test_dem004_care_plan_review(full26):
    rvw = T("DEMCPRVW_COD")
    assert st(full26, _dem(ev(rvw, date(2025, 4, 1))), "DEM004") == NUM
    assert st(full26, _dem(ev(rvw, date(2025, 3, 31))), "DEM004") == DEN
    assert st(full26, _dem(ev(T("DEMCPDEC_COD"), date(2025, 5, 1))), "DEM004") == ("pca", "DEMCPDEC")
    assert st(full26, _dem(ev(T("DEMCPRVWDEC_COD"), date(2025, 5, 1))), "DEM004") == ("pca", "DEMCPDEC")
    assert st(full26, _dem(ev(T("DEMPCAPU_COD"), date(2025, 5, 1))), "DEM004") == ("pca", "DEMPCAPU")
    assert st(full26, _dem(ev(T("DEMPCADEC_COD"), date(2025, 5, 1)), ev(rvw, date(2025, 8, 1))), "DEM004") == NUM
    inv = T("DEMINVITE_COD")
    assert st(full26, _dem(ev(inv, date(2025, 5, 1)), ev(inv, date(2025, 5, 8))), "DEM004") == ("pca", "DEMINVITE")
    assert st(full26, patient(ev(DEM, date(2026, 3, 31)), registers=("DEM_REG",)), "DEM004") == ("pca", "DIAG1_DAT")

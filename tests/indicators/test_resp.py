"""Respiratory golden tests: AST007, AST011 (2024/25) and AST012 (2025/26) diagnosis windows, COPD010."""

from __future__ import annotations

from datetime import date

import pytest

from .conftest import DEN, NUM, PPED_25, T, ev, outcome, patient, st

AST = "195967001"  # AST_COD asthma
ASTRVW = "270442000"  # ASTRVW_COD asthma monitoring check done
COPD = "13645005"  # COPD_COD
COPDRVW = "394703002"  # COPDRVW_COD
COPDINVITE = "1066231000000103"  # COPDINVITE_COD
ASTREG = ("AST_REG",)
ASTCONTASS = "443117005"  # ASTCONTASS_COD asthma control test score (real refset code)
ASTEXACB = "366874008"  # ASTEXACB_COD number of asthma exacerbations in past year (real refset code)
WRITPASTP = "527171000000103"  # WRITPASTP_COD written asthma personal action plan (real refset code)
ASTMONDEC = "763221007"  # ASTMONDEC_COD asthma monitoring refused (real refset code)
ASTPCAPU = "717291000000103"  # ASTPCAPU_COD excepted from asthma indicators - patient unsuitable (real refset code)
ASTPCADEC = "716491000000100"  # ASTPCADEC_COD excepted from asthma indicators - informed dissent (real refset code)
ASTINVITE = "185731000"  # ASTINVITE_COD asthma monitoring call first letter (real refset code)


def _ast(*events, dx: date = date(2015, 1, 1), **kw):
    return patient(ev(AST, dx), *events, **{"registers": ASTREG, **kw})


def _review(day: date):
    return (ev(ASTRVW, day), ev(ASTCONTASS, day), ev(ASTEXACB, day), ev(WRITPASTP, day))


def test_respiratory_indicators_incomplete_without_unpublished_clusters(q25, q26):
    # the AST007 clusters (ASTCONTASS, ASTEXACB, WRITPASTP, ASTMONDEC, ASTPCA*, ASTINVITE) are public refsets now;
    # AST007 is scorable, flagged stand-in because ASTRVW_COD is still an OpenSAFELY list
    assert "AST007" not in q26.incomplete and q26.readiness["AST007"].readiness == "stand-in"
    assert "FENO_COD" in q26.incomplete["AST012"] and "ASTSPIR_COD" in q25.incomplete["AST011"]
    assert "MRC_COD" in q26.incomplete["COPD010"]


@pytest.mark.covers("AST007", year="2025-26")
def test_ast007_review_needs_every_element_in_12_months(full26):
    assert st(full26, _ast(*_review(date(2025, 4, 1))), "AST007") == NUM
    assert st(full26, _ast(*_review(date(2025, 3, 31))), "AST007") == DEN
    assert st(full26, _ast(*_review(date(2025, 9, 1))[:3]), "AST007") == DEN  # no written plan
    assert st(full26, _ast(ev(ASTMONDEC, date(2025, 9, 1))), "AST007") == ("pca", "ASTMONDEC")
    assert st(full26, _ast(ev(ASTPCAPU, date(2025, 9, 1))), "AST007") == ("pca", "ASTPCAPU")
    assert st(full26, _ast(ev(ASTPCADEC, date(2025, 9, 1)), *_review(date(2025, 10, 1))), "AST007") == NUM
    inv = ASTINVITE
    assert st(full26, _ast(ev(inv, date(2025, 9, 1)), ev(inv, date(2025, 9, 8))), "AST007") == ("pca", "ASTINVITE1")
    assert st(full26, _ast(ev(inv, date(2025, 9, 1)), ev(inv, date(2025, 9, 7))), "AST007") == DEN
    assert st(full26, _ast(dx=date(2026, 1, 1)), "AST007") == ("pca", "DIAG1_DAT")
    assert st(full26, _ast(registered_on=date(2026, 1, 1)), "AST007") == ("pca", "REG1_DAT3")


@pytest.mark.covers("AST011", year="2024-25")
def test_ast011_spirometry_and_one_other_test_3_months_before_to_6_months_after(full25):
    spir, feno = T("ASTSPIR_COD"), T("FENO_COD")
    dx = date(2024, 1, 15)
    ok = _ast(ev(spir, date(2023, 10, 15)), ev(feno, date(2024, 7, 15)), dx=dx)
    assert st(full25, ok, "AST011", PPED_25) == NUM
    early = _ast(ev(spir, date(2023, 10, 14)), ev(feno, date(2024, 2, 1)), dx=dx)
    assert st(full25, early, "AST011", PPED_25) == DEN
    late = _ast(ev(spir, date(2024, 2, 1)), ev(feno, date(2024, 7, 16)), dx=dx)
    assert st(full25, late, "AST011", PPED_25) == DEN
    assert st(full25, _ast(ev(spir, date(2024, 2, 1)), dx=dx), "AST011", PPED_25) == DEN  # one test only
    old = _ast(dx=date(2023, 3, 31))
    assert st(full25, old, "AST011", PPED_25) == ("excluded_from_population", "DIAG_DAT23")
    assert st(full25, _ast(dx=date(2023, 4, 1)), "AST011", PPED_25) == DEN
    assert st(full25, _ast(ev(T("SPIRPU_COD"), date(2024, 6, 1)), dx=dx), "AST011", PPED_25) == ("pca", "SPIRPUSP1")


@pytest.mark.covers("AST012", year="2025-26")
def test_ast012_one_objective_test_3_months_either_side_of_a_diagnosis_from_april_2025(full26):
    feno, pefr = T("FENO_COD"), T("PEFR_COD")
    dx = date(2025, 6, 15)
    assert st(full26, _ast(ev(feno, date(2025, 3, 15)), dx=dx), "AST012") == NUM
    assert st(full26, _ast(ev(pefr, date(2025, 9, 15)), dx=dx), "AST012") == NUM
    assert st(full26, _ast(ev(pefr, date(2025, 9, 16)), dx=dx), "AST012") == DEN
    assert st(full26, _ast(ev(feno, date(2025, 3, 14)), dx=dx), "AST012") == DEN
    before = _ast(dx=date(2025, 3, 31))
    assert st(full26, before, "AST012") == ("excluded_from_population", "DIAG_DAT25")
    assert st(full26, _ast(dx=date(2025, 4, 1)), "AST012") == DEN
    gap = outcome(full26, _ast(dx=dx), "AST012")
    assert gap.gap.deadline == date(2025, 9, 15)
    assert st(full26, _ast(dx=date(2026, 1, 1)), "AST012") == ("pca", "DIAG1_DAT")


def _copd(*events, **kw):
    return patient(ev(COPD, date(2015, 1, 1)), *events, **{"registers": ("COPD_REG",), **kw})


@pytest.mark.covers("COPD010", year="2025-26")
def test_copd010_review_with_exacerbations_and_mrc(full26):
    day = date(2025, 11, 1)
    full = (ev(COPDRVW, day), ev(T("COPDEXACB_COD"), day), ev(T("MRC_COD"), day, 3))
    assert st(full26, _copd(*full), "COPD010") == NUM
    assert st(full26, _copd(*full[:2]), "COPD010") == DEN
    assert st(full26, _copd(ev(COPDRVW, date(2025, 3, 31)), *full[1:]), "COPD010") == DEN
    assert st(full26, _copd(ev(T("COPDPCAPU_COD"), day)), "COPD010") == ("pca", "COPDPCAPU")
    assert st(full26, _copd(ev(T("COPDPCADEC_COD"), day)), "COPD010") == ("pca", "COPDPCADEC")
    inv = (ev(COPDINVITE, date(2025, 6, 1)), ev(COPDINVITE, date(2025, 6, 8)))
    assert st(full26, _copd(*inv), "COPD010") == ("pca", "COPDINVITE")
    assert st(full26, _copd(*inv, *full), "COPD010") == NUM
    assert st(full26, patient(ev(COPD, date(2026, 2, 1)), registers=("COPD_REG",)), "COPD010") == ("pca", "DIAG1_DAT")

"""Public health golden tests: CS005/CS006, BP002, SMOK002/SMOK004, NDH002."""

from __future__ import annotations

from datetime import date

import pytest

from .conftest import DEN, HBA1C, HYP, NUM, T, ev, patient, st

SMEAR = "1020451000000104"  # SMEAR_COD (GM SDE stand-in) cervical cytology test
BP = "72313002"  # BP_COD
SYS = "100151000000109"  # SYSBP_COD sitting systolic
BPDEC = "413123006"
SMOKER, EXSMOKER, NEVER = "77176002", "8517006", "266919005"  # LSMOK_COD / EXSMOK_COD / NSMOK_COD
NDH = "700449008"


def _woman(age_on_pped: int, *events, **kw):
    return patient(*events, **{"dob": date(2026 - age_on_pped, 3, 31), "sex": "F", "registers": (), **kw})


def test_public_health_incomplete_without_unpublished_clusters(q26):
    assert "NOCX_COD" in q26.incomplete["CS005"] and "CSDEC_COD" in q26.incomplete["CS006"]
    # SMOK002 lacks only PCA / invitation clusters, but its register (SMOK1_REG) is partial: no lower bound;
    # SMOK004 lacks a success cluster
    assert "SMOKSTATDEC_COD" in q26.readiness["SMOK002"].missing and not q26.readiness["SMOK002"].lower_bound
    assert "SMOKINGINT_COD" in q26.incomplete["SMOK004"]
    assert "FASPLASGLUC_COD" in q26.incomplete["NDH002"]
    assert q26.readiness["BP002"].readiness == "ready"


@pytest.mark.covers("CS005", "CS006", year="2025-26")
def test_cs005_cs006_sex_age_bands_and_windows(full26):
    assert st(full26, _woman(25, ev(SMEAR, date(2022, 10, 1))), "CS005") == NUM  # 3y6m: from 01/10/2022
    assert st(full26, _woman(25, ev(SMEAR, date(2022, 9, 30))), "CS005") == DEN
    assert st(full26, _woman(49), "CS005") == DEN
    assert st(full26, _woman(50), "CS005") == ("excluded_from_population", "P_AGE25_49")
    assert st(full26, _woman(50, ev(SMEAR, date(2020, 10, 1))), "CS006") == NUM  # 5y6m: from 01/10/2020
    assert st(full26, _woman(50, ev(SMEAR, date(2020, 9, 30))), "CS006") == DEN
    assert st(full26, _woman(64), "CS006") == DEN
    assert st(full26, _woman(65), "CS006") is None  # off CS_REG
    assert st(full26, _woman(24), "CS005") is None
    assert st(full26, _woman(30, sex="M"), "CS005") is None
    assert st(full26, _woman(30, ev(T("NOCX_COD"), date(2010, 1, 1))), "CS005") == ("excluded_from_population", "NOCX")
    assert st(full26, _woman(30, ev(T("CSDEC_COD"), date(2025, 6, 1))), "CS005") == ("pca", "CSDEC")
    assert st(full26, _woman(30, ev(T("CSDEC_COD"), date(2025, 6, 1)), ev(SMEAR, date(2024, 1, 1))), "CS005") == NUM
    inv = T("CSPCAINVITE_COD")
    three = [ev(inv, date(2025, 5, 1)), ev(inv, date(2025, 5, 8)), ev(inv, date(2025, 5, 15))]
    assert st(full26, _woman(30, *three), "CS005") == ("pca", "CSPCAINV")
    assert st(full26, _woman(30, *three[:2]), "CS005") == DEN  # three invitations needed
    assert st(full26, _woman(30, registered_on=date(2026, 1, 1)), "CS005") == ("pca", "REG1_DAT3")


@pytest.mark.covers("BP002", year="2025-26")
def test_bp002_bp_in_5_years_aged_45_and_over(full26):
    def p(*events, **kw):
        return patient(*events, **{"dob": date(1981, 3, 31), "registers": (), **kw})  # 45 on PPED

    assert st(full26, p(ev(BP, date(2021, 4, 1), 130.0)), "BP002") == NUM
    assert st(full26, p(ev(BP, date(2021, 3, 31), 130.0)), "BP002") == DEN
    assert st(full26, p(ev(SYS, date(2024, 1, 1), 130.0)), "BP002") == NUM
    assert st(full26, p(dob=date(1981, 4, 1)), "BP002") is None  # 44
    assert st(full26, p(ev(BPDEC, date(2022, 1, 1))), "BP002") == ("pca", "BPDEC1")
    # "The percentage of patients aged 45 or over who have a record of blood pressure in the
    # preceding 5 years": the population is every registered patient aged 45 or over; its only
    # exclusions are a recorded decline and late registration, so the hypertension register stays in.
    on_hyp = {"registers": ("HYP_REG",)}
    assert st(full26, p(ev(HYP, date(2010, 1, 1)), **on_hyp), "BP002") == DEN
    assert st(full26, p(ev(HYP, date(2010, 1, 1)), ev(BP, date(2025, 6, 1), 150.0), **on_hyp), "BP002") == NUM
    assert st(full26, p(registered_on=date(2026, 1, 1)), "BP002") == ("pca", "REG1_DAT3")


@pytest.mark.covers("SMOK002", year="2025-26")
def test_smok002_status_in_12_months_for_the_comorbidity_register(full26):
    def p(*events, **kw):
        return patient(*events, **{"registers": ("HYP_REG",), **kw})

    assert st(full26, p(ev(NEVER, date(2025, 4, 1))), "SMOK002") == NUM
    assert st(full26, p(ev(EXSMOKER, date(2025, 3, 31))), "SMOK002") == DEN
    assert st(full26, patient(registers=()), "SMOK002") is None  # not on SMOK1_REG
    assert st(full26, p(ev(T("SMOKSTATDEC_COD"), date(2025, 6, 1))), "SMOK002") == ("pca", "SMOKSTDEC")
    inv = T("SMOKINVITE_COD")
    assert st(full26, p(ev(inv, date(2025, 6, 1)), ev(inv, date(2025, 6, 8))), "SMOK002") == ("pca", "SMOKINVITE")
    assert st(full26, p(ev(HYP, date(2026, 1, 1))), "SMOK002") == ("pca", "DIAG1_DAT")


@pytest.mark.covers("SMOK004", year="2025-26")
def test_smok004_current_smokers_offer_in_24_months(full26):
    def p(*events, **kw):
        kw = {"registers": (), "registered_on": date(2011, 6, 1), **kw}
        return patient(ev(SMOKER, date(2024, 1, 1)), *events, **kw)

    offer = T("SMOKINGINT_COD")
    assert st(full26, p(ev(offer, date(2024, 4, 1))), "SMOK004") == NUM
    assert st(full26, p(ev(offer, date(2024, 3, 31))), "SMOK004") == DEN
    assert st(full26, p(ev(T("REFERSSSA_COD"), date(2025, 1, 1))), "SMOK004") == NUM
    quit_ = p(ev(EXSMOKER, date(2025, 1, 1)))
    assert st(full26, quit_, "SMOK004") == ("excluded_from_population", "CSMOK")
    assert st(full26, p(dob=date(2011, 4, 1)), "SMOK004") is None  # 14: not on SMOK2_REG
    assert st(full26, p(dob=date(2011, 3, 31)), "SMOK004") == DEN  # 15
    assert st(full26, p(ev(T("SMOKPCADEC_COD"), date(2025, 6, 1))), "SMOK004") == ("pca", "SMOKPCADEC")


@pytest.mark.covers("NDH002", year="2025-26")
def test_ndh002_hba1c_or_fasting_glucose(full26):
    def p(*events, **kw):
        return patient(ev(NDH, date(2020, 1, 1)), *events, **{"registers": ("NDH_REG",), **kw})

    assert st(full26, p(ev(HBA1C, date(2025, 4, 1), 44.0)), "NDH002") == NUM
    assert st(full26, p(ev(HBA1C, date(2025, 3, 31), 44.0)), "NDH002") == DEN
    assert st(full26, p(ev(T("FASPLASGLUC_COD"), date(2025, 9, 1), 6.5)), "NDH002") == NUM
    assert st(full26, p(registers=("NDH_REG", "DM_REG")), "NDH002") == ("excluded_from_population", "NDHDMIFCC")
    assert st(full26, p(ev(T("GLUCDEC_COD"), date(2025, 6, 1))), "NDH002") == ("pca", "GLUCDEC")
    assert st(full26, p(ev(T("NDHPU_COD"), date(2025, 6, 1))), "NDH002") == ("pca", "NDHPU")
    inv = T("NDHINVITE_COD")
    assert st(full26, p(ev(inv, date(2025, 6, 1)), ev(inv, date(2025, 6, 7))), "NDH002") == DEN
    assert st(full26, p(ev(inv, date(2025, 6, 1)), ev(inv, date(2025, 6, 8))), "NDH002") == ("pca", "NDHINVITE")
    assert st(full26, patient(ev(NDH, date(2026, 1, 1)), registers=("NDH_REG",)), "NDH002") == ("pca", "DIAG1_DAT")

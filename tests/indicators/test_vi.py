"""Vaccination golden tests: VI002, VI003 (no declined PCA, automatic late-registration PCA) and VI004."""

from __future__ import annotations

from datetime import date

import pytest

from services.indicators.domain import load_ruleset

from .conftest import DEN, NUM, T, ev, patient, st

SHINGRIX = "722215002"  # SHVACGP_COD (PCIT VI004 code list)


def _child(dob: date, *events, **kw):
    return patient(*events, **{"dob": dob, "registers": (), "registered_on": dob, **kw})


def test_vi_incomplete_without_unpublished_clusters(q26):
    assert "MMRVAC1_COD" in q26.incomplete["VI002"] and "DTAPIPVVACBOOST_COD" in q26.incomplete["VI003"]
    assert "SHDEC_COD" in q26.incomplete["VI004"]


def test_vi001_to_vi003_have_no_declined_pca():
    rs = load_ruleset("qof-2025-26")
    for ind in ("VI001", "VI002", "VI003"):
        rules = rs.indicator(ind).rules
        fields = {s.if_true.field for s in rules} | {s.if_false.field for s in rules}
        assert not any(f and "DEC" in f for f in fields), ind
    assert "SHDECU80" in {s.if_true.field for s in rs.indicator("VI004").rules}


@pytest.mark.covers("VI002", year="2025-26")
def test_vi002_one_mmr_between_12_and_18_months(full26):
    mmr = T("MMRVAC1_COD")
    dob = date(2024, 6, 15)  # reaches 18 months on 15/12/2025
    assert st(full26, _child(dob, ev(mmr, date(2025, 6, 15))), "VI002") == NUM  # first birthday
    assert st(full26, _child(dob, ev(mmr, date(2025, 6, 14))), "VI002") == DEN  # before 1 year
    assert st(full26, _child(dob, ev(mmr, date(2025, 12, 15))), "VI002") == DEN  # at 18 months: too late
    assert st(full26, _child(date(2023, 9, 30)), "VI002") is None  # reached 18 months before the year
    assert st(full26, _child(date(2023, 10, 1)), "VI002") == DEN  # reached 18 months on 01/04/2025
    con = _child(dob, ev(T("MMRCON_COD"), date(2025, 7, 1)))
    assert st(full26, con, "VI002") == ("pca", "MMRCON")
    late = _child(dob, registered_on=date(2025, 12, 15))
    assert st(full26, late, "VI002") == ("pca", "PCAMMR1")
    assert st(full26, _child(dob, registered_on=date(2025, 12, 14)), "VI002") == DEN
    # success overrides the late-registration PCA
    assert st(full26, _child(dob, ev(mmr, date(2025, 7, 1)), registered_on=date(2025, 12, 15)), "VI002") == NUM


@pytest.mark.covers("VI003", year="2025-26")
def test_vi003_booster_and_two_mmr_between_1_and_5(full26):
    boost, mmr1, mmr2 = T("DTAPIPVVACBOOST_COD"), T("MMRVAC1_COD"), T("MMRVAC2_COD")
    dob = date(2020, 10, 1)  # 5 on 01/10/2025
    done = (ev(boost, date(2024, 1, 1)), ev(mmr1, date(2021, 10, 1)), ev(mmr2, date(2024, 1, 1)))
    assert st(full26, _child(dob, *done), "VI003") == NUM
    assert st(full26, _child(dob, *done[:2]), "VI003") == DEN  # one MMR
    assert st(full26, _child(dob, *done[1:]), "VI003") == DEN  # no booster
    early = (ev(boost, date(2024, 1, 1)), ev(mmr1, date(2021, 9, 30)), ev(mmr2, date(2024, 1, 1)))
    assert st(full26, _child(dob, *early), "VI003") == DEN  # first MMR before the first birthday
    assert st(full26, _child(dob, ev(T("DTAPIPVCON_COD"), date(2023, 1, 1))), "VI003") == ("pca", "MMRDTAPCON")
    assert st(full26, _child(dob, registered_on=date(2025, 10, 1)), "VI003") == ("pca", "PCAMMRDTAP")
    one = _child(dob, ev(mmr1, date(2021, 10, 1)), registered_on=date(2025, 9, 1))  # 4y11m with one dose
    assert st(full26, one, "VI003") == ("pca", "PCAMMRDTAP")
    two = _child(dob, ev(mmr1, date(2021, 10, 1)), ev(mmr2, date(2022, 1, 1)), registered_on=date(2025, 9, 1))
    assert st(full26, two, "VI003") == DEN


@pytest.mark.covers("VI004", year="2025-26")
def test_vi004_shingles_70_to_79_and_declined_counts(full26):
    dob = date(1945, 9, 1)  # 80 on 01/09/2025
    assert st(full26, _child(dob, ev(SHINGRIX, date(2015, 9, 1)), registered_on=date(2000, 1, 1)), "VI004") == NUM
    assert st(full26, _child(dob, ev(SHINGRIX, date(2015, 8, 31)), registered_on=date(2000, 1, 1)), "VI004") == DEN
    assert st(full26, _child(dob, ev(SHINGRIX, date(2025, 9, 1)), registered_on=date(2000, 1, 1)), "VI004") == DEN
    dec = _child(dob, ev(T("SHDEC_COD"), date(2020, 1, 1)), registered_on=date(2000, 1, 1))
    assert st(full26, dec, "VI004") == ("pca", "SHDECU80")
    dec_after = _child(dob, ev(T("SHDEC_COD"), date(2025, 10, 1)), registered_on=date(2000, 1, 1))
    assert st(full26, dec_after, "VI004") == DEN  # declined after turning 80
    con = _child(dob, ev(T("SHCON_COD"), date(2010, 1, 1)), registered_on=date(2000, 1, 1))
    assert st(full26, con, "VI004") == ("pca", "SHCON")
    both = _child(dob, ev(T("SHDEC_COD"), date(2020, 1, 1)), ev(SHINGRIX, date(2021, 1, 1)),
                  registered_on=date(2000, 1, 1))
    assert st(full26, both, "VI004") == NUM
    assert st(full26, _child(date(1946, 4, 1), registered_on=date(2000, 1, 1)), "VI004") is None  # 79

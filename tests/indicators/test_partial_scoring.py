"""Honest partial scoring (issue 8): "an indicator whose only missing clusters feed PCA, invitation or
exception steps is scored as *provisional (lower bound)*, naming what is missing; its points and £ are
flagged; totals show confirmed, provisional and incomplete points apart. Missing register or success clusters
still make it incomplete."

The lower bound holds because a patient a PCA step would have adjusted out stays in the denominator: the
achievement ``numerator ÷ (denominator − PCAs)`` (QOF_RULES.md §4) can then only be lower.
"""

from __future__ import annotations

from datetime import date

import pytest

from services.indicators.domain import PracticeContext, load_ruleset, score_indicator
from services.indicators.domain.partial import lower_bound_blockers, only_adds_truth
from services.indicators.domain.ruleset import NEXT, Action, RuleStep

from .conftest import DEN, NUM, T, ev, patient, st

CHD = "22298006"  # CHD_COD myocardial infarction
ASPIRIN = "10063011000001103"  # ANTIPLAT_COD aspirin 75mg
PCA = Action("reject", "pca", "XPCA")
EXCL = Action("reject", "exclusion", "XEXC")
SELECT = Action("select", "numerator")
DENOM = Action("select", "denominator")


def _chd(*events, pid="p1"):
    return patient(ev(CHD, date(2015, 1, 1)), *events, registers=("CHD_REG",), pid=pid)


@pytest.mark.covers("CHD005", year="2025-26")
def test_pca_only_gaps_are_provisional_naming_the_missing_clusters(q26):
    r = q26.readiness["CHD005"]  # rules 2-6: SALDEC, XSAL/XCLO, CHDPCAPU, CHDPCADEC, CHDINVITE: all PCA steps
    assert r.readiness == "provisional" and r.lower_bound
    assert {"SALDEC_COD", "CHDPCAPU_COD", "CHDPCADEC_COD", "CHDINVITE_COD"} <= set(r.missing)
    assert not r.not_a_lower_bound
    # scored: the patient on aspirin is in the numerator, one without in the denominator
    assert st(q26, _chd(ev(ASPIRIN, date(2025, 6, 1))), "CHD005") == NUM
    assert st(q26, _chd(), "CHD005") == DEN


def test_missing_success_or_exclusion_clusters_stay_incomplete_with_the_reason(q26):
    dm012 = q26.readiness["DM012"]  # FRC_COD feeds the success step (foot check)
    assert dm012.readiness == "incomplete" and "FRC_COD" in dm012.missing
    assert any("FRC_COD" in why and "numerator" in why for why in dm012.not_a_lower_bound)
    mh003 = q26.readiness["MH003"]  # MHREM_COD: "Reject patients in remission" is an exclusion, not a PCA
    assert mh003.readiness == "incomplete"
    assert any("MHREM_COD" in why and "exclusion" in why for why in mh003.not_a_lower_bound)
    hf003 = q26.readiness["HF003"]  # REDEJCFRAC_COD dates the diagnosis: its codes can also keep a patient in
    assert hf003.readiness == "incomplete"
    assert any("REDEJCFRAC_COD" in why for why in hf003.not_a_lower_bound)


@pytest.mark.covers("CHD005", year="2025-26")
def test_a_partial_register_keeps_a_pca_only_gap_incomplete(q26):
    """"Missing register ... clusters still make it incomplete": SMOK002 misses only PCA and invitation
    clusters, but its comorbidity register cannot test COPD confirmation (FEV1FVCL70_COD) or mental-health
    remission (MHREM_COD), so its denominator is not the published one and no bound holds."""
    r = q26.readiness["SMOK002"]
    assert r.readiness == "incomplete"
    (why,) = r.not_a_lower_bound
    assert why.startswith("the register SMOK1_REG lacks") and "FEV1FVCL70_COD" in why and "MHREM_COD" in why


def test_provisional_achievement_is_a_lower_bound_of_the_full_chain(q26, full26):
    """The same practice scored without and with the PCA clusters: only the PCA'd patients move, into the
    denominator, so achievement and points can only be lower without them."""
    practice = [
        _chd(ev(ASPIRIN, date(2025, 6, 1)), pid="on-aspirin"),
        _chd(ev(ASPIRIN, date(2025, 9, 1)), ev(T("CHDPCADEC_COD"), date(2025, 5, 1)), pid="aspirin-and-declined"),
        _chd(ev(T("CHDPCADEC_COD"), date(2025, 5, 1)), pid="declined"),
        _chd(ev(T("SALDEC_COD"), date(2025, 5, 1)), pid="declined-aspirin"),
        _chd(pid="gap"),
    ]
    on = date(2026, 3, 31)
    ind = load_ruleset("qof-2025-26").indicator("CHD005")
    ctx = PracticeContext(list_size=5000, register_sizes={"CHD": 5})
    settings = load_ruleset("qof-2025-26").settings
    full = score_indicator(ind, [o for p in practice for o in full26.evaluate(p, on)], ctx, settings)
    part = score_indicator(ind, [o for p in practice for o in q26.evaluate(p, on)], ctx, settings)
    assert (full.numerator, full.denominator, full.pcas) == (2, 3, {"CHDPCADEC": 1, "SALDEC": 1})
    assert (part.numerator, part.denominator, part.pcas) == (2, 5, {})
    assert part.achievement_pct is not None and full.achievement_pct is not None
    assert part.achievement_pct < full.achievement_pct and part.points <= full.points
    assert part.value_gbp <= full.value_gbp


def _step(n: str, test: dict, if_true: Action, if_false: Action = NEXT) -> RuleStep:
    return RuleStep(n, f"rule {n}", test, if_true, if_false)


def _with_rules(*steps: RuleStep):
    import dataclasses

    return dataclasses.replace(load_ruleset("qof-2025-26").indicator("CHD005"), rules=steps)


HAS_X = {"has": {"clusters": ["X_COD"], "window": "12m"}}
HAS_OK = {"has": {"clusters": ["OK_COD"], "window": "12m"}}
REST = _step("3", {"age": {"at_least": 0}}, DENOM)


def test_a_pca_step_ahead_of_a_success_step_is_not_a_lower_bound():
    # a patient the PCA would have taken out could reach the numerator instead: the bound fails
    ahead = _with_rules(_step("1", HAS_X, PCA), _step("2", HAS_OK, SELECT), REST)
    assert lower_bound_blockers(ahead, ["X_COD"]) == ["rule 1 (X_COD): a later step can still select the numerator"]
    behind = _with_rules(_step("1", HAS_OK, SELECT), _step("2", HAS_X, PCA), REST)
    assert lower_bound_blockers(behind, ["X_COD"]) == []


def test_only_tests_whose_codes_can_only_add_a_pca_allow_the_bound():
    assert only_adds_truth(HAS_X, "X_COD")
    assert only_adds_truth({"invited": {"clusters": ["X_COD"], "after_latest": {"clusters": ["OK_COD"]}}}, "X_COD")
    assert not only_adds_truth({"invited": {"clusters": ["OK_COD"], "after_latest": {"clusters": ["X_COD"]}}},
                               "X_COD")
    assert not only_adds_truth({"not": HAS_X}, "X_COD")
    assert not only_adds_truth({"latest_is": {"clusters": ["X_COD"], "among": ["X_COD", "OK_COD"]}}, "X_COD")
    assert not only_adds_truth({"first_within": {"clusters": ["X_COD"], "window": "3m"}}, "X_COD")
    assert only_adds_truth({"any": [HAS_OK, {"all": [HAS_X, {"age": {"at_least": 18}}]}]}, "X_COD")
    negated = _with_rules(_step("1", HAS_OK, SELECT), _step("2", {"not": HAS_X}, PCA))
    assert lower_bound_blockers(negated, ["X_COD"]) == [
        "rule 2 (X_COD): its codes could also keep a patient from the PCA"
    ]
    excluded = _with_rules(_step("1", HAS_X, EXCL), _step("2", HAS_OK, SELECT, DENOM))
    assert lower_bound_blockers(excluded, ["X_COD"])[0].startswith("rule 1 (X_COD) is not a PCA step")

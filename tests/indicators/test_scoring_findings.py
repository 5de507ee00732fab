"""Silent zeros are findings (issue 8): "where a success rule needs codes the practice has never recorded (e.g.
asthma review components), or a cluster is served by a stand-in, the achievement says so and the data-quality
report lists it, instead of a bare 0%"."""

from __future__ import annotations

import pytest

from services.indicators.domain.findings import can_pass, findings_for, never_recorded

REVIEW = {"ASTRVW_COD", "ASTCONTASS_COD", "ASTEXACB_COD", "WRITPASTP_COD"}


@pytest.mark.covers("AST007", year="2025-26")
def test_asthma_review_with_a_component_never_recorded_is_a_finding(full26):
    """AST007: "Select patients who had an asthma review in the 12 months that includes an assessment of asthma
    control, the number of exacerbations and a written personalised asthma plan" — all four components."""
    ind = full26.ruleset.indicator("AST007")
    r = full26.readiness["AST007"]
    found = findings_for(ind, r, REVIEW - {"WRITPASTP_COD"})
    never = [f for f in found if f.kind == "never-recorded"]
    assert len(never) == 1 and never[0].clusters == ("WRITPASTP_COD",)
    assert "rule 1" in never[0].text and "coding gap" in never[0].text
    assert not [f for f in findings_for(ind, r, REVIEW) if f.kind == "never-recorded"]


def test_only_rules_no_patient_can_pass_are_findings(q26):
    dm020 = q26.ruleset.indicator("DM020")  # rule 2: latest IFCC-HbA1c <= 58 in the 12 months
    assert never_recorded(dm020, set()) == [("2", ("IFCCHBAM_COD",))]
    assert never_recorded(dm020, {"IFCCHBAM_COD"}) == []
    # any-of: one of the alternatives recorded is enough; all-of: every part is needed
    either = {"any": [{"has": {"clusters": ["A_COD"]}}, {"has": {"clusters": ["B_COD"]}}]}
    both = {"all": [{"has": {"clusters": ["A_COD"]}}, {"has": {"clusters": ["B_COD"]}}]}
    assert can_pass(either, {"B_COD"}) and not can_pass(both, {"B_COD"}) and can_pass(both, {"A_COD", "B_COD"})
    assert can_pass({"not": {"has": {"clusters": ["A_COD"]}}}, set())  # passes with no code at all
    bp = {"bp_at_target": {"systolic": ["S"], "diastolic": ["D"], "home": ["H"], "window": "12m",
                           "clinic": [140, 90], "home_target": [135, 85]}}
    assert not can_pass(bp, {"S"}) and can_pass(bp, {"S", "D"})


def test_stand_in_clusters_are_a_finding_naming_the_stand_in(q26):
    r = q26.readiness["DM006"]  # ACE-I / ARB drug clusters are served by stand-ins (aliases.csv)
    assert r.readiness == "stand-in"
    found = [f for f in findings_for(q26.ruleset.indicator("DM006"), r, None) if f.kind == "stand-in"]
    assert found and set(found[0].clusters) == set(r.stand_ins) and "stand-in" in found[0].text
    # nothing is said of codes when the practice's recorded codes were not looked up
    assert all(f.kind == "stand-in" for f in findings_for(q26.ruleset.indicator("DM006"), r, None))

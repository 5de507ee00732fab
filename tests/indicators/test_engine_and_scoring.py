"""HYP BP rules, VI with test codelists, readiness, registers, scoring, money, QI, projection, what-if."""

from __future__ import annotations

from datetime import date

import pytest

from services.indicators.domain import (
    AttestationEvidence,
    MonthPoint,
    PatientOutcome,
    PracticeContext,
    RuleSetError,
    Trace,
    UnknownRuleSet,
    apdf,
    available_rulesets,
    compare_rulesets,
    compile_ruleset,
    cpi,
    indicator_value,
    load_contract,
    load_ruleset,
    points_for,
    project_year_end,
    registers_for,
    score_attestation,
    score_indicator,
    score_practice,
)
from services.indicators.domain.ruleset import parse_ruleset

from .conftest import (
    DIA,
    DM,
    HBA1C,
    HOME,
    HTMAX,
    HYP,
    HYPINVITE,
    HYPPCADEC,
    PPED_26,
    SYS,
    T,
    ev,
    outcome,
    patient,
)

HYPREG = ("HYP_REG",)


def bp(d: date, s: float, di: float, home: bool = False):
    out = [ev(SYS, d, s), ev(DIA, d, di)]
    return (*out, ev(HOME, d)) if home else tuple(out)


def test_rule_sets_load_with_expected_totals():
    assert {"qof-2024-25", "qof-2025-26", "local-somerset-style-2025-26"} <= set(available_rulesets())
    r24, r26 = load_ruleset("qof-2024-25"), load_ruleset("qof-2025-26")
    assert (len(r24.indicators), r24.total_points) == (76, 635)
    assert (len(r26.indicators), r26.total_points) == (44, 564)
    assert r26.indicator("HYP008").points.value == 38 and r26.indicator("HYP008").points.confidence == "V"
    assert r26.indicator("DM020").lower_threshold.confidence == "U"
    assert r24.settings.pound_per_point.value == 220.62 and r26.settings.pound_per_point.value == 225.49
    assert "2020-21" in r26.settings.national_prevalence.basis
    assert sum(i.points.value for i in r24.indicators if i.income_protected) == 212


def test_errors_carry_hints():
    with pytest.raises(UnknownRuleSet, match="did you mean 'qof-2025-26'"):
        load_ruleset("qof-2025-2")
    bad = {
        "id": "x",
        "inherits": "qof-2024-25",
        "retire": [],
        "indicators": [
            {"id": "DM020", "extends": "DM020", "rules": [{"test": {"latest_val": {}}, "if_true": "next"}]}
        ],
    }
    with pytest.raises(RuleSetError, match="latest_value"):
        parse_ruleset(bad)


@pytest.mark.covers("HYP008", year="2025-26")
def test_bp_both_components_must_be_at_target(q26):
    assert (
        outcome(q26, patient(*bp(date(2025, 12, 1), 140, 90), registers=HYPREG), "HYP008").status
        == "numerator"
    )
    assert (
        outcome(q26, patient(*bp(date(2025, 12, 1), 141, 80), registers=HYPREG), "HYP008").status
        == "denominator_only"
    )
    assert (
        outcome(q26, patient(*bp(date(2025, 12, 1), 130, 91), registers=HYPREG), "HYP008").status
        == "denominator_only"
    )


@pytest.mark.covers("HYP008", "HYP009", year="2025-26")
def test_home_bp_equivalents_135_85_and_145_85(q26):
    young = patient(*bp(date(2025, 12, 1), 136, 80, home=True), registers=HYPREG)
    assert outcome(q26, young, "HYP008").status == "denominator_only"
    assert (
        outcome(q26, patient(*bp(date(2025, 12, 1), 135, 85, home=True), registers=HYPREG), "HYP008").status
        == "numerator"
    )
    old = dict(dob=date(1940, 1, 1), registers=HYPREG)
    assert (
        outcome(q26, patient(*bp(date(2025, 12, 1), 145, 85, home=True), **old), "HYP009").status
        == "numerator"
    )
    assert (
        outcome(q26, patient(*bp(date(2025, 12, 1), 146, 85, home=True), **old), "HYP009").status
        == "denominator_only"
    )
    assert outcome(q26, patient(*bp(date(2025, 12, 1), 150, 90), **old), "HYP009").status == "numerator"


@pytest.mark.covers("HYP008", year="2025-26")
def test_age_split_between_hyp008_and_hyp009(q26):
    p = patient(*bp(date(2025, 12, 1), 120, 70), dob=date(1940, 1, 1), registers=HYPREG)
    o = outcome(q26, p, "HYP008")
    assert (o.status, o.field) == ("excluded_from_population", "PAT_AGEO79")


@pytest.mark.covers("HYP008", year="2025-26")
def test_hyp_pcas_and_latest_reading_overrides(q26):
    assert outcome(q26, patient(ev(HTMAX, date(2025, 5, 1)), registers=HYPREG), "HYP008").field == "HTMAX"
    assert (
        outcome(q26, patient(ev(HYPPCADEC, date(2025, 5, 1)), registers=HYPREG), "HYP008").field
        == "HYPPCADEC"
    )
    invited = patient(ev(HYPINVITE, date(2025, 9, 1)), ev(HYPINVITE, date(2025, 9, 8)), registers=HYPREG)
    assert outcome(q26, invited, "HYP008").field == "HYPBPINV"
    p = patient(*bp(date(2025, 6, 1), 120, 70), *bp(date(2026, 2, 1), 160, 95), registers=HYPREG)
    o = outcome(q26, p, "HYP008")
    assert (
        o.status == "denominator_only" and o.trace.evidence is None and o.stand_in_clusters == ("HOMEBP_COD",)
    )


def test_incomplete_indicators_name_missing_clusters_and_are_not_scored(q26):
    assert q26.readiness["VI001"].readiness == "incomplete"
    assert "6IN1VAC_COD" in q26.incomplete["VI001"]
    assert q26.readiness["HYP008"].readiness == "stand-in"
    p = patient(dob=date(2025, 1, 1), registers=(), registered_on=date(2025, 1, 1))
    assert all(o.indicator_id != "VI001" for o in q26.evaluate(p, PPED_26))
    scores = {s.indicator_id: s for s in score_practice(q26, [], PracticeContext(list_size=10000))}
    assert scores["VI001"].status == "incomplete" and "DTPCON_COD" in scores["VI001"].missing_clusters


def test_codes_are_those_the_scorable_rules_read(q26):
    assert {SYS, DIA, HOME, HYPINVITE, HBA1C} <= q26.codes
    other = T("NO_CLUSTER")
    assert other not in q26.codes
    assert HEX not in q26.codes  # VI001 is incomplete, so its vaccine codes are not read
    assert q26.index([ev(SYS, date(2025, 5, 1), 120), ev(other, date(2025, 5, 1))], PPED_26).keys() == {
        "SYSBP_COD"
    }


HEX = "1082431000000104"  # DTaP/IPV/Hib/HepB vaccination (CPRD Aurum list)
DTPCON = "1082441000000108"


def _with_vi(library):
    library.add_export("6IN1VAC_COD", "test", f"code,term\n{HEX},hexavalent vaccination\n", source="test")
    library.add_export("5IN1VAC_COD", "test", "code,term\n", source="test")
    library.add_export("DTPCON_COD", "test", "code,term\n", source="test")
    return compile_ruleset(load_ruleset("qof-2025-26"), library)


@pytest.mark.covers("VI001", year="2025-26")
def test_vi001_success_and_late_registration(library):
    engine = _with_vi(library)
    assert engine.readiness["VI001"].readiness == "ready"
    dob = date(2025, 3, 1)  # reaches 8 months on 1 Nov 2025
    doses = [ev(HEX, date(2025, 5, 1)), ev(HEX, date(2025, 6, 1)), ev(HEX, date(2025, 7, 1))]
    child = dict(dob=dob, registers=(), registered_on=dob)
    assert outcome(engine, patient(*doses, **child), "VI001").status == "numerator"
    gap = outcome(engine, patient(*doses[:2], **child), "VI001")
    assert gap.status == "denominator_only" and gap.gap.deadline == date(2025, 11, 4)  # 248 days
    late = dict(dob=dob, registers=(), registered_on=date(2025, 9, 24))  # 207 days old: ≥186 d with ≤1 dose
    assert outcome(engine, patient(ev(HEX, date(2025, 5, 1)), **late), "VI001").field == "PCADTP"
    assert outcome(engine, patient(*doses[:2], **late), "VI001").status == "denominator_only"  # 2 doses ok
    assert outcome(engine, patient(**{**late, "registered_on": date(2025, 11, 4)}), "VI001").field == "PCADTP"
    # success overrides the late-registration PCA; no declined PCA exists
    assert outcome(engine, patient(*doses, **late), "VI001").status == "numerator"
    fields = {s.if_true.field for s in load_ruleset("qof-2025-26").indicator("VI001").rules}
    assert not any(f and "DEC" in f for f in fields)


def test_registers_from_events(library):
    evs = [ev(DM, date(2010, 1, 1)), ev(HYP, date(2012, 1, 1)), ev("162659009", date(2013, 1, 1))]
    regs = registers_for(evs, date(1960, 1, 1), PPED_26, library)
    assert "DM_REG" in regs and "HYP_REG" not in regs and "SMOK1_REG" in regs
    assert "DM_REG" not in registers_for(evs, date(2010, 1, 1), PPED_26, library)  # aged 16


def test_points_at_and_between_thresholds():
    assert points_for(None, 17, 35, 75) == 0
    assert points_for(35, 17, 35, 75) == 0
    assert points_for(55, 17, 35, 75) == pytest.approx(8.5)
    assert points_for(75, 17, 35, 75) == 17
    assert points_for(90, 17, 35, 75) == 17


def test_worked_example_af_29_points():
    # Lincs LMC 2022/23 (QOF_RULES.md §4.2): 29 × £207.56 × 1.71 × 1.45 ≈ £14,925
    assert indicator_value(29, 207.56, 1.71, 1.45) == pytest.approx(14925, abs=1)
    c, a = cpi(16000, 9374), apdf(0.0305 * 16000, 16000, 0.021)
    assert round(c, 2) == 1.71 and round(a, 2) == 1.45
    assert indicator_value(29, 207.56, c, a) == pytest.approx(14925, rel=0.002)


@pytest.mark.covers("DM020", "DM021", year="2025-26")
def test_score_indicator_counts_and_money(q26):
    dx = ev(DM, date(2015, 1, 1))
    people = [
        patient(dx, ev("1049301000000100", date(2025, 9, 1), v), pid=str(i))
        for i, v in enumerate([50, 52, 54, 70, 80])
    ]
    people.append(patient(dx, ev("716031000000106", date(2025, 9, 1)), pid="pca"))
    outs = [o for p in people for o in q26.evaluate(p, PPED_26)]
    rs = load_ruleset("qof-2025-26")
    s = score_indicator(
        rs.indicator("DM020"), outs, PracticeContext(list_size=10184, register_sizes={"DM": 611}), rs.settings
    )
    assert (s.numerator, s.denominator, s.pcas) == (3, 5, {"DMPCADEC": 1})
    assert s.achievement_pct == 60.0
    assert s.points == pytest.approx((60 - 35) / 40 * 17)
    assert s.apdf == pytest.approx((611 / 10184) / rs.settings.national_prevalence.by_group["DM"])
    assert s.value_gbp == pytest.approx(s.points * 225.49 * 1.0 * s.apdf)
    empty = score_indicator(rs.indicator("DM021"), outs, PracticeContext(list_size=10184), rs.settings)
    assert (empty.denominator, empty.points, empty.value_gbp) == (0, 0.0, 0.0)


def test_every_scorable_indicator_has_a_pound_figure():
    """CHOL and SMOK publish no national prevalence (NO_PREVALENCE_FLAG): paid CPI only, an inference marked [U]."""
    for rid in available_rulesets():
        rs = load_ruleset(rid)
        groups = {g: 100 for g in rs.settings.national_prevalence.by_group}
        ctx = PracticeContext(list_size=10184, register_sizes=groups)
        for ind in rs.indicators:
            if ind.kind == "attestation":
                continue
            s = score_indicator(ind, [outcome_of(ind.id, "numerator")], ctx, rs.settings)
            assert s.value_gbp > 0, (rid, ind.id)
    r26 = load_ruleset("qof-2025-26")
    for iid in ("CHOL003", "CHOL004", "SMOK002"):
        basis = r26.indicator(iid).prevalence_adjusted
        assert (basis.value, basis.confidence) == (False, "U")
        assert "NO_PREVALENCE_FLAG" in basis.source and "CPI only" in basis.note
        s = score_indicator(
            r26.indicator(iid), [outcome_of(iid, "numerator")], PracticeContext(list_size=20368), r26.settings
        )
        assert s.apdf is None and s.value_gbp == pytest.approx(r26.indicator(iid).points.value * 225.49 * 2.0)
    bad = {"id": "x", "inherits": "qof-2025-26", "retire": [], "indicators": [{"id": "CHOL003", "extends": "CHOL003"}]}
    bad["indicators"][0]["prevalence_adjusted"] = {"value": True, "confidence": "U", "source": "test"}
    with pytest.raises(RuleSetError, match="no national prevalence"):
        parse_ruleset(bad)


def outcome_of(indicator_id: str, status: str) -> PatientOutcome:
    return PatientOutcome(indicator_id, "p", status, None, Trace("1", "", "", None))  # type: ignore[arg-type]


def test_qi_attestation_all_or_nothing():
    rs = load_ruleset("qof-2024-25")
    qi014 = rs.indicator("QI014")
    ok = AttestationEvidence("wellbeing QI", "plan", (date(2024, 5, 1), date(2025, 2, 1)))
    assert score_attestation(qi014, ok, rs.settings, cpi=1.0).points == 10
    one = AttestationEvidence("wellbeing QI", "plan", (date(2024, 5, 1),))
    res = score_attestation(qi014, one, rs.settings, cpi=1.0)
    assert res.points == 0 and "1 of 2 network meetings" in res.reasons[0]
    assert score_attestation(rs.indicator("QI013"), ok, rs.settings, cpi=2.0).value_gbp == pytest.approx(
        27 * 220.62 * 2
    )


def test_projection_linear_and_seasonal():
    hist = [MonthPoint(m, 10.0 * m / 2) for m in range(1, 7)]  # 5% a month
    assert project_year_end(hist).achievement_pct == pytest.approx(60.0)
    ly = [5.0 * m for m in range(1, 13)]
    ly[11] = 80.0
    p = project_year_end(hist, last_year=ly)
    assert p.method == "seasonal" and p.achievement_pct == pytest.approx(30 + (80 - 30))


def test_what_if_and_contract(library):
    dx = ev(DM, date(2015, 1, 1))
    people = [patient(dx, *bp(date(2024, 12, 1), 130, 80), pid="a")]
    deltas = {
        d.indicator_id: d
        for d in compare_rulesets(
            people,
            load_ruleset("qof-2024-25"),
            load_ruleset("qof-2025-26"),
            date(2025, 3, 31),
            library,
            PracticeContext(list_size=10000, register_sizes={"DM": 600, "HYP": 1400}),
        )
    }
    assert deltas["DM033"].other is None and deltas["DM036"].base is None
    assert deltas["DM036"].points_delta == 27
    c = load_contract("A81001", "qof-2025-26", "local-somerset-style-2025-26")
    ids = [i.id for _, i in c.indicators()]
    assert "DM020" not in ids and "LDM001" in ids and c.local_scheme.reporting.frequency == "quarterly"

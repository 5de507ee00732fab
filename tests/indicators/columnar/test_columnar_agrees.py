"""Property: the columnar engine gives every patient exactly the outcomes of the per-patient engine.

For each shipped rule set, every indicator that has codes (``CompiledRuleSet.scorable``), over generated
populations: dates drawn around the rule windows' edges (payment period end, service year start, 12/15 months
back, birthdays at the population ages), codes from every rule cluster (codes in several clusters included),
values around the rules' thresholds, entries on the same day, registers in any combination. Compared per
patient and indicator: status, PCA or exclusion field and the deciding rule step.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.indicators.columnar import ColumnarRuleSet
from services.indicators.domain import CodedEvent, PatientRecord, available_rulesets, compile_ruleset, load_ruleset
from services.indicators.domain.dates import add_months, qof_year_end
from services.indicators.domain.registers import register_ids
from shared.codelists import default_library

RULESETS = [rid for rid in available_rulesets()]


def _values(test: Any, out: set[float]) -> None:
    if isinstance(test, dict):
        for k, v in test.items():
            if k in ("at_most", "below", "at_least", "above") and isinstance(v, int | float):
                out.add(float(v))
            elif k in ("clinic", "home_target"):
                out.update(float(x) for x in v)
            else:
                _values(v, out)
    elif isinstance(test, list):
        for t in test:
            _values(t, out)


def _world(ruleset_id: str) -> dict[str, Any]:
    compiled = compile_ruleset(load_ruleset(ruleset_id), default_library())
    by_cluster: dict[str, list[str]] = {}
    for code, clusters in sorted(compiled.code_clusters.items()):
        for c in clusters:
            by_cluster.setdefault(c, []).append(code)
    shared_codes = [code for code, cl in compiled.code_clusters.items() if len(cl) > 1][:40]
    codes = sorted({c for lst in by_cluster.values() for c in lst[:3]} | set(shared_codes))
    values: set[float] = set()
    for ind in compiled.scorable:
        for step in ind.rules:
            _values(step.test, values)
    edge_values = sorted({x + d for x in values for d in (-1.0, -0.5, 0.5, 1.0)})
    focus = [
        (ind.population.register, sorted({code for c in ind.clusters for code in by_cluster.get(c, [])[:2]}))
        for ind in compiled.scorable
    ]
    limits = sorted(values) or [0.0]
    return {"compiled": compiled, "codes": codes, "focus": focus, "values": edge_values or [0.0], "limits": limits}


WORLDS = {rid: _world(rid) for rid in RULESETS}


def _edges(ad: date) -> list[date]:
    pped = qof_year_end(ad)
    anchors = [ad, pped, date(pped.year - 1, 4, 1)] + [add_months(pped, -m) for m in (3, 6, 12, 15, 24, 36, 60)]
    return sorted({a + timedelta(days=d) for a in anchors for d in (-1, 0, 1)})


@st.composite
def population(draw: Any, ruleset_id: str) -> tuple[date, list[PatientRecord]]:
    world = WORLDS[ruleset_id]
    ruleset = world["compiled"].ruleset
    year = ruleset.settings
    ad = draw(st.sampled_from([year.pped, year.start + timedelta(days=200), year.pped - timedelta(days=40)]))
    edges = _edges(ad)
    day = st.one_of(
        st.sampled_from(edges),
        st.dates(ad - timedelta(days=480), ad),
        st.dates(ad - timedelta(days=480), ad),
        st.dates(ad - timedelta(days=4000), ad + timedelta(days=30)),
    )
    edge_value = st.sampled_from(world["values"])
    limit = st.sampled_from(world["limits"])
    value = st.one_of(st.none(), limit, limit, edge_value, st.floats(0, 250).map(lambda x: round(x, 1)))
    regs = sorted(r for r in register_ids() if r.endswith("_REG"))
    wanted = sorted({i.population.register for i in world["compiled"].scorable if i.population.register} or {"DM_REG"})

    @st.composite
    def patient(draw2: Any, i: int) -> PatientRecord:
        age = draw2(st.sampled_from([5, 6, 16, 17, 18, 25, 44, 45, 50, 64, 65, 79, 80, 81, 90]))
        dob = add_months(ad, -12 * age) + timedelta(days=draw2(st.sampled_from([-400, -1, 0, 1, 200])))
        reg_on = draw2(st.one_of(st.sampled_from(edges), st.just(dob), st.dates(dob, ad)))
        reg_on = max(reg_on, dob)
        left = draw2(st.one_of(st.none(), st.none(), st.sampled_from(edges)))
        died = draw2(st.one_of(st.none(), st.none(), st.none(), st.sampled_from(edges)))
        same_day = draw2(day)
        # a few codes per patient, so that what one rule reads meets what the next one reads
        register, about = draw2(st.sampled_from(world["focus"]))
        focus = about + draw2(st.lists(st.sampled_from(world["codes"]), min_size=1, max_size=3))
        mine = draw2(st.lists(limit, min_size=1, max_size=3))  # values that recur in this record
        events = draw2(
            st.lists(
                st.builds(
                    CodedEvent,
                    st.sampled_from(focus),
                    st.one_of(day, st.just(same_day)),
                    st.one_of(value, st.sampled_from(mine)),
                ),
                max_size=40,
            )
        )
        held = draw2(st.frozensets(st.sampled_from([register or "DM_REG", *wanted]), max_size=3)) | draw2(
            st.frozensets(st.sampled_from(regs), max_size=2)
        )
        sex = draw2(st.sampled_from(["F", "M", "U"]))
        return PatientRecord(f"p{i}", dob, sex, reg_on, left, died, held, tuple(events))

    size = draw(st.integers(40, 100))
    return ad, [draw(patient(i)) for i in range(size)]


Row = tuple[str, str, str, str | None, str]


def _per_patient(ruleset_id: str, ad: date, patients: list[PatientRecord]) -> set[Row]:
    compiled = WORLDS[ruleset_id]["compiled"]
    return {
        (o.patient_id, o.indicator_id, o.status, o.field, o.trace.rule)
        for p in patients
        for o in compiled.evaluate(p, ad)
    }


@pytest.mark.parametrize("ruleset_id", RULESETS)
def test_columnar_gives_the_per_patient_outcomes(ruleset_id: str) -> None:
    columnar = ColumnarRuleSet(WORLDS[ruleset_id]["compiled"])
    assert columnar.indicators, f"{ruleset_id} has no indicator with codes"

    @settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(population(ruleset_id))
    def agree(case: tuple[date, list[PatientRecord]]) -> None:
        ad, patients = case
        got = {(o.patient_id, o.indicator_id, o.status, o.field, o.rule) for o in columnar.evaluate(patients, ad)}
        want = _per_patient(ruleset_id, ad, patients)
        assert got == want, (sorted(got - want)[:5], sorted(want - got)[:5])

    agree()

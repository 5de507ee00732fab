"""The synthetic practice exercises every indicator that has codes (issue 8: "so demos and benchmarks run every
indicator that has codes"): on 10,000 patients, each indicator of 2025/26 and 2026/27 scorable with the shipped
codelists has patients in its numerator and patients left in its denominator, with registers derived from the
dated record by the year's own definitions."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date

import pytest

from services.indicators.domain import CodedEvent, PatientRecord, compile_ruleset, load_ruleset
from services.indicators.domain.registers import RegisterEvaluator
from shared.codelists import shipped_library
from shared.synthetic import SyntheticPatient

SEX = {"female": "F", "male": "M"}


@pytest.mark.parametrize(("ruleset_id", "on"), [("qof-2025-26", date(2026, 1, 15)),
                                                ("qof-2026-27", date(2026, 11, 23))])
def test_every_scorable_indicator_has_numerator_and_denominator_patients(
        practice_10k: list[SyntheticPatient], ruleset_id: str, on: date) -> None:
    library = shipped_library()
    engine = compile_ruleset(load_ruleset(ruleset_id), library)
    registers = RegisterEvaluator(library, qof_year=ruleset_id.removeprefix("qof-"))
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for r in practice_10k:
        p = r.patient
        if p["deregistered_on"] is not None:
            continue
        events = tuple(CodedEvent(e["code"], date.fromisoformat(e["effective_date"]), e.get("value"))
                       for e in r.entries)
        record = PatientRecord(f"p{r.seq}", date.fromisoformat(p["date_of_birth"]), SEX.get(p["sex"], "U"),
                               date.fromisoformat(p["registered_on"]), events=events)
        for o in engine.evaluate(record, on, registers=registers.registers(record, on)):
            counts[o.indicator_id][o.status] += 1
    quiet = {i.id: dict(counts[i.id]) for i in engine.scorable
             if i.kind == "patient" and not (counts[i.id]["numerator"] and counts[i.id]["denominator_only"])}
    assert quiet == {}

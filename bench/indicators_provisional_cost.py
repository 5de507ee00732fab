"""What scoring the provisional indicators costs: per-patient evaluation CPU time with and without them.

    .venv/bin/python bench/indicators_provisional_cost.py --patients 3000

A synthetic practice (recent history) is evaluated on ``qof-2025-26`` compiled against the shipped codelists
twice: as shipped (confirmed and provisional indicators scored) and with the provisional ones held back as
incomplete (as before partial scoring). CPU time (``time.process_time``, best of three) so that other work on
a shared machine weighs less than in wall-clock figures.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services.indicators.domain import CodedEvent, PatientRecord, load_ruleset
from services.indicators.domain import engine as engine_module
from shared.codelists import shipped_library
from shared.synthetic import SyntheticPractice

AS_OF = date(2026, 1, 15)


def patients(n: int) -> list[PatientRecord]:
    out = []
    for i, r in enumerate(SyntheticPractice("A81001", n, seed=7, history="recent", as_of=AS_OF)):
        events = tuple(CodedEvent(e["code"], date.fromisoformat(e["effective_date"]), e.get("value"))
                       for e in r.entries)
        p = r.patient
        out.append(PatientRecord(f"p{i}", date.fromisoformat(p["date_of_birth"]), "F",
                                 date.fromisoformat(p["registered_on"]),
                                 registers=frozenset(f"{c}_REG" for c in r.conditions), events=events))
    return out


def cpu_seconds(compiled: engine_module.CompiledRuleSet, people: list[PatientRecord]) -> tuple[float, int]:
    best, outcomes = float("inf"), 0
    for _ in range(3):
        start = time.process_time()
        outcomes = sum(len(compiled.evaluate(p, AS_OF)) for p in people)
        best = min(best, time.process_time() - start)
    return best, outcomes


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=3000)
    args = ap.parse_args()
    people = patients(args.patients)
    ruleset = load_ruleset("qof-2025-26")
    with_provisional = engine_module.CompiledRuleSet(ruleset, shipped_library())
    real = engine_module.lower_bound_blockers
    engine_module.lower_bound_blockers = lambda indicator, missing: ["held back"]  # type: ignore[assignment]
    try:
        without = engine_module.CompiledRuleSet(ruleset, shipped_library())
    finally:
        engine_module.lower_bound_blockers = real
    for label, compiled in (("without provisional", without), ("with provisional", with_provisional)):
        cpu, outcomes = cpu_seconds(compiled, people)
        print(f"{label}: {len(compiled.scorable)} indicators, {outcomes} outcomes, {cpu:.3f} CPU-s "
              f"for {len(people)} patients")


if __name__ == "__main__":
    main()

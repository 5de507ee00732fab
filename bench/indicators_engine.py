"""Micro benchmark: patients/second for the indicators engine over a full rule set.

    .venv/bin/python bench/indicators_engine.py --patients 10000 --ruleset qof-2025-26

Builds N synthetic PatientRecords (ages, registers and coded entries drawn at random from the rule set's own
clusters), compiles the rule set once and times ``CompiledRuleSet.evaluate`` for every patient. With
``--fill-missing`` clusters absent from the library get small synthetic codelists so every indicator runs
(measuring the cost of a complete library, not a real result).
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import date, timedelta

from services.indicators.domain import CodedEvent, PatientRecord, compile_ruleset, load_ruleset
from shared.codelists import CodelistLibrary, read_catalogue

REGISTERS = [
    "DM_REG",
    "HYP_REG",
    "CHD_REG",
    "AST_REG",
    "COPD_REG",
    "STIA_REG",
    "AFIB_REG",
    "MH1_REG",
    "CHOL_REG",
    "CHOL2_REG",
    "SMOK1_REG",
    "HF1_REG",
    "HF2_REG",
    "DEM_REG",
    "NDH_REG",
    "CKD_REG",
]
RATES = [0.075, 0.15, 0.03, 0.065, 0.02, 0.02, 0.022, 0.01, 0.06, 0.05, 0.3, 0.01, 0.005, 0.007, 0.07, 0.04]


def synthetic_patients(n: int, codes: list[str], seed: int = 1) -> list[PatientRecord]:
    rng = random.Random(seed)
    pped = date(2026, 3, 31)
    out = []
    for i in range(n):
        dob = pped - timedelta(days=rng.randint(0, 95 * 365))
        reg = dob + timedelta(days=rng.randint(0, max(0, (pped - dob).days)))
        regs = frozenset(r for r, p in zip(REGISTERS, RATES, strict=True) if rng.random() < p)
        k = rng.randint(5, 40) + 15 * len(regs)
        evs = tuple(
            CodedEvent(
                rng.choice(codes),
                pped - timedelta(days=rng.randint(0, 3 * 365)),
                round(rng.uniform(40, 160), 1) if rng.random() < 0.4 else None,
            )
            for _ in range(k)
        )
        out.append(PatientRecord(str(i), dob, rng.choice("FM"), reg, registers=regs, events=evs))  # type: ignore[arg-type]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=10_000)
    ap.add_argument("--ruleset", default="qof-2025-26")
    ap.add_argument("--fill-missing", action="store_true")
    args = ap.parse_args()
    library = CodelistLibrary(read_catalogue())
    ruleset = load_ruleset(args.ruleset)
    engine = compile_ruleset(ruleset, library)
    if args.fill_missing:
        missing = sorted({c for r in engine.readiness.values() for c in r.missing})
        for n, cluster in enumerate(missing):
            code = f"{900000 + n}"  # not SNOMED-valid on purpose: parse_codelist keeps valid ids only
            library.add_export(cluster, "bench", f"code,term\n{code},synthetic\n", source="bench")
        engine = compile_ruleset(ruleset, library)
    codes = sorted(engine._code_map)[:4000] + [
        str(10_000_000 + i) for i in range(2000)
    ]  # plus unrelated codes
    patients = synthetic_patients(args.patients, codes)
    ready = sum(r.readiness in ("ready", "stand-in") for r in engine.readiness.values())
    t0 = time.perf_counter()
    n_out = sum(len(engine.evaluate(p, date(2026, 3, 31))) for p in patients)
    dt = time.perf_counter() - t0
    print(
        f"{args.ruleset}: {ready}/{len(engine.readiness)} indicators runnable, {len(patients)} patients, "
        f"{n_out} outcomes in {dt:.2f}s = {len(patients) / dt:,.0f} patients/s (1 core)"
    )


if __name__ == "__main__":
    main()

"""Columnar recompute: every indicator that has codes over a whole population, beside plain DuckDB SQL.

    .venv/bin/python bench/indicators_columnar.py --patients 1000000
    .venv/bin/python bench/indicators_columnar.py --patients 5000

The population is generated inside DuckDB (as ``indicators_engine`` draws it: ages to 95, registers at about
national prevalence, 5-40 entries a patient plus 15 per register, codes drawn from the rule set's own
clusters, dates over three years, two in five with a value), so that a million patients cost no Python
objects. Then, on the same tables and the same connection:

- ``columnar``: the rule set compiled to SQL (``ColumnarRuleSet``), every scorable indicator, counted in DuckDB;
- ``columnar, DM020 + BP002``: the same engine with only those two indicators;
- ``plain SQL, DM020 + BP002``: those two written by hand in DuckDB SQL, with only their main rules (DM020:
  moderate or severe frailty excluded, latest IFCC-HbA1c in 12 months at most 58; BP002: aged 45 or over, a
  blood pressure in 5 years): fewer steps than the business rules the engine runs, so a floor for the engine.
Each query is run twice and the faster run kept (the first warms DuckDB's caches).
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.indicators_engine import RATES, REGISTERS
from services.indicators.columnar import ColumnarRuleSet
from services.indicators.domain import compile_ruleset, load_ruleset
from shared.codelists import default_library

AD = date(2026, 3, 31)


def generate(con, n: int, codes: list[str]) -> tuple[int, float]:
    t0 = time.perf_counter()
    regs = ", ".join(f"CASE WHEN random() < {p} THEN ['{r}'] ELSE [] END" for r, p in zip(REGISTERS, RATES,
                                                                                           strict=True))
    con.execute(f"""
        CREATE OR REPLACE TABLE patients AS
        SELECT pk, pk::VARCHAR AS pid, dob, CASE WHEN random() < 0.5 THEN 'F' ELSE 'M' END AS sex,
               dob + (random() * (DATE '{AD}' - dob))::INTEGER AS registered_on,
               NULL::DATE AS deregistered_on, NULL::DATE AS died_on, regs
        FROM (SELECT range AS pk, DATE '{AD}' - (random() * 95 * 365)::INTEGER AS dob,
                     list_concat({regs}) AS regs FROM range({n}))""")
    con.execute("CREATE OR REPLACE TABLE codes AS SELECT unnest($1::VARCHAR[]) AS code, "
                "generate_subscripts($1::VARCHAR[], 1) - 1 AS i", [codes])
    con.execute(f"""
        CREATE OR REPLACE TABLE entries AS
        SELECT e.pk, e.seq, c.code, DATE '{AD}' - (random() * 3 * 365)::INTEGER AS d,
               CASE WHEN random() < 0.4 THEN round(40 + random() * 120, 1) END AS v
        FROM (SELECT pk, unnest(range(5 + (random() * 35)::INTEGER + 15 * len(regs))) AS seq,
                     (random() * {len(codes)})::INTEGER % {len(codes)} AS ci FROM patients) e
        JOIN codes c ON c.i = e.ci""")
    entries = con.execute("SELECT count(*) FROM entries").fetchone()[0]
    return entries, time.perf_counter() - t0


PLAIN = """
WITH ex AS (SELECT e.pk, c.cl, e.d, e.v, e.seq FROM entries e JOIN code_clusters c USING (code)
            WHERE e.d <= DATE '{ad}'),
frail AS (SELECT pk, arg_max(cl, (d, seq)) AS cl FROM ex
          WHERE cl IN ('MILDFRAIL_COD', 'MODFRAIL_COD', 'SEVFRAIL_COD') GROUP BY pk),
a1c AS (SELECT pk, arg_max(v, (d, seq)) AS v FROM ex
        WHERE cl = 'IFCCHBAM_COD' AND d > DATE '{ad}' - INTERVAL 12 MONTH GROUP BY pk),
bp AS (SELECT DISTINCT pk FROM ex WHERE cl IN ('BP_COD', 'SYSBP_COD', 'DIABP_COD')
       AND d > DATE '{ad}' - INTERVAL 5 YEAR),
base AS (SELECT pk, regs, date_diff('year', dob, DATE '{ad}') - CASE WHEN strftime(dob, '%m%d') >
                strftime(DATE '{ad}', '%m%d') THEN 1 ELSE 0 END AS age
         FROM patients WHERE registered_on <= DATE '{ad}'
         AND (deregistered_on IS NULL OR deregistered_on > DATE '{ad}') AND (died_on IS NULL OR died_on > DATE '{ad}'))
SELECT 'DM020' AS ind, CASE WHEN f.cl IN ('MODFRAIL_COD', 'SEVFRAIL_COD') THEN 'excluded'
                            WHEN a.v <= 58 THEN 'numerator' ELSE 'denominator' END AS o, count(*)
FROM base b LEFT JOIN frail f USING (pk) LEFT JOIN a1c a USING (pk) WHERE list_contains(b.regs, 'DM_REG')
GROUP BY ALL
UNION ALL
SELECT 'BP002', CASE WHEN bp.pk IS NOT NULL THEN 'numerator' ELSE 'denominator' END, count(*)
FROM base b LEFT JOIN bp USING (pk) WHERE b.age >= 45 GROUP BY ALL
"""


def best_of_two(run) -> tuple[float, object]:
    times, out = [], None
    for _ in range(2):
        t0 = time.perf_counter()
        out = run()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=1_000_000)
    ap.add_argument("--ruleset", default="qof-2026-27")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    compiled = compile_ruleset(load_ruleset(args.ruleset), default_library())
    every = ColumnarRuleSet(compiled)
    con = every.connect()
    con.execute(f"SET threads = {args.threads}")
    entries, took = generate(con, args.patients, sorted(compiled.code_clusters))
    print(f"{args.patients:,} patients, {entries:,} entries generated in DuckDB in {took:.1f}s "
          f"({args.threads} threads)", flush=True)
    t, counts = best_of_two(lambda: every.run_counts(con, AD))
    print(f"columnar, {len(every.indicators)} indicators with codes ({args.ruleset}): {t:.2f}s, "
          f"{sum(sum(c.values()) for c in counts.values()):,} outcomes", flush=True)  # type: ignore[union-attr]
    two = ColumnarRuleSet(compiled)
    two.indicators = tuple(i for i in every.indicators if i.id in {"DM020", "BP002"})
    if len(two.indicators) == 2:
        t2, c2 = best_of_two(lambda: two.run_counts(con, AD))
        tp, cp = best_of_two(lambda: con.execute(PLAIN.format(ad=AD)).fetchall())
        print(f"columnar, DM020 + BP002: {t2:.2f}s {dict(sorted(c2.items()))}", flush=True)  # type: ignore[union-attr]
        print(f"plain SQL, DM020 + BP002 (main rules only): {tp:.2f}s {sorted(cp)}; "  # type: ignore[arg-type]
              f"columnar / plain = {t2 / tp:.2f}")
    else:
        print("DM020 or BP002 has no codes in this library: no side-by-side run")


if __name__ == "__main__":
    main()

"""Full recompute benchmark for the indicators service.

    .venv/bin/python bench/indicators_recompute.py db --patients 10000 --backend sqlite
    .venv/bin/python bench/indicators_recompute.py db --patients 10000 --backend postgres
    .venv/bin/python bench/indicators_recompute.py memory --patients 1000000 --workers 2

``db``: loads a synthetic practice (``shared.synthetic.SyntheticPractice``, recent history, registers computed
with ``shared.qof.registers``) into a fresh indicators database, then times what a recompute does: load the
practice from the database, evaluate every patient with the contract's compiled rule set, count and score
(the measured goal), and separately the whole ``refresh`` (which also rewrites the outcome rows, diffs gaps
and writes the aggregates, snapshot and events).

``memory``: evaluate + aggregate for N patients with a process pool. Each worker builds its share of patients
with the engine benchmark's generator (not timed), then evaluates and counts them (timed); the parent merges
the counts and scores the practice.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import date
from multiprocessing import get_context
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from sqlalchemy import insert  # noqa: E402

from services.indicators.service.evaluation import evaluate, periods, practice_figures, refresh  # noqa: E402
from services.indicators.service.kernel import Kernel  # noqa: E402
from services.indicators.service.scoring import (  # noqa: E402
    PracticeFigures,
    contract_indicators,
    count_outcomes,
    score_all,
)
from services.indicators.store.models import CodedEvent, Patient, RegisterMember  # noqa: E402
from services.indicators.store.state import ContractChoice, load_patients  # noqa: E402
from shared.db import create_engine, session_factory  # noqa: E402
from shared.migrations import upgrade_to_head_async  # noqa: E402
from shared.qof.registers import CodeEvent, compile_registers  # noqa: E402
from shared.synthetic import SyntheticPractice  # noqa: E402

AS_OF = date(2026, 1, 15)
PRACTICE = "A81001"
PG_ADMIN = os.environ.get("QOF_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
SEX = {"female": "F", "male": "M"}


async def _database(backend: str) -> tuple[str, str | None]:
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/indicators-bench.db", None
    import asyncpg

    name = f"qof_bench_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(PG_ADMIN)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    return PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1) + f"/{name}", name


async def _drop(name: str | None) -> None:
    if name:
        import asyncpg

        conn = await asyncpg.connect(PG_ADMIN)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


async def load_practice(url: str, n: int, kernel: Kernel) -> tuple[int, int]:
    regs = compile_registers(kernel.library)
    patients, entries, members = [], [], []
    for h in SyntheticPractice(PRACTICE, n, seed=7, history="recent", as_of=AS_OF).histories():
        pid = f"p{h.seq}"
        p = h.patient
        dob = date.fromisoformat(p["date_of_birth"])
        patients.append({"patient_id": pid, "practice_ods": PRACTICE, "date_of_birth": dob,
                         "sex": SEX.get(p["sex"], "U"), "registered_on": date.fromisoformat(p["registered_on"]),
                         "deregistered_on": date.fromisoformat(p["deregistered_on"]) if p["deregistered_on"] else None,
                         "died_on": date.fromisoformat(p["died_on"]) if p["died_on"] else None})
        coded = []
        for e in h.entries:
            day = date.fromisoformat(e["effective_date"])
            coded.append(CodeEvent(e["code"], day, e["value"]))
            entries.append({"entry_id": e["entry_id"], "practice_ods": PRACTICE, "patient_id": pid, "code": e["code"],
                            "effective_date": day, "value": e["value"],
                            "relevant": e["code"] in kernel.relevant_codes, "retracted": False})
        for reg in regs.evaluate(coded, dob, AS_OF):
            members.append({"patient_id": pid, "register_id": reg, "practice_ods": PRACTICE, "as_of": AS_OF})
    engine = create_engine(url)
    async with session_factory(engine)() as s, s.begin():
        for table, rows in ((Patient.__table__, patients), (CodedEvent.__table__, entries),
                            (RegisterMember.__table__, members)):
            for i in range(0, len(rows), 5000):
                await s.execute(insert(table), rows[i:i + 5000])
    await engine.dispose()
    return len(patients), len(entries)


async def run_db(n: int, backend: str) -> None:
    kernel = Kernel(today=lambda: AS_OF)
    url, name = await _database(backend)
    try:
        await upgrade_to_head_async(ROOT / "services" / "indicators" / "migrations", url)
        t = time.perf_counter()
        people, rows = await load_practice(url, n, kernel)
        print(f"[{backend}] loaded {people} patients, {rows} coded entries in {time.perf_counter() - t:.1f}s (setup)")
        engine = create_engine(url)
        sessions = session_factory(engine)
        contract = ContractChoice(kernel.default_ruleset, None, False)
        for attempt in (1, 2):
            async with sessions() as s:
                t0 = time.perf_counter()
                patients = await load_patients(s, PRACTICE, kernel)
                t1 = time.perf_counter()
                period_of = periods(kernel, contract)
                pairs = evaluate(kernel, contract, patients, period_of)
                t2 = time.perf_counter()
                day = period_of[contract.ruleset_id].achievement_date
                figs = await practice_figures(s, kernel, PRACTICE, day)
                results = score_all(kernel, contract_indicators(kernel, PRACTICE, contract.ruleset_id, None),
                                    count_outcomes(pairs), figs)
                t3 = time.perf_counter()
            print(f"[{backend}] run {attempt}: load {t1 - t0:.2f}s + evaluate {t2 - t1:.2f}s + aggregate "
                  f"{t3 - t2:.2f}s = {t3 - t0:.2f}s for {len(patients)} patients, {len(pairs)} outcomes, "
                  f"{sum(r.score.points for r in results):.1f} points")
        for attempt in (1, 2):
            t0 = time.perf_counter()
            async with sessions() as s, s.begin():
                res = await refresh(s, kernel, PRACTICE, None)
            print(f"[{backend}] full refresh {attempt} (incl. rewriting {res.outcomes} outcome rows, "
                  f"{res.gaps_opened} gaps opened, {res.indicators_updated} indicators updated): "
                  f"{time.perf_counter() - t0:.2f}s")
        await engine.dispose()
    finally:
        await _drop(name)


def _worker(args: tuple[int, int, str]) -> tuple[Counter[tuple[str, str, str, str | None]], float, float]:
    n, seed, ruleset_id = args
    import indicators_engine  # the engine benchmark's generator

    from services.indicators.domain import compile_ruleset, load_ruleset
    from shared.codelists import default_library

    engine = compile_ruleset(load_ruleset(ruleset_id), default_library())
    t0 = time.perf_counter()
    codes = sorted(engine._code_map)[:4000] + [str(10_000_000 + i) for i in range(2000)]
    people = indicators_engine.synthetic_patients(n, codes, seed=seed)
    t1 = time.perf_counter()
    counts: Counter[tuple[str, str, str, str | None]] = Counter()
    pped = date(2026, 3, 31)
    for p in people:
        for o in engine.evaluate(p, AS_OF, pped=pped):
            counts[(ruleset_id, o.indicator_id, o.status, o.field)] += 1
    return counts, t1 - t0, time.perf_counter() - t1


def run_memory(n: int, workers: int, chunk: int) -> None:
    kernel = Kernel(today=lambda: AS_OF)
    rid = kernel.default_ruleset
    jobs = [(min(chunk, n - i), 1 + i // chunk, rid) for i in range(0, n, chunk)]
    t0 = time.perf_counter()
    total: Counter[tuple[str, str, str, str | None]] = Counter()
    gen = ev = 0.0
    with get_context("fork").Pool(workers) as pool:
        for counts, g, e in pool.imap_unordered(_worker, jobs):
            total.update(counts)
            gen += g
            ev += e
    wall = time.perf_counter() - t0
    t1 = time.perf_counter()
    from services.indicators.service.scoring import STORED_STATUS

    merged: dict[tuple[str, str], dict[tuple[str, str | None], int]] = {}
    for (r, ind, status, fld), c in total.items():
        merged.setdefault((r, ind), {})[(STORED_STATUS[status], fld)] = c
    figs = PracticeFigures(AS_OF, n, {g: int(n * 0.05) for g in kernel.group_register})
    results = score_all(kernel, contract_indicators(kernel, "A81001", rid, None), merged, figs)
    agg = time.perf_counter() - t1
    print(f"[memory] {n} patients, {workers} workers: wall {wall:.1f}s (generation {gen:.1f} CPU-s, evaluate+count "
          f"{ev:.1f} CPU-s = {ev / workers:.1f}s per core), merge+score {agg:.2f}s, "
          f"{sum(total.values())} outcomes, {sum(r.score.points for r in results):.1f} points")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["db", "memory"])
    ap.add_argument("--patients", type=int, default=10_000)
    ap.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=50_000)
    args = ap.parse_args()
    if args.mode == "db":
        asyncio.run(run_db(args.patients, args.backend))
    else:
        run_memory(args.patients, args.workers, args.chunk)


if __name__ == "__main__":
    main()

"""Whole-population evaluation in DuckDB, from the same compiled rule set as the per-patient engine.

    columnar = ColumnarRuleSet(compile_ruleset(ruleset, library))
    rows = columnar.evaluate(patients, achievement_date, pped=pped, registers=held)   # list[ColumnarOutcome]
    counts = columnar.counts(patients, achievement_date, pped=pped, registers=held)   # per indicator, no rows

The outcomes are those of :meth:`CompiledRuleSet.evaluate` for each patient (indicator, status, PCA or exclusion
field, and the deciding rule step); the why-trace and gap details stay with the per-patient engine. The
tables can also be filled by a caller (``load`` takes plain columns) so that a benchmark or an ICB recompute
can keep the data in DuckDB.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb

from services.indicators.domain.dates import RunDates, parse_window
from services.indicators.domain.engine import CompiledRuleSet, Status
from services.indicators.domain.records import PatientRecord
from services.indicators.domain.ruleset import Action, Indicator

from .compiler import Plan, age_sql, in_span, lit, register_sql, shift

_STATUS: dict[str | None, Status] = {
    "numerator": "numerator",
    "denominator": "denominator_only",
    "pca": "pca",
    "exclusion": "excluded_from_population",
}


@dataclass(frozen=True, slots=True)
class ColumnarOutcome:
    indicator_id: str
    patient_id: str
    status: Status
    field: str | None
    rule: str  # the deciding rule step's number ("register" for register indicators)


Terminal = tuple[str, Status, str | None, str]  # indicator, status, field, rule


class ColumnarRuleSet:
    """One compiled rule set as SQL; :meth:`query` gives the statement for a run's dates."""

    def __init__(self, compiled: CompiledRuleSet) -> None:
        self.compiled = compiled
        self.indicators: tuple[Indicator, ...] = compiled.scorable
        self.codes = {c: r.codes for c, r in compiled.clusters.items()}
        names = sorted(set(self.codes) | {c for cls in compiled.code_clusters.values() for c in cls})
        self.cluster_ids = {c: i for i, c in enumerate(names)}

    # ------------------------------------------------------------------ SQL

    def query(self, achievement_date: date, pped: date | None = None) -> tuple[str, list[Terminal]]:
        """(SQL giving ``(pk, o)`` per patient and indicator, the terminal each ``o`` stands for).

        Reads tables ``patients(pk, pid, dob, sex, registered_on, deregistered_on, died_on, regs)``,
        ``entries(pk, seq, code, d, v)`` and ``code_clusters(code, cl, cid)`` (as :meth:`connect` makes it)."""
        dates = RunDates.for_achievement(achievement_date, pped)
        plan = Plan(dates, self.codes, self.cluster_ids)
        terminals: list[Terminal] = []

        def term(ind: Indicator, action: Action, rule: str) -> str:
            terminals.append((ind.id, _STATUS[action.outcome], action.field, rule))
            return str(len(terminals) - 1)

        cols: list[str] = []
        for ind in self.indicators:
            pop = self._population(plan, ind)
            if ind.kind == "register":
                terminals.append((ind.id, "numerator", None, "register"))
                body = str(len(terminals) - 1)
            else:
                body = self._chain(plan, ind, 0, term)
            cols.append(f"CASE WHEN {pop} THEN {body} END AS i{len(cols)}")
        ad = dates.achievement_date
        dob = ", p.dob" if plan.needs_dob else ""
        join = " JOIN patients p USING (pk)" if plan.needs_dob else ""
        # the entries of rule clusters, exploded once and read by every group (materialised, not re-run)
        ctes = [
            "ex AS MATERIALIZED (SELECT e.pk, c.cid, e.code, e.d, (e.d - DATE '1970-01-01') AS dn, e.v, e.seq"
            f"{dob} FROM entries e JOIN code_clusters c USING (code){join} WHERE e.d <= {lit(ad)})",
            *plan.group_ctes(),
        ]
        joins = "".join(f" LEFT JOIN g{j} USING (pk)" for j in range(len(plan.groups)))
        registered = (
            f"registered_on <= {lit(ad)} AND (deregistered_on IS NULL OR deregistered_on > {lit(ad)}) "
            f"AND (died_on IS NULL OR died_on > {lit(ad)})"
        )
        ctes.append(
            f"base AS (SELECT p.*, {age_sql(ad)} AS age FROM patients p WHERE {registered})"
        )
        ctes.append(f"per AS (SELECT base.pk, {', '.join(cols) or 'NULL AS i0'} FROM base{joins})")
        names = ", ".join(f"i{i}" for i in range(max(len(cols), 1)))
        sql = "WITH " + ",\n".join(ctes) + f"\nSELECT pk, o FROM (UNPIVOT per ON {names} INTO NAME ind VALUE o)"
        return sql, terminals

    def _population(self, plan: Plan, ind: Indicator) -> str:
        pop = ind.population
        parts = ["true"]
        if pop.register is not None:
            parts.append(register_sql(pop.register))
        if pop.min_age is not None:
            parts.append(f"age >= {pop.min_age}")
        if pop.max_age is not None:
            parts.append(f"age <= {pop.max_age}")
        if pop.sex is not None:
            parts.append(f"sex = '{pop.sex}'")
        if pop.attains_age is not None:
            reached = shift("dob", parse_window(pop.attains_age))
            parts.append(in_span(reached, plan.span(parse_window("12m"))))
        return "(" + " AND ".join(parts) + ")"

    def _chain(self, plan: Plan, ind: Indicator, i: int, term: Any) -> str:
        if i == len(ind.rules):
            return "NULL"  # off the end of the chain: no outcome (as the per-patient engine)
        step = ind.rules[i]
        if step.if_true.kind == "next" and step.if_false.kind == "next":
            return self._chain(plan, ind, i + 1, term)
        cond = plan.test(step.test)
        def branch(action: Action) -> str:
            return self._chain(plan, ind, i + 1, term) if action.kind == "next" else term(ind, action, step.number)

        yes, no = branch(step.if_true), branch(step.if_false)
        return f"CASE WHEN {cond} THEN {yes} ELSE {no} END"

    # ------------------------------------------------------------------ data

    def connect(self) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect()
        pairs = sorted(self.compiled.code_clusters.items())
        con.execute(
            "CREATE TABLE code_clusters AS SELECT unnest($1::VARCHAR[]) AS code, unnest($2::VARCHAR[]) AS cl, "
            "unnest($3::SMALLINT[]) AS cid",
            [
                [code for code, cls in pairs for _ in cls],
                [c for _, cls in pairs for c in cls],
                [self.cluster_ids[c] for _, cls in pairs for c in cls],
            ],
        )
        return con

    @staticmethod
    def load(
        con: duckdb.DuckDBPyConnection,
        patients: Sequence[PatientRecord],
        registers: Mapping[str, frozenset[str]] | None = None,
    ) -> None:
        """Fill ``patients`` and ``entries`` from records (``registers`` instead of each record's own)."""
        regs = [sorted(p.registers if registers is None else registers.get(p.patient_id, frozenset()))
                for p in patients]
        con.execute(
            "CREATE OR REPLACE TABLE patients AS SELECT unnest($1::INTEGER[]) AS pk, unnest($2::VARCHAR[]) AS pid, "
            "unnest($3::DATE[]) AS dob, unnest($4::VARCHAR[]) AS sex, unnest($5::DATE[]) AS registered_on, "
            "unnest($6::DATE[]) AS deregistered_on, unnest($7::DATE[]) AS died_on, unnest($8::VARCHAR[][]) AS regs",
            [
                list(range(len(patients))),
                [p.patient_id for p in patients],
                [p.date_of_birth for p in patients],
                [p.sex for p in patients],
                [p.registered_on for p in patients],
                [p.deregistered_on for p in patients],
                [p.died_on for p in patients],
                regs,
            ],
        )
        cols: tuple[list[Any], ...] = ([], [], [], [], [])
        for pk, p in enumerate(patients):
            for seq, e in enumerate(p.events):
                cols[0].append(pk)
                cols[1].append(seq)
                cols[2].append(e.code)
                cols[3].append(e.date)
                cols[4].append(e.value)
        con.execute(
            "CREATE OR REPLACE TABLE entries AS SELECT unnest($1::INTEGER[]) AS pk, unnest($2::INTEGER[]) AS seq, "
            "unnest($3::VARCHAR[]) AS code, unnest($4::DATE[]) AS d, unnest($5::DOUBLE[]) AS v",
            list(cols),
        )

    # ------------------------------------------------------------------ runs

    def run(
        self, con: duckdb.DuckDBPyConnection, achievement_date: date, pped: date | None = None
    ) -> list[ColumnarOutcome]:
        sql, terminals = self.query(achievement_date, pped)
        rows = con.execute(
            f"SELECT p.pid, r.o FROM ({sql}) r JOIN patients p USING (pk) ORDER BY p.pk, r.o"
        ).fetchall()
        out = []
        for pid, o in rows:
            iid, status, fld, rule = terminals[o]
            out.append(ColumnarOutcome(iid, pid, status, fld, rule))
        return out

    def run_counts(
        self, con: duckdb.DuckDBPyConnection, achievement_date: date, pped: date | None = None
    ) -> dict[str, dict[tuple[Status, str | None], int]]:
        """Indicator -> (status, field) -> patients, counted inside DuckDB."""
        sql, terminals = self.query(achievement_date, pped)
        out: dict[str, dict[tuple[Status, str | None], int]] = {}
        for o, n in con.execute(f"SELECT o, count(*) FROM ({sql}) GROUP BY o").fetchall():
            iid, status, fld, _ = terminals[o]
            per = out.setdefault(iid, {})
            per[(status, fld)] = per.get((status, fld), 0) + int(n)
        return out

    def evaluate(
        self,
        patients: Iterable[PatientRecord],
        achievement_date: date,
        *,
        pped: date | None = None,
        registers: Mapping[str, frozenset[str]] | None = None,
    ) -> list[ColumnarOutcome]:
        con = self.connect()
        try:
            self.load(con, list(patients), registers)
            return self.run(con, achievement_date, pped)
        finally:
            con.close()

    def counts(
        self,
        patients: Iterable[PatientRecord],
        achievement_date: date,
        *,
        pped: date | None = None,
        registers: Mapping[str, frozenset[str]] | None = None,
    ) -> dict[str, dict[tuple[Status, str | None], int]]:
        con = self.connect()
        try:
            self.load(con, list(patients), registers)
            return self.run_counts(con, achievement_date, pped)
        finally:
            con.close()

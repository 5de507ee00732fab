"""Rule tests (:mod:`services.indicators.domain.rules`) translated to DuckDB SQL over a whole population.

The query model is the rule set; this is its second engine. Every test becomes a boolean SQL expression on one
row per patient. What a test reads from the record becomes a per-patient aggregate column over the exploded
entries ``ex(pk, cid, code, d, dn, v, seq)`` (one row per entry and rule cluster of its code, dated on or before
the achievement date), taken over only the entries of the clusters it reads: the columns reading the same
clusters share one ``GROUP BY pk`` over those entries alone. Aggregates that need another one first (the first
anchor code for ``near_first``, the latest blood-pressure day, the latest result an invitation must follow) sit
in a group that joins the other's group on ``pk``.

Ties are broken as the per-patient engine breaks them: among entries on the latest date the first cluster
of the test's list wins, and within a cluster the entry given last in the record (``seq``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

from services.indicators.domain.dates import RunDates, Span, Window, parse_window
from services.indicators.domain.registers import DERIVED_BY_ID, DerivedRegister
from services.indicators.domain.rules import _clusters as clusters_of


def lit(d: date) -> str:
    return f"DATE '{d.isoformat()}'"


def strings(values: Sequence[str]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def in_span(col: str, span: Span) -> str:
    low = f"{col} > {lit(span.start)}" if span.start_exclusive else f"{col} >= {lit(span.start)}"
    return f"({low} AND {col} <= {lit(span.end)})"


def shift(col: str, w: Window, sign: int = 1) -> str:
    """``col`` moved by a window's calendar months then its days (as ``add_months`` + ``timedelta``)."""
    months = sign * (w.years * 12 + w.months)
    out = f"CAST({col} + to_months({months}) AS DATE)" if months else col
    return f"({out} + {sign * w.days})" if w.days else out


class Plan:
    """The aggregate columns a rule set needs, grouped by the clusters they read; each test compiles to an
    expression over them.

    A group is one ``GROUP BY pk`` over only the entries of its clusters (a filter on the cluster id before any
    aggregation), with the groups whose columns it needs (``deps``) joined on ``pk``; a column asked for twice
    is computed once and shared by every rule that reads it."""

    def __init__(self, dates: RunDates, codes: Mapping[str, frozenset[str]], ids: Mapping[str, int]) -> None:
        self.dates = dates
        self.codes = codes  # rule cluster -> codes
        self.ids = ids  # rule cluster -> its id in ``code_clusters.cid``
        self.groups: dict[tuple[tuple[int, ...], tuple[int, ...]], dict[str, str]] = {}
        self._named: dict[tuple[tuple[tuple[int, ...], tuple[int, ...]], str], str] = {}
        self._group_of: dict[str, int] = {}  # column -> index of its group in ``groups``
        self.needs_dob = False

    def cid(self, cl: Sequence[str]) -> tuple[int, ...]:
        return tuple(sorted({self.ids[c] for c in cl if c in self.ids}))

    def column(self, cl: Sequence[str], agg: str, where: str | None = None, deps: Sequence[str] = ()) -> str:
        """``agg`` over the entries of clusters ``cl`` (and ``where``), per patient; ``deps``: columns it reads."""
        key = (self.cid(cl), tuple(sorted({self._group_of[d] for d in deps})))
        sql = f"{agg} FILTER (WHERE {where})" if where else agg
        name = self._named.get((key, sql))
        if name is None:
            cols = self.groups.setdefault(key, {})
            name = self._named[(key, sql)] = f"f{len(self._named)}"
            cols[name] = sql
            self._group_of[name] = list(self.groups).index(key)
        return name

    def group_ctes(self) -> list[str]:
        """One CTE ``g<i>`` per group, in dependency order (a group's deps were made before it)."""
        out = []
        for i, ((cids, deps), cols) in enumerate(self.groups.items()):
            within = "false" if not cids else f"cid = {cids[0]}" if len(cids) == 1 else f"cid IN {cids}"
            joins = "".join(f" LEFT JOIN g{j} USING (pk)" for j in deps)
            aggs = ", ".join(f"{sql} AS {name}" for name, sql in cols.items())
            out.append(f"g{i} AS (SELECT x.pk, {aggs} FROM (SELECT * FROM ex WHERE {within}) x{joins} GROUP BY x.pk)")
        return out

    def span(self, w: Window) -> Span:
        return w.span(self.dates)

    def latest_key(self, cl: Sequence[str]) -> str:
        ids = [self.ids[c] for c in cl if c in self.ids]
        whens = " ".join(f"WHEN {c} THEN {i}" for i, c in enumerate(ids))
        rank = "0" if len(ids) <= 1 else f"CASE cid {whens} END"
        return f"(dn::BIGINT * 1099511627776 + (63 - {rank})::BIGINT * 4294967296 + seq)"

    # ------------------------------------------------------------------ tests

    def test(self, spec: Mapping[str, Any]) -> str:
        ((name, p),) = spec.items()
        return _TESTS[name](self, p)


def _w(p: Mapping[str, Any], key: str, default: str | None = None) -> Window:
    return parse_window(str(p.get(key, default) if default is not None else p[key]))


def _has(plan: Plan, p: Mapping[str, Any]) -> str:
    cl = clusters_of(p, "clusters", "")
    span = plan.span(_w(p, "window", "ever"))
    col = plan.column(cl, "max(d)", in_span("d", span))
    return f"({col} IS NOT NULL)"


_OPS = {"at_most": "<=", "below": "<", "at_least": ">=", "above": ">"}


def _latest_value(plan: Plan, p: Mapping[str, Any]) -> str:
    cl = clusters_of(p, "clusters", "")
    ((op, limit),) = [(k, float(p[k])) for k in _OPS if k in p]
    where = f"v IS NOT NULL AND {in_span('d', plan.span(_w(p, 'window')))}"
    col = plan.column(cl, f"arg_max(v, {plan.latest_key(cl)})", where)
    return f"coalesce({col} {_OPS[op]} {limit!r}, false)"


def _latest_is(plan: Plan, p: Mapping[str, Any]) -> str:
    wanted = clusters_of(p, "clusters", "")
    among = clusters_of(p, "among", "")
    where = in_span("d", plan.span(_w(p, "window", "ever")))
    col = plan.column(among, f"arg_max(code, {plan.latest_key(among)})", where)
    codes = sorted(set().union(*(plan.codes.get(c, frozenset()) for c in wanted)))
    return f"coalesce(list_contains({strings(codes)}, {col}), false)"


def _bp(plan: Plan, p: Mapping[str, Any]) -> str:
    sys_c, dia_c = clusters_of(p, "systolic", ""), clusters_of(p, "diastolic", "")
    home_c = clusters_of(p, "home", "")
    span = plan.span(_w(p, "window"))
    day = plan.column(sys_c + dia_c, "max(d)", f"v IS NOT NULL AND {in_span('d', span)}")
    low_s = plan.column(sys_c, "min(v)", f"v IS NOT NULL AND d = {day}", [day])
    low_d = plan.column(dia_c, "min(v)", f"v IS NOT NULL AND d = {day}", [day])
    home = plan.column(home_c, "count(*)", f"d = {day}", [day])
    (cs, cd), (hs, hd) = (tuple(float(x) for x in p[k]) for k in ("clinic", "home_target"))
    return (
        f"coalesce(CASE WHEN {home} > 0 THEN {low_s} <= {hs!r} AND {low_d} <= {hd!r} "
        f"ELSE {low_s} <= {cs!r} AND {low_d} <= {cd!r} END, false)"
    )


def invited_sql(
    plan: Plan,
    cl: Sequence[str],
    window: Window,
    count: int,
    gap: int,
    after: tuple[Sequence[str], Window] | None,
) -> str:
    """At least ``count`` invitations, each ``gap`` days after the previous counted (the earliest counts)."""
    where = in_span("d", plan.span(window))
    deps: list[str] = []
    if after is not None:
        floor = plan.column(after[0], "max(d)", in_span("d", plan.span(after[1])))
        where += f" AND ({floor} IS NULL OR d > {floor})"
        deps.append(floor)
    if count <= 0:
        return "true"
    if gap <= 0:
        n = plan.column(cl, "count(*)", where, deps)
        return f"(coalesce({n}, 0) >= {count})"
    counted = plan.column(cl, "min(d)", where, deps)
    for _ in range(count - 2):  # the next counted one: the earliest at least ``gap`` days after the last
        counted = plan.column(cl, "min(d)", f"{where} AND d >= {counted} + {gap}", [*deps, counted])
    if count == 1:
        return f"({counted} IS NOT NULL)"
    last = plan.column(cl, "max(d)", where, [*deps, counted])
    return f"coalesce({last} >= {counted} + {gap}, false)"


def _invited(plan: Plan, p: Mapping[str, Any]) -> str:
    after = None
    if "after_latest" in p:
        a = p["after_latest"]
        after = (clusters_of(a, "clusters", ""), _w(a, "window", "12m"))
    return invited_sql(
        plan, clusters_of(p, "clusters", ""), _w(p, "window", "service_year"),
        int(p.get("count", 2)), int(p.get("min_gap_days", 7)), after,
    )


def _first(plan: Plan, cl: Sequence[str]) -> str:
    return plan.column(cl, "min(d)")


def _first_within(plan: Plan, p: Mapping[str, Any]) -> str:
    col = _first(plan, clusters_of(p, "clusters", ""))
    return f"coalesce({in_span(col, plan.span(_w(p, 'window')))}, false)"


def _first_on_or_after(plan: Plan, p: Mapping[str, Any]) -> str:
    on = p["date"] if isinstance(p["date"], date) else date.fromisoformat(str(p["date"]))
    return f"coalesce({_first(plan, clusters_of(p, 'clusters', ''))} >= {lit(on)}, false)"


def _registered_within(plan: Plan, p: Mapping[str, Any]) -> str:
    return in_span("registered_on", plan.span(_w(p, "window")))


def _near_first(plan: Plan, p: Mapping[str, Any]) -> str:
    d0 = _first(plan, clusters_of(p, "anchor", ""))
    lo, hi = shift(d0, _w(p, "before"), -1), shift(d0, _w(p, "after"))
    cl = clusters_of(p, "clusters", "")
    n = plan.column(cl, "count(*)", f"d >= {lo} AND d <= {hi}", [d0])
    return f"(coalesce({n}, 0) > 0)"


def _doses(plan: Plan, cl: Sequence[str], age_from: Window, age_before: Window) -> str:
    plan.needs_dob = True
    where = f"d >= {shift('dob', age_from)} AND d < {shift('dob', age_before)}"
    return f"coalesce({plan.column(cl, 'count(*)', where)}, 0)"


def _given_at_age(plan: Plan, p: Mapping[str, Any]) -> str:
    n = _doses(plan, clusters_of(p, "clusters", ""), _w(p, "age_from", "0d"), _w(p, "age_before"))
    return f"({n} >= {int(p.get('at_least', 1))})"


def _late_registration(plan: Plan, p: Mapping[str, Any]) -> str:
    n = _doses(plan, clusters_of(p, "clusters", ""), parse_window("0d"), _w(p, "age_before"))
    bands = []
    for b in p["bands"]:
        most = b.get("doses_at_most")
        cap = "" if most is None else f" AND {n} <= {int(most)}"
        bands.append(f"(registered_on >= {shift('dob', parse_window(str(b['registered_from_age'])))}{cap})")
    return "(" + " OR ".join(bands) + ")" if bands else "false"


def _age(plan: Plan, p: Mapping[str, Any]) -> str:
    parts = ["true"]
    if p.get("at_least") is not None:
        parts.append(f"age >= {int(p['at_least'])}")
    if p.get("at_most") is not None:
        parts.append(f"age <= {int(p['at_most'])}")
    return "(" + " AND ".join(parts) + ")"


def _sex(plan: Plan, p: Any) -> str:
    return f"(sex = '{p}')"


def derived_sql(d: DerivedRegister) -> str:
    """A derived register (:data:`~services.indicators.domain.registers.DERIVED`) on the row."""
    parts = []
    if d.of:
        parts.append(f"list_has_any(regs, {strings(d.of)})")
    if d.min_age is not None:
        parts.append(f"age >= {d.min_age}")
    if d.max_age is not None:
        parts.append(f"age <= {d.max_age}")
    if d.sex is not None:
        parts.append(f"sex = '{d.sex}'")
    return "(" + " AND ".join(parts or ["true"]) + ")"


def register_sql(reg: str) -> str:
    held = f"list_contains(regs, '{reg}')"
    d = DERIVED_BY_ID.get(reg)
    # a derived register held as such counts too, as in ``with_derived``
    return f"({held} OR {derived_sql(d)})" if d is not None else held


def _on_register(plan: Plan, p: Any) -> str:
    regs = [p] if isinstance(p, str) else list(p)
    return "(" + " OR ".join(register_sql(r) for r in regs) + ")"


def _all(plan: Plan, p: Sequence[Any]) -> str:
    return "(" + " AND ".join(plan.test(t) for t in p) + ")"


def _any(plan: Plan, p: Sequence[Any]) -> str:
    return "(" + " OR ".join(plan.test(t) for t in p) + ")"


def _not(plan: Plan, p: Mapping[str, Any]) -> str:
    return f"(NOT {plan.test(p)})"


_TESTS: dict[str, Callable[[Plan, Any], str]] = {
    "has": _has,
    "latest_value": _latest_value,
    "latest_is": _latest_is,
    "bp_at_target": _bp,
    "invited": _invited,
    "first_within": _first_within,
    "first_on_or_after": _first_on_or_after,
    "registered_within": _registered_within,
    "near_first": _near_first,
    "given_at_age": _given_at_age,
    "late_registration": _late_registration,
    "age": _age,
    "sex": _sex,
    "on_register": _on_register,
    "all": _all,
    "any": _any,
    "not": _not,
}


def age_sql(on: date) -> str:
    """Age in whole years on ``on`` (as :func:`~shared.qof.age.age_in_years`)."""
    return (
        f"({on.year} - year(dob) - CASE WHEN month(dob) > {on.month} OR (month(dob) = {on.month} "
        f"AND day(dob) > {on.day}) THEN 1 ELSE 0 END)"
    )

"""Rule tests: the declarative vocabulary of a business-rule step, compiled once into fast closures.

A step in a rule chain (see :mod:`.ruleset`) has a ``test`` written as a one-key mapping. The tests are:

``has: {clusters, window=ever}``
    any code of the clusters dated in the window.
``latest_value: {clusters, window, at_most|below|at_least|above}``
    the latest entry *with a value* in the window satisfies the comparison (a later out-of-range value
    overrides an earlier in-range one).
``latest_is: {clusters, among, window=ever}``
    the latest code among ``among`` is one of ``clusters`` (e.g. latest frailty moderate or severe).
``bp_at_target: {systolic, diastolic, home, window, clinic: [s, d], home_target: [s, d]}``
    on the date of the latest blood pressure in the window the lowest systolic and the lowest diastolic
    are both at or below target; home/ambulatory readings (a ``home`` code on that date) use ``home_target``.
``invited: {clusters, count=2, min_gap_days=7, window=service_year, after_latest: {clusters, window}}``
    at least ``count`` invitations, each at least ``min_gap_days`` after the previous counted one; with
    ``after_latest`` only invitations after the latest such result in its window count.
``first_within: {clusters, window}`` / ``first_on_or_after: {clusters, date}``
    the earliest code in the record (first diagnosis) is in the window / on or after the date.
``registered_within: {window}``
    the current registration started in the window (newly registered).
``near_first: {clusters, anchor, before, after}``
    a code of ``clusters`` between ``before`` ahead of and ``after`` following the first ``anchor`` code.
``given_at_age: {clusters, at_least=1, age_from=0d, age_before}``
    at least n entries dated while the patient was at least ``age_from`` and younger than ``age_before``.
``late_registration: {clusters, age_before, bands: [{registered_from_age, doses_at_most?}]}``
    the automatic VI PCA: registered at or after a band's age with at most that many doses before
    ``age_before``.
``age: {at_least, at_most}``, ``sex: F``, ``on_register: [REG, ...]``
``all: [tests]``, ``any: [tests]``, ``not: test``

Ages (``age_from``, ``before``…) use the window spelling: ``248d``, ``8m``, ``1y``.
Each compiled test returns ``(passed, evidence)`` where evidence is the entry that decided, if any.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from shared.qof.age import age_in_years

from .dates import RunDates, Span, Window, add_months, parse_window
from .errors import RuleSetError, did_you_mean
from .records import CodedEvent, PatientRecord
from .registers import register_ids, with_derived

Evidence = tuple[str, CodedEvent]  # (cluster, entry)
Result = tuple[bool, Evidence | None]


@dataclass(slots=True)
class Context:
    """One patient on one run: the patient's entries indexed by rule cluster (each list sorted by date)."""

    patient: PatientRecord
    dates: RunDates
    index: dict[str, list[CodedEvent]]
    age: int
    registers: frozenset[str]


Test = Callable[[Context], Result]
_NONE: list[CodedEvent] = []

# parameter names per test, (required, optional)
TEST_PARAMS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "has": (frozenset({"clusters"}), frozenset({"window"})),
    "latest_value": (frozenset({"clusters", "window"}), frozenset({"at_most", "below", "at_least", "above"})),
    "latest_is": (frozenset({"clusters", "among"}), frozenset({"window"})),
    "bp_at_target": (
        frozenset({"systolic", "diastolic", "home", "window", "clinic", "home_target"}),
        frozenset(),
    ),
    "invited": (frozenset({"clusters"}), frozenset({"count", "min_gap_days", "window", "after_latest"})),
    "first_within": (frozenset({"clusters", "window"}), frozenset()),
    "first_on_or_after": (frozenset({"clusters", "date"}), frozenset()),
    "registered_within": (frozenset({"window"}), frozenset()),
    "near_first": (frozenset({"clusters", "anchor", "before", "after"}), frozenset()),
    "given_at_age": (frozenset({"clusters", "age_before"}), frozenset({"at_least", "age_from"})),
    "late_registration": (frozenset({"clusters", "age_before", "bands"}), frozenset()),
    "age": (frozenset(), frozenset({"at_least", "at_most"})),
    "sex": (frozenset(), frozenset()),
    "on_register": (frozenset(), frozenset()),
    "all": (frozenset(), frozenset()),
    "any": (frozenset(), frozenset()),
    "not": (frozenset(), frozenset()),
}
_SCALAR_TESTS = {"sex", "on_register", "all", "any", "not"}


@lru_cache(maxsize=4096)
def _span(window: Window, dates: RunDates) -> Span:
    return window.span(dates)


def _age_offset(dob: date, w: Window) -> date:
    return add_months(dob, w.years * 12 + w.months) + timedelta(days=w.days)


def _clusters(spec: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = spec.get(key)
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise RuleSetError(
            f"'{key}' must be a cluster name or a list of them", where=where, hint="e.g. clusters: [DM_COD]"
        )
    return tuple(value)


def _names_under(test: Any, keys: frozenset[str]) -> set[str]:
    """Every name given under one of ``keys`` anywhere in a test spec."""
    found: set[str] = set()
    if isinstance(test, Mapping):
        for key, value in test.items():
            if key in keys:
                found.update([value] if isinstance(value, str) else value)
            else:
                found |= _names_under(value, keys)
    elif isinstance(test, list):
        for item in test:
            found |= _names_under(item, keys)
    return found


_CLUSTER_KEYS = frozenset({"clusters", "among", "anchor", "systolic", "diastolic", "home"})


def clusters_in(test: Any) -> set[str]:
    """Every cluster a test spec reads (for readiness checks and the code index)."""
    return _names_under(test, _CLUSTER_KEYS)


def registers_in(test: Any) -> set[str]:
    """Every register id a test spec reads (``on_register``)."""
    return _names_under(test, frozenset({"on_register"}))


def validate_test(test: Any, where: str) -> None:
    """Raise :class:`RuleSetError` with a hint if a test spec is not well formed."""
    if not isinstance(test, Mapping) or len(test) != 1:
        raise RuleSetError(
            "a test is a mapping with exactly one test name",
            where=where,
            hint=f"one of {', '.join(sorted(TEST_PARAMS))}",
        )
    ((name, params),) = test.items()
    if name not in TEST_PARAMS:
        raise RuleSetError(f"unknown test {name!r}", where=where, hint=did_you_mean(name, TEST_PARAMS))
    if name in ("all", "any"):
        if not isinstance(params, list) or not params:
            raise RuleSetError(f"'{name}' takes a non-empty list of tests", where=where)
        for i, sub in enumerate(params):
            validate_test(sub, f"{where}.{name}[{i}]")
        return
    if name == "not":
        validate_test(params, f"{where}.not")
        return
    if name == "on_register":
        regs = [params] if isinstance(params, str) else params
        if not isinstance(regs, list) or not regs:
            raise RuleSetError("'on_register' takes a register id or a list of them", where=where)
        for reg in regs:
            if reg not in register_ids():
                hint = did_you_mean(reg, register_ids())
                raise RuleSetError(f"unknown register {reg!r}", where=where, hint=hint)
        return
    if name in _SCALAR_TESTS:
        return
    if not isinstance(params, Mapping):
        raise RuleSetError(f"'{name}' takes a mapping of parameters", where=where)
    required, optional = TEST_PARAMS[name]
    missing = required - set(params)
    if missing:
        raise RuleSetError(f"'{name}' is missing {', '.join(sorted(missing))}", where=where)
    for key in params:
        if key not in required | optional:
            raise RuleSetError(
                f"'{name}' has no parameter {key!r}", where=where, hint=did_you_mean(key, required | optional)
            )
    for key in ("window", "before", "after", "age_from", "age_before"):
        if key in params:
            parse_window(str(params[key]), where)


def _merged(ctx: Context, clusters: Sequence[str]) -> list[tuple[str, CodedEvent]]:
    if len(clusters) == 1:
        c = clusters[0]
        return [(c, e) for e in ctx.index.get(c, _NONE)]
    out = [(c, e) for c in clusters for e in ctx.index.get(c, _NONE)]
    out.sort(key=lambda ce: ce[1].date)
    return out


def _latest_in(
    ctx: Context, clusters: Sequence[str], span: Span | None, valued: bool = False
) -> Evidence | None:
    best: Evidence | None = None
    for c in clusters:
        for e in reversed(ctx.index.get(c, _NONE)):
            if valued and e.value is None:
                continue
            if span is not None and e.date not in span:
                if e.date > span.end:
                    continue
                break
            if best is None or e.date > best[1].date:
                best = (c, e)
            break
    return best


def _first(ctx: Context, clusters: Sequence[str]) -> Evidence | None:
    best: Evidence | None = None
    for c in clusters:
        lst = ctx.index.get(c)
        if lst and (best is None or lst[0].date < best[1].date):
            best = (c, lst[0])
    return best


def compile_test(test: Mapping[str, Any], where: str = "") -> Test:
    """Turn a validated test spec into a closure ``Context -> (passed, evidence)``."""
    validate_test(test, where)
    ((name, p),) = test.items()
    return _BUILDERS[name](p, where)


def _b_has(p: Mapping[str, Any], where: str) -> Test:
    cl = _clusters(p, "clusters", where)
    w = parse_window(str(p.get("window", "ever")), where)

    def has(ctx: Context) -> Result:
        ev = _latest_in(ctx, cl, _span(w, ctx.dates))
        return (ev is not None, ev)

    return has


def _b_latest_value(p: Mapping[str, Any], where: str) -> Test:
    cl = _clusters(p, "clusters", where)
    w = parse_window(str(p["window"]), where)
    comparisons = [(k, float(p[k])) for k in ("at_most", "below", "at_least", "above") if k in p]
    if len(comparisons) != 1:
        raise RuleSetError("latest_value needs exactly one of at_most, below, at_least, above", where=where)
    op, limit = comparisons[0]
    check: Callable[[float], bool] = {
        "at_most": lambda v: v <= limit,
        "below": lambda v: v < limit,
        "at_least": lambda v: v >= limit,
        "above": lambda v: v > limit,
    }[op]

    def latest_value(ctx: Context) -> Result:
        ev = _latest_in(ctx, cl, _span(w, ctx.dates), valued=True)
        if ev is None:
            return (False, None)
        return (check(ev[1].value), ev)  # type: ignore[arg-type]

    return latest_value


def _b_latest_is(p: Mapping[str, Any], where: str) -> Test:
    wanted = set(_clusters(p, "clusters", where))
    among = _clusters(p, "among", where)
    w = parse_window(str(p.get("window", "ever")), where)

    def latest_is(ctx: Context) -> Result:
        ev = _latest_in(ctx, among, _span(w, ctx.dates))
        if ev is None:
            return (False, None)
        # codes can sit in several clusters: the latest entry decides if it belongs to any wanted cluster
        hit = any(ev[1] in ctx.index.get(c, _NONE) for c in wanted)
        return (hit, ev)

    return latest_is


def _b_bp(p: Mapping[str, Any], where: str) -> Test:
    sys_c = _clusters(p, "systolic", where)
    dia_c = _clusters(p, "diastolic", where)
    home_c = _clusters(p, "home", where)
    w = parse_window(str(p["window"]), where)
    clinic = tuple(float(x) for x in p["clinic"])
    home_t = tuple(float(x) for x in p["home_target"])

    def bp_at_target(ctx: Context) -> Result:
        span = _span(w, ctx.dates)
        latest = _latest_in(ctx, sys_c + dia_c, span, valued=True)
        if latest is None:
            return (False, None)
        day = latest[1].date
        sys_v = [e for c in sys_c for e in ctx.index.get(c, _NONE) if e.date == day and e.value is not None]
        dia_v = [e for c in dia_c for e in ctx.index.get(c, _NONE) if e.date == day and e.value is not None]
        if not sys_v or not dia_v:
            return (False, latest)
        is_home = any(e.date == day for c in home_c for e in ctx.index.get(c, _NONE))
        s_lim, d_lim = home_t if is_home else clinic
        low_s = min(sys_v, key=lambda e: e.value)  # type: ignore[arg-type,return-value]
        low_d = min(dia_v, key=lambda e: e.value)  # type: ignore[arg-type,return-value]
        ok = low_s.value <= s_lim and low_d.value <= d_lim  # type: ignore[operator]
        return (ok, (sys_c[0], low_s) if low_s.value > s_lim or ok else (dia_c[0], low_d))  # type: ignore[operator]

    return bp_at_target


def invitations(
    ctx: Context,
    clusters: Sequence[str],
    window: Window,
    min_gap_days: int,
    after: tuple[Sequence[str], Window] | None,
) -> list[Evidence]:
    """The counted invitations: the earliest in the window, then each next one ≥ min_gap_days later."""
    span = _span(window, ctx.dates)
    floor = None
    if after is not None:
        last = _latest_in(ctx, after[0], _span(after[1], ctx.dates))
        floor = last[1].date if last else None
    counted: list[Evidence] = []
    for c, e in _merged(ctx, clusters):
        if e.date not in span or (floor is not None and e.date <= floor):
            continue
        if not counted or (e.date - counted[-1][1].date).days >= min_gap_days:
            counted.append((c, e))
    return counted


def _b_invited(p: Mapping[str, Any], where: str) -> Test:
    cl = _clusters(p, "clusters", where)
    count = int(p.get("count", 2))
    gap = int(p.get("min_gap_days", 7))
    w = parse_window(str(p.get("window", "service_year")), where)
    after = None
    if "after_latest" in p:
        a = p["after_latest"]
        after = (_clusters(a, "clusters", where), parse_window(str(a.get("window", "12m")), where))

    def invited(ctx: Context) -> Result:
        got = invitations(ctx, cl, w, gap, after)
        return (len(got) >= count, got[count - 1] if len(got) >= count else None)

    return invited


def _b_first_within(p: Mapping[str, Any], where: str) -> Test:
    cl = _clusters(p, "clusters", where)
    w = parse_window(str(p["window"]), where)

    def first_within(ctx: Context) -> Result:
        ev = _first(ctx, cl)
        return (ev is not None and ev[1].date in _span(w, ctx.dates), ev)

    return first_within


def _b_first_on_or_after(p: Mapping[str, Any], where: str) -> Test:
    cl = _clusters(p, "clusters", where)
    on = p["date"] if isinstance(p["date"], date) else date.fromisoformat(str(p["date"]))

    def first_on_or_after(ctx: Context) -> Result:
        ev = _first(ctx, cl)
        return (ev is not None and ev[1].date >= on, ev)

    return first_on_or_after


def _b_registered_within(p: Mapping[str, Any], where: str) -> Test:
    w = parse_window(str(p["window"]), where)

    def registered_within(ctx: Context) -> Result:
        return (ctx.patient.registered_on in _span(w, ctx.dates), None)

    return registered_within


def _b_near_first(p: Mapping[str, Any], where: str) -> Test:
    cl = _clusters(p, "clusters", where)
    anchor = _clusters(p, "anchor", where)
    before = parse_window(str(p["before"]), where)
    after = parse_window(str(p["after"]), where)

    def near_first(ctx: Context) -> Result:
        first = _first(ctx, anchor)
        if first is None:
            return (False, None)
        d0 = first[1].date
        lo = add_months(d0, -(before.years * 12 + before.months)) - timedelta(days=before.days)
        hi = add_months(d0, after.years * 12 + after.months) + timedelta(days=after.days)
        for c, e in _merged(ctx, cl):
            if lo <= e.date <= hi:
                return (True, (c, e))
        return (False, first)

    return near_first


def _doses(ctx: Context, clusters: Sequence[str], age_from: Window, age_before: Window) -> list[Evidence]:
    dob = ctx.patient.date_of_birth
    lo, hi = _age_offset(dob, age_from), _age_offset(dob, age_before)
    return [(c, e) for c, e in _merged(ctx, clusters) if lo <= e.date < hi]


def _b_given_at_age(p: Mapping[str, Any], where: str) -> Test:
    cl = _clusters(p, "clusters", where)
    n = int(p.get("at_least", 1))
    lo = parse_window(str(p.get("age_from", "0d")), where)
    hi = parse_window(str(p["age_before"]), where)

    def given_at_age(ctx: Context) -> Result:
        got = _doses(ctx, cl, lo, hi)
        return (len(got) >= n, got[n - 1] if len(got) >= n else (got[-1] if got else None))

    return given_at_age


def _b_late_registration(p: Mapping[str, Any], where: str) -> Test:
    cl = _clusters(p, "clusters", where)
    hi = parse_window(str(p["age_before"]), where)
    bands = []
    for i, b in enumerate(p["bands"]):
        if "registered_from_age" not in b:
            raise RuleSetError("each band needs registered_from_age", where=f"{where}.bands[{i}]")
        bands.append((parse_window(str(b["registered_from_age"]), where), b.get("doses_at_most")))
    zero = parse_window("0d")

    def late_registration(ctx: Context) -> Result:
        dob = ctx.patient.date_of_birth
        reg = ctx.patient.registered_on
        n = len(_doses(ctx, cl, zero, hi))
        for age, most in bands:
            if reg >= _age_offset(dob, age) and (most is None or n <= int(most)):
                return (True, None)
        return (False, None)

    return late_registration


def _b_age(p: Mapping[str, Any], where: str) -> Test:
    lo = p.get("at_least")
    hi = p.get("at_most")

    def age(ctx: Context) -> Result:
        return ((lo is None or ctx.age >= lo) and (hi is None or ctx.age <= hi), None)

    return age


def _b_sex(p: Any, where: str) -> Test:
    if p not in ("F", "M"):
        raise RuleSetError(f"sex must be F or M, not {p!r}", where=where)

    def sex(ctx: Context) -> Result:
        return (ctx.patient.sex == p, None)

    return sex


def _b_on_register(p: Any, where: str) -> Test:
    regs = frozenset([p] if isinstance(p, str) else p)

    def on_register(ctx: Context) -> Result:
        return (not regs.isdisjoint(ctx.registers), None)

    return on_register


def _b_all(p: Iterable[Any], where: str) -> Test:
    parts = [compile_test(t, f"{where}.all[{i}]") for i, t in enumerate(p)]

    def all_(ctx: Context) -> Result:
        ev = None
        for t in parts:
            ok, e = t(ctx)
            if not ok:
                return (False, e)
            ev = e or ev
        return (True, ev)

    return all_


def _b_any(p: Iterable[Any], where: str) -> Test:
    parts = [compile_test(t, f"{where}.any[{i}]") for i, t in enumerate(p)]

    def any_(ctx: Context) -> Result:
        last = None
        for t in parts:
            ok, e = t(ctx)
            if ok:
                return (True, e)
            last = e or last
        return (False, last)

    return any_


def _b_not(p: Mapping[str, Any], where: str) -> Test:
    inner = compile_test(p, f"{where}.not")

    def not_(ctx: Context) -> Result:
        ok, e = inner(ctx)
        return (not ok, e)

    return not_


_BUILDERS: dict[str, Callable[[Any, str], Test]] = {
    "has": _b_has,
    "latest_value": _b_latest_value,
    "latest_is": _b_latest_is,
    "bp_at_target": _b_bp,
    "invited": _b_invited,
    "first_within": _b_first_within,
    "first_on_or_after": _b_first_on_or_after,
    "registered_within": _b_registered_within,
    "near_first": _b_near_first,
    "given_at_age": _b_given_at_age,
    "late_registration": _b_late_registration,
    "age": _b_age,
    "sex": _b_sex,
    "on_register": _b_on_register,
    "all": _b_all,
    "any": _b_any,
    "not": _b_not,
}


def make_context(
    patient: PatientRecord,
    dates: RunDates,
    index: dict[str, list[CodedEvent]],
    registers: frozenset[str] | None = None,
) -> Context:
    """The patient's context; composite registers (CHOL_REG, SMOK1_REG, CS_REG…) are derived from the shared
    register ids given (see :mod:`.registers`)."""
    age = age_in_years(patient.date_of_birth, dates.achievement_date)
    held = patient.registers if registers is None else registers
    return Context(patient, dates, index, age, with_derived(held, age, patient.sex))

"""Why a success rule failed: what it found in the record, in words a QOF lead reads, with the entries.

A patient in the denominator only is decided by the chain's final "otherwise select" step, which reads nothing.
The evidence worth showing is that of the rule that would have put them in the numerator: the latest relevant
entry with its value and date ("latest IFCC-HbA1c 71 mmol/mol on 2025-09-02 (target ≤ 58)"), or its absence in
the rule's window ("no IFCC-HbA1c since 2025-04-01"), the invitations counted so far, and so on.
``compile_explain`` turns a test spec (see :mod:`.rules`) into a closure ``Context -> list[Fact]``; the engine
calls it only for patients in the denominator only.

Cluster labels and units come from ``rulesets/cluster_labels.csv``; a cluster without a label shows its name.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from .dates import Span, Window, parse_window
from .rules import (
    Context,
    Evidence,
    _age_offset,
    _clusters,
    _doses,
    _first,
    _latest_in,
    _span,
    compile_test,
    invitations,
)

LABELS = Path(__file__).resolve().parent.parent / "rulesets" / "cluster_labels.csv"
_SYMBOL = {"at_most": "≤", "below": "<", "at_least": "≥", "above": ">"}


@dataclass(frozen=True, slots=True)
class Fact:
    """One thing a rule found: a sentence, the entries it rests on (latest first), and the window searched."""

    text: str
    evidence: tuple[Evidence, ...] = ()
    span: Span | None = None


Explain = Callable[[Context], list[Fact]]


@lru_cache(maxsize=1)
def cluster_labels(path: Path = LABELS) -> dict[str, tuple[str, str]]:
    """Cluster -> (label, unit)."""
    with path.open(newline="", encoding="utf-8") as fh:
        return {r["cluster"]: (r["label"], r["unit"]) for r in csv.DictReader(fh)}


def _label(cluster: str) -> str:
    return cluster_labels().get(cluster, (cluster, ""))[0]


def _unit(cluster: str) -> str:
    unit = cluster_labels().get(cluster, ("", ""))[1]
    return f" {unit}" if unit else ""


def _names(clusters: Sequence[str]) -> str:
    labels = list(dict.fromkeys(_label(c) for c in clusters))
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " or " + labels[-1]


def _num(v: float | None) -> str:
    return "?" if v is None else f"{v:g}"


def first_day(span: Span) -> date:
    return span.start + timedelta(days=1) if span.start_exclusive else span.start


def _when(w: Window, span: Span) -> str:
    if w.spec == "ever":
        return "on record"
    return f"since {first_day(span).isoformat()}"


def _absent(ctx: Context, clusters: Sequence[str], w: Window, span: Span, valued: bool = False) -> Fact:
    """``no X since <date>``, naming the latest entry before the window if there is one."""
    before = _latest_in(ctx, clusters, None, valued)
    text = f"no {_names(clusters)} {_when(w, span)}"
    if before is not None and w.spec != "ever":
        c, e = before
        value = f" {_num(e.value)}{_unit(c)}" if valued else ""
        text += f" (latest{value} on {e.date.isoformat()})"
        return Fact(text, (before,), span)
    return Fact(text, (), span)


def compile_explain(test: Mapping[str, Any], where: str = "") -> Explain:
    """A closure saying what the test found for a patient (called where the test did not select them)."""
    ((name, p),) = test.items()
    return _BUILDERS.get(name, _x_generic)(p, where)


def _latest_or_absent(ctx: Context, clusters: Sequence[str], w: Window, prefix: str = "") -> list[Fact]:
    """The latest entry of ``clusters`` in the window, or what its absence looks like."""
    span = _span(w, ctx.dates)
    ev = _latest_in(ctx, clusters, span)
    if ev is None:
        return [_absent(ctx, clusters, w, span)]
    return [Fact(f"{prefix}{_label(ev[0])} on {ev[1].date.isoformat()}", (ev,), span)]


def _x_has(p: Mapping[str, Any], where: str) -> Explain:
    cl = _clusters(p, "clusters", where)
    w = parse_window(str(p.get("window", "ever")), where)

    def has(ctx: Context) -> list[Fact]:
        return _latest_or_absent(ctx, cl, w)

    return has


def _x_latest_value(p: Mapping[str, Any], where: str) -> Explain:
    cl = _clusters(p, "clusters", where)
    w = parse_window(str(p["window"]), where)
    op = next(k for k in _SYMBOL if k in p)
    target = f"target {_SYMBOL[op]} {_num(float(p[op]))}"

    def latest_value(ctx: Context) -> list[Fact]:
        span = _span(w, ctx.dates)
        ev = _latest_in(ctx, cl, span, valued=True)
        if ev is None:
            return [_absent(ctx, cl, w, span, valued=True)]
        c, e = ev
        text = f"latest {_label(c)} {_num(e.value)}{_unit(c)} on {e.date.isoformat()} ({target})"
        return [Fact(text, (ev,), span)]

    return latest_value


def _x_bp(p: Mapping[str, Any], where: str) -> Explain:
    sys_c = _clusters(p, "systolic", where)
    dia_c = _clusters(p, "diastolic", where)
    home_c = _clusters(p, "home", where)
    w = parse_window(str(p["window"]), where)
    clinic = "/".join(_num(float(x)) for x in p["clinic"])
    home_t = "/".join(_num(float(x)) for x in p["home_target"])

    def on_day(ctx: Context, clusters: Sequence[str], day: date) -> Evidence | None:
        found = [(c, e) for c in clusters for e in ctx.index.get(c, ()) if e.date == day and e.value is not None]
        return min(found, key=lambda ce: ce[1].value or 0.0) if found else None

    def bp_at_target(ctx: Context) -> list[Fact]:
        span = _span(w, ctx.dates)
        latest = _latest_in(ctx, sys_c + dia_c, span, valued=True)
        if latest is None:
            before = _latest_in(ctx, sys_c + dia_c, None, valued=True)
            text = f"no blood pressure {_when(w, span)}"
            if before is not None:
                text += f" (latest on {before[1].date.isoformat()})"
            return [Fact(text, (before,) if before else (), span)]
        day = latest[1].date
        s, d = on_day(ctx, sys_c, day), on_day(ctx, dia_c, day)
        home = any(e.date == day for c in home_c for e in ctx.index.get(c, ()))
        where_taken = f"home, target ≤ {home_t}" if home else f"clinic, target ≤ {clinic}"
        if s is None or d is None:
            missing = "systolic" if s is None else "diastolic"
            got = tuple(x for x in (s, d) if x is not None)
            return [Fact(f"latest blood pressure on {day.isoformat()} has no {missing} reading", got, span)]
        text = f"latest blood pressure {_num(s[1].value)}/{_num(d[1].value)} mmHg on {day.isoformat()} ({where_taken})"
        return [Fact(text, (s, d), span)]

    return bp_at_target


def _x_invited(p: Mapping[str, Any], where: str) -> Explain:
    cl = _clusters(p, "clusters", where)
    count = int(p.get("count", 2))
    gap = int(p.get("min_gap_days", 7))
    w = parse_window(str(p.get("window", "service_year")), where)
    after = None
    if "after_latest" in p:
        a = p["after_latest"]
        after = (_clusters(a, "clusters", where), parse_window(str(a.get("window", "12m")), where))

    def invited(ctx: Context) -> list[Fact]:
        got = invitations(ctx, cl, w, gap, after)
        dates = ", ".join(e.date.isoformat() for _, e in got)
        n = len(got)
        text = f"{n} invitation{'' if n == 1 else 's'} so far" + (f" ({dates})" if got else "")
        text += f"; {count} needed, at least {gap} days apart" + (" after the latest result" if after else "")
        return [Fact(text, tuple(reversed(got)), _span(w, ctx.dates))]

    return invited


def _x_latest_is(p: Mapping[str, Any], where: str) -> Explain:
    among = _clusters(p, "among", where)
    w = parse_window(str(p.get("window", "ever")), where)

    def latest_is(ctx: Context) -> list[Fact]:
        return _latest_or_absent(ctx, among, w, prefix=f"latest of {_names(among)}: ")

    return latest_is


def _x_first(p: Mapping[str, Any], where: str) -> Explain:
    cl = _clusters(p, "clusters", where)

    def first(ctx: Context) -> list[Fact]:
        ev = _first(ctx, cl)
        if ev is None:
            return [Fact(f"no {_names(cl)} on record")]
        return [Fact(f"first {_label(ev[0])} on {ev[1].date.isoformat()}", (ev,))]

    return first


def _x_near_first(p: Mapping[str, Any], where: str) -> Explain:
    cl = _clusters(p, "clusters", where)
    anchor = _clusters(p, "anchor", where)

    def near_first(ctx: Context) -> list[Fact]:
        ev = _first(ctx, anchor)
        if ev is None:
            return [Fact(f"no {_names(anchor)} on record")]
        return [Fact(f"no {_names(cl)} around the first {_label(ev[0])} ({ev[1].date.isoformat()})", (ev,))]

    return near_first


def _x_given_at_age(p: Mapping[str, Any], where: str) -> Explain:
    cl = _clusters(p, "clusters", where)
    n = int(p.get("at_least", 1))
    lo = parse_window(str(p.get("age_from", "0d")), where)
    hi = parse_window(str(p["age_before"]), where)

    def given_at_age(ctx: Context) -> list[Fact]:
        got = _doses(ctx, cl, lo, hi)
        dob = ctx.patient.date_of_birth
        span = Span(_age_offset(dob, lo), _age_offset(dob, hi) - timedelta(days=1), False)
        dates = ", ".join(e.date.isoformat() for _, e in got)
        text = f"{len(got)} of {n} {_names(cl)} given between ages {lo.spec} and {hi.spec}"
        return [Fact(text + (f" ({dates})" if got else ""), tuple(reversed(got)), span)]

    return given_at_age


def _x_registered_within(p: Mapping[str, Any], where: str) -> Explain:
    def registered_within(ctx: Context) -> list[Fact]:
        return [Fact(f"registered on {ctx.patient.registered_on.isoformat()}")]

    return registered_within


def _x_all(p: Sequence[Any], where: str) -> Explain:
    parts = [(compile_test(t, f"{where}.all[{i}]"), compile_explain(t, f"{where}.all[{i}]")) for i, t in enumerate(p)]

    def all_(ctx: Context) -> list[Fact]:
        return [f for test, explain in parts if not test(ctx)[0] for f in explain(ctx)]

    return all_


def _x_any(p: Sequence[Any], where: str) -> Explain:
    parts = [compile_explain(t, f"{where}.any[{i}]") for i, t in enumerate(p)]

    def any_(ctx: Context) -> list[Fact]:
        return [f for explain in parts for f in explain(ctx)]

    return any_


def _x_not(p: Mapping[str, Any], where: str) -> Explain:
    return compile_explain(p, f"{where}.not")


def _x_generic(p: Any, where: str) -> Explain:
    """Tests on age, sex and registers: the rule's own text says it all; nothing from the record to show."""

    def generic(ctx: Context) -> list[Fact]:
        return []

    return generic


_BUILDERS: dict[str, Callable[[Any, str], Explain]] = {
    "has": _x_has,
    "latest_value": _x_latest_value,
    "latest_is": _x_latest_is,
    "bp_at_target": _x_bp,
    "invited": _x_invited,
    "first_within": _x_first,
    "first_on_or_after": _x_first,
    "registered_within": _x_registered_within,
    "near_first": _x_near_first,
    "given_at_age": _x_given_at_age,
    "all": _x_all,
    "any": _x_any,
    "not": _x_not,
}

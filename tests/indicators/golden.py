"""Table-driven golden cases, run on every QOF year that has the indicator.

A :class:`Case` is one patient written relative to the year's payment period end date (PPED), the rule text it
checks, and the outcome that text gives. Dates are spelled ``"-12m+1d"`` (PPED minus 12 months plus a day:
the first day of a 12-month window), ``"0"`` (PPED), ``"-3y6m"`` (3 years 6 months back) or an ISO date.
Codes come from the cluster names: a public cluster gives one of its real codes, a cluster with no public copy
one test-only code (made-up namespace 1000099, term "TEST ONLY") from a test release written in the PCD refset
content-file format and read by the real release reader (:func:`test_release`).
Nothing here is shipped or used for scoring.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from services.indicators.domain import CodedEvent, PatientRecord, compile_ruleset, load_ruleset
from services.indicators.domain.dates import add_months
from services.indicators.domain.engine import CompiledRuleSet
from shared.codelists import CodelistLibrary, shipped_library
from shared.codelists.active import with_release
from shared.codelists.release import read_release

from .conftest import test_code

YEARS = ("qof-2024-25", "qof-2025-26", "qof-2026-27")
HEADER = ["Cluster_ID", "Cluster_Description", "SNOMED_code", "SNOMED_code_description", "PCD_Refset_ID",
          "Service_and_Ruleset"]

NUM: tuple[str, str | None] = ("numerator", None)
DEN: tuple[str, str | None] = ("denominator_only", None)


def pca(field_name: str) -> tuple[str, str | None]:
    return ("pca", field_name)


def exc(field_name: str) -> tuple[str, str | None]:
    return ("excluded_from_population", field_name)


def write_test_release(path: Path, clusters: Iterable[str]) -> Path:
    """A PCD refset content file with one test-only code per cluster (and a test-only refset id)."""
    with path.open("w", newline="") as fh:
        w = csv.writer(fh, delimiter="\t", lineterminator="\n")
        w.writerow(HEADER)
        for c in sorted(set(clusters)):
            w.writerow([c, f"{c} TEST ONLY", test_code(c), f"{c} TEST ONLY concept", test_code(f"{c}#refset"),
                        "QOF TEST ONLY"])
    return path


def missing_clusters(library: CodelistLibrary) -> set[str]:
    out: set[str] = set()
    for rid in YEARS:
        out |= {c for r in compile_ruleset(load_ruleset(rid), library).readiness.values() for c in r.missing}
    return out


def test_release(folder: Path) -> CodelistLibrary:
    """The shipped codelists with a test release over them giving every missing cluster one test-only code."""
    path = write_test_release(folder / "pcd_refset_content_TEST_ONLY.txt", missing_clusters(shipped_library()))
    release = read_release(path, version="test-only", source="tests (TEST ONLY)", date="2026-12-01")
    return with_release(release)


test_release.__test__ = False  # type: ignore[attr-defined]
write_test_release.__test__ = False  # type: ignore[attr-defined]

_PART = re.compile(r"([+-]?)(\d+)([ymd])")


def when(spec: str, pped: date) -> date:
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", spec):
        return date.fromisoformat(spec)
    d, sign = pped, "-"
    for given, n, unit in _PART.findall(spec):
        sign = given or sign  # "-3y6m" is 3 years and 6 months back
        k = int(n) if sign == "+" else -int(n)
        d = add_months(d, 12 * k) if unit == "y" else add_months(d, k) if unit == "m" else d + timedelta(days=k)
    return d


Event = tuple[str, str] | tuple[str, str, float]


@dataclass(frozen=True)
class P:
    """A patient on the PPED: registers held, entries (cluster, when[, value]), age, sex, registered since."""

    regs: tuple[str, ...] = ()
    ev: tuple[Event, ...] = ()
    age: int = 60
    sex: str = "F"
    since: str = "-10y"
    dob: str | None = None  # overrides ``age`` (children: "-8m")

    def plus(self, *ev: Event, **kw: object) -> P:
        return P(**{**self.__dict__, "ev": self.ev + ev, **kw})  # type: ignore[arg-type]


@dataclass(frozen=True)
class Case:
    indicator: str
    rule: str  # the rule text checked (business rules / indicator wording)
    patient: P
    expect: tuple[str, str | None] | None  # None: not in the indicator's population
    years: tuple[str, ...] = field(default=())  # () = every year that has the indicator

    def id(self) -> str:
        return f"{self.indicator}-{self.rule[:60]}"


def code_of(engine: CompiledRuleSet, cluster: str) -> str:
    """A code of ``cluster`` in no other cluster the rule set reads, where there is one."""
    codes = sorted(engine.clusters[cluster].codes)
    assert codes, f"{cluster} has no code"
    only = [c for c in codes if engine.code_clusters.get(c, (cluster,)) == (cluster,)]
    return (only or codes)[0]


def record(engine: CompiledRuleSet, p: P, pped: date) -> PatientRecord:
    dob = when(p.dob, pped) if p.dob else add_months(pped, -12 * p.age - 1)
    events = tuple(CodedEvent(code_of(engine, e[0]), when(e[1], pped), e[2] if len(e) > 2 else None)  # type: ignore[misc]
                   for e in p.ev)
    return PatientRecord("g1", dob, p.sex, when(p.since, pped), registers=frozenset(p.regs), events=events)


def run(engine: CompiledRuleSet, case: Case) -> tuple[str, str | None] | None:
    pped = engine.ruleset.settings.pped
    found = [o for o in engine.evaluate(record(engine, case.patient, pped), pped) if o.indicator_id == case.indicator]
    return (found[0].status, found[0].field) if found else None


def expand(cases: Iterable[Case]) -> list[tuple[str, Case]]:
    """(rule set id, case) for every year the case applies to."""
    have = {rid: {i.id for i in load_ruleset(rid).indicators} for rid in YEARS}
    out = []
    for c in cases:
        years = c.years or YEARS
        hit = [rid for rid in years if c.indicator in have[rid]]
        assert hit, f"{c.indicator} is in none of {years}"
        out += [(rid, c) for rid in hit]
    return out


def by_indicator(cases: Iterable[Case]) -> list[tuple[str, str, tuple[Case, ...]]]:
    """(rule set id, indicator, its cases): one test item per indicator and year keeps the run fast."""
    grouped: dict[tuple[str, str], list[Case]] = {}
    for rid, c in expand(cases):
        grouped.setdefault((rid, c.indicator), []).append(c)
    return [(rid, ind, tuple(cs)) for (rid, ind), cs in grouped.items()]


def item_id(x: object) -> str:
    """Test ids: the rule set and indicator, and how many cases."""
    return x if isinstance(x, str) else f"{len(x)}-cases"  # type: ignore[arg-type]


def failures(engine: CompiledRuleSet, cases: Iterable[Case]) -> list[str]:
    """Every case whose outcome is not the one its rule gives, with what came out instead."""
    return [f"{c.rule}: expected {c.expect}, got {got}" for c in cases if (got := run(engine, c)) != c.expect]


# ---------------------------------------------------------------- the patterns every chain repeats


def window_edges(ind: str, rule: str, base: P, make: Callable[[str], tuple[Event, ...]], window: str,
                 years: tuple[str, ...] = (), otherwise: tuple[str, str | None] = DEN) -> list[Case]:
    """The success entry on the window's first day and at PPED selects; the day before the window does not.
    ``make(when)`` gives the entries for one date."""
    return [
        Case(ind, f"{rule} (first day of the {window})", base.plus(*make(f"-{window}+1d")), NUM, years),
        Case(ind, f"{rule} (on PPED)", base.plus(*make("0")), NUM, years),
        Case(ind, f"{rule} (the day before the {window})", base.plus(*make(f"-{window}")), otherwise, years),
    ]


def bp(at: str, systolic: float, diastolic: float, home: bool = False) -> tuple[Event, ...]:
    out: tuple[Event, ...] = (("SYSBP_COD", at, systolic), ("DIABP_COD", at, diastolic))
    return (*out, ("HOMEBP_COD", at)) if home else out


def has(*clusters: str) -> Callable[[str], tuple[Event, ...]]:
    """Entries of each cluster on one date (for :func:`window_edges`)."""
    return lambda at: tuple((c, at) for c in clusters)


def pca_steps(ind: str, base: P, steps: Iterable[tuple[str, str, str]], years: tuple[str, ...] = (),
              otherwise: tuple[str, str | None] = DEN) -> list[Case]:
    """For each (cluster, window, field): "Reject patients with <cluster> in the <window> up to and including
    PPED" — a code on the window's first day rejects as that PCA, the day before does not."""
    out = []
    for cluster, window, fld in steps:
        if window == "ever":
            out.append(Case(ind, f"reject ({fld}): {cluster} ever", base.plus((cluster, "-15y")), pca(fld), years))
            continue
        out.append(Case(ind, f"reject ({fld}): {cluster} in the {window}", base.plus((cluster, f"-{window}+1d")),
                        pca(fld), years))
        out.append(Case(ind, f"{cluster} before the {window} does not reject", base.plus((cluster, f"-{window}")),
                        otherwise, years))
    return out


def invitation_steps(ind: str, base: P, cluster: str, fld: str, years: tuple[str, ...] = (), count: int = 2,
                     otherwise: tuple[str, str | None] = DEN) -> list[Case]:
    """"Reject patients who did not respond to <count> invitations ... at least 7 days apart in the service
    year": invitations 7 days apart reject, 6 days apart count once; an invitation before the service year
    does not count."""
    seven = tuple((cluster, f"-6m+{7 * i}d") for i in range(count))
    six = tuple((cluster, f"-6m+{6 * i}d") for i in range(count))
    early = ((cluster, "-12m"), *seven[1:])
    return [
        Case(ind, f"reject ({fld}): {count} invitations 7 days apart", base.plus(*seven), pca(fld), years),
        Case(ind, f"{count} invitations 6 days apart are not {count}", base.plus(*six), otherwise, years),
        Case(ind, "an invitation before the service year does not count", base.plus(*early), otherwise, years),
    ]


def newly(ind: str, base: P, diagnosis: str, window: str, diag_field: str, reg_field: str,
          years: tuple[str, ...] = ()) -> list[Case]:
    """"Reject patients whose earliest diagnosis / registration is in the <window> leading up to and including
    PPED": on the window's first day it rejects, the day before it does not."""
    out = [
        Case(ind, f"reject ({reg_field}): registered in the {window}", base.plus(since=f"-{window}+1d"),
             pca(reg_field), years),
        Case(ind, f"registered the day before the {window} stays", base.plus(since=f"-{window}"), DEN, years),
    ]
    if diagnosis:
        out += [
            Case(ind, f"reject ({diag_field}): first diagnosed in the {window}",
                 base.plus((diagnosis, f"-{window}+1d")), pca(diag_field), years),
            Case(ind, f"first diagnosed the day before the {window} stays", base.plus((diagnosis, f"-{window}")),
                 DEN, years),
        ]
    return out

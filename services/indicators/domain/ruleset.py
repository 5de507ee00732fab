"""Rule sets as data: a QOF year or a local scheme, loaded from ``rulesets/<id>.yaml``.

A rule-set file holds the year settings (each with provenance), the indicators and, per indicator, its ordered
rule chain. A chain reads like the published business rules: each step has a ``test`` (see :mod:`.rules`)
and an action when true / when false, one of ``next`` (pass to the next rule), ``{select: numerator}``,
``{select: denominator}`` (in the denominator only: a gap), ``{reject: pca, field: DMPCADEC}`` (a personalised
care adjustment, field names as in PCA_REFERENCE.csv) or ``{reject: exclusion, field: MDSEVFRAIL}``
(outside the
indicator's population). The first Select or Reject ends the chain. ``if_false`` defaults to ``next``.

A file may ``inherit`` another (``inherits: qof-2024-25``): it then lists ``retire`` (ids dropped) and gives
indicators either in full or as ``{id, extends: <base id>, ...changed fields}``.
Cluster names are business-rule names; ``shared/codelists/aliases.csv`` maps those the library holds under
another name.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml

from .errors import RuleSetError, UnknownRuleSet, did_you_mean
from .provenance import CONFIDENCES, Confidence, Sourced
from .registers import DERIVED_BY_ID, register_ids
from .rules import clusters_in, registers_in, validate_test

RULESETS_DIR = Path(__file__).resolve().parent.parent / "rulesets"

IndicatorKind = Literal["register", "patient", "attestation"]
ActionKind = Literal["next", "select", "reject"]
Outcome = Literal["numerator", "denominator", "pca", "exclusion"]


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    outcome: Outcome | None = None
    field: str | None = None  # PCA / exclusion field name, e.g. DMPCADEC, REG1_DAT9, PAT_AGEO79

    def describe(self) -> str:
        if self.kind == "next":
            return "next rule"
        return f"{self.kind} ({self.outcome}{': ' + self.field if self.field else ''})"


NEXT = Action("next")


@dataclass(frozen=True)
class RuleStep:
    number: str
    text: str
    test: Mapping[str, Any] = field(hash=False, compare=False)
    if_true: Action
    if_false: Action = NEXT


@dataclass(frozen=True)
class Deadline:
    """When a gap stops being closable: ``after`` from the first ``clusters`` code, or from birth."""

    after: str
    clusters: tuple[str, ...] = ()
    text: str = ""


@dataclass(frozen=True)
class GapHint:
    closes: str
    invite_clusters: tuple[str, ...] = ()
    invites_needed: int = 2
    invites_after_latest: tuple[str, ...] = ()
    deadline: Deadline | None = None


@dataclass(frozen=True)
class Population:
    """Who the indicator is about before the chain runs. ``register`` None = every registered patient."""

    register: str | None
    list_type: str = "TOTAL"
    min_age: int | None = None
    max_age: int | None = None
    sex: Literal["F", "M"] | None = None
    attains_age: str | None = None  # VI cohorts: reached this age (window spelling) in the service year


@dataclass(frozen=True)
class AttestationSpec:
    evidence: tuple[str, ...]
    min_meetings: int = 0


@dataclass(frozen=True)
class ImprovementRoute:
    """A second way to earn an indicator's points (VI001-VI003 from 2026/27): improving on the practice's own
    baseline, the mean of its achievement in ``baseline_years`` previous QOF years computed from the record.
    Points scale from ``lower_gain_pp`` to ``upper_gain_pp`` percentage points above the baseline; at year end
    the practice is paid the higher of the two routes. Each figure carries its provenance ([U] where the
    guidance leaves it open)."""

    baseline: Sourced[str]
    lower_gain_pp: Sourced[float]
    upper_gain_pp: Sourced[float]
    paid: Sourced[str]
    baseline_years: int = 2


@dataclass(frozen=True)
class Indicator:
    id: str
    wording: str
    group: str
    domain: str
    kind: IndicatorKind
    population: Population
    points: Sourced[float]
    lower_threshold: Sourced[float] | None
    upper_threshold: Sourced[float] | None
    prevalence_adjusted: Sourced[bool]
    income_protected: bool
    prevalence_group: str | None
    rules: tuple[RuleStep, ...]
    chain: Sourced[str]  # the chain's confidence, source and any note on what is unknown
    gap: GapHint | None = None
    attestation: AttestationSpec | None = None
    improvement: ImprovementRoute | None = None

    @property
    def register(self) -> str | None:
        return self.population.register

    @property
    def clusters(self) -> frozenset[str]:
        found: set[str] = set()
        for step in self.rules:
            found |= clusters_in(step.test)
        if self.gap:
            found |= set(self.gap.invite_clusters) | set(self.gap.invites_after_latest)
            if self.gap.deadline:
                found |= set(self.gap.deadline.clusters)
        return frozenset(found)


@dataclass(frozen=True)
class NationalPrevalence:
    """National prevalence per register group as a fraction of the whole list, with its basis."""

    by_group: Mapping[str, float] = field(hash=False, compare=False)
    basis: str
    confidence: Confidence
    source: str


@dataclass(frozen=True)
class YearSettings:
    start: date
    pped: date
    pound_per_point: Sourced[float]
    national_average_list_size: Sourced[float]
    aspiration_percent: Sourced[float]
    business_rules_version: Sourced[str]
    national_prevalence: NationalPrevalence


@dataclass(frozen=True)
class Reporting:
    frequency: Literal["annual", "quarterly", "monthly"]
    period_ends: tuple[date, ...]


@dataclass(frozen=True)
class RuleSet:
    id: str
    title: str
    kind: Literal["qof", "local_scheme"]
    settings: YearSettings
    indicators: tuple[Indicator, ...]
    reporting: Reporting
    replaces: tuple[str, ...] = ()  # local scheme: the QOF indicators a practice opts out of
    description: str = ""

    def indicator(self, indicator_id: str) -> Indicator:
        for ind in self.indicators:
            if ind.id == indicator_id:
                return ind
        raise KeyError(
            f"{self.id} has no indicator {indicator_id}; "
            f"{did_you_mean(indicator_id, [i.id for i in self.indicators])}"
        )

    @property
    def total_points(self) -> float:
        return sum(i.points.value for i in self.indicators)

    @property
    def registers_read(self) -> frozenset[str]:
        """Every shared register an indicator of this rule set reads: as its population or in an
        ``on_register`` test, a derived register (CHOL_REG, ...) by the shared registers it is made of."""
        named: set[str] = set()
        for ind in self.indicators:
            if ind.register:
                named.add(ind.register)
            for step in ind.rules:
                named |= registers_in(step.test)
        derived = {d for d in named if d in DERIVED_BY_ID}
        return frozenset((named - derived).union(*(DERIVED_BY_ID[d].of for d in derived)))


# ---------------------------------------------------------------- loading


def _sourced(raw: Any, where: str, default_source: str = "") -> Sourced[Any]:
    if not isinstance(raw, Mapping) or "value" not in raw:
        raise RuleSetError(
            "expected {value, confidence, source}",
            where=where,
            hint="every money-moving number carries its provenance",
        )
    conf = raw.get("confidence")
    if conf not in CONFIDENCES:
        raise RuleSetError(f"confidence {conf!r}", where=where, hint="use V, S or U (see QOF_RULES.md)")
    source = raw.get("source") or default_source
    if not source:
        raise RuleSetError("missing source", where=where)
    return Sourced(raw["value"], conf, str(source), str(raw.get("note", "")))


def _action(raw: Any, where: str) -> Action:
    if raw in (None, "next"):
        return NEXT
    if isinstance(raw, Mapping):
        if "select" in raw:
            if raw["select"] not in ("numerator", "denominator"):
                raise RuleSetError(f"select {raw['select']!r}", where=where, hint="numerator or denominator")
            return Action("select", raw["select"])
        if "reject" in raw:
            if raw["reject"] not in ("pca", "exclusion"):
                raise RuleSetError(f"reject {raw['reject']!r}", where=where, hint="pca or exclusion")
            if not raw.get("field"):
                raise RuleSetError(
                    "a reject names its field",
                    where=where,
                    hint="as in PCA_REFERENCE.csv, e.g. field: DMPCADEC",
                )
            return Action("reject", raw["reject"], str(raw["field"]))
    raise RuleSetError(
        f"bad action {raw!r}",
        where=where,
        hint="next, {select: numerator|denominator} or {reject: pca|exclusion, field: ...}",
    )


def _thresholds(raw: Mapping[str, Any], where: str) -> tuple[Sourced[float] | None, Sourced[float] | None]:
    t = raw.get("thresholds")
    if t is None:
        return None, None
    base = {"confidence": t.get("confidence"), "source": t.get("source"), "note": t.get("note", "")}
    lo = _sourced(
        {**base, "value": float(t["lower"])} if not isinstance(t["lower"], Mapping) else t["lower"],
        f"{where}.thresholds.lower",
    )
    hi = _sourced(
        {**base, "value": float(t["upper"])} if not isinstance(t["upper"], Mapping) else t["upper"],
        f"{where}.thresholds.upper",
    )
    if not 0 <= lo.value < hi.value <= 100:
        raise RuleSetError(f"thresholds {lo.value}–{hi.value}", where=where, hint="0 <= lower < upper <= 100")
    return lo, hi


_INDICATOR_KEYS = {
    "id",
    "wording",
    "group",
    "domain",
    "kind",
    "population",
    "points",
    "thresholds",
    "prevalence_adjusted",
    "income_protected",
    "prevalence_group",
    "rules",
    "chain",
    "gap",
    "attestation",
    "improvement",
    "extends",
}


def _indicator(raw: Mapping[str, Any], where: str) -> Indicator:
    for key in raw:
        if key not in _INDICATOR_KEYS:
            raise RuleSetError(f"unknown field {key!r}", where=where, hint=did_you_mean(key, _INDICATOR_KEYS))
    iid = str(raw["id"])
    kind = raw.get("kind", "patient")
    pop_raw = raw.get("population") or {}
    pop = Population(
        pop_raw.get("register"),
        str(pop_raw.get("list_type", "TOTAL")),
        pop_raw.get("min_age"),
        pop_raw.get("max_age"),
        pop_raw.get("sex"),
        pop_raw.get("attains_age"),
    )
    if pop.register is not None and pop.register not in register_ids():
        raise RuleSetError(
            f"unknown register {pop.register!r}",
            where=f"{where}.population",
            hint=did_you_mean(pop.register, register_ids()) or "see shared/qof/registers.py",
        )
    steps: list[RuleStep] = []
    for i, s in enumerate(raw.get("rules") or []):
        sw = f"{where}.rules[{s.get('rule', i + 1)}]"
        if "test" not in s:
            raise RuleSetError("a rule step needs a test", where=sw)
        validate_test(s["test"], sw)
        steps.append(
            RuleStep(
                str(s.get("rule", i + 1)),
                str(s.get("text", "")),
                s["test"],
                _action(s.get("if_true"), sw + ".if_true"),
                _action(s.get("if_false"), sw + ".if_false"),
            )
        )
    if kind == "patient":
        if not steps:
            raise RuleSetError("a patient indicator needs rules", where=where)
        last = steps[-1]
        if last.if_true.kind == "next" or last.if_false.kind == "next":
            raise RuleSetError(
                "the chain can fall off its end",
                where=f"{where}.rules[{last.number}]",
                hint="the last rule selects or rejects both ways",
            )
    chain_raw = raw.get("chain") or {
        "value": "register" if kind != "patient" else "",
        "confidence": "U",
        "source": "QOF_RULES.md",
    }
    gap = None
    if raw.get("gap"):
        g = raw["gap"]
        dl = g.get("deadline")
        gap = GapHint(
            str(g["closes"]),
            tuple(g.get("invite_clusters", ())),
            int(g.get("invites_needed", 2)),
            tuple(g.get("invites_after_latest", ())),
            Deadline(str(dl["after"]), tuple(dl.get("clusters", ())), str(dl.get("text", "")))
            if dl
            else None,
        )
    att = None
    if raw.get("attestation"):
        a = raw["attestation"]
        att = AttestationSpec(tuple(a.get("evidence", ())), int(a.get("min_meetings", 0)))
    improvement = None
    if raw.get("improvement"):
        im, iw = raw["improvement"], f"{where}.improvement"
        improvement = ImprovementRoute(
            _sourced(im.get("baseline"), iw + ".baseline"),
            _sourced(im.get("lower_gain_pp"), iw + ".lower_gain_pp"),
            _sourced(im.get("upper_gain_pp"), iw + ".upper_gain_pp"),
            _sourced(im.get("paid"), iw + ".paid"),
            int(im.get("baseline_years", 2)),
        )
        if improvement.upper_gain_pp.value <= improvement.lower_gain_pp.value:
            raise RuleSetError("upper_gain_pp must be above lower_gain_pp", where=iw)
    lo, hi = _thresholds(raw, where)
    if kind == "patient" and lo is None:
        raise RuleSetError("a patient indicator needs thresholds", where=where)
    pa = raw.get("prevalence_adjusted", {"value": True, "confidence": "U", "source": "QOF_RULES.md §1.3"})
    return Indicator(
        id=iid,
        wording=str(raw.get("wording", "")),
        group=str(raw.get("group", "")),
        domain=str(raw.get("domain", "")),
        kind=kind,
        population=pop,
        points=_sourced(raw["points"], f"{where}.points"),
        lower_threshold=lo,
        upper_threshold=hi,
        prevalence_adjusted=_sourced(pa, f"{where}.prevalence_adjusted"),
        income_protected=bool(raw.get("income_protected", False)),
        prevalence_group=raw.get("prevalence_group"),
        rules=tuple(steps),
        chain=_sourced(chain_raw, f"{where}.chain"),
        gap=gap,
        attestation=att,
        improvement=improvement,
    )


def _read(ruleset_id: str, directory: Path) -> dict[str, Any]:
    path = directory / f"{ruleset_id}.yaml"
    if not path.exists():
        raise UnknownRuleSet(
            f"no rule set {ruleset_id!r}",
            hint=did_you_mean(ruleset_id, _ids(directory)) or f"available: {', '.join(_ids(directory))}",
        )
    with path.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    if not isinstance(data, dict):
        raise RuleSetError("not a mapping", where=path.name)
    return data


def _ids(directory: Path) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.yaml") if p.stem not in ("clusters", "registers"))


def _resolve_inheritance(data: dict[str, Any], directory: Path, seen: tuple[str, ...] = ()) -> dict[str, Any]:
    parent_id = data.get("inherits")
    if not parent_id:
        return data
    if parent_id in seen:
        raise RuleSetError(f"inheritance cycle through {parent_id}", where=data.get("id", "?"))
    parent = _resolve_inheritance(_read(parent_id, directory), directory, (*seen, parent_id))
    base = {i["id"]: i for i in parent.get("indicators", [])}
    for rid in data.get("retire", []):
        if rid not in base:
            raise RuleSetError(f"retires {rid}, which {parent_id} does not have", where=data["id"])
        del base[rid]
    for ind in data.get("indicators", []):
        if "extends" in ind:
            if ind["extends"] not in base:
                raise RuleSetError(
                    f"{ind['id']} extends unknown {ind['extends']}",
                    where=data["id"],
                    hint=did_you_mean(ind["extends"], base),
                )
            merged = {**base.pop(ind["extends"]), **{k: v for k, v in ind.items() if k != "extends"}}
            base[ind["id"]] = merged
        else:
            base[ind["id"]] = ind
    return {
        **parent,
        **{k: v for k, v in data.items() if k not in ("inherits", "retire")},
        "indicators": list(base.values()),
    }


def _prevalence(raw: Mapping[str, Any], directory: Path, where: str) -> NationalPrevalence:
    by_group: dict[str, float] = {}
    path = directory / str(raw["file"])
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            by_group[row["GROUP_CODE"]] = float(row["prevalence_pct_of_total_list"]) / 100
    for group, pct in (raw.get("override") or {}).items():
        by_group[group] = float(pct) / 100
    conf = raw.get("confidence", "U")
    return NationalPrevalence(by_group, str(raw["basis"]), conf, str(raw.get("source", "")))


def parse_ruleset(data: Mapping[str, Any], directory: Path = RULESETS_DIR) -> RuleSet:
    rid = str(data.get("id", "?"))
    data = _resolve_inheritance(dict(data), directory)
    s = data["settings"]
    settings = YearSettings(
        start=date.fromisoformat(str(s["start"])),
        pped=date.fromisoformat(str(s["pped"])),
        pound_per_point=_sourced(s["pound_per_point"], f"{rid}.settings.pound_per_point"),
        national_average_list_size=_sourced(
            s["national_average_list_size"], f"{rid}.settings.national_average_list_size"
        ),
        aspiration_percent=_sourced(s["aspiration_percent"], f"{rid}.settings.aspiration_percent"),
        business_rules_version=_sourced(
            s["business_rules_version"], f"{rid}.settings.business_rules_version"
        ),
        national_prevalence=_prevalence(
            s["national_prevalence"], directory, f"{rid}.settings.national_prevalence"
        ),
    )
    indicators = tuple(
        _indicator(i, f"{rid}.indicators[{i.get('id', n)}]") for n, i in enumerate(data.get("indicators", []))
    )
    ids = [i.id for i in indicators]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise RuleSetError(f"duplicate indicators {sorted(dupes)}", where=rid)
    published = settings.national_prevalence.by_group
    for ind in indicators:
        group = ind.prevalence_group
        if ind.kind != "attestation" and ind.prevalence_adjusted.value and group not in published:
            raise RuleSetError(
                f"{ind.id} is prevalence-adjusted but its prevalence group {group!r} has no national prevalence",
                where=f"{rid}.indicators[{ind.id}]",
                hint="name a group of the national prevalence file, or pay it CPI only "
                "(prevalence_adjusted: {value: false, ...} with the source of that basis)",
            )
    rep = data.get("reporting") or {"frequency": "annual", "period_ends": [str(settings.pped)]}
    ruleset = RuleSet(
        rid,
        str(data.get("title", rid)),
        data.get("kind", "qof"),
        settings,
        indicators,
        Reporting(rep["frequency"], tuple(date.fromisoformat(str(d)) for d in rep["period_ends"])),
        tuple(data.get("replaces", ())),
        str(data.get("description", "")),
    )
    exp = data.get("expected")
    if exp and (len(indicators) != exp["indicators"] or abs(ruleset.total_points - exp["points"]) > 1e-9):
        raise RuleSetError(
            f"{len(indicators)} indicators / {ruleset.total_points:g} points, expected "
            f"{exp['indicators']} / {exp['points']}",
            where=rid,
            hint="an indicator was added or dropped by mistake, or a points value is wrong",
        )
    return ruleset


@lru_cache(maxsize=16)
def load_ruleset(ruleset_id: str, directory: Path = RULESETS_DIR) -> RuleSet:
    """Load and validate ``rulesets/<ruleset_id>.yaml`` (cached; rule sets are immutable)."""
    return parse_ruleset(_read(ruleset_id, directory), directory)


def available_rulesets(directory: Path = RULESETS_DIR) -> list[str]:
    return _ids(directory)

"""The engine: compile a rule set against a codelist library once, then evaluate patients fast.

Usage (the service layer)::

    ruleset = load_ruleset("qof-2025-26")
    engine = compile_ruleset(ruleset, default_library())      # once per rule set and library state
    engine.readiness                                           # per indicator: ready / stand-in / incomplete
    engine.codes                                               # the codes any rule reads
    outcomes = engine.evaluate(patient, date(2026, 3, 31))     # list[PatientOutcome]

``evaluate_patient(ruleset, patient, achievement_date, library)`` does the same with a cached compile.

Compilation resolves every rule cluster (through the alias table) to codes and builds one ``code →
clusters`` map for the whole rule set. Evaluating a patient indexes their entries by cluster in one pass
(dropping entries after the achievement date), then runs each applicable indicator's chain of pre-compiled
tests on those small per-cluster lists. Indicators with a missing cluster are never evaluated: they appear
in ``readiness`` as incomplete, naming the clusters, unless the missing clusters only feed PCA steps (see
:mod:`.partial`): those are evaluated with the clusters empty and are *provisional*, a lower bound. Register
indicators give ``numerator`` for every register member; attestation indicators (QI) are scored from practice
evidence, see :mod:`.attestation`.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from shared.codelists import CodelistLibrary

from .clusters import ClusterResolution, resolve_all
from .dates import RunDates, Window, add_months, parse_window
from .errors import IncompleteIndicator
from .explain import Explain, Fact, compile_explain, first_day
from .partial import lower_bound_blockers
from .records import CodedEvent, PatientRecord
from .registers import RegisterEvaluator
from .rules import Context, Test, _first, _span, compile_test, invitations, make_context
from .ruleset import Indicator, RuleSet, RuleStep

Status = Literal["numerator", "denominator_only", "pca", "excluded_from_population"]
Readiness = Literal["ready", "stand-in", "provisional", "incomplete", "attestation"]


@dataclass(frozen=True, slots=True)
class Evidence:
    """The entry that decided: its cluster, code, date, value and term."""

    cluster: str
    code: str
    date: date
    value: float | None
    term: str


@dataclass(frozen=True, slots=True)
class Finding:
    """For a patient in the denominator only: what a success rule (one that selects the numerator) found.

    ``text`` reads e.g. "latest IFCC-HbA1c 71 mmol/mol on 2025-09-02 (target ≤ 58)" or "no antiplatelet or oral
    anticoagulant since 2025-04-01"; ``evidence`` holds the entries it rests on, latest first (none when absent
    and nothing older is on record); ``window_from``/``window_to`` the dates searched, both inclusive.
    """

    rule: str
    text: str
    evidence: tuple[Evidence, ...] = ()
    window_from: date | None = None
    window_to: date | None = None


@dataclass(frozen=True, slots=True)
class Trace:
    """Why: the rule step that decided (number and business-rule text), its action and evidence.

    ``unmet`` (denominator only): what each success rule of the chain found instead, see :class:`Finding`."""

    rule: str
    text: str
    action: str
    evidence: Evidence | None
    unmet: tuple[Finding, ...] = ()


@dataclass(frozen=True, slots=True)
class Gap:
    """For a patient in the denominator only: what would close the gap and what else could be done."""

    closes: str
    invites_so_far: int
    invites_needed: int
    one_more_invite_makes_pca: bool
    deadline: date | None
    deadline_text: str
    why: str = ""  # the success rules' findings and the invitations in one line
    invited_on: tuple[date, ...] = ()  # the invitations counted so far


@dataclass(frozen=True, slots=True)
class PatientOutcome:
    indicator_id: str
    patient_id: str
    status: Status
    field: str | None  # PCA or exclusion field, e.g. DMPCADEC, REG1_DAT9, PAT_AGEO79
    trace: Trace
    gap: Gap | None = None
    stand_in_clusters: tuple[str, ...] = ()


@dataclass(frozen=True)
class IndicatorReadiness:
    indicator_id: str
    readiness: Readiness
    missing: tuple[str, ...]
    stand_ins: tuple[str, ...]
    clusters: tuple[ClusterResolution, ...]
    # incomplete: why the missing clusters do not allow a lower bound (see :mod:`.partial`)
    not_a_lower_bound: tuple[str, ...] = ()

    @property
    def standing(self) -> str:
        return standing_of(self.readiness)

    @property
    def lower_bound(self) -> bool:
        """Scored with some PCA clusters empty: the achievement, points and £ are a lower bound."""
        return self.readiness == "provisional"


def standing_of(readiness: str) -> str:
    """How far an indicator's figures can be relied on: confirmed, provisional (a lower bound) or incomplete."""
    return readiness if readiness in ("provisional", "incomplete") else "confirmed"


_STATUS: dict[str | None, Status] = {
    "numerator": "numerator",
    "denominator": "denominator_only",
    "pca": "pca",
    "exclusion": "excluded_from_population",
}


class _CompiledIndicator:
    __slots__ = ("attains", "gap_after", "gap_window", "indicator", "stand_ins", "steps", "success")

    def __init__(self, indicator: Indicator, stand_ins: tuple[str, ...]) -> None:
        self.indicator = indicator
        self.stand_ins = stand_ins
        self.steps: tuple[tuple[RuleStep, Test], ...] = tuple(
            (s, compile_test(s.test, f"{indicator.id}.rules[{s.number}]")) for s in indicator.rules
        )
        # the steps that select the numerator, with what explains a patient they did not select
        self.success: tuple[tuple[RuleStep, Explain], ...] = tuple(
            (s, compile_explain(s.test, f"{indicator.id}.rules[{s.number}]"))
            for s in indicator.rules
            if "numerator" in (s.if_true.outcome, s.if_false.outcome)
        )
        self.attains: Window | None = (
            parse_window(indicator.population.attains_age) if indicator.population.attains_age else None
        )
        self.gap_window = parse_window("service_year")
        self.gap_after = (
            (indicator.gap.invites_after_latest, parse_window("12m"))
            if indicator.gap and indicator.gap.invites_after_latest
            else None
        )

    def in_population(self, ctx: Context) -> bool:
        pop = self.indicator.population
        if pop.register is not None and pop.register not in ctx.registers:
            return False
        if (pop.min_age is not None and ctx.age < pop.min_age) or (
            pop.max_age is not None and ctx.age > pop.max_age
        ):
            return False
        if pop.sex is not None and ctx.patient.sex != pop.sex:
            return False
        if self.attains is not None:
            w = self.attains
            reached = add_months(ctx.patient.date_of_birth, w.years * 12 + w.months) + timedelta(days=w.days)
            return reached in _span(parse_window("12m"), ctx.dates)
        return True


class CompiledRuleSet:
    """A rule set bound to a codelist library. Reusable; compile again after changing the library."""

    def __init__(self, ruleset: RuleSet, library: CodelistLibrary) -> None:
        self.ruleset = ruleset
        needed: set[str] = set()
        for ind in ruleset.indicators:
            needed |= ind.clusters
        self.clusters: dict[str, ClusterResolution] = resolve_all(needed, library)
        self.readiness: dict[str, IndicatorReadiness] = {}
        self._terms: dict[str, str] = {}
        compiled: list[_CompiledIndicator] = []
        for ind in ruleset.indicators:
            res = tuple(self.clusters[c] for c in sorted(ind.clusters))
            missing = tuple(r.cluster for r in res if r.status == "missing")
            stand_ins = tuple(r.cluster for r in res if r.status == "stand-in")
            blockers: tuple[str, ...] = ()
            if ind.kind == "attestation":
                state: Readiness = "attestation"
            elif missing:
                blockers = tuple(lower_bound_blockers(ind, missing) + self._register_gaps(ruleset, library, ind))
                state = "incomplete" if blockers else "provisional"
            else:
                state = "stand-in" if stand_ins else "ready"
            if state not in ("attestation", "incomplete"):
                compiled.append(_CompiledIndicator(ind, stand_ins))
            self.readiness[ind.id] = IndicatorReadiness(ind.id, state, missing, stand_ins, res, blockers)
        used = {c for ci in compiled for c in ci.indicator.clusters}
        code_map: dict[str, tuple[str, ...]] = {}
        for c in sorted(used):
            r = self.clusters[c]
            for code in r.codes:
                code_map[code] = (*code_map.get(code, ()), c)
            self._terms.update(r.terms)
        self._code_map = code_map
        self._codes = frozenset(code_map)
        self._indicators = tuple(compiled)

    _register_gap_cache: dict[str, list[str]] | None = None

    def _register_gaps(self, ruleset: RuleSet, library: CodelistLibrary, ind: Indicator) -> list[str]:
        """Why the population's register cannot be relied on for a lower bound: clusters its definition lacks
        (a partial register holds patients the published rules leave out, or the reverse)."""
        if ind.register is None:
            return []
        if self._register_gap_cache is None:
            start = ruleset.settings.start
            self._register_gap_cache = RegisterEvaluator(
                library, qof_year=f"{start.year}-{(start.year + 1) % 100:02d}").incomplete
        gaps = self._register_gap_cache.get(ind.register, [])
        return [f"the register {ind.register} lacks {', '.join(gaps)}"] if gaps else []

    @property
    def codes(self) -> frozenset[str]:
        """Every code a rule of a scorable indicator reads: an entry with any other code changes no outcome."""
        return self._codes

    @property
    def scorable(self) -> tuple[Indicator, ...]:
        """The indicators this compile evaluates (ready, stand-in or provisional; not incomplete, not attestation)."""
        return tuple(ci.indicator for ci in self._indicators)

    @property
    def code_clusters(self) -> Mapping[str, tuple[str, ...]]:
        """Code -> the rule clusters of scorable indicators it belongs to."""
        return self._code_map

    @property
    def incomplete(self) -> dict[str, tuple[str, ...]]:
        """Indicator id → missing clusters, for every indicator that cannot be scored."""
        return {k: v.missing for k, v in self.readiness.items() if v.readiness == "incomplete"}

    def require(self, indicator_id: str) -> None:
        """Raise :class:`IncompleteIndicator` if the indicator cannot be scored with this library."""
        r = self.readiness[indicator_id]
        if r.readiness == "incomplete":
            raise IncompleteIndicator(indicator_id, r.missing)

    def index(self, events: Iterable[CodedEvent], achievement_date: date) -> dict[str, list[CodedEvent]]:
        code_map = self._code_map
        idx: dict[str, list[CodedEvent]] = {}
        for e in events:
            clusters = code_map.get(e.code)
            if clusters is None or e.date > achievement_date:
                continue
            for c in clusters:
                lst = idx.get(c)
                if lst is None:
                    idx[c] = [e]
                else:
                    lst.append(e)
        for lst in idx.values():
            if len(lst) > 1:
                lst.sort(key=_by_date)
        return idx

    def evaluate(
        self,
        patient: PatientRecord,
        achievement_date: date,
        *,
        pped: date | None = None,
        registers: frozenset[str] | None = None,
    ) -> list[PatientOutcome]:
        """Outcomes for every ready indicator whose population the patient is in (none if not registered)."""
        dates = RunDates.for_achievement(achievement_date, pped)
        if not patient.is_registered_on(achievement_date):
            return []
        ctx = make_context(patient, dates, self.index(patient.events, achievement_date), registers)
        out: list[PatientOutcome] = []
        for ci in self._indicators:
            if not ci.in_population(ctx):
                continue
            ind = ci.indicator
            if ind.kind == "register":
                out.append(
                    PatientOutcome(
                        ind.id,
                        patient.patient_id,
                        "numerator",
                        None,
                        Trace("register", f"on {ind.register}", "select (numerator)", None),
                    )
                )
                continue
            for step, test in ci.steps:
                ok, ev = test(ctx)
                action = step.if_true if ok else step.if_false
                if action.kind == "next":
                    continue
                status = _STATUS[action.outcome]
                unmet = self._unmet(ci, ctx) if status == "denominator_only" else ()
                trace = Trace(step.number, step.text, action.describe(), self._evidence(ev), unmet)
                gap = self._gap(ci, ctx, unmet) if status == "denominator_only" else None
                out.append(
                    PatientOutcome(ind.id, patient.patient_id, status, action.field, trace, gap, ci.stand_ins)
                )
                break
        return out

    def _evidence(self, ev: tuple[str, CodedEvent] | None) -> Evidence | None:
        if ev is None:
            return None
        c, e = ev
        return Evidence(c, e.code, e.date, e.value, self._terms.get(e.code, ""))

    def _finding(self, rule: str, fact: Fact) -> Finding:
        evidence = tuple(Evidence(c, e.code, e.date, e.value, self._terms.get(e.code, "")) for c, e in fact.evidence)
        span = fact.span
        if span is None:
            return Finding(rule, fact.text, evidence)
        return Finding(rule, fact.text, evidence, first_day(span), span.end)

    def _unmet(self, ci: _CompiledIndicator, ctx: Context) -> tuple[Finding, ...]:
        return tuple(self._finding(step.number, f) for step, explain in ci.success for f in explain(ctx))

    def _gap(self, ci: _CompiledIndicator, ctx: Context, unmet: tuple[Finding, ...] = ()) -> Gap | None:
        hint = ci.indicator.gap
        if hint is None:
            return None
        n = 0
        one_more = False
        invited_on: tuple[date, ...] = ()
        if hint.invite_clusters:
            got = invitations(ctx, hint.invite_clusters, ci.gap_window, 7, ci.gap_after)
            n = len(got)
            invited_on = tuple(e.date for _, e in got)
            if n == hint.invites_needed - 1:
                next_ok = got[-1][1].date + timedelta(days=7) if got else ctx.dates.achievement_date
                one_more = max(next_ok, ctx.dates.achievement_date) <= ctx.dates.pped
        deadline = None
        text = ""
        if hint.deadline is not None:
            w = parse_window(hint.deadline.after)
            if hint.deadline.clusters:
                first = _first(ctx, hint.deadline.clusters)
                anchor = first[1].date if first else None
            else:
                anchor = ctx.patient.date_of_birth
            if anchor is not None:
                deadline = add_months(anchor, w.years * 12 + w.months) + timedelta(days=w.days)
                text = hint.deadline.text
        parts = list(dict.fromkeys(f.text for f in unmet))
        if hint.invite_clusters and not any("invitation" in p for p in parts):
            dates = f" ({', '.join(d.isoformat() for d in invited_on)})" if invited_on else ""
            parts.append(f"{n} invitation{'' if n == 1 else 's'} so far{dates}")
        return Gap(hint.closes, n, hint.invites_needed, one_more, deadline, text, "; ".join(parts), invited_on)


def _by_date(e: CodedEvent) -> date:
    return e.date


_CACHE: weakref.WeakKeyDictionary[CodelistLibrary, dict[str, tuple[int, CompiledRuleSet]]] = (
    weakref.WeakKeyDictionary()
)


def compile_ruleset(ruleset: RuleSet, library: CodelistLibrary) -> CompiledRuleSet:
    """Compile (cached per library; recompiled when a release is added with ``add_export``)."""
    per_lib = _CACHE.setdefault(library, {})
    stamp = len(getattr(library, "_rows", ()))
    hit = per_lib.get(ruleset.id)
    if hit is not None and hit[0] == stamp and hit[1].ruleset is ruleset:
        return hit[1]
    compiled = CompiledRuleSet(ruleset, library)
    per_lib[ruleset.id] = (stamp, compiled)
    return compiled


def evaluate_patient(
    ruleset: RuleSet,
    patient: PatientRecord,
    achievement_date: date,
    library: CodelistLibrary,
    *,
    pped: date | None = None,
) -> list[PatientOutcome]:
    """Outcomes of one patient under a rule set on an achievement date (see :class:`CompiledRuleSet`)."""
    return compile_ruleset(ruleset, library).evaluate(patient, achievement_date, pped=pped)


def outcomes_by_indicator(outcomes: Iterable[PatientOutcome]) -> Mapping[str, list[PatientOutcome]]:
    grouped: dict[str, list[PatientOutcome]] = {}
    for o in outcomes:
        grouped.setdefault(o.indicator_id, []).append(o)
    return grouped

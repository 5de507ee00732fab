"""What the service compiles once at startup: every rule set against the codelist library.

``Kernel`` holds the compiled rule sets, the shared register definitions compiled against the same library,
the set of codes any of them reads (coded events carrying other codes are stored but never loaded for
evaluation), the prevalence group of each register (for the APDF) and the service clock (tests pin it).

Register membership is derived here from the patient's dated record as of the date being scored (see
``docs/indicators.md``, "Point in time"), never taken from the registers service's current state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from services.indicators.domain import (
    CompiledRuleSet,
    RuleSet,
    available_rulesets,
    compile_ruleset,
    load_ruleset,
)
from services.indicators.domain.errors import IndicatorsError, UnknownRuleSet, did_you_mean
from services.indicators.domain.records import PatientRecord
from shared.codelists import CodelistLibrary, default_library
from shared.qof.registers import REGISTERS, CodeEvent, RegistersByYear, qof_year_of

DEFAULT_RULESET = "qof-2025-26"


@dataclass(frozen=True)
class Period:
    """The dates one evaluation runs on: the achievement date and the rule set's payment period end, the QOF
    year they belong to, whether that year is closed (its PPED is before today) and what the answer must say
    (``note``: e.g. that no rule set covers today's year)."""

    achievement_date: date
    pped: date
    view: str  # today | year-end | on
    qof_year: str = ""
    closed: bool = False
    note: str = ""


def qof_year_label(day: date) -> str:
    """The QOF year (1 April to 31 March) containing ``day``, e.g. ``2026/27``."""
    return qof_year_of(day).replace("-", "/")


class NoRuleSetForDate(IndicatorsError):
    """A date no QOF rule set covers: never clamped into another year."""

    def __init__(self, day: date, years: list[str]) -> None:
        self.day = day
        self.years = years
        super().__init__(
            f"no rule set covers {day.isoformat()} (QOF year {qof_year_label(day)})",
            hint=f"rule sets exist for {', '.join(years)}",
        )


class Kernel:
    def __init__(
        self,
        library: CodelistLibrary | None = None,
        *,
        today: Callable[[], date] = date.today,
        default_ruleset: str = DEFAULT_RULESET,
    ) -> None:
        self.today = today
        self.default_ruleset = default_ruleset
        # Built on the codelists in force (not a library handed in): switches when a release is applied.
        self.follows_release = library is None
        self.use_library(library or default_library())
        # prevalence group (national table) -> the registers service's register for it
        self.group_register: dict[str, str] = {}
        for d in REGISTERS:
            self.group_register.setdefault(d.prevalence_group, d.id)

    def use_library(self, library: CodelistLibrary) -> None:
        """Compile every rule set against ``library`` (at start-up, and when a codelist release switches)."""
        engines = {rid: compile_ruleset(load_ruleset(rid), library) for rid in available_rulesets()}
        # each QOF year's register definitions, as the registers service evaluates them
        register_rules = RegistersByYear(library)
        self.library = library
        self.engines: dict[str, CompiledRuleSet] = engines
        self.register_rules = register_rules
        # every code a rule or a register definition reads (resolution codes included)
        self.relevant_codes: frozenset[str] = frozenset().union(
            register_rules.relevant_codes, *(e.codes for e in engines.values())
        )

    def ruleset(self, ruleset_id: str) -> RuleSet:
        return self.engine(ruleset_id).ruleset

    def engine(self, ruleset_id: str) -> CompiledRuleSet:
        engine = self.engines.get(ruleset_id)
        if engine is None:
            raise UnknownRuleSet(
                f"no rule set {ruleset_id!r}",
                hint=did_you_mean(ruleset_id, self.engines) or f"available: {', '.join(sorted(self.engines))}",
            )
        return engine

    def registers_on(self, patient: PatientRecord, day: date) -> frozenset[str]:
        """Shared register ids the patient is on at ``day``, from their dated record, under the definitions of
        the QOF year containing ``day`` (the registers service evaluates the same ones); none when not
        registered with the practice that day. The engine adds the derived ones (CHOL_REG, SMOK1_REG, CS_REG,
        ...) itself."""
        if not patient.is_registered_on(day):
            return frozenset()
        events = (CodeEvent(e.code, e.date, e.value) for e in patient.events)
        return frozenset(self.register_rules.evaluate(events, patient.date_of_birth, day))

    def qof_years(self) -> list[str]:
        """The QOF years a rule set exists for, e.g. ``["2024/25 (qof-2024-25)", ...]``."""
        return [
            f"{qof_year_label(e.ruleset.settings.start)} ({rid})"
            for rid, e in sorted(self.engines.items())
            if e.ruleset.kind == "qof"
        ]

    def qof_ruleset_for(self, day: date) -> str | None:
        """The QOF rule set whose year contains ``day`` (None: no rule set for that year)."""
        for rid, e in sorted(self.engines.items()):
            s = e.ruleset.settings
            if e.ruleset.kind == "qof" and s.start <= day <= s.pped:
                return rid
        return None

    def latest_qof_ruleset_before(self, day: date) -> str | None:
        """The QOF rule set of the latest year that started on or before ``day``."""
        started = [(e.ruleset.settings.start, rid) for rid, e in self.engines.items()
                   if e.ruleset.kind == "qof" and e.ruleset.settings.start <= day]
        return max(started)[1] if started else None

    def qof_ruleset_in_force(self, day: date) -> str | None:
        """The QOF rule set a practice is scored on at ``day``: its year's, else (no rule set for that year) the
        latest year before it, whose answers then say so."""
        return self.qof_ruleset_for(day) or self.latest_qof_ruleset_before(day)

    def period(self, ruleset: RuleSet, *, on: date | None = None, view: str = "today") -> Period:
        """``on``: that date, which must lie in the rule set's year (else :class:`NoRuleSetForDate`);
        ``today``: the service date, or, when the rule set's year does not contain it (no rule set for the
        current year), that year's end with a note saying so; ``year-end``: the rule set's PPED."""
        s = ruleset.settings
        today = self.today()
        year, closed = qof_year_label(s.start), s.pped < today
        if on is not None:
            if not s.start <= on <= s.pped:
                raise NoRuleSetForDate(on, self.qof_years())
            return Period(on, s.pped, "on", year, closed)
        if view == "year-end":
            return Period(s.pped, s.pped, "year-end", year, closed)
        if s.start <= today <= s.pped:
            return Period(today, s.pped, "today", year, closed)
        shown = s.pped if today > s.pped else s.start
        note = (
            f"no rule set for QOF year {qof_year_label(today)} (today {today.isoformat()}): showing QOF "
            f"{year} ({ruleset.id}) on {shown.isoformat()}{', a closed year' if closed else ''}; "
            f"rule sets exist for {', '.join(self.qof_years())}"
        )
        return Period(shown, s.pped, "today", year, closed, note)

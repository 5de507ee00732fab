"""What the service compiles once at startup: every rule set against the codelist library.

``Kernel`` holds the compiled rule sets, the set of codes any of them reads (coded events carrying other codes
are stored but never loaded for evaluation), the prevalence group of each register (for the APDF) and the
service clock (tests pin it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from services.indicators.domain import (
    CompiledRuleSet,
    RuleSet,
    available_rulesets,
    compile_ruleset,
    load_ruleset,
)
from services.indicators.domain.errors import UnknownRuleSet, did_you_mean
from shared.codelists import CodelistLibrary, default_library
from shared.qof.registers import REGISTERS

DEFAULT_RULESET = "qof-2025-26"


@dataclass(frozen=True)
class Period:
    """The dates one evaluation runs on: the achievement date and the rule set's payment period end."""

    achievement_date: date
    pped: date
    view: str  # today | year-end | on


class Kernel:
    def __init__(
        self,
        library: CodelistLibrary | None = None,
        *,
        today: Callable[[], date] = date.today,
        default_ruleset: str = DEFAULT_RULESET,
    ) -> None:
        self.library = library or default_library()
        self.today = today
        self.default_ruleset = default_ruleset
        self.engines: dict[str, CompiledRuleSet] = {
            rid: compile_ruleset(load_ruleset(rid), self.library) for rid in available_rulesets()
        }
        self.relevant_codes: frozenset[str] = frozenset().union(*(e.codes for e in self.engines.values()))
        # prevalence group (national table) -> the registers service's register for it
        self.group_register: dict[str, str] = {}
        for d in REGISTERS:
            self.group_register.setdefault(d.prevalence_group, d.id)

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

    @staticmethod
    def engine_registers(stored: Iterable[str]) -> frozenset[str]:
        """Register ids as held by the registers service (both use ``shared.qof.registers``); the engine adds
        the derived ones (CHOL_REG, SMOK1_REG, CS_REG, ...) itself."""
        return frozenset(stored)

    def period(self, ruleset: RuleSet, *, on: date | None = None, view: str = "today") -> Period:
        """``today`` clamps the service date into the rule set's year; ``year-end`` is its PPED."""
        s = ruleset.settings
        if view == "year-end":
            return Period(s.pped, s.pped, "year-end")
        day = on or self.today()
        return Period(min(max(day, s.start), s.pped), s.pped, "on" if on else "today")

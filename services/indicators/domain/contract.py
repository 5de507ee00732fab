"""A practice's contract: which indicator sets it is paid on.

A contract is a QOF year rule set, optionally with a local scheme (e.g. a Somerset-style opt-out) that
replaces some QOF indicators with its own, defined in the same rule-set format with its own reporting periods.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import IndicatorsError
from .ruleset import Indicator, RuleSet, load_ruleset


@dataclass(frozen=True)
class Contract:
    practice_id: str
    qof: RuleSet
    local_scheme: RuleSet | None = None

    @property
    def opted_out(self) -> tuple[str, ...]:
        return self.local_scheme.replaces if self.local_scheme else ()

    def indicators(self) -> list[tuple[RuleSet, Indicator]]:
        """The indicators the practice is paid on, each with the rule set it belongs to."""
        out = [(self.qof, i) for i in self.qof.indicators if i.id not in self.opted_out]
        if self.local_scheme:
            out += [(self.local_scheme, i) for i in self.local_scheme.indicators]
        return out


def load_contract(practice_id: str, qof_ruleset_id: str, local_scheme_id: str | None = None) -> Contract:
    qof = load_ruleset(qof_ruleset_id)
    local = load_ruleset(local_scheme_id) if local_scheme_id else None
    if local is not None:
        if local.kind != "local_scheme":
            raise IndicatorsError(f"{local_scheme_id} is not a local scheme", hint="kind: local_scheme")
        unknown = [i for i in local.replaces if i not in {x.id for x in qof.indicators}]
        if unknown:
            raise IndicatorsError(
                f"{local_scheme_id} replaces {unknown}, not in {qof_ruleset_id}",
                hint="a local scheme must be paired with the QOF year it modifies",
            )
    return Contract(practice_id, qof, local)

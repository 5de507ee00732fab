"""Staff roles and what their time costs."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

PENNY = Decimal("0.01")


@dataclass(frozen=True)
class RateCard:
    rates: dict[str, Decimal]  # role -> pounds per hour
    labels: dict[str, str]
    overridden: frozenset[str] = frozenset()

    def roles(self) -> list[str]:
        return list(self.rates)

    def problem(self, role: str) -> str | None:
        if role not in self.rates:
            return f"unknown staff role; use one of: {', '.join(self.rates)}"
        return None

    def cost(self, role: str | None, minutes: int | None) -> Decimal:
        if role is None or minutes is None or role not in self.rates:
            return Decimal(0)
        return (self.rates[role] * minutes / 60).quantize(PENNY, rounding=ROUND_HALF_UP)

    def with_overrides(self, overrides: dict[str, Decimal]) -> RateCard:
        rates = dict(self.rates)
        labels = dict(self.labels)
        for role, rate in overrides.items():
            rates[role] = Decimal(rate)
            labels.setdefault(role, role.replace("_", " ").capitalize())
        return RateCard(rates, labels, frozenset(overrides))

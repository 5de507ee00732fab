"""Who a signed-in user is and what the platform's token minted for them may do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["practice", "ics"]

# A practice's staff: everything their practice's pages read and the writes the pages offer.
PRACTICE_SCOPES = ("records:read", "indicators:read", "recall:read", "workload:read", "workload:write")
# An ICS analyst: aggregates of the ICB's practices only, never a practice route.
ICS_SCOPES = ("analytics:read",)


@dataclass(frozen=True)
class SignedIn:
    username: str
    display_name: str
    role: Role
    practice: str | None
    icb: str | None
    csrf: str

    @property
    def scopes(self) -> tuple[str, ...]:
        return PRACTICE_SCOPES if self.role == "practice" else ICS_SCOPES

    @property
    def home(self) -> str:
        return "/overview" if self.role == "practice" else "/ics"

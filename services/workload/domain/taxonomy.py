"""Categories of transferred work, staff roles and the life cycle of a logged item."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class Category:
    key: str
    label: str
    description: str
    default_clause: str | None
    retired: bool = False


@dataclass(frozen=True)
class Taxonomy:
    version: str
    categories: tuple[Category, ...]

    def get(self, key: str) -> Category | None:
        return next((c for c in self.categories if c.key == key), None)

    def active_keys(self) -> list[str]:
        return [c.key for c in self.categories if not c.retired]

    def label(self, key: str) -> str:
        category = self.get(key)
        return category.label if category else key

    def problem(self, key: str) -> str | None:
        """Why ``key`` cannot be used for a new item, or ``None``."""
        category = self.get(key)
        if category is None:
            return f"unknown category; use one of: {', '.join(self.active_keys())}"
        if category.retired:
            return "this category is retired"
        return None


class Status(StrEnum):
    LOGGED = "logged"
    RAISED = "raised_with_provider"
    RESPONDED = "provider_responded"
    RESOLVED = "resolved"


STATUS_ORDER: tuple[Status, ...] = (Status.LOGGED, Status.RAISED, Status.RESPONDED, Status.RESOLVED)
OPEN_STATUSES = frozenset({Status.LOGGED, Status.RAISED, Status.RESPONDED})


def transition_problem(current: str, target: str) -> str | None:
    """Items move forward only (a step may be skipped, e.g. resolved without a provider response)."""
    try:
        now, then = STATUS_ORDER.index(Status(current)), STATUS_ORDER.index(Status(target))
    except ValueError:
        return f"unknown status; use one of: {', '.join(s.value for s in STATUS_ORDER)}"
    if then <= now:
        return f"an item that is {current} cannot move to {target}; statuses only move forward"
    return None

"""Disclosure control for figures that leave the practice: suppress small counts, round the rest."""

from __future__ import annotations

from dataclasses import dataclass

THRESHOLD = 7  # counts of 7 or fewer are suppressed
BASE = 5  # other counts are rounded to the nearest 5


@dataclass(frozen=True)
class Protected:
    value: int | None
    suppressed: bool


def round_to(value: float, base: int = BASE) -> int:
    """Nearest multiple of ``base``, halves rounded up (so 12.5 -> 15, never banker's rounding)."""
    return int((value + base / 2) // base * base)


def protect_count(count: int) -> Protected:
    if count <= THRESHOLD:
        return Protected(None, True)
    return Protected(round_to(count), False)


def protect_measure(count: int, value: float, base: int = BASE) -> int | None:
    """A measure (hours, pounds) of a group: hidden with its count, otherwise rounded to ``base``."""
    if count <= THRESHOLD:
        return None
    return round_to(value, base)

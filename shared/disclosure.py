"""Disclosure control for figures that leave the practice (ICB analytics): suppress small counts, round the rest.

Counts of 7 or fewer are withheld; the others are rounded to the nearest 5, halves up. A measure of a group
(hours, pounds, a percentage) is withheld with its count.
"""

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


def disclose(count: int) -> int | None:
    """The count as it may be shown: ``None`` when suppressed, otherwise rounded."""
    return protect_count(count).value


def protect_measure(count: int, value: float, base: int = BASE) -> int | None:
    """A measure (hours, pounds) of a group: hidden with its count, otherwise rounded to ``base``."""
    if count <= THRESHOLD:
        return None
    return round_to(value, base)


def describe() -> str:
    return f"counts <= {THRESHOLD} withheld, others rounded to the nearest {BASE}"

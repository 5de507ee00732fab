"""Every number that moves money carries where it came from.

Confidence tags follow QOF_RULES.md: ``V`` verified (official source or two independent sources plus an
arithmetic check), ``S`` secondary (one reputable secondary source), ``U`` unverified (derived, recollection,
or a single non-authoritative source; confirm before use).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

Confidence = Literal["V", "S", "U"]
CONFIDENCES: tuple[Confidence, ...] = ("V", "S", "U")

T = TypeVar("T")


@dataclass(frozen=True)
class Sourced(Generic[T]):
    """A value with its confidence tag and source, e.g. points, a threshold or the £ per point."""

    value: T
    confidence: Confidence
    source: str
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"value": self.value, "confidence": self.confidence, "source": self.source}
        if self.note:
            d["note"] = self.note
        return d


def weakest(*tags: Confidence) -> Confidence:
    """The least certain of several tags (a derived value is only as good as its weakest input)."""
    return max(tags, key=CONFIDENCES.index) if tags else "U"

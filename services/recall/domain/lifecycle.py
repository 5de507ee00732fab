"""Invitation stages and the QOF personalised care adjustment that two invitations allow.

QOF business rules: a patient who has not responded to at least two invitations, made at different times in
the QOF year and at least 7 days apart, may be excepted (PCA); the second invitation is what allows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

MIN_DAYS_APART = 7


@dataclass(frozen=True)
class Progress:
    first_sent_at: datetime | None
    second_sent_at: datetime | None
    gap_open: bool
    booked: bool
    excluded: str | None = None  # deceased, deregistered, opted out


def next_stage(p: Progress, now: datetime, days_apart: int) -> int | None:
    """1 or 2 when an invitation is due now, else None."""
    if p.excluded or not p.gap_open or p.booked:
        return None
    if p.first_sent_at is None:
        return 1
    if p.second_sent_at is None and now - p.first_sent_at >= timedelta(days=max(days_apart, MIN_DAYS_APART)):
        return 2
    return None


def moves_into_pca(p: Progress, now: datetime, days_apart: int) -> bool:
    """A second invitation now would make the patient eligible for the 'no response' PCA."""
    return next_stage(p, now, days_apart) == 2

"""Invitation stages and the QOF personalised care adjustment that two invitations allow.

QOF business rules: a patient who has not responded to at least two invitations, made at different times in
the QOF year and at least 7 days apart, may be excepted (PCA); the second invitation is what allows it.
Invitations are counted from the invitation codes in the record, whoever recorded them: one the practice coded
outside recall (a letter) is a first invitation like recall's own (:func:`from_record`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

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


@dataclass(frozen=True)
class FromRecord:
    """What the invitations already counted in the record leave to do for an invitation's registers."""

    registers: frozenset[str]  # registers with fewer than two invitations counted: the invitation is for these
    stage: int  # 2 when every one of them has one invitation counted already, else 1
    not_before: date | None  # stage 2: at least 7 days after the latest counted invitation
    done: Mapping[str, tuple[date, ...]] = field(default_factory=dict)  # invited twice already, with the dates

    def twice_text(self) -> str:
        dates = "; ".join(f"{r} {', '.join(d.isoformat() for d in ds)}" for r, ds in sorted(self.done.items()))
        return f"invited twice this year already ({dates}): not invited again"


def from_record(
    invited_on: Mapping[str, Sequence[date]], registers: Iterable[str], days_apart: int = MIN_DAYS_APART
) -> FromRecord:
    """``invited_on``: per register, the invitation dates the indicators count this year (of the register's gap
    counting fewest). A register with two is done; one with one wants a second, 7 days after it at least."""
    regs = set(registers)
    done = {r: tuple(invited_on[r]) for r in regs if len(invited_on.get(r, ())) >= 2}
    left = frozenset(regs - done.keys())
    if left and all(len(invited_on.get(r, ())) == 1 for r in left):
        latest = max(invited_on[r][-1] for r in left)
        return FromRecord(left, 2, latest + timedelta(days=max(days_apart, MIN_DAYS_APART)), done)
    return FromRecord(left, 1, None, done)


CLOSED_AS = {
    "numerator": "review done",
    "pca": "personalised care adjustment",
    "excluded": "excluded from the indicator",
    "left": "no longer in the indicator's population",
}


def gap_closed_reason(indicator: str, closed_as: str | None, reason: str | None) -> str:
    """Why a closed gap stops an invitation, as indicators said it (an event from before ``closed_as`` existed
    does not say, and that is said)."""
    if closed_as is None:
        return f"gap closed on {indicator} (the gap event does not say why)"
    text = f"{CLOSED_AS.get(closed_as, closed_as)}: {indicator}" + (f", {reason}" if reason else "")
    return text[:200]

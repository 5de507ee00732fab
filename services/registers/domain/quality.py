"""Coding-quality rules: what a QOF lead should fix in the record, as data plus pure functions.

Each finding names a patient by platform id (never an identifier), the entries involved and the reason.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

Kind = Literal[
    "unknown-code",
    "implausible-value",
    "impossible-date",
    "duplicate",
    "resolved-but-treated",
    "suspected-uncoded",
]


@dataclass(frozen=True)
class ResolvedButTreated:
    """A condition coded as resolved while its treatment continues after the resolution."""

    condition: str
    diagnosis: tuple[str, ...]
    resolved: tuple[str, ...]
    treatment: tuple[str, ...]


@dataclass(frozen=True)
class SuspectedUncoded:
    """Results that suggest a condition with no diagnosis code: ``count`` results at or above ``threshold``."""

    condition: str
    results: tuple[str, ...]
    threshold: float
    count: int
    diagnosis: tuple[str, ...]
    unit: str


RESOLVED_BUT_TREATED = (
    ResolvedButTreated(
        "diabetes", ("DM_COD",), ("DMRES_COD",), ("ANTIDIABETIC_DMD_opensafely", "INSULIN_DMD_opensafely")
    ),
    ResolvedButTreated("hypertension", ("HYP_COD",), ("HYPRES_COD",), ("ANTIHYP_COD_drugrefset",)),
    ResolvedButTreated("asthma", ("AST_COD",), ("ASTRES_COD",), ("ASTTRT_COD",)),
)

SUSPECTED_UNCODED = (
    # NICE NG28: HbA1c ≥ 48 mmol/mol on two occasions indicates diabetes.
    SuspectedUncoded("diabetes", ("IFCCHBAM_COD",), 48.0, 2, ("DM_COD",), "mmol/mol"),
)


@dataclass(frozen=True)
class Finding:
    kind: Kind
    patient_id: str
    detail: str
    entry_ids: tuple[str, ...] = ()
    code: str | None = None
    recorded_by: tuple[str | None, ...] = ()


@dataclass(frozen=True)
class Dated:
    entry_id: str
    code: str
    on: date
    value: float | None = None


def resolved_but_treated(
    rule: ResolvedButTreated, patient_id: str, entries: Iterable[Dated], codes: dict[str, frozenset[str]]
) -> Finding | None:
    """``codes`` maps each cluster name of the rule to its codes."""
    dx = res = None
    treated: list[Dated] = []
    items = sorted(entries, key=lambda e: e.on)
    dx_codes = frozenset().union(*(codes[c] for c in rule.diagnosis))
    res_codes = frozenset().union(*(codes[c] for c in rule.resolved))
    tx_codes = frozenset().union(*(codes[c] for c in rule.treatment))
    for e in items:
        if e.code in dx_codes:
            dx = e
        elif e.code in res_codes:
            res = e
    if res is None or (dx is not None and dx.on > res.on):
        return None
    treated = [e for e in items if e.code in tx_codes and e.on > res.on]
    if not treated:
        return None
    return Finding(
        "resolved-but-treated",
        patient_id,
        f"{rule.condition} coded as resolved on {res.on.isoformat()} but {len(treated)} treatment "
        f"record(s) follow, latest {treated[-1].on.isoformat()}",
        (res.entry_id, *(t.entry_id for t in treated[-3:])),
        res.code,
    )


def suspected_uncoded(rule: SuspectedUncoded, patient_id: str, results: Iterable[Dated]) -> Finding | None:
    high = sorted(
        (r for r in results if r.value is not None and r.value >= rule.threshold), key=lambda r: r.on
    )
    if len(high) < rule.count:
        return None
    return Finding(
        "suspected-uncoded",
        patient_id,
        f"{len(high)} results ≥ {rule.threshold:g} {rule.unit} (latest {high[-1].on.isoformat()}) "
        f"and no {rule.condition} code",
        tuple(r.entry_id for r in high[-rule.count :]),
        high[-1].code,
    )


@dataclass
class RecorderStats:
    recorded_by: str
    entries: int
    findings: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.findings.values())

    @property
    def rate_per_1000(self) -> float:
        return round(1000 * self.total / self.entries, 2) if self.entries else 0.0


def by_recorder(entry_counts: dict[str | None, int], findings: Iterable[Finding]) -> list[RecorderStats]:
    """Findings per staff member (entry-level findings only), worst rate first."""
    stats: dict[str, RecorderStats] = {}
    for who, n in entry_counts.items():
        key = who or "(not recorded)"
        stats[key] = RecorderStats(key, n)
    counted: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for f in findings:
        for who in f.recorded_by:
            counted[who or "(not recorded)"][f.kind] += 1
    for who, c in counted.items():
        stats.setdefault(who, RecorderStats(who, 0)).findings.update(c)
    return sorted(stats.values(), key=lambda s: (-s.rate_per_1000, -s.total, s.recorded_by))

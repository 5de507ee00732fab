"""Register rules as data (``rulesets/registers.yaml``) and a function that applies them.

The registers service owns registers; the engine takes ``PatientRecord.registers`` as input. These definitions
exist so both sides can share one reading of the business rules:

* ``unresolved``: the latest diagnosis code up to the date is not followed by a later resolved code
  (DM_REG rule 1: ``DMLAT_DAT present AND (DMRES_DAT is null OR DMRES_DAT < DMLAT_DAT)``);
* ``ever``: any diagnosis code up to the date;
* ``union``: on any of the listed registers;
plus ``min_age`` (full years on the date) and ``also`` (a rule test, e.g. an asthma drug in the preceding
12 months for AST_REG, windows ending on the date).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml

from shared.codelists import CodelistLibrary

from .clusters import resolve_all
from .dates import RunDates
from .errors import RuleSetError
from .provenance import Sourced
from .records import CodedEvent, PatientRecord
from .rules import Test, clusters_in, compile_test, make_context
from .ruleset import RULESETS_DIR


@dataclass(frozen=True)
class RegisterRule:
    id: str
    kind: Literal["unresolved", "ever", "union"]
    diagnosis: tuple[str, ...] = ()
    resolved: tuple[str, ...] = ()
    of: tuple[str, ...] = ()
    min_age: int | None = None
    also: Mapping[str, Any] | None = None
    provenance: Sourced[str] | None = None

    @property
    def clusters(self) -> set[str]:
        return set(self.diagnosis) | set(self.resolved) | (clusters_in(self.also) if self.also else set())


@lru_cache(maxsize=4)
def load_register_rules(path: Path = RULESETS_DIR / "registers.yaml") -> dict[str, RegisterRule]:
    with path.open(encoding="utf-8") as fh:
        raw = yaml.safe_load(fh) or {}
    out: dict[str, RegisterRule] = {}
    for rid, spec in (raw.get("registers") or {}).items():
        if spec.get("kind") not in ("unresolved", "ever", "union"):
            raise RuleSetError(
                f"register kind {spec.get('kind')!r}",
                where=f"registers.yaml:{rid}",
                hint="unresolved, ever or union",
            )
        out[rid] = RegisterRule(
            rid,
            spec["kind"],
            tuple(spec.get("diagnosis", ())),
            tuple(spec.get("resolved", ())),
            tuple(spec.get("of", ())),
            spec.get("min_age"),
            spec.get("also"),
            Sourced(str(spec.get("text", "")), spec.get("confidence", "U"), str(spec.get("source", ""))),
        )
    return out


class RegisterEvaluator:
    """Register rules compiled against one codelist library; registers whose clusters are missing are skipped
    and listed in ``incomplete``."""

    def __init__(self, library: CodelistLibrary, rules: Mapping[str, RegisterRule] | None = None) -> None:
        self.rules = dict(rules or load_register_rules())
        needed = set().union(*(r.clusters for r in self.rules.values()))
        res = resolve_all(needed, library)
        self.incomplete = {
            rid: sorted(c for c in r.clusters if res[c].status == "missing") for rid, r in self.rules.items()
        }
        self.incomplete = {k: v for k, v in self.incomplete.items() if v}
        self._code_map: dict[str, tuple[str, ...]] = {}
        for c, r in res.items():
            for code in r.codes:
                self._code_map[code] = (*self._code_map.get(code, ()), c)
        self._also: dict[str, Test] = {
            rid: compile_test(r.also, f"registers.yaml:{rid}.also") for rid, r in self.rules.items() if r.also
        }

    def index(self, events: Iterable[CodedEvent], on: date) -> dict[str, list[CodedEvent]]:
        idx: dict[str, list[CodedEvent]] = {}
        for e in events:
            if e.date > on:
                continue
            for c in self._code_map.get(e.code, ()):
                idx.setdefault(c, []).append(e)
        for lst in idx.values():
            lst.sort(key=lambda e: e.date)
        return idx

    def registers(self, patient: PatientRecord, on: date) -> frozenset[str]:
        idx = self.index(patient.events, on)
        ctx = make_context(patient, RunDates(on, on, date(on.year - 1, on.month, 1)), idx, frozenset())
        found: set[str] = set()
        for rid, r in self.rules.items():
            if r.kind == "union" or rid in self.incomplete:
                continue
            if r.min_age is not None and ctx.age < r.min_age:
                continue
            diag = [e for c in r.diagnosis for e in idx.get(c, ())]
            if not diag:
                continue
            if r.kind == "unresolved":
                latest = max(e.date for e in diag)
                res = [e.date for c in r.resolved for e in idx.get(c, ())]
                if res and max(res) >= latest:  # resolved on or after the latest diagnosis
                    continue
            if rid in self._also and not self._also[rid](ctx)[0]:
                continue
            found.add(rid)
        for rid, r in self.rules.items():
            if r.kind == "union" and any(o in found for o in r.of):
                found.add(rid)
        return frozenset(found)


def registers_for(
    patient_events: Iterable[CodedEvent],
    dob: date,
    on_date: date,
    library: CodelistLibrary,
    *,
    evaluator: RegisterEvaluator | None = None,
) -> frozenset[str]:
    """Register ids the patient is on at ``on_date`` from their coded entries (``evaluator`` to reuse)."""
    ev = evaluator or RegisterEvaluator(library)
    patient = PatientRecord("-", dob, "U", dob, events=tuple(patient_events))
    return ev.registers(patient, on_date)

"""Cluster readiness: which business-rule clusters have codes in the codelist library, and under what name.

Rules name clusters as the business rules do (``DM_COD``, ``HYPPCADEC_COD``…). ``rulesets/clusters.yaml`` is
the explicit alias table for clusters the library holds under another name or only as a stand-in (e.g.
``SMOK_COD`` → ``SMOK_anystatus_gmsde``): every substitution is visible and carries its status. A cluster
that resolves to no loadable codelist is *missing*, and any indicator reading it is incomplete.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml

from shared.codelists import CodelistLibrary

from .errors import RuleSetError
from .ruleset import RULESETS_DIR

Status = Literal["available", "stand-in", "missing"]


@dataclass(frozen=True)
class ClusterAlias:
    cluster: str
    codelists: tuple[str, ...]
    status: Status
    note: str


@dataclass(frozen=True)
class ClusterResolution:
    """How one rule cluster resolved: its codes, status and the codelists used (for display)."""

    cluster: str
    status: Status
    codelists: tuple[str, ...]
    codes: frozenset[str]
    terms: Mapping[str, str]
    note: str = ""


@lru_cache(maxsize=4)
def load_aliases(path: Path = RULESETS_DIR / "clusters.yaml") -> dict[str, ClusterAlias]:
    with path.open(encoding="utf-8") as fh:
        raw: dict[str, Any] = yaml.safe_load(fh) or {}
    out: dict[str, ClusterAlias] = {}
    for cluster, spec in (raw.get("aliases") or {}).items():
        if spec.get("status") not in ("available", "stand-in"):
            raise RuleSetError(
                f"alias status {spec.get('status')!r}",
                where=f"clusters.yaml:{cluster}",
                hint="available or stand-in",
            )
        out[cluster] = ClusterAlias(
            cluster, tuple(spec["codelists"]), spec["status"], str(spec.get("note", ""))
        )
    return out


def resolve_cluster(
    cluster: str, library: CodelistLibrary, aliases: Mapping[str, ClusterAlias] | None = None
) -> ClusterResolution:
    aliases = load_aliases() if aliases is None else aliases
    alias = aliases.get(cluster)
    # a release loaded under the business-rule name wins over an alias, unless the alias extends that name
    use_alias = alias is not None and (cluster in alias.codelists or not library.has(cluster))
    names = alias.codelists if use_alias and alias is not None else (cluster,)
    codes: set[str] = set()
    terms: dict[str, str] = {}
    used: list[str] = []
    statuses: list[str] = []
    problems: list[str] = []
    for name in names:
        status = library.status(name)
        if status == "missing":
            problems.append(f"{name} not in library")
            continue
        try:
            cl = library.get(name)
        except (KeyError, ValueError, OSError) as exc:
            problems.append(f"{name} unreadable: {exc}")
            continue
        codes |= cl.codes
        terms.update(cl.terms)
        used.append(name)
        statuses.append(status)
    if not used:
        return ClusterResolution(cluster, "missing", (), frozenset(), {}, "; ".join(problems))
    stand_in = (
        "stand-in" in statuses
        or bool(problems)
        or (use_alias and alias is not None and alias.status == "stand-in")
    )
    note = alias.note if use_alias and alias else ""
    if problems:
        note = f"{note}; partial: {'; '.join(problems)}".strip("; ")
    return ClusterResolution(
        cluster, "stand-in" if stand_in else "available", tuple(used), frozenset(codes), terms, note
    )


def resolve_all(clusters: Iterable[str], library: CodelistLibrary) -> dict[str, ClusterResolution]:
    aliases = load_aliases()
    return {c: resolve_cluster(c, library, aliases) for c in sorted(set(clusters))}

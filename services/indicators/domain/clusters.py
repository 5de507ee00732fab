"""Cluster readiness: which business-rule clusters have codes in the codelist library, and under what name.

Rules name clusters as the business rules do (``DM_COD``, ``HYPPCADEC_COD``…). The platform's one alias
table, ``shared/codelists/aliases.csv`` (read with :func:`shared.codelists.read_alias_table`), maps clusters
the library holds under another name or only as a stand-in (e.g. ``SMOK_COD`` → ``SMOK_anystatus_gmsde``):
every substitution is visible and carries its status, note and source. A cluster that resolves to no loadable
codelist is *missing*, and any indicator reading it is incomplete.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from shared.codelists import ALIASES, ClusterAlias, CodelistLibrary, read_alias_table

Status = Literal["available", "stand-in", "missing"]

__all__ = ["ClusterAlias", "ClusterResolution", "load_aliases", "resolve_all", "resolve_cluster"]


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
def load_aliases(path: Path = ALIASES) -> dict[str, ClusterAlias]:
    """The shared alias table (``shared/codelists/aliases.csv``), keyed by business-rule cluster."""
    return read_alias_table(path)


def resolve_cluster(
    cluster: str, library: CodelistLibrary, aliases: Mapping[str, ClusterAlias] | None = None
) -> ClusterResolution:
    aliases = load_aliases() if aliases is None else aliases
    alias = aliases.get(cluster)
    # a release loaded under the business-rule name wins over an alias, unless the alias extends that name; a
    # whole applied release (the refset itself, as published) wins over an extension too
    use_alias = alias is not None and not library.from_release(cluster) and (
        cluster in alias.codelists or not library.has(cluster))
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

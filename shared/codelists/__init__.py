"""Codelists as versioned data: SNOMED CT / dm+d code sets, named by their QOF cluster where they have one.

``catalogue.csv`` lists every file under ``data/`` with its cluster, version, kind and provenance:
``refset`` and ``drug_refset`` are NHS England Primary Care Domain (or drug) reference sets as published;
``stand-in`` marks a list from a research project used where the refset itself is not public. A new
release is a data change: drop the file in, add a catalogue row, or load an export at run time with
``CodelistLibrary.add_export`` (OpenCodelists CSV, a plain ``code,term`` CSV, or an RF2 simple refset).

``aliases.csv`` is the platform's one alias table: business-rule cluster -> the codelist(s) standing in for
it, with status (``available`` / ``stand-in``), note and source. ``read_alias_table`` gives it whole (the
indicators engine uses it); ``read_aliases`` gives the single fallback name ``CodelistLibrary.get`` uses.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

from shared.identifiers import snomed_problem

DATA_DIR = Path(__file__).parent / "data"
CATALOGUE = Path(__file__).parent / "catalogue.csv"
ALIASES = Path(__file__).parent / "aliases.csv"

Kind = Literal["refset", "drug_refset", "stand-in", "local"]


@dataclass(frozen=True)
class Codelist:
    cluster: str
    version: str
    kind: Kind
    source: str
    terms: dict[str, str] = field(repr=False, compare=False)
    invalid_codes: tuple[str, ...] = ()

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(self.terms)

    def __contains__(self, code: object) -> bool:
        return code in self.terms

    def __len__(self) -> int:
        return len(self.terms)


def parse_codelist(text: str) -> tuple[dict[str, str], tuple[str, ...]]:
    """Codes and terms from an export; returns (valid code -> term, invalid codes).

    Understands ``code,term`` CSVs (any extra columns), OpenCodelists downloads (``id``/``dmd_id`` and
    ``name``/``term``/``dmd_name``) and RF2 simple refset files (tab separated, ``referencedComponentId``
    with ``active`` = 1).
    """
    first = text.split("\n", 1)[0]
    if "\t" in first and "referencedComponentId" in first:
        reader = csv.DictReader(io.StringIO(text), delimiter="\t")
        raw = [(r["referencedComponentId"], "") for r in reader if r.get("active", "1").strip() == "1"]
    else:
        reader = csv.DictReader(io.StringIO(text))
        fields = [f.strip().lower() for f in reader.fieldnames or []]
        code_cols = ("code", "dmd_id", "id", "snomedcode", "conceptid", "snomedct_conceptid", "dmdid")
        code_col = next((c for c in code_cols if c in fields), None)
        if code_col is None:
            raise ValueError(f"no code column among {fields}")
        term_col = next((c for c in ("term", "name", "dmd_name", "description") if c in fields), None)
        raw = []
        for row in reader:
            norm = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
            raw.append((norm.get(code_col, ""), norm.get(term_col, "") if term_col else ""))
    terms: dict[str, str] = {}
    invalid: list[str] = []
    for code, term in raw:
        code = code.strip()
        if not code:
            continue
        if snomed_problem(code) is None:
            terms[code] = term
        else:
            invalid.append(code)
    return terms, tuple(invalid)


@dataclass
class CatalogueRow:
    cluster: str
    version: str
    preferred: bool
    kind: Kind
    file: str
    source: str


def read_catalogue(path: Path = CATALOGUE) -> list[CatalogueRow]:
    with path.open(newline="") as fh:
        return [
            CatalogueRow(
                r["cluster"],
                r["version"],
                r["preferred"] == "yes",
                r["kind"],  # type: ignore[arg-type]
                r["file"],
                r["source"],
            )
            for r in csv.DictReader(fh)
        ]


class CodelistLibrary:
    """Every codelist the platform knows, with the preferred version of each cluster."""

    def __init__(
        self,
        rows: list[CatalogueRow],
        data_dir: Path = DATA_DIR,
        aliases: dict[str, str] | None = None,
        alias_status: dict[str, str] | None = None,
    ) -> None:
        self._rows = {(r.cluster, r.version): r for r in rows}
        # Business-rule cluster name -> the codelist that stands in for it (see aliases.csv).
        self.aliases = dict(aliases or {})
        # Cluster -> available | stand-in, as aliases.csv judges the substitution.
        self.alias_status = dict(alias_status or {})
        self._preferred = {r.cluster: r.version for r in rows if r.preferred}
        self._data_dir = data_dir
        self._loaded: dict[tuple[str, str], Codelist] = {}
        # The applied release this library carries over the shipped codelists (None: the shipped ones only).
        self.release: str | None = None

    def copy(self) -> CodelistLibrary:
        """An independent library with the same rows (loaded codelists are shared: they are immutable)."""
        other = CodelistLibrary(list(self._rows.values()), self._data_dir, self.aliases, self.alias_status)
        other._preferred = dict(self._preferred)
        other._loaded = dict(self._loaded)
        other.release = self.release
        return other

    @property
    def clusters(self) -> list[str]:
        return sorted(self._preferred)

    def has(self, cluster: str) -> bool:
        return cluster in self._preferred or self.aliases.get(cluster) in self._preferred

    def from_release(self, cluster: str) -> bool:
        """Whether the cluster's active version, under its own name, is the applied release's."""
        return self.release is not None and self._preferred.get(cluster) == self.release

    def versions(self, cluster: str) -> list[str]:
        return sorted(v for c, v in self._rows if c == cluster)

    def get(self, cluster: str, version: str | None = None) -> Codelist:
        if cluster not in self._preferred and cluster in self.aliases:
            cluster = self.aliases[cluster]
        version = version or self._preferred.get(cluster)
        if version is None or (cluster, version) not in self._rows:
            raise KeyError(f"no codelist for cluster {cluster}" + (f" version {version}" if version else ""))
        key = (cluster, version)
        if key not in self._loaded:
            row = self._rows[key]
            terms, invalid = parse_codelist((self._data_dir / row.file).read_text(encoding="utf-8-sig"))
            self._loaded[key] = Codelist(cluster, version, row.kind, row.source, terms, invalid)
        return self._loaded[key]

    def add_export(
        self,
        cluster: str,
        version: str,
        text: str,
        *,
        source: str,
        kind: Kind = "refset",
        prefer: bool = True,
    ) -> Codelist:
        """Register a new release from an export's text, e.g. a newer refset from TRUD or OpenCodelists."""
        terms, invalid = parse_codelist(text)
        return self.add_terms(cluster, version, terms, source=source, kind=kind, prefer=prefer, invalid=invalid)

    def add_terms(
        self,
        cluster: str,
        version: str,
        terms: dict[str, str],
        *,
        source: str,
        kind: Kind = "refset",
        prefer: bool = True,
        invalid: tuple[str, ...] = (),
    ) -> Codelist:
        """Register a release of one cluster from its codes and terms."""
        cl = Codelist(cluster, version, kind, source, terms, invalid)
        self._rows[(cluster, version)] = CatalogueRow(cluster, version, prefer, kind, "", source)
        self._loaded[(cluster, version)] = cl
        if prefer or cluster not in self._preferred:
            self._preferred[cluster] = version
        return cl

    def all_codes(self) -> frozenset[str]:
        """Every code of the preferred version of every codelist."""
        return frozenset().union(*(self.get(c).codes for c in self.clusters))

    def status(self, cluster: str) -> Literal["available", "stand-in", "missing"]:
        if not self.has(cluster):
            return "missing"
        if cluster not in self._preferred and self.alias_status.get(cluster, "stand-in") == "stand-in":
            return "stand-in"
        return "stand-in" if self.get(cluster).kind == "stand-in" else "available"


AliasStatus = Literal["available", "stand-in"]


@dataclass(frozen=True)
class ClusterAlias:
    """How a business-rule cluster maps onto codelists of the library (one ``aliases.csv`` entry).

    ``codelists`` are unioned; when they include the cluster's own name, the alias *extends* a release
    loaded under that name. ``status`` says whether the substitution is faithful (``available``) or a
    research list standing in for the unpublished refset (``stand-in``).
    """

    cluster: str
    codelists: tuple[str, ...]
    status: AliasStatus
    note: str
    sources: tuple[str, ...]


def read_alias_table(path: Path = ALIASES) -> dict[str, ClusterAlias]:
    """The alias table: one row per (cluster, codelist); several rows for a cluster form a union."""
    rows: dict[str, list[dict[str, str]]] = {}
    with path.open(newline="") as fh:
        for r in csv.DictReader(fh):
            row_status = r.get("status") or "stand-in"
            if row_status not in ("available", "stand-in"):
                raise ValueError(f"aliases.csv: {r['cluster']} has status {row_status!r} (available or stand-in)")
            rows.setdefault(r["cluster"], []).append({**r, "status": row_status})
    out: dict[str, ClusterAlias] = {}
    for cluster, group in rows.items():
        status: AliasStatus = "stand-in" if any(g["status"] == "stand-in" for g in group) else "available"
        out[cluster] = ClusterAlias(
            cluster,
            tuple(g["codelist"] for g in group),
            status,
            group[0].get("note") or "",
            tuple(g.get("source") or "" for g in group),
        )
    return out


def read_aliases(path: Path = ALIASES) -> dict[str, str]:
    """Cluster -> the first codelist standing in for it under another name (what ``CodelistLibrary.get``
    falls back to when the library has no release under the cluster's own name)."""
    out: dict[str, str] = {}
    for cluster, alias in read_alias_table(path).items():
        other = next((c for c in alias.codelists if c != cluster), None)
        if other is not None:
            out[cluster] = other
    return out


@lru_cache(maxsize=1)
def shipped_library() -> CodelistLibrary:
    """The codelists tracked with the code (``catalogue.csv``), without any applied release."""
    return CodelistLibrary(read_catalogue(), aliases=read_aliases(),
                           alias_status={c: a.status for c, a in read_alias_table().items()})


def default_library() -> CodelistLibrary:
    """The codelists in force: the shipped ones with the release active in the platform's data folder over
    them (``shared.codelists.active``). A new object when a release is applied or restored, so callers that
    compile from it compare ``library.release`` (or identity) to notice."""
    from shared.codelists.active import active_library

    return active_library(_platform_data_dir())


@lru_cache(maxsize=1)
def _platform_data_dir() -> Path:
    from shared.settings import ServiceSettings

    return ServiceSettings().data_dir

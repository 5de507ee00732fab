"""A whole codelist release read at once: the PCD refset content file (and its "by output" variant), an RF2
simple refset snapshot, or a folder of OpenCodelists per-cluster downloads.

``read_release`` refuses a malformed or partial file with the line and the reason (``ReleaseError``) and
returns nothing half-read; ``diff_release`` says, per cluster, which codes a release adds and removes
against the library's active versions, before anything is applied.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from shared.codelists import CodelistLibrary, parse_codelist
from shared.identifiers import snomed_problem

CONTENT_COLUMNS = ("Cluster_ID", "Cluster_Description", "SNOMED_code", "SNOMED_code_description",
                   "PCD_Refset_ID")
RF2_COLUMNS = ("id", "effectiveTime", "active", "moduleId", "refsetId", "referencedComponentId")


class ReleaseError(ValueError):
    """A release refused as a whole: ``line`` (1-based, 0 for the file as a whole) and ``reason``."""

    def __init__(self, file: str, line: int, reason: str) -> None:
        super().__init__(f"{file} line {line}: {reason}")
        self.file, self.line, self.reason = file, line, reason


@dataclass
class ClusterRelease:
    cluster: str
    refset_id: str = ""
    description: str = ""
    terms: dict[str, str] = field(default_factory=dict)


@dataclass
class Release:
    version: str
    source: str
    date: str
    shape: str
    clusters: dict[str, ClusterRelease]


@dataclass(frozen=True)
class ClusterDiff:
    cluster: str
    added: tuple[str, ...]
    removed: tuple[str, ...]
    new: bool


def _rows(path: Path, required: tuple[str, ...]) -> tuple[list[str], list[tuple[int, list[str]]]]:
    text = path.read_text(encoding="utf-8-sig")
    if text and not text.endswith("\n"):
        raise ReleaseError(path.name, text.count("\n") + 1, "last line has no line end: the file is truncated")
    lines = list(csv.reader(io.StringIO(text), delimiter="\t"))
    if not lines:
        raise ReleaseError(path.name, 0, "empty file")
    header = [h.strip() for h in lines[0]]
    missing = [c for c in required if c not in header]
    if missing:
        raise ReleaseError(path.name, 1, f"missing column(s) {', '.join(missing)}")
    body = []
    for number, row in enumerate(lines[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise ReleaseError(path.name, number, f"{len(row)} fields where the header has {len(header)}")
        body.append((number, [cell.strip() for cell in row]))
    return header, body


def _code(path: Path, number: int, code: str) -> str:
    problem = snomed_problem(code)
    if problem is not None:
        raise ReleaseError(path.name, number, f"SNOMED code {code!r}: {problem}")
    return code


def _content_file(path: Path) -> dict[str, ClusterRelease]:
    header, body = _rows(path, CONTENT_COLUMNS)
    col = {name: header.index(name) for name in CONTENT_COLUMNS}
    clusters: dict[str, ClusterRelease] = {}
    for number, row in body:
        name = row[col["Cluster_ID"]].upper()
        if not name:
            raise ReleaseError(path.name, number, "Cluster_ID is empty")
        refset = row[col["PCD_Refset_ID"]]
        entry = clusters.setdefault(name, ClusterRelease(name, refset, row[col["Cluster_Description"]]))
        if refset != entry.refset_id:
            raise ReleaseError(path.name, number, f"{name} has refset {refset} here and {entry.refset_id} before")
        code = _code(path, number, row[col["SNOMED_code"]])
        entry.terms[code] = row[col["SNOMED_code_description"]]
    return clusters


def _rf2_snapshot(path: Path, refset_names: dict[str, str]) -> dict[str, ClusterRelease]:
    header, body = _rows(path, RF2_COLUMNS)
    col = {name: header.index(name) for name in RF2_COLUMNS}
    clusters: dict[str, ClusterRelease] = {}
    for number, row in body:
        refset = row[col["refsetId"]]
        name = refset_names.get(refset)
        if name is None:
            raise ReleaseError(path.name, number, f"refsetId {refset} names no known cluster")
        code = _code(path, number, row[col["referencedComponentId"]])
        entry = clusters.setdefault(name, ClusterRelease(name, refset))
        if row[col["active"]] == "1":
            entry.terms[code] = ""
    return clusters


def _opencodelists_folder(folder: Path) -> dict[str, ClusterRelease]:
    clusters: dict[str, ClusterRelease] = {}
    files = sorted(folder.glob("*.csv"))
    if not files:
        raise ReleaseError(folder.name, 0, "no .csv downloads in the folder")
    for file in files:
        text = file.read_text(encoding="utf-8-sig")
        if text and not text.endswith("\n"):
            raise ReleaseError(file.name, text.count("\n") + 1, "last line has no line end: the file is truncated")
        try:
            terms, invalid = parse_codelist(text)
        except ValueError as exc:
            raise ReleaseError(file.name, 1, str(exc)) from exc
        if invalid:
            raise ReleaseError(file.name, 0, f"invalid SNOMED code(s) {', '.join(invalid[:5])}")
        if not terms:
            raise ReleaseError(file.name, 0, "no codes")
        name = file.stem.split("__")[0].upper()
        clusters[name] = ClusterRelease(name, "", "", terms)
    return clusters


def read_release(path: Path, *, version: str, source: str, date: str,
                 refset_names: dict[str, str] | None = None) -> Release:
    """Read a release whole, whatever its published shape; refuse it whole on the first bad line."""
    if path.is_dir():
        return Release(version, source, date, "opencodelists", _opencodelists_folder(path))
    first = path.read_text(encoding="utf-8-sig").split("\n", 1)[0]
    if "referencedComponentId" in first:
        return Release(version, source, date, "rf2-snapshot", _rf2_snapshot(path, refset_names or {}))
    if "Cluster_ID" in first:
        shape = "pcd-by-output" if "Output" in first else "pcd-content"
        return Release(version, source, date, shape, _content_file(path))
    raise ReleaseError(path.name, 1, "not a PCD refset content file, RF2 snapshot or folder of downloads")


def read_refset_names(*paths: Path) -> dict[str, str]:
    """refset id -> cluster, from ``cluster_id<TAB>pcd_refset_id`` tables."""
    out: dict[str, str] = {}
    for p in paths:
        with p.open(newline="") as fh:
            for r in csv.DictReader(fh, delimiter="\t"):
                out[r["pcd_refset_id"].strip()] = r["cluster_id"].strip().upper()
    return out


def diff_release(library: CodelistLibrary, release: Release) -> list[ClusterDiff]:
    """Codes added and removed per cluster against the library's active versions."""
    out = []
    for name, entry in sorted(release.clusters.items()):
        new = not library.has(name)
        old = frozenset() if new else library.get(name).codes
        codes = frozenset(entry.terms)
        out.append(ClusterDiff(name, tuple(sorted(codes - old)), tuple(sorted(old - codes)), new))
    return out

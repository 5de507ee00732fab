"""Applied codelist releases and the one that is active, kept in the platform's data folder (``var/`` by
default, ``QOF_DATA_DIR``), never in the tracked package data.

Layout under ``<data_dir>/codelists/``: ``releases/<version>/meta.json`` (version, source, date, shape, and
each cluster's refset id and description, as the release gave them) with ``codes.tsv`` (cluster, code, term),
and ``active.json`` naming the active version and the order releases were applied in. ``active.json`` is
replaced atomically, so a reader sees the old or the new release, never half of one.

:func:`active_library` is the release-aware provider every service reads codelists through: the shipped
codelists with the active release's clusters over them. It checks ``active.json`` on every call (one
``stat``) and builds a new library when another process has applied or restored a release; the library's
``release`` attribute names the version it carries (``None``: the shipped codelists only).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from shared.codelists import CodelistLibrary, shipped_library
from shared.codelists.release import ClusterRelease, Release

VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class ReleaseStoreError(ValueError):
    """A request the store refuses: an unknown version, a version already applied, a malformed name."""


@dataclass(frozen=True)
class StoredRelease:
    version: str
    source: str
    date: str
    shape: str
    clusters: int
    codes: int
    stored_at: str


def version_problem(version: str) -> str | None:
    if not VERSION.match(version):
        return "letters, digits, '.', '_' or '-' only, at most 64, starting with a letter or digit"
    return None


class ReleaseStore:
    """Releases kept under ``root`` (``<data_dir>/codelists``): stored, made active, restored."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._pointer = root / "active.json"

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> ReleaseStore:
        return cls(data_dir / "codelists")

    # -- the active pointer -------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        try:
            return dict(json.loads(self._pointer.read_text()))
        except FileNotFoundError:
            return {"version": None, "history": []}

    def active_version(self) -> str | None:
        value = self.state().get("version")
        return None if value is None else str(value)

    def stamp(self) -> tuple[int, int] | None:
        """Changes whenever the active release does (what the provider checks per call)."""
        try:
            st = self._pointer.stat()
        except FileNotFoundError:
            return None
        return st.st_mtime_ns, st.st_size

    def _write_state(self, state: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self._pointer.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(state, indent=1))
        os.replace(tmp, self._pointer)

    # -- releases -----------------------------------------------------------------------------------------
    def _dir(self, version: str) -> Path:
        problem = version_problem(version)
        if problem:
            raise ReleaseStoreError(f"version {version!r}: {problem}")
        return self.root / "releases" / version

    def has(self, version: str) -> bool:
        return (self._dir(version) / "meta.json").exists()

    def applied(self, version: str) -> bool:
        return any(h["version"] == version for h in self.state()["history"])

    def save(self, release: Release) -> None:
        """Keep a release (not yet active). A version that has been applied is never overwritten."""
        if self.applied(release.version):
            raise ReleaseStoreError(f"release {release.version} has already been applied; give a new version")
        folder = self._dir(release.version)
        folder.mkdir(parents=True, exist_ok=True)
        buf = io.StringIO()
        w = csv.writer(buf, delimiter="\t", lineterminator="\n")
        w.writerow(["cluster", "code", "term"])
        for name, entry in sorted(release.clusters.items()):
            w.writerows((name, c, t) for c, t in sorted(entry.terms.items()))
        (folder / "codes.tsv").write_text(buf.getvalue())
        meta = {"version": release.version, "source": release.source, "date": release.date,
                "shape": release.shape, "stored_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "clusters": {n: {"refset_id": e.refset_id, "description": e.description}
                             for n, e in sorted(release.clusters.items())}}
        (folder / "meta.json").write_text(json.dumps(meta, indent=1))

    def load(self, version: str) -> Release:
        folder = self._dir(version)
        try:
            meta = json.loads((folder / "meta.json").read_text())
        except FileNotFoundError:
            raise ReleaseStoreError(f"no stored release {version}") from None
        clusters = {n: ClusterRelease(n, m["refset_id"], m["description"]) for n, m in meta["clusters"].items()}
        with (folder / "codes.tsv").open(newline="") as fh:
            for r in csv.DictReader(fh, delimiter="\t"):
                clusters[r["cluster"]].terms[r["code"]] = r["term"]
        return Release(meta["version"], meta["source"], meta["date"], meta["shape"], clusters)

    def releases(self) -> list[StoredRelease]:
        out = []
        for meta_file in sorted((self.root / "releases").glob("*/meta.json")):
            meta = json.loads(meta_file.read_text())
            codes = sum(1 for _ in (meta_file.parent / "codes.tsv").open()) - 1
            out.append(StoredRelease(meta["version"], meta["source"], meta["date"], meta["shape"],
                                     len(meta["clusters"]), codes, meta["stored_at"]))
        return out

    def activate(self, version: str | None, *, by: str) -> None:
        """Make a stored release (or, with ``None``, the shipped codelists alone) the active one."""
        if version is not None and not self.has(version):
            raise ReleaseStoreError(f"no stored release {version}")
        state = self.state()
        state["version"] = version
        state["history"] = [*state["history"], {"version": version, "by": by,
                                                "at": datetime.now(UTC).isoformat(timespec="seconds")}]
        self._write_state(state)

    def previous(self) -> str | None:
        """The release that was active before the current one (``None``: the shipped codelists)."""
        history = self.state()["history"]
        return history[-2]["version"] if len(history) >= 2 else None

    # -- the library --------------------------------------------------------------------------------------
    def library(self, release: Release | None = None) -> CodelistLibrary:
        """The shipped codelists with ``release`` (default: the active one) over them."""
        if release is None:
            version = self.active_version()
            release = None if version is None else self.load(version)
        return with_release(release)


def with_release(release: Release | None) -> CodelistLibrary:
    """A fresh library: the shipped codelists, and each cluster of ``release`` as its preferred version."""
    library = shipped_library().copy()
    if release is not None:
        for name, entry in release.clusters.items():
            library.add_terms(name, release.version, dict(entry.terms), source=release.source)
        library.release = release.version
    return library


class ActiveLibrary:
    """The active release's library, rebuilt when ``active.json`` changes (checked on every call)."""

    def __init__(self, store: ReleaseStore) -> None:
        self.store = store
        self._seen: tuple[int, int] | bool | None = False
        self._library: CodelistLibrary | None = None

    def current(self) -> CodelistLibrary:
        stamp = self.store.stamp()
        if self._library is None or stamp != self._seen:
            self._library, self._seen = self.store.library(), stamp
        return self._library


@lru_cache(maxsize=8)
def _provider(root: Path) -> ActiveLibrary:
    return ActiveLibrary(ReleaseStore(root))


def active_library(data_dir: Path) -> CodelistLibrary:
    """The library of the release active in ``data_dir`` (the one provider per folder in this process)."""
    return _provider(ReleaseStore.in_data_dir(data_dir).root.resolve()).current()

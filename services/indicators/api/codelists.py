"""Codelist releases (scope admin): upload a whole release and see its diff, apply it, restore the previous.

Kept in the indicators service because the diff is about scoring: readiness per rule set and each practice's
points and £ before and after. Applied releases live in the platform's data folder (``QOF_DATA_DIR``), which
every service reads its codelists through, so applying one switches the running services without a restart.
"""

from __future__ import annotations

import asyncio
import tempfile
import zipfile
from datetime import date
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from pydantic import BaseModel

from services.indicators.service.kernel import Kernel
from services.indicators.service.releases import (
    PracticeEffect,
    ReadinessChange,
    follow_release,
    preview,
    readiness_changes,
)
from shared.auth import Principal, require_scope
from shared.codelists.active import ReleaseStore, ReleaseStoreError, version_problem, with_release
from shared.codelists.release import Release, ReleaseError, diff_release, read_refset_names, read_release
from shared.problems import Problem, invalid, not_found

router = APIRouter(prefix="/v1/codelists", tags=["codelist releases"])
Admin = Annotated[Principal, Depends(require_scope("admin"))]
MAX_BYTES = 200 * 1024 * 1024


class ClusterDiffOut(BaseModel):
    cluster: str
    refset_id: str
    description: str
    codes: int
    new: bool
    added: list[str]
    removed: list[str]


class ReleaseDiffOut(BaseModel):
    version: str
    source: str
    date: str
    shape: str
    active: str | None
    status: str  # pending: stored, not applied
    clusters: list[ClusterDiffOut]
    readiness: list[ReadinessChange]
    practices: list[PracticeEffect]


class ReleaseOut(BaseModel):
    version: str
    source: str
    date: str
    shape: str
    clusters: int
    codes: int
    stored_at: str


class ReleasesOut(BaseModel):
    active: str | None
    previous: str | None
    releases: list[ReleaseOut]


class AppliedOut(BaseModel):
    active: str | None
    rescored_practices: list[str]


def store_of(request: Request) -> ReleaseStore:
    return ReleaseStore.in_data_dir(request.app.state.runtime.settings.data_dir)


def _read(upload: bytes, name: str, refsets: bytes | None, version: str, source: str, day: date) -> Release:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        names: dict[str, str] = {}
        if refsets is not None:
            (folder / "refset_ids.tsv").write_bytes(refsets)
            names = read_refset_names(folder / "refset_ids.tsv")
        if upload[:2] == b"PK":
            target = folder / "release"
            with _zip(upload, folder) as z:
                for member in z.infolist():
                    if member.is_dir() or not member.filename.lower().endswith(".csv"):
                        continue
                    target.mkdir(exist_ok=True)
                    (target / Path(member.filename).name).write_bytes(z.read(member))
            if not target.exists():
                raise ReleaseError(name, 0, "the zip holds no .csv downloads")
        else:
            target = folder / (Path(name).name or "release.txt")
            target.write_bytes(upload)
        return read_release(target, version=version, source=source, date=day.isoformat(), refset_names=names)


def _zip(upload: bytes, folder: Path) -> zipfile.ZipFile:
    path = folder / "upload.zip"
    path.write_bytes(upload)
    try:
        return zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise ReleaseError("upload.zip", 0, "not a readable zip: the file is truncated or damaged") from None


@router.get("/releases", response_model=ReleasesOut, summary="Stored codelist releases and the active one")
async def list_releases(request: Request, _p: Admin) -> ReleasesOut:
    store = store_of(request)
    return ReleasesOut(active=store.active_version(), previous=store.previous(),
                       releases=[ReleaseOut(**r.__dict__) for r in store.releases()])


@router.post("/releases", response_model=ReleaseDiffOut,
             summary="Upload a whole release: stored as pending, with its diff against the active codelists")
async def upload_release(
    request: Request,
    _p: Admin,
    file: Annotated[UploadFile, File(description="PCD refset content file (or by-output variant), RF2 simple "
                                     "refset snapshot, or a zip of OpenCodelists per-cluster CSV downloads")],
    version: Annotated[str, Form(description="Release version, e.g. 20251107")],
    source: Annotated[str, Form(description="Where it came from (TRUD release name or URL)")],
    release_date: Annotated[date, Form(alias="date", description="Release date, YYYY-MM-DD")],
    refset_ids: Annotated[UploadFile | None, File(description="cluster_id / pcd_refset_id TSV naming the refsets "
                                                  "of an RF2 snapshot")] = None,
) -> ReleaseDiffOut:
    problem = version_problem(version)
    if problem:
        raise invalid([{"field": "version", "reason": problem, "location": "body"}])
    data = await file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise Problem(413, "Content too large", f"A release may be at most {MAX_BYTES // (1024 * 1024)} MiB",
                      kind="too-large")
    names = await refset_ids.read() if refset_ids is not None else None
    try:
        release = await asyncio.to_thread(_read, data, file.filename or "release.txt", names, version, source,
                                          release_date)
    except ReleaseError as exc:
        raise invalid([{"field": "file", "file": exc.file, "line": exc.line, "reason": exc.reason,
                        "location": "body"}], "The release was refused; nothing changed") from None
    store = store_of(request)
    if store.applied(version):
        raise Problem(409, "Conflict", f"release {version} has already been applied; give the new release its own "
                      "version, or apply it again with POST /v1/codelists/releases/{version}/apply", kind="conflict")
    await follow_release(request.app)
    kernel: Kernel = request.app.state.kernel
    candidate = with_release(release)
    other = await asyncio.to_thread(Kernel, candidate, today=kernel.today, default_ruleset=kernel.default_ruleset)
    effects = await preview(request.app.state.runtime.sessions, kernel, candidate)
    store.save(release)
    clusters = [ClusterDiffOut(cluster=d.cluster, refset_id=release.clusters[d.cluster].refset_id,
                               description=release.clusters[d.cluster].description,
                               codes=len(release.clusters[d.cluster].terms), new=d.new, added=list(d.added),
                               removed=list(d.removed))
                for d in diff_release(kernel.library, release)]
    return ReleaseDiffOut(version=version, source=source, date=release.date, shape=release.shape,
                          active=store.active_version(), status="pending", clusters=clusters,
                          readiness=readiness_changes(kernel, other), practices=effects)


@router.post("/releases/{version}/apply", response_model=AppliedOut,
             summary="Make a stored release the active one: every service switches, every practice is re-scored")
async def apply_release(version: str, request: Request, principal: Admin) -> AppliedOut:
    return await _activate(request, version, principal)


@router.post("/restore", response_model=AppliedOut,
             summary="Make the release active before the current one active again (or the shipped codelists)")
async def restore_release(request: Request, principal: Admin) -> AppliedOut:
    store = store_of(request)
    if not store.state()["history"]:
        raise Problem(409, "Conflict", "no release has been applied: the shipped codelists are in force",
                      kind="conflict")
    return await _activate(request, store.previous(), principal)


async def _activate(request: Request, version: str | None, principal: Principal) -> AppliedOut:
    store = store_of(request)
    try:
        store.activate(version, by=principal.subject)
    except ReleaseStoreError:
        raise not_found(f"Stored codelist release {version}") from None
    done = await follow_release(request.app)
    return AppliedOut(active=store.active_version(), rescored_practices=done or [])

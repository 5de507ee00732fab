"""``qof codelist``: see which clusters the platform has, and add a new release as data."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from shared.codelists import CATALOGUE, DATA_DIR, parse_codelist, read_catalogue
from shared.codelists.active import ReleaseStore, ReleaseStoreError, version_problem, with_release
from shared.qof.registers import definitions_for, qof_year_of

app = typer.Typer(help="Codelists: status and new releases (a release is a data change, not a code change).",
                  no_args_is_help=True)
console = Console()


@app.command("status")
def status(
    year: Annotated[str | None, typer.Option(help="QOF year whose register definitions to list, e.g. 2026-27 "
                                             "(default: the year containing today)")] = None,
) -> None:
    """Every cluster a register needs, with its codelist version and whether it is a refset or a stand-in."""
    from datetime import date

    from shared.codelists import default_library

    library = default_library()
    qof_year = year or qof_year_of(date.today())
    try:
        definitions = definitions_for(qof_year)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--year") from exc
    console.print(f"Register definitions of QOF {qof_year}")
    table = Table("register", "cluster", "status", "version", "codes")
    for definition in definitions:
        for cluster in sorted(definition.clusters()):
            state = library.status(cluster)
            version, size = ("", "") if state == "missing" else (library.get(cluster).version,
                                                                 str(len(library.get(cluster))))
            colour = {"available": "green", "stand-in": "yellow", "missing": "red"}[state]
            table.add_row(definition.id, cluster, f"[{colour}]{state}[/{colour}]", version, size)
    console.print(table)


@app.command("add")
def add(
    cluster: Annotated[str, typer.Argument(help="Business-rule cluster name, e.g. CAN_COD")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False,
                                         help="OpenCodelists CSV, code,term CSV or RF2 simple refset file")],
    version: Annotated[str, typer.Option(help="Release version, e.g. 20251107 or an OpenCodelists hash")],
    source: Annotated[str, typer.Option(help="Where it came from (URL or TRUD release name)")],
    kind: Annotated[str, typer.Option(help="refset | drug_refset | stand-in | local")] = "refset",
    prefer: Annotated[bool, typer.Option(help="Make this the version the platform uses")] = True,
) -> None:
    """Copy a codelist release into the project and record it in the catalogue."""
    if kind not in {"refset", "drug_refset", "stand-in", "local"}:
        raise typer.BadParameter("kind must be refset, drug_refset, stand-in or local", param_hint="--kind")
    cluster = cluster.strip().upper()
    terms, invalid = parse_codelist(file.read_text(encoding="utf-8-sig"))
    if not terms:
        raise typer.BadParameter(f"no valid SNOMED CT codes in {file}", param_hint="FILE")
    rows = read_catalogue(CATALOGUE)
    if any(r.cluster == cluster and r.version == version for r in rows):
        raise typer.BadParameter(f"{cluster} version {version} is already in the catalogue", param_hint="--version")
    releases = DATA_DIR / "releases"
    releases.mkdir(parents=True, exist_ok=True)
    target = releases / f"{cluster}__{version}{file.suffix or '.csv'}"
    shutil.copyfile(file, target)
    _record(cluster, version, kind, target, source, prefer,
            f"added with qof codelist add; {len(invalid)} invalid codes skipped")
    console.print(f"{cluster} {version}: {len(terms)} codes added" + (f", {len(invalid)} invalid codes skipped"
                                                                       if invalid else ""))


def _record(cluster: str, version: str, kind: str, target: Path, source: str, prefer: bool, notes: str) -> None:
    """Append one catalogue row (the preferred version of the cluster when ``prefer``)."""
    records = _read_records()
    fields = list(records[0].keys())
    if prefer:
        for r in records:
            if r["cluster"] == cluster:
                r["preferred"] = "no"
    records.append({"cluster": cluster, "version": version, "preferred": "yes" if prefer else "no", "kind": kind,
                    "file": target.relative_to(DATA_DIR).as_posix(), "source": source, "retrieved": "",
                    "notes": notes})
    records.sort(key=lambda r: (r["cluster"], r["preferred"] != "yes"))
    _write_records(records, fields)


DataDir = Annotated[Path | None, typer.Option(help="The platform's data folder (default QOF_DATA_DIR, var/); "
                                                    "applied releases are kept under codelists/ in it")]


def _store(data_dir: Path | None) -> ReleaseStore:
    from shared.settings import ServiceSettings

    return ReleaseStore.in_data_dir(data_dir or ServiceSettings().data_dir)


@app.command("import-release")
def import_release(
    path: Annotated[Path, typer.Argument(exists=True, help="PCD refset content file (or its by-output variant), "
                                                           "RF2 simple refset snapshot, or a folder of "
                                                           "OpenCodelists downloads")],
    version: Annotated[str, typer.Option(help="Release version, e.g. 20251107")],
    source: Annotated[str, typer.Option(help="Where it came from (TRUD release name or URL)")],
    date: Annotated[str, typer.Option(help="Release date, YYYY-MM-DD")],
    refset_ids: Annotated[list[Path] | None, typer.Option(
        help="cluster_id/pcd_refset_id TSV naming the refsets of an RF2 snapshot (repeatable)")] = None,
    apply: Annotated[bool, typer.Option(help="Apply the release; without it only the diff is shown")] = False,
    data_dir: DataDir = None,
) -> None:
    """Read a whole release, show its diff against the active codelists, and apply it with --apply (running
    services switch to it on their next request and re-score; per-practice £ effects: the admin API)."""
    from services.indicators.service.kernel import Kernel
    from services.indicators.service.releases import readiness_changes
    from shared.codelists.release import ReleaseError, diff_release, read_refset_names, read_release

    store = _store(data_dir)
    if version_problem(version):
        raise typer.BadParameter(str(version_problem(version)), param_hint="--version")
    try:
        release = read_release(path, version=version, source=source, date=date,
                               refset_names=read_refset_names(*(refset_ids or [])))
    except ReleaseError as exc:
        console.print(f"[red]refused, nothing changed:[/red] {exc}")
        raise typer.Exit(1) from exc
    current = store.library()
    table = Table("cluster", "refset", "codes", "added", "removed")
    for d in diff_release(current, release):
        table.add_row(d.cluster + (" (new)" if d.new else ""), release.clusters[d.cluster].refset_id,
                      str(len(release.clusters[d.cluster].terms)), str(len(d.added)), str(len(d.removed)))
    console.print(f"release {version} ({release.shape}, {date}, {source}) against "
                  f"{store.active_version() or 'the shipped codelists'}")
    console.print(table)
    changes = Table("rule set", "indicator", "readiness before", "after", "still missing")
    for c in readiness_changes(Kernel(current), Kernel(with_release(release))):
        changes.add_row(c.ruleset, c.indicator_id, c.before, c.after, " ".join(c.missing_after))
    console.print(changes)
    if not apply:
        return
    try:
        store.save(release)
    except ReleaseStoreError as exc:
        raise typer.BadParameter(str(exc), param_hint="--version") from None
    store.activate(version, by="qof codelist import-release")
    console.print(f"applied release {version}: {len(release.clusters)} clusters; running services switch and "
                  "re-score on their next request")


@app.command("restore")
def restore(
    version: Annotated[str | None, typer.Argument(help="The stored release to make active again; default: the one "
                                                        "active before the current")] = None,
    shipped: Annotated[bool, typer.Option(help="Go back to the shipped codelists alone")] = False,
    data_dir: DataDir = None,
) -> None:
    """Make an earlier release the active one again (nothing is deleted)."""
    store = _store(data_dir)
    target = None if shipped else (version or store.previous())
    if version is None and not shipped and not store.state()["history"]:
        raise typer.BadParameter("no release has been applied", param_hint="VERSION")
    try:
        store.activate(target, by="qof codelist restore")
    except ReleaseStoreError as exc:
        raise typer.BadParameter(str(exc), param_hint="VERSION") from None
    console.print(f"release {target or 'shipped codelists'} active again")


def _read_records() -> list[dict[str, str]]:
    with CATALOGUE.open(newline="") as fh:
        return list(csv.DictReader(fh))


def _write_records(records: list[dict[str, str]], fields: list[str]) -> None:
    with CATALOGUE.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(records)

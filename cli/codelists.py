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
from shared.qof.registers import REGISTERS

app = typer.Typer(help="Codelists: status and new releases (a release is a data change, not a code change).",
                  no_args_is_help=True)
console = Console()


@app.command("status")
def status() -> None:
    """Every cluster a register needs, with its codelist version and whether it is a refset or a stand-in."""
    from shared.codelists import default_library

    library = default_library()
    table = Table("register", "cluster", "status", "version", "codes")
    for definition in REGISTERS:
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
    with CATALOGUE.open(newline="") as fh:
        records = list(csv.DictReader(fh))
        fields = list(records[0].keys())
    if prefer:
        for r in records:
            if r["cluster"] == cluster:
                r["preferred"] = "no"
    records.append({"cluster": cluster, "version": version, "preferred": "yes" if prefer else "no", "kind": kind,
                    "file": target.relative_to(DATA_DIR).as_posix(), "source": source, "retrieved": "",
                    "notes": f"added with qof codelist add; {len(invalid)} invalid codes skipped"})
    records.sort(key=lambda r: (r["cluster"], r["preferred"] != "yes"))
    with CATALOGUE.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(records)
    console.print(f"{cluster} {version}: {len(terms)} codes added" + (f", {len(invalid)} invalid codes skipped"
                                                                       if invalid else ""))

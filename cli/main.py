"""``qof``: run the platform on one machine and produce its documents."""

from __future__ import annotations

import json
import secrets
import signal
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli import asyncapi as asyncapi_doc
from cli import codelists as codelists_cli
from cli import coverage as coverage_doc
from cli import postman as postman_doc
from cli import users as users_cli
from cli.loader import LoadError, RegistersClient, load
from cli.services import PORTS, PRACTICE_SCOPES, ROOT, all_statuses, create_app
from cli.stack import Stack, StackError
from shared.auth import SCOPES, mint_token
from shared.migrations import upgrade_to_head
from shared.organisations import organisations
from shared.settings import ServiceSettings
from shared.synthetic import SyntheticPractice

app = typer.Typer(help="Run and operate the QOF platform locally.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
app.add_typer(codelists_cli.app, name="codelist")
app.add_typer(users_cli.app, name="user")
console = Console()


PRACTICE_HELP = "Practice ODS code (repeatable)"
SCOPE_HELP = "Scope (repeatable, or several space-separated)"


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console)


def _mint(practices: list[str], scopes: list[str], icb: str | None = None, ttl_hours: float = 12,
          subject: str = "qof-cli") -> str:
    return mint_token(ServiceSettings(), subject=subject, scopes=scopes, practices=practices or None, icb=icb,
                      ttl=timedelta(hours=ttl_hours))


@app.command()
def token(
    practice: Annotated[list[str] | None, typer.Option("--practice", "-p", help=PRACTICE_HELP)] = None,
    scope: Annotated[list[str] | None, typer.Option("--scope", "-s", help=SCOPE_HELP)] = None,
    icb: Annotated[str | None, typer.Option(help="ICB ODS code, for analytics tokens")] = None,
    ttl_hours: Annotated[float, typer.Option(help="Lifetime in hours")] = 12.0,
    subject: Annotated[str, typer.Option(help="The token's sub claim")] = "qof-cli",
) -> None:
    """Mint a bearer token signed with QOF_JWT_SECRET (the development key when unset)."""
    scopes = sorted({s for item in scope or [] for s in item.split()}) or ["records:read"]
    try:
        typer.echo(_mint(practice or [], scopes, icb, ttl_hours, subject))
    except ValueError as exc:
        console.print(f"[red]{exc}[/]. Known scopes: {', '.join(SCOPES)}")
        raise typer.Exit(2) from None


@app.command()
def synth(
    patients: Annotated[int, typer.Option(min=1, help="Number of patients")] = 2000,
    practice: Annotated[str, typer.Option(help="Practice ODS code")] = "A81001",
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same practice")] = 1,
    history: Annotated[str, typer.Option(help="full (about ten years) or recent (two QOF years)")] = "full",
    as_of: Annotated[str | None, typer.Option(help="Reference date, ISO (default today)")] = None,
    out: Annotated[Path | None, typer.Option(help="Write JSON lines: patients, then entries")] = None,
    post: Annotated[str | None, typer.Option(help="Registers base URL to load the practice into")] = None,
) -> None:
    """Generate a synthetic practice, to a JSON-lines file or straight into a registers service."""
    if (out is None) == (post is None):
        console.print("[red]give exactly one of --out FILE or --post URL[/]")
        raise typer.Exit(2)
    if history not in ("full", "recent"):
        console.print("[red]--history is full or recent[/]")
        raise typer.Exit(2)
    gen = SyntheticPractice(practice, patients, seed=seed, history=history,  # type: ignore[arg-type]
                            as_of=date.fromisoformat(as_of) if as_of else None)
    people: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    started = time.perf_counter()
    with _progress() as progress:
        task = progress.add_task(f"Generating {gen.ods}", total=patients)
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            with out.open("w", encoding="utf-8") as fh:
                for record in gen:
                    fh.write(json.dumps({"patient": record.patient}) + "\n")
                    people.append(record.patient)
                    entries.extend(record.entries)
                    progress.advance(task)
                for entry in entries:
                    fh.write(json.dumps({"entry": entry}) + "\n")
        else:
            for record in gen:
                people.append(record.patient)
                entries.extend(record.entries)
                progress.advance(task)
    elapsed = time.perf_counter() - started
    console.print(f"{len(people):,} patients, {len(entries):,} entries in {elapsed:.1f}s")
    if post is not None:
        _load_into(post, gen.ods, people, entries)


def _load_into(base_url: str, ods: str, people: list[dict[str, Any]], entries: list[dict[str, Any]]) -> None:
    client = RegistersClient(base_url, _mint([ods], ["records:read", "records:write"], subject="qof-loader"))
    try:
        client.check_routes()
        with _progress() as progress:
            p_task = progress.add_task("Patients", total=len(people))
            e_task = progress.add_task("Coded entries", total=len(entries))
            summary = load(client, ods, people, entries, lambda n: progress.advance(p_task, n),
                           lambda n: progress.advance(e_task, n))
    except LoadError as exc:
        console.print(f"[red]Demo data not loaded:[/] {exc}")
        raise typer.Exit(1) from None
    finally:
        client.close()
    console.print(f"Loaded {summary.patients:,} patients and {summary.entries:,} entries into {ods} "
                  f"({summary.flags:,} entries flagged for review)")


@app.command()
def up(
    practice: Annotated[str, typer.Option(help="Demo practice ODS code")] = "A81001",
    patients: Annotated[int, typer.Option(min=0, help="Demo practice size (0 loads nothing)")] = 2000,
    history: Annotated[str, typer.Option(help="recent or full")] = "recent",
    seed: Annotated[int, typer.Option()] = 1,
    data_dir: Annotated[Path, typer.Option(help="Databases and logs")] = ROOT / "var",
) -> None:
    """Start the broker and every built service, load a demo practice, print the URLs; Ctrl-C stops all."""
    stack = Stack(root=ROOT, data_dir=data_dir.resolve())
    # The web app's two demo users share a password made for this run (printed below, never stored in clear).
    logins = DemoLogins(practice.upper(), _icb_of(practice), secrets.token_urlsafe(12))
    stack.env.update(logins.env())
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    statuses = all_statuses()
    ready = [s for s in statuses if s.built]
    for s in statuses:
        if not s.built:
            console.print(f"[yellow]{s.name}[/] not started: {s.reason}")
    try:
        broker = stack.start_broker()
        console.print(f"Broker on [bold]{broker.bootstrap}[/]")
        recall = next((s for s in ready if s.name == "recall"), None)
        if recall is not None:
            console.print(f"GOV.UK Notify stand-in on [bold]{stack.start_notify_standin(recall.port)}[/]")
        for s in ready:
            with console.status(f"Starting {s.name} on port {s.port}..."):
                running = stack.start_service(s)
                checks = stack.wait_ready(running)
            console.print(f"[green]{s.name}[/] ready: {checks.get('checks', checks)}")
        token_value = _mint([practice], PRACTICE_SCOPES, ttl_hours=24, subject="qof-demo")
        loaded = "no demo data"
        if patients and any(s.name == "registers" for s in ready):
            loaded = _demo_load(practice, patients, history, seed)
        elif patients:
            loaded = "registers is not built yet: demo data not loaded"
        _print_summary(stack, practice, token_value, loaded, logins)
        while True:
            time.sleep(1)
            for dead in stack.dead():
                console.print(f"[red]{dead.status.name} stopped (exit {dead.proc.returncode})[/]; "
                              f"log:\n{dead.log_tail()}")
                stack.services.remove(dead)
    except StackError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        console.print("\nStopping...")
    finally:
        stack.stop()
        console.print("Stopped.")


def _demo_load(practice: str, patients: int, history: str, seed: int) -> str:
    gen = SyntheticPractice(practice, patients, seed=seed, history=history)  # type: ignore[arg-type]
    people: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    with _progress() as progress:
        task = progress.add_task(f"Generating {gen.ods}", total=patients)
        for record in gen:
            people.append(record.patient)
            entries.extend(record.entries)
            progress.advance(task)
    try:
        _load_into(f"http://127.0.0.1:{PORTS['registers']}", gen.ods, people, entries)
    except typer.Exit:
        return "demo data NOT loaded (see above)"
    return f"{len(people):,} patients, {len(entries):,} entries ({history} history)"


@dataclass(frozen=True)
class DemoLogins:
    practice: str
    icb: str | None
    password: str

    def env(self) -> dict[str, str]:
        env = {"QOF_DEMO_PASSWORD": self.password, "QOF_DEMO_PRACTICE": self.practice}
        return env | ({"QOF_DEMO_ICB": self.icb} if self.icb else {})

    def lines(self, url: str) -> list[str]:
        out = [f"Web app: {url}/login", f"  practice {self.practice}: user demo.{self.practice.lower()}, "
               f"password {self.password}"]
        if self.icb:
            out.append(f"  ICS analyst, ICB {self.icb}: user analyst.{self.icb.lower()}, password {self.password}")
        return out


def _icb_of(practice: str) -> str | None:
    org = organisations().get(practice.upper())
    return org.icb_ods if org else None


def _print_summary(stack: Stack, practice: str, token_value: str, loaded: str, logins: DemoLogins) -> None:
    table = Table(title="QOF platform")
    for col in ("service", "docs", "readiness", "metrics"):
        table.add_column(col, no_wrap=True, overflow="ignore")
    for s in stack.services:
        table.add_row(s.status.name, f"{s.url}/docs", f"{s.url}/readyz", f"{s.url}/metrics")
    Console(width=max(console.width, 120)).print(table)
    web = next((s for s in stack.services if s.status.name == "web"), None)
    if web is not None:
        for line in logins.lines(web.url):
            typer.echo(line)  # plain: copy-paste the password
    broker = stack.broker.bootstrap if stack.broker else "-"
    console.print(f"Kafka broker: [bold]{broker}[/]   Data and logs: {stack.data_dir}")
    console.print(f"Demo practice {practice}: {loaded}")
    console.print(f"Bearer token for {practice} (all practice scopes, 24 h):")
    # Plain echo: rich would wrap the token and break copy-paste.
    typer.echo(f'export QOF_TOKEN="{token_value}"')
    console.print("Ctrl-C stops everything.")


@app.command()
def migrate(
    service: Annotated[str | None, typer.Argument(help="One service; all built ones by default")] = None,
) -> None:
    """Upgrade each service's database to its latest migration (QOF_<SERVICE>_DATABASE_URL or var/)."""
    statuses = [s for s in all_statuses() if service in (None, s.name)]
    if not statuses:
        console.print(f"[red]unknown service {service}[/]; one of {', '.join(PORTS)}")
        raise typer.Exit(2)
    for s in statuses:
        if not s.built:
            console.print(f"[yellow]{s.name}[/] skipped: {s.reason}")
            if service:
                raise typer.Exit(1)
            continue
        app_ = create_app(s.name)
        url = app_.state.settings.resolved_database_url()
        upgrade_to_head(app_.state.spec.migrations_dir, url)
        console.print(f"[green]{s.name}[/] at head ({url.split('@')[-1]})")


@app.command("asyncapi")
def asyncapi_cmd(
    out: Annotated[Path, typer.Option(help="Where to write")] = ROOT / asyncapi_doc.OUTPUT,
) -> None:
    """Write docs/asyncapi.yaml (AsyncAPI 3.0) from the event schemas."""
    path = asyncapi_doc.write(out)
    console.print(f"Wrote {path}")


@app.command("postman")
def postman_cmd() -> None:
    """Write docs/postman/qof-platform.postman_collection.json from every built service's OpenAPI."""
    path, services = postman_doc.write(ROOT)
    console.print(f"Wrote {path.relative_to(ROOT)} ({', '.join(services) or 'no built services'})")


@app.command("coverage")
def coverage_cmd() -> None:
    """Write docs/indicator-coverage.md: each indicator, its clusters (public or not) and the tests covering it."""
    path = coverage_doc.write(ROOT)
    missing = coverage_doc.uncovered(ROOT)
    console.print(f"Wrote {path.relative_to(ROOT)}" + (f"; {len(missing)} indicators have no covering test"
                                                        if missing else "; every indicator is covered"))


if __name__ == "__main__":
    app()

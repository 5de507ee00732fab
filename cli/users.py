"""``qof user``: the web app's local users (the embedded stack's sign-in; production signs in through OIDC)."""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from services.web.app import HERE
from services.web.settings import web_settings
from services.web.store.repo import link_user, put_user
from shared.db import create_engine, session_factory
from shared.migrations import upgrade_to_head_async

MIGRATIONS = HERE / "migrations"
T = TypeVar("T")

app = typer.Typer(help="Local users of the web app.", no_args_is_help=True)
console = Console()


async def _in_web_db(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    url = web_settings().resolved_database_url()
    await upgrade_to_head_async(MIGRATIONS, url)
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as s, s.begin():
            return await work(s)
    finally:
        await engine.dispose()


async def _put(username: str, password: str, name: str, practice: str | None, icb: str | None) -> None:
    await _in_web_db(lambda s: put_user(s, username, password, display_name=name,
                                        role="practice" if practice else "ics", practice=practice, icb=icb))


@app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="Sign-in name (lower case)")],
    practice: Annotated[str | None, typer.Option(help="Practice ODS code: a practice's staff")] = None,
    icb: Annotated[str | None, typer.Option(help="ICB ODS code: an ICS analyst (aggregates only)")] = None,
    name: Annotated[str, typer.Option(help="Name shown on the pages")] = "",
    password: Annotated[str | None, typer.Option(help="Password (asked for when not given)")] = None,
) -> None:
    """Create a user, or reset their password and organisation (QOF_WEB_DATABASE_URL or var/web.db)."""
    if (practice is None) == (icb is None):
        console.print("[red]give exactly one of --practice ODS or --icb ICB[/]")
        raise typer.Exit(2)
    secret = password or getpass.getpass("Password: ")
    if len(secret) < 12:
        console.print("[red]the password must have at least 12 characters[/]")
        raise typer.Exit(2)
    login = username.strip().lower()
    asyncio.run(_put(login, secret, name or login, practice, icb))
    where = f"practice {practice.upper()}" if practice else f"ICB {str(icb).upper()}"
    console.print(f"User [bold]{login}[/] can sign in ({where})")


@app.command("link")
def link(
    username: Annotated[str, typer.Argument(help="An existing user")],
    identity: Annotated[str, typer.Argument(help="Their identity at the OIDC provider (QOF_OIDC_USER_CLAIM, "
                                                 "default sub)")],
) -> None:
    """Let a user sign in through the OIDC provider as this identity (QOF_OIDC_USERS=linked)."""
    login = username.strip().lower()
    if not asyncio.run(_in_web_db(lambda s: link_user(s, login, identity.strip()))):
        console.print(f"[red]no user {login}: add them first with `qof user add`[/]")
        raise typer.Exit(2)
    console.print(f"User [bold]{login}[/] signs in through the OIDC provider as {identity.strip()}")

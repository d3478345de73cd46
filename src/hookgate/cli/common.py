"""What the ``hookgate`` commands share: settings from the environment and
the command line, the configured database, and the consoles."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console

from hookgate.config import Settings
from hookgate.core.secretbox import SecretKeyError
from hookgate.store import reseal
from hookgate.store.database import Database, display_url, open_database
from hookgate.store.errors import StoreUnavailable

T = TypeVar("T")

#: Options of the commands that send test requests (``send``, ``trigger``).
ExtraHeaders = Annotated[
    list[str] | None, typer.Option("--header", help="An extra header 'Name: value' (repeatable).")
]
AcceptAnyCertificate = Annotated[
    bool,
    typer.Option("--insecure", help="Accept any HTTPS certificate (a local self-signed one)."),
]

#: Options of the commands that call a server's API (``tail``, ``listen``).
ServerUrl = Annotated[
    str, typer.Option(envvar="HOOKGATE_URL", help="The Hookgate server's base URL.")
]
ApiToken = Annotated[
    str | None, typer.Option(envvar="HOOKGATE_TOKEN", help="An API token of the server.")
]
DEFAULT_SERVER = "http://127.0.0.1:8071"

console = Console()
err_console = Console(stderr=True)


def api_headers(token: str | None) -> dict[str, str]:
    """The ``Authorization`` header of ``token``; no token ends the command
    (exit 2) saying how to give one."""
    if not token:
        err_console.print("[red]No API token:[/red] pass --token or set HOOKGATE_TOKEN")
        raise typer.Exit(2)
    return {"Authorization": f"Bearer {token}"}


def settings_from(data_dir: Path | None, **overrides: object) -> Settings:
    """Settings from the environment plus command-line overrides; invalid
    values end the command with one line per problem."""
    values = {k: v for k, v in overrides.items() if v is not None}
    if data_dir is not None:
        values["data_dir"] = data_dir
    try:
        return Settings(**values)  # type: ignore[arg-type]
    except ValidationError as exc:
        for error in exc.errors():
            name = "HOOKGATE_" + "_".join(str(part) for part in error["loc"]).upper()
            err_console.print(f"[red]Invalid {name}:[/red] {error['msg']}")
        raise typer.Exit(2) from None


def run_with_database(
    settings: Settings, work: Callable[[Database], Awaitable[T]], *, wait: bool = False
) -> T:
    """Open the configured database (creating the data directory for SQLite),
    bring its schema up to date, run ``work`` and close it. A database that
    cannot be reached, or a missing or wrong secret key, ends the command
    with a clear message; with ``wait`` an unreachable database is retried
    with back-off until it answers."""

    async def run() -> T:
        db = open_database(settings)
        try:
            await (db.wait_until_ready() if wait else db.create_schema())
            await reseal.check_key(db)
            return await work(db)
        finally:
            await db.dispose()

    try:
        return asyncio.run(run())
    except SecretKeyError as exc:
        err_console.print(f"[red]Secret key:[/red] {exc}")
        raise typer.Exit(1) from None
    except StoreUnavailable as exc:
        err_console.print(
            f"[red]Cannot use the database {display_url(settings.resolved_database_url)}:[/red] "
            f"{exc}"
        )
        raise typer.Exit(1) from None

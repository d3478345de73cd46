"""``hookgate token list`` and ``hookgate token revoke``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from hookgate.cli.common import console, err_console, run_with_database, settings_from
from hookgate.store import tokens


def token_list(
    data_dir: Annotated[Path | None, typer.Option(help="The server's data directory.")] = None,
) -> None:
    """List the stored API tokens: id, creation time (UTC) and name, oldest
    first. Tokens themselves are never shown (only their hashes are stored)."""
    settings = settings_from(data_dir)
    found = run_with_database(settings, tokens.list_tokens)
    # Plain tab-separated lines (no rich rendering): easy to read and to cut.
    typer.echo("id\tcreated\tname")
    for token in found:
        created = dt.datetime.fromtimestamp(token.created_at / 1000, tz=dt.UTC)
        when = created.isoformat(timespec="seconds").replace("+00:00", "Z")
        typer.echo(f"{token.id}\t{when}\t{token.name}")


def token_revoke(
    token_or_id: Annotated[str, typer.Argument(help="The token itself, or its id (tok_...).")],
    data_dir: Annotated[Path | None, typer.Option(help="The server's data directory.")] = None,
) -> None:
    """Revoke an API token: it stops working at once, in every server
    process using this database."""
    settings = settings_from(data_dir)
    if not run_with_database(settings, lambda db: tokens.revoke(db, token_or_id)):
        err_console.print("[red]No such token[/red] (give the token itself or its id).")
        raise typer.Exit(1)
    console.print("Revoked.")

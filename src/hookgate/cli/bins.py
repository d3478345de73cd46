"""``hookgate bin``: inspector bins, created directly on the configured
database (like ``hookgate source create``; no server needed).

``hookgate bin create [--name N] [--status 418 --body ... --header 'K: V'
--delay 1.5 --keep 100 --max-age 3600]`` creates a ``hookgate-bin`` source
(``hookgate.inbound.bins``) and prints its URL ``<HOOKGATE_PUBLIC_URL or http://<host>:<port>>/in/<token>``
(the token is a secret of the bin; any sub-path below it works too) and its
id, which ``hookgate tail`` takes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from hookgate.cli.common import err_console, run_with_database, settings_from
from hookgate.cli.sources import public_base
from hookgate.core.clock import now_ms
from hookgate.inbound import bins
from hookgate.inbound.config import ConfigError
from hookgate.store import sources
from hookgate.store.database import Database
from hookgate.store.sources import Source

app = typer.Typer(help="Inspector bins: URLs that accept anything and keep every request.")

DataDir = Annotated[Path | None, typer.Option(help="The server's data directory.")]


def response_config(
    status: int | None, body: str | None, headers: list[str], delay: float | None
) -> dict[str, Any]:
    """The ``response`` config from the command's options (only those given);
    raises ``ValueError`` for a header not written ``Name: value``."""
    response: dict[str, Any] = {}
    if status is not None:
        response["status"] = status
    if body is not None:
        response["body"] = body
    if headers:
        pairs = {}
        for text in headers:
            name, sep, value = text.partition(":")
            if not sep or not name.strip():
                raise ValueError(f"--header {text!r} is not 'Name: value'")
            pairs[name.strip()] = value.strip()
        response["headers"] = pairs
    if delay is not None:
        response["delaySeconds"] = delay
    return response


@app.command("create")
def create(
    name: Annotated[str | None, typer.Option(help="A label (default: 'Bin').")] = None,
    status: Annotated[int | None, typer.Option(help="Status of the answer (default 200).")] = None,
    body: Annotated[
        str | None, typer.Option(help='Body of the answer (default {"ok": true}).')
    ] = None,
    header: Annotated[
        list[str] | None, typer.Option(help="Header of the answer, 'Name: value' (repeatable).")
    ] = None,
    delay: Annotated[
        float | None,
        typer.Option(help=f"Seconds to wait before answering (at most {bins.MAX_DELAY_S:g})."),
    ] = None,
    keep: Annotated[int | None, typer.Option(help="Keep only the newest N requests.")] = None,
    max_age: Annotated[
        int | None, typer.Option(help="Keep requests at most this many seconds.")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Create a bin and print its URL."""
    settings = settings_from(data_dir)
    try:
        response = response_config(status, body, header or [], delay)
        retention = {"count": keep, "maxAgeSeconds": max_age}
        config: dict[str, Any] = {"response": response}
        config["retention"] = {k: v for k, v in retention.items() if v is not None}
        fields = bins.new_bin_fields(name, config)
    except (ValueError, ConfigError) as exc:
        err_console.print(f"[red]Invalid bin:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(2) from None

    async def work(db: Database) -> Source:
        return await sources.create(db, fields, now_ms())

    source = run_with_database(settings, work)
    typer.echo(f"Bin {source.id}: send anything to {public_base(settings)}/in/{source.token}")
    typer.echo(f"Watch it with: hookgate tail {source.id}")

"""``hookgate source``: create and list inbound sources directly on the
configured database (like ``hookgate token create``; no server needed).

``hookgate source create github --secret S --forward https://ci.internal/hook``
creates a source verifying GitHub signatures (types and options as the
``/ingest/api/v1/source`` API, see ``hookgate.inbound.config``) with one
destination per ``--forward`` URL, and prints where to send webhooks, the
source's ingest URL ``<HOOKGATE_PUBLIC_URL or http://<host>:<port>>/in/<token>``
(the token is a secret of the source), and its id (and uid).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from hookgate.api.urlpolicy import url_problem
from hookgate.cli.common import err_console, run_with_database, settings_from
from hookgate.config import Settings
from hookgate.core.clock import now_ms
from hookgate.inbound import config as source_config
from hookgate.store import endpoints, sources
from hookgate.store.database import Database
from hookgate.store.errors import Conflict
from hookgate.store.sources import Source

app = typer.Typer(help="Manage inbound sources (where providers send webhooks).")

_URL = re.compile(r"^https?://\S+$")
_DISPLAY = {
    "github": "GitHub",
    "gitlab": "GitLab",
    "open-ai": "OpenAI",
    "incident-io": "incident.io",
}

DataDir = Annotated[Path | None, typer.Option(help="The server's data directory.")]


def display_name(source_type: str) -> str:
    """A human name for a source type ("github" -> "GitHub")."""
    return _DISPLAY.get(source_type) or source_type.replace("-", " ").title()


def public_base(settings: Settings) -> str:
    """The base URL providers reach the server at, without a trailing slash."""
    return (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")


@app.command("create")
def create(
    source_type: Annotated[
        str, typer.Argument(metavar="TYPE", help="github, stripe, svix, generic-webhook, ...")
    ],
    secret: Annotated[
        list[str] | None, typer.Option(help="Verification secret (repeat to accept several).")
    ] = None,
    forward: Annotated[
        list[str] | None, typer.Option(help="Destination URL for accepted requests (repeatable).")
    ] = None,
    uid: Annotated[str | None, typer.Option(help="A uid to address the source by.")] = None,
    name: Annotated[str | None, typer.Option(help="A label (default: the type).")] = None,
    data_dir: DataDir = None,
) -> None:
    """Create a source (and its destinations) and print its ingest URL."""
    settings = settings_from(data_dir)
    try:
        scheme, stored = source_config.parse(source_type, {"secrets": secret or []})
    except source_config.ConfigError as exc:
        err_console.print(f"[red]Invalid source:[/red] {exc}")
        raise typer.Exit(2) from None
    urls = forward or []
    bad = [url for url in urls if not _URL.match(url)]
    if bad:
        err_console.print(f"[red]Invalid --forward URL:[/red] {bad[0]}")
        raise typer.Exit(2)
    for url in urls:
        problem = url_problem(url, settings)
        if problem is not None:
            err_console.print(f"[red]Invalid --forward URL {url}:[/red] {problem}", soft_wrap=True)
            raise typer.Exit(2)
    if uid is not None and (uid.startswith(f"{sources.SOURCE}_") or not uid.strip()):
        err_console.print(f"[red]Invalid --uid:[/red] may not start with '{sources.SOURCE}_'")
        raise typer.Exit(2)
    fields = {
        "uid": uid,
        "name": name or display_name(source_type),
        "type": source_type,
        "scheme": scheme,
        "config": stored,
        "metadata": {},
    }

    async def work(db: Database) -> Source:
        now = now_ms()
        source = await sources.create(db, fields, now)
        if urls:
            app_id = await sources.ensure_app(db, source.id, now)
            for url in urls:
                await endpoints.create(db, app_id, {"url": url}, now)
        return source

    try:
        source = run_with_database(settings, work)
    except Conflict as exc:
        err_console.print(f"[red]Cannot create the source:[/red] {exc}")
        raise typer.Exit(1) from None
    base = public_base(settings)
    typer.echo(f"Send {display_name(source_type)} webhooks to {base}/in/{source.token}")
    typer.echo(f"Source {source.id}" + (f" (uid {source.uid})" if source.uid else ""))
    for url in urls:
        typer.echo(f"Forwarding accepted requests to {url}")


@app.command("list")
def list_sources(data_dir: DataDir = None) -> None:
    """List the sources: id, uid, type, name and ingest URL (with its token)."""
    settings = settings_from(data_dir)

    async def work(db: Database) -> list[Source]:
        found: list[Source] = []
        iterator: str | None = None
        while True:
            page = await sources.list_page(db, iterator=iterator, limit=250, descending=False)
            found.extend(page.items)
            if page.done or page.iterator is None:
                return found
            iterator = page.iterator

    base = public_base(settings)
    for source in run_with_database(settings, work):
        columns = (source.id, source.uid or "-", source.type, source.name)
        typer.echo("\t".join((*columns, f"{base}/in/{source.token}")))

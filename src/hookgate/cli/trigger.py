"""``hookgate trigger``: send a realistic sample event signed as its provider signs it.

The samples and the providers' other headers are in ``core.samples``; the
signature comes from the provider's verification preset through
``core.sign``; sending and printing are shared with ``hookgate send``.
"""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.table import Table

from hookgate.cli.common import AcceptAnyCertificate, ExtraHeaders, console, err_console
from hookgate.cli.send import (
    check_url,
    parse_headers,
    read_data,
    report,
    run_exchanges,
    with_headers,
)
from hookgate.core.samples import PROVIDERS, Request, UnknownSample, build_request, provider


def show_list() -> None:
    """A table of the providers, their events and the header they sign."""
    table = Table(title="hookgate trigger <provider> <event>", title_justify="left")
    table.add_column("provider")
    table.add_column("events")
    table.add_column("signed with")
    for prov in PROVIDERS.values():
        table.add_row(
            prov.name, "\n".join(prov.events), ", ".join(s.signature_header for s in prov.schemes)
        )
    console.print(table)


def trigger(
    provider_name: Annotated[
        str | None, typer.Argument(metavar="PROVIDER", help="github, stripe, shopify, ...")
    ] = None,
    event: Annotated[
        str | None, typer.Argument(metavar="EVENT", help="e.g. push, invoice.paid.")
    ] = None,
    to: Annotated[
        str | None, typer.Option(help="Where to POST, e.g. http://localhost:8071/in/<source>.")
    ] = None,
    secret: Annotated[
        str | None,
        typer.Option(
            help="The secret the receiver verifies with (GitLab: the token).",
            envvar="HOOKGATE_TRIGGER_SECRET",
        ),
    ] = None,
    data: Annotated[
        str | None, typer.Option(help="Replace the sample body: text or @file.json.")
    ] = None,
    public_url: Annotated[
        str | None,
        typer.Option(help="Twilio: the URL to sign when the receiver sees another (a proxy)."),
    ] = None,
    repeat: Annotated[int, typer.Option(min=1, max=100_000, help="Send this many requests.")] = 1,
    concurrency: Annotated[
        int, typer.Option(min=1, max=1000, help="At most this many at a time.")
    ] = 1,
    header: ExtraHeaders = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each response.")] = 30.0,
    insecure: AcceptAnyCertificate = False,
    list_: Annotated[
        bool, typer.Option("--list", help="List the providers and their events.")
    ] = False,
) -> None:
    """Send a realistic sample event, signed exactly as the provider signs it,
    and print the request and the full response. With --repeat, a summary of
    statuses and latencies follows."""
    if list_:
        show_list()
        return
    if provider_name is None or event is None:
        if provider_name is not None and event is None:
            _known_events(provider_name)
        err_console.print("[red]Give a provider and an event[/red] (hookgate trigger --list).")
        raise typer.Exit(2)
    if to is None or secret is None:
        err_console.print("[red]--to and --secret are required.[/red]")
        raise typer.Exit(2)
    check_url(to)
    body = read_data(data) if data is not None else None
    extra = parse_headers(header or [])

    target, key, name, kind = to, secret, provider_name, event

    def make() -> Request:
        built = build_request(name, kind, to=target, secret=key, data=body, public_url=public_url)
        return with_headers(built, extra)

    try:
        make()
    except UnknownSample as exc:
        err_console.print(f"[red]{exc.args[0]}[/red] (hookgate trigger --list)")
        raise typer.Exit(2) from None
    except ValueError as exc:
        err_console.print(f"[red]Unusable --secret:[/red] {exc}")
        raise typer.Exit(2) from None
    started = time.perf_counter()
    exchanges = run_exchanges(
        make,
        repeat=repeat,
        concurrency=concurrency,
        timeout=timeout,
        verify_tls=not insecure,
    )
    report(exchanges, time.perf_counter() - started)


def _known_events(name: str) -> None:
    try:
        prov = provider(name)
    except UnknownSample as exc:
        err_console.print(f"[red]{exc.args[0]}[/red]")
        raise typer.Exit(2) from None
    err_console.print(f"{prov.title} events: {', '.join(prov.events)}")

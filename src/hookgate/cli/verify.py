"""``hookgate verify``: check a captured webhook offline and say why it fails.

``hookgate verify --provider stripe --secret whsec_... --headers @h.txt --body @b.bin``
verifies the request exactly as the server's ``/in`` would (the one receive
core, ``core.verify.decide``) and prints the verdict with the same
explanation the server stores for a rejected request (``Refused.reason``):
which header is missing, how one is malformed, by how much a timestamp is
off, and for a bad signature which change to the body or URL explains it.
Exit code 0 when the request is valid, 1 when it is not, 2 for a usage
mistake (unknown provider, unreadable file).

- ``--provider``: a preset (``github``, ``stripe``, ``standard_webhooks``...)
  or an ingest source type (``clerk``, ``resend``...) verified by one;
- ``--secret``: repeat for several (as a source rotating secrets);
- ``--headers``: ``@file`` or inline text, one ``Name: value`` per line (a
  leading request line such as ``POST /hook HTTP/1.1`` is skipped);
- ``--body``: ``@file`` (exact bytes), ``-`` (standard input) or inline text;
- ``--url``: the URL the provider called, for schemes that sign it (Twilio);
- ``--at``: judge timestamps as at this Unix time instead of now.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.markup import escape

from hookgate.cli.common import console, err_console
from hookgate.core.verify import PRESETS, Refused, Scheme, decide
from hookgate.inbound import config as source_config

_REQUEST_LINE = re.compile(r"^[A-Z]+ \S+ HTTP/\d(\.\d)?$")


def verify_command(
    provider: Annotated[
        str, typer.Option(help="Preset (github, stripe, ...) or ingest source type (clerk, ...).")
    ],
    secret: Annotated[list[str], typer.Option(help="The source's secret; repeat for several.")],
    headers: Annotated[str, typer.Option(help="@file or text: one 'Name: value' line per header.")],
    body: Annotated[str, typer.Option(help="@file (exact bytes), - (stdin) or text.")] = "",
    url: Annotated[
        str | None, typer.Option(help="The URL the provider called (schemes that sign it).")
    ] = None,
    at: Annotated[
        float | None, typer.Option(help="Judge timestamps as at this Unix time (default now).")
    ] = None,
) -> None:
    """Verify a captured webhook offline and explain why it fails (exit 0 valid, 1 not)."""
    scheme = _scheme(provider)
    header_pairs = parse_headers(_text(headers, "--headers"))
    raw_body = _bytes(body)
    if url is None and "url" in scheme.placeholders:
        _usage(f"{provider} signs the URL the provider called: pass --url")
    if url is None and scheme.signature_in_query:
        _usage(f"{provider} puts its signature in the URL the provider called: pass --url")
    decision = decide(
        scheme,
        secret,
        body=raw_body,
        headers=header_pairs,
        now=time.time() if at is None else at,
        url=url,
    )
    if isinstance(decision, Refused):
        console.print(f"[bold red]✗ not valid[/bold red] [red]{decision.code}[/red]")
        console.print(f"  {escape(decision.detail)}", soft_wrap=False)
        if decision.diagnosis:
            console.print(f"[bold]Why:[/bold] {escape(decision.diagnosis)}")
        raise typer.Exit(1)
    verified = decision.verified
    scheme_name = verified.scheme if verified is not None else scheme.name
    which = f", secret #{verified.secret_index + 1}" if verified and len(secret) > 1 else ""
    console.print(f"[bold green]✓ valid[/bold green] {escape(scheme_name)} signature{which}")
    for label, value in (("event type", decision.event_type), ("event id", decision.event_id)):
        if value:
            console.print(f"  {label}: {escape(value)}")


def parse_headers(text: str) -> list[tuple[str, str]]:
    """``Name: value`` lines as pairs, in order (blank lines and a leading
    request line skipped); a line without a colon is a usage error."""
    pairs: list[tuple[str, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.rstrip("\r")
        if not line.strip() or (not pairs and _REQUEST_LINE.match(line.strip())):
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip() or name != name.strip():
            _usage(f"--headers line {number} is not 'Name: value': {line[:60]!r}")
        pairs.append((name, value.strip()))
    return pairs


def _scheme(provider: str) -> Scheme:
    name = provider if provider in PRESETS else source_config.scheme_of(provider)
    if name is None or name not in PRESETS:
        known = ", ".join(sorted(PRESETS))
        _usage(f"unknown provider {provider!r}: use a preset ({known}) or an ingest source type")
    return PRESETS[name]


def _text(value: str, option: str) -> str:
    if value.startswith("@"):
        try:
            return Path(value[1:]).read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            _usage(f"cannot read {option} file {value[1:]}: {exc.strerror}")
    return value


def _bytes(value: str) -> bytes:
    if value == "-":
        return sys.stdin.buffer.read()
    if value.startswith("@"):
        try:
            return Path(value[1:]).read_bytes()
        except OSError as exc:
            _usage(f"cannot read --body file {value[1:]}: {exc.strerror}")
    return value.encode("utf-8")


def _usage(message: str) -> NoReturn:
    err_console.print(f"[red]{escape(message)}[/red]")
    raise typer.Exit(2)

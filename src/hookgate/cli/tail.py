"""``hookgate tail <source-or-bin>``: print the requests a source or bin
receives, as they arrive.

Polls the server's request listing (``GET /ingest/api/v1/source/{id}/request``,
newest first) every ``--interval`` seconds with the API token (``--server`` /
``--token``, or ``HOOKGATE_URL`` / ``HOOKGATE_TOKEN``). It starts from "now":
requests already stored are not shown. Each new request is one line (time,
method, path and query, size, content type, verdict), oldest first; ``--body``
adds the body (JSON pretty-printed, other UTF-8 text as is, binary as hex).

A request committed a little after a newer one (the server stores requests in
groups) is still shown: every poll asks for the last ``_LOOKBACK_MS`` before
the newest request seen and skips the ids already shown. Ctrl-C exits 0; an
unknown source or a refused token exits 1; an unreachable server is retried.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import httpx
import typer
from rich.markup import escape

from hookgate.cli.common import (
    DEFAULT_SERVER,
    ApiToken,
    ServerUrl,
    api_headers,
    console,
    err_console,
)

#: How far before the newest request seen each poll looks again.
_LOOKBACK_MS = 10_000
#: Pages read per poll at most (a flood is shown up to this many pages a poll).
_MAX_PAGES = 20
_PAGE = 250
#: Characters that must not reach the terminal as they are.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")


class TailError(Exception):
    """The server refused the listing for good (unknown source, bad token)."""


@dataclass
class Cursor:
    """Which requests were shown: ids with their receive time (ms), and the
    newest receive time seen."""

    seen: dict[str, int] = field(default_factory=dict)
    newest: int | None = None

    def since(self) -> str | None:
        """The ``after`` bound of the next poll (ISO 8601), or None for all."""
        if self.newest is None:
            return None
        return _iso(self.newest - _LOOKBACK_MS)

    def take(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The items not seen yet, oldest first; they are seen from now on."""
        fresh = [item for item in items if item["id"] not in self.seen]
        fresh.sort(key=lambda item: (_ms(item["receivedAt"]), item["id"]))
        for item in fresh:
            self.seen[item["id"]] = _ms(item["receivedAt"])
        if self.seen:
            self.newest = max(self.newest or 0, *self.seen.values())
        if self.newest is not None:
            floor = self.newest - 2 * _LOOKBACK_MS
            self.seen = {k: v for k, v in self.seen.items() if v >= floor}
        return fresh


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def _iso(ms: int) -> str:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)).isoformat()


def fetch(
    client: httpx.Client,
    source: str,
    after: str | None,
    *,
    limit: int = _PAGE,
    pages: int = _MAX_PAGES,
) -> list[dict[str, Any]]:
    """The requests of ``source`` received after ``after`` (all if None), up
    to ``pages`` pages of ``limit``, newest first. Raises ``TailError`` for
    an unknown source or a refused token."""
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": limit}
    if after is not None:
        params["after"] = after
    for _ in range(pages):
        response = client.get(f"/ingest/api/v1/source/{source}/request", params=params)
        if response.status_code == 404:
            raise TailError(f"no source or bin {source!r} on this server")
        if response.status_code in (401, 403):
            raise TailError("the server refused the token (use --token or HOOKGATE_TOKEN)")
        response.raise_for_status()
        page = response.json()
        items.extend(page["data"])
        if page.get("done", True) or not page.get("iterator"):
            break
        params["iterator"] = page["iterator"]
    return items


def header_of(item: dict[str, Any], name: str) -> str | None:
    """The first value of header ``name`` of a listed request."""
    return next((v for k, v in item["headers"] if k.lower() == name.lower()), None)


def line_of(item: dict[str, Any]) -> str:
    """One request as a line of Rich markup: time, method, path, size,
    content type, verdict."""
    when = datetime.fromisoformat(item["receivedAt"].replace("Z", "+00:00"))
    path = item["path"] + (f"?{item['query']}" if item["query"] else "")
    size = len(base64.b64decode(item["body"]))
    content_type = header_of(item, "content-type") or "-"
    return (
        f"{when.strftime('%H:%M:%S.%f')[:-3]}  [bold]{escape(item['method']):<7}[/bold]"
        f" {escape(path)}  {size} B  {escape(content_type)}  {verdict_of(item)}"
    )


def verdict_of(item: dict[str, Any]) -> str:
    """What became of a listed request, as Rich markup: verified, accepted,
    duplicate or rejected with the reason."""
    status = item["status"]
    if status == "accepted":
        return "[green]verified[/green]" if item["verified"] else "[green]accepted[/green]"
    if status == "duplicate":
        return "[yellow]duplicate[/yellow]"
    return f"[red]rejected[/red] {escape(item.get('rejection') or '')}"


def body_text(body: bytes) -> str:
    """How ``--body`` shows a body: JSON pretty-printed, other UTF-8 text as
    is, anything else (or text with control characters) as hex, 16 bytes a
    line."""
    if not body:
        return "(empty body)"
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        with contextlib.suppress(ValueError):
            text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        # Control characters would drive the terminal: such a body is shown as hex.
        if not _CONTROL.search(text):
            return text
    rows = (body[i : i + 16] for i in range(0, len(body), 16))
    return "\n".join(f"{n * 16:08x}  {row.hex(' ')}" for n, row in enumerate(rows))


def show(item: dict[str, Any], with_body: bool) -> None:
    """Print one request (and its body with ``with_body``)."""
    console.print(line_of(item), soft_wrap=True, highlight=False)
    if with_body:
        console.print(escape(body_text(base64.b64decode(item["body"]))), highlight=False)


def tail(
    source: Annotated[str, typer.Argument(help="The source's or bin's id or uid.")],
    server: ServerUrl = DEFAULT_SERVER,
    token: ApiToken = None,
    body: Annotated[bool, typer.Option("--body", help="Show each request's body.")] = False,
    interval: Annotated[float, typer.Option(min=0.2, max=60, help="Seconds between polls.")] = 1.0,
) -> None:
    """Print the requests a source or bin receives, as they arrive (Ctrl-C to stop)."""
    headers = api_headers(token)
    cursor = Cursor()
    try:
        with httpx.Client(base_url=server.rstrip("/"), headers=headers, timeout=15.0) as client:
            _follow(client, source, cursor, body, interval)
    except TailError as exc:
        err_console.print(f"[red]Cannot tail {escape(source)}:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        raise typer.Exit(0) from None


def _follow(
    client: httpx.Client, source: str, cursor: Cursor, with_body: bool, interval: float
) -> None:
    """Poll forever: the first poll only marks what exists as seen."""
    started = False
    unreachable = False
    while True:
        try:
            if started:
                items = fetch(client, source, cursor.since())
            else:
                # "Now": the newest request, then those close before it.
                items = fetch(client, source, None, limit=1, pages=1)
                if items:
                    cursor.take(items)
                    items = fetch(client, source, cursor.since())
        except (httpx.TransportError, httpx.HTTPStatusError) as exc:
            if not unreachable:
                err_console.print(f"[yellow]Server unreachable ({exc}); retrying[/yellow]")
            unreachable = True
        else:
            if unreachable:
                err_console.print("[green]Server reachable again[/green]")
            unreachable = False
            fresh = cursor.take(items)
            if not started:
                started = True
                console.print(
                    f"Tailing {escape(source)} on {escape(str(client.base_url))} (Ctrl-C to stop)",
                    highlight=False,
                )
            else:
                for item in fresh:
                    show(item, with_body)
        time.sleep(interval)

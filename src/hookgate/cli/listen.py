"""``hookgate listen <source-or-bin> --forward URL``: every request a source
or bin stores, forwarded to a local server, byte for byte, without a tunnel.

Follows the server's request stream (``GET /ingest/api/v1/source/{id}/listen``,
server-sent events, ``api.routes.request_stream``) with an API token
(``--server`` / ``--token`` or ``HOOKGATE_URL`` / ``HOOKGATE_TOKEN``). Each
accepted request is forwarded (``cli.listen_forward``); rejected ones and
duplicates are shown but forwarded only with ``--include-rejected``. One line
per request: time, method, path, verdict, local status and latency; what the
local server answered is reported back to the server and shown with the
request (``GET .../request/{id}``, the dashboard).

Nothing is missed and nothing forwarded twice within a run: a lost
connection (server restart, network loss, sleep) is retried with back-off
and resumed from the highest request id seen (``Last-Event-ID``); the
server sends again from a little before it and ``Progress`` drops what was
already handled. ``--from`` picks the start: ``now`` (default), a request id
(strictly after it), an ISO 8601 time or a duration ago (``10m``, ``2h``).

Requests are forwarded one at a time, in id order. Ctrl-C exits 0; an
unknown source or a refused token exits 1; a bad ``--from`` exits 2.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import httpx
import typer
from httpx_sse import SSEError, connect_sse
from rich.markup import escape

from hookgate.cli.common import (
    DEFAULT_SERVER,
    AcceptAnyCertificate,
    ApiToken,
    ServerUrl,
    api_headers,
    console,
    err_console,
)
from hookgate.cli.listen_forward import LocalAnswer, forward, local_client, sub_path
from hookgate.cli.tail import verdict_of
from hookgate.core import ids

#: Back-off between reconnection attempts: from the first to the largest.
FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 10.0
#: Without a byte for this long (the server sends a comment every 15 s), the
#: connection is taken for dead.
READ_TIMEOUT_S = 45.0
_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class ListenError(Exception):
    """The server refused the stream for good (unknown source, bad token)."""


@dataclass
class Progress:
    """Where a run stands: the start (``floor``; nothing at or below it is
    handled), the ids handled (kept for twice the server's lookback below
    the highest) and the highest id handled."""

    floor: str | None = None
    handled: set[str] = field(default_factory=set)
    highest: str | None = None
    lookback_ms: int = 5_000
    _prune_at: int = 1000

    def resume_from(self) -> str | None:
        """The ``Last-Event-ID`` of the next connection (None: start afresh)."""
        return max(filter(None, (self.floor, self.highest)), default=None)

    def is_new(self, request_id: str) -> bool:
        """Whether ``request_id`` is to be handled; it is handled from now on."""
        if self.floor is not None and request_id <= self.floor:
            return False
        if request_id in self.handled:
            return False
        self.handled.add(request_id)
        self.highest = max(self.highest or request_id, request_id)
        if len(self.handled) > self._prune_at:
            self._prune()
        return True

    def _prune(self) -> None:
        newest_ms = ids.created_ms(self.highest or "") or 0
        cutoff = newest_ms - 2 * self.lookback_ms
        self.handled = {i for i in self.handled if (ids.created_ms(i) or 0) >= cutoff}
        self._prune_at = max(1000, 2 * len(self.handled))


def start_params(start: str, now: datetime | None = None) -> dict[str, str]:
    """The stream's query parameters for ``--from``; raises ``ValueError``."""
    if start == "now":
        return {}
    if ids.looks_like_id(start, ids.INBOUND_REQUEST):
        return {"after": start}
    match = _DURATION.match(start)
    if match:
        ago = timedelta(seconds=int(match[1]) * _UNITS[match[2]])
        return {"since": ((now or datetime.now(UTC)) - ago).isoformat()}
    try:
        when = datetime.fromisoformat(start.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"--from {start!r}: expected now, a request id (inreq_...), an ISO 8601 time "
            "or a duration ago such as 10m"
        ) from None
    return {"since": (when if when.tzinfo else when.replace(tzinfo=UTC)).isoformat()}


def line_of(item: dict[str, Any], answer: LocalAnswer | None, reason: str | None) -> str:
    """One request as a line of Rich markup: time, method, path, verdict and
    what the local server did (or why it was not forwarded)."""
    when = datetime.fromisoformat(item["receivedAt"].replace("Z", "+00:00"))
    path = sub_path(item["path"]) or "/"
    if item["query"]:
        path += f"?{item['query']}"
    if answer is None:
        outcome = f"[dim]not forwarded ({escape(reason or '')})[/dim]"
    elif answer.status is None:
        outcome = f"[red]-> {escape(answer.error or 'no answer')}[/red] {answer.latency_ms} ms"
    else:
        colour = "green" if answer.status < 400 else "red"
        outcome = f"[{colour}]-> {answer.status}[/{colour}] {answer.latency_ms} ms"
    return (
        f"{when.strftime('%H:%M:%S.%f')[:-3]}  [bold]{escape(item['method']):<7}[/bold]"
        f" {escape(path)}  {verdict_of(item)}  {outcome}"
    )


@dataclass
class Listener:
    """One run of ``hookgate listen``."""

    api: httpx.Client
    local: httpx.Client
    source: str
    forward_to: str
    include_rejected: bool
    params: dict[str, str]
    progress: Progress = field(default_factory=Progress)
    #: Local answers not yet reported (the server was away).
    unreported: list[tuple[str, LocalAnswer]] = field(default_factory=list)
    announced: bool = False

    def follow(self) -> None:
        """Follow the stream forever, reconnecting with back-off."""
        backoff = FIRST_BACKOFF_S
        while True:
            try:
                self._connect_once()
                backoff = FIRST_BACKOFF_S
                continue  # the server ended the stream: reconnect at once
            except (httpx.TransportError, SSEError, httpx.HTTPStatusError) as exc:
                err_console.print(
                    f"[yellow]Disconnected ({escape(str(exc) or type(exc).__name__)}); "
                    f"reconnecting in {backoff:g} s[/yellow]",
                    soft_wrap=True,
                )
            time.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)

    def _connect_once(self) -> None:
        resume = self.progress.resume_from()
        headers = {"Last-Event-ID": resume} if resume else {}
        params = {} if resume else self.params
        url = f"/ingest/api/v1/source/{self.source}/listen"
        with connect_sse(self.api, "GET", url, params=params, headers=headers) as events:
            self._check(events.response)
            for event in events.iter_sse():
                if event.event == "ready":
                    self._ready(event.json())
                elif event.event == "request":
                    self._handle(event.json())

    def _check(self, response: httpx.Response) -> None:
        if response.status_code == 404:
            raise ListenError(f"no source or bin {self.source!r} on this server")
        if response.status_code in (401, 403):
            raise ListenError("the server refused the token (use --token or HOOKGATE_TOKEN)")
        if response.status_code == 422:
            response.read()
            raise ListenError(f"the server refused the request: {response.text}")
        response.raise_for_status()

    def _ready(self, ready: dict[str, Any]) -> None:
        self.progress.lookback_ms = int(ready.get("lookbackMs", self.progress.lookback_ms))
        if self.progress.floor is None and self.progress.highest is None:
            # The first connection: where this run starts.
            self.progress.floor = ready["cursor"]
        if not self.announced:
            console.print(
                f"Forwarding requests of {escape(self.source)} to {escape(self.forward_to)}"
                " (Ctrl-C to stop)",
                highlight=False,
                soft_wrap=True,
            )
            self.announced = True
        else:
            err_console.print("[green]Reconnected[/green]")
        self._report_pending()

    def _handle(self, item: dict[str, Any]) -> None:
        if not self.progress.is_new(item["id"]):
            return
        wanted = item["status"] == "accepted" or self.include_rejected
        if not wanted:
            console.print(line_of(item, None, item["status"]), highlight=False, soft_wrap=True)
            return
        answer = forward(self.local, self.forward_to, item)
        console.print(line_of(item, answer, None), highlight=False, soft_wrap=True)
        self.unreported.append((item["id"], answer))
        self._report_pending()

    def _report_pending(self) -> None:
        """Report local answers to the server; those it cannot take now are
        kept for the next connection."""
        while self.unreported:
            request_id, answer = self.unreported[0]
            url = f"/ingest/api/v1/source/{self.source}/request/{request_id}/local-response"
            try:
                response = self.api.post(url, json=answer.report())
            except httpx.TransportError:
                return
            if response.status_code >= 500:
                return
            self.unreported.pop(0)  # reported, or refused for good (e.g. purged)


def listen(
    source: Annotated[str, typer.Argument(help="The source's or bin's id or uid.")],
    forward_to: Annotated[
        str,
        typer.Option(
            "--forward", "-f", help="The local URL to forward to (sub-paths are appended)."
        ),
    ],
    server: ServerUrl = DEFAULT_SERVER,
    token: ApiToken = None,
    include_rejected: Annotated[
        bool,
        typer.Option("--include-rejected", help="Forward rejected requests and duplicates too."),
    ] = False,
    start: Annotated[
        str,
        typer.Option(
            "--from", help="now, a request id, an ISO 8601 time or a duration ago (10m, 2h)."
        ),
    ] = "now",
    timeout: Annotated[
        float, typer.Option(min=0.1, max=600, help="Seconds to wait for the local server.")
    ] = 30.0,
    insecure: AcceptAnyCertificate = False,
) -> None:
    """Forward every request a source or bin receives to a local server (Ctrl-C to stop)."""
    headers = api_headers(token)
    if not forward_to.startswith(("http://", "https://")):
        err_console.print(f"[red]--forward {escape(forward_to)}:[/red] expected an http(s) URL")
        raise typer.Exit(2)
    try:
        params = start_params(start)
    except ValueError as exc:
        err_console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from None
    api_timeout = httpx.Timeout(15.0, read=READ_TIMEOUT_S)
    try:
        with (
            httpx.Client(base_url=server.rstrip("/"), headers=headers, timeout=api_timeout) as api,
            local_client(timeout, verify=not insecure) as local,
        ):
            Listener(api, local, source, forward_to, include_rejected, params).follow()
    except ListenError as exc:
        err_console.print(f"[red]Cannot listen to {escape(source)}:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        raise typer.Exit(0) from None

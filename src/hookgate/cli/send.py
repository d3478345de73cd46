"""``hookgate send``: one Standard Webhooks request, and the HTTP exchange
machinery ``hookgate trigger`` shares with it.

Requests go out with aiohttp exactly as built (headers in order, body bytes
untouched), redirects are not followed, at most ``MAX_RESPONSE_BYTES`` of a
response body are read, and loopback targets are allowed: this is a
developer tool aimed at a local server. Both commands print the request
sent and the response received, and exit 0 only if every response was 2xx
(1 otherwise, 2 for bad arguments).
"""

from __future__ import annotations

import asyncio
import json
import math
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import aiohttp
import typer
from multidict import CIMultiDict
from rich.json import JSON
from rich.table import Table
from rich.text import Text

from hookgate.cli.common import AcceptAnyCertificate, ExtraHeaders, console, err_console
from hookgate.core.samples import Request
from hookgate.core.sign import sign_headers
from hookgate.core.verify.presets import STANDARD_WEBHOOKS

#: Response bytes read at most; the rest is left unread.
MAX_RESPONSE_BYTES = 1024 * 1024
#: Body bytes printed at most, per request and response.
SHOWN_BODY_BYTES = 16 * 1024
#: Headers aiohttp would add by itself; requests carry only what they were built with.
_NO_AUTO_HEADERS = ("Accept", "Accept-Encoding", "User-Agent")


@dataclass(frozen=True)
class Exchange:
    """The outcome of sending one ``Request``: a response or an ``error``."""

    request: Request
    elapsed: float
    status: int | None = None
    reason: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    truncated: bool = False
    error: str | None = None
    #: the headers as they went out (with ``Host`` and ``Content-Length``), when sent
    sent_headers: tuple[tuple[str, str], ...] = ()

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


async def _send_one(session: aiohttp.ClientSession, request: Request, wait: float) -> Exchange:
    started = time.perf_counter()
    try:
        async with session.request(
            request.method,
            request.url,
            data=request.body,
            headers=CIMultiDict(request.headers),
            allow_redirects=False,
            skip_auto_headers=_NO_AUTO_HEADERS,
            timeout=aiohttp.ClientTimeout(total=wait),
        ) as response:
            body, truncated = await _read_bounded(response.content, MAX_RESPONSE_BYTES)
            return Exchange(
                request,
                time.perf_counter() - started,
                response.status,
                response.reason or "",
                _raw_headers(response),
                body,
                truncated,
                sent_headers=tuple(response.request_info.headers.items()),
            )
    except TimeoutError:
        error = f"no response within {wait:g} s"
    except aiohttp.ClientError as exc:
        error = str(exc) or type(exc).__name__
    return Exchange(request, time.perf_counter() - started, error=error)


async def _read_bounded(stream: aiohttp.StreamReader, limit: int) -> tuple[bytes, bool]:
    """At most ``limit`` bytes of ``stream``, and whether more remained."""
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = await stream.read(limit - size)
        if not chunk:
            return b"".join(chunks), False
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks), bool(await stream.read(1))


def _raw_headers(response: aiohttp.ClientResponse) -> tuple[tuple[str, str], ...]:
    """The response headers in order and as spelled on the wire."""
    return tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in response.raw_headers)


async def exchange_all(
    make: Callable[[], Request],
    *,
    repeat: int,
    concurrency: int,
    wait: float,
    verify_tls: bool = True,
) -> list[Exchange]:
    """Send ``repeat`` requests made by ``make`` (one call per request, so
    each has fresh ids and timestamps), at most ``concurrency`` at a time;
    without ``verify_tls`` any HTTPS certificate is accepted."""
    gate = asyncio.Semaphore(concurrency)
    connector = aiohttp.TCPConnector(
        limit=concurrency, force_close=concurrency == 1, ssl=verify_tls
    )
    async with aiohttp.ClientSession(connector=connector, auto_decompress=True) as session:

        async def one() -> Exchange:
            async with gate:
                return await _send_one(session, make(), wait)

        return list(await asyncio.gather(*(one() for _ in range(repeat))))


def run_exchanges(
    make: Callable[[], Request],
    *,
    repeat: int = 1,
    concurrency: int = 1,
    timeout: float = 30,
    verify_tls: bool = True,
) -> list[Exchange]:
    """``exchange_all`` from synchronous code; Ctrl-C ends the command (130)."""
    try:
        return asyncio.run(
            exchange_all(
                make, repeat=repeat, concurrency=concurrency, wait=timeout, verify_tls=verify_tls
            )
        )
    except KeyboardInterrupt:
        err_console.print("Interrupted.")
        raise typer.Exit(130) from None


# --- printing ----------------------------------------------------------------


def _content_type(headers: Sequence[tuple[str, str]]) -> str:
    for name, value in headers:
        if name.lower() == "content-type":
            return value.split(";", 1)[0].strip().lower()
    return ""


def _body(body: bytes, headers: Sequence[tuple[str, str]], *, pretty: bool) -> Any:
    """A printable form of ``body``: pretty JSON (``pretty``), text, or hex."""
    if not body:
        return Text("(empty body)", style="dim")
    shown = body[:SHOWN_BODY_BYTES]
    more = len(body) - len(shown)
    tail = Text(f"\n… {more} more bytes not shown", style="dim") if more > 0 else None
    try:
        text = shown.decode("utf-8")
    except UnicodeDecodeError:
        lines = [shown[i : i + 32].hex(" ") for i in range(0, min(len(shown), 512), 32)]
        return Text(f"({len(body)} bytes, binary)\n" + "\n".join(lines), style="dim")
    if pretty and not more and "json" in _content_type(headers):
        try:
            json.loads(text)
            return JSON(text)
        except ValueError:
            pass
    out = Text(text)
    if tail is not None:
        out.append_text(tail)
    return out


def _header_lines(headers: Sequence[tuple[str, str]]) -> Text:
    text = Text()
    for name, value in headers:
        text.append(name, style="cyan")
        text.append(f": {value}\n")
    return text


def show_request(request: Request, sent_headers: Sequence[tuple[str, str]] = ()) -> None:
    """Print the request line, headers (``sent_headers`` if known, which
    include those the HTTP client added) and body exactly as sent."""
    line = Text("→ ", style="bold")
    line.append(f"{request.method} {request.url}", style="bold")
    console.print(line, soft_wrap=True)
    if request.signed_url:
        console.print(Text(f"  (signed for {request.signed_url})", style="dim"), soft_wrap=True)
    console.print(_header_lines(sent_headers or request.headers), end="", soft_wrap=True)
    console.print(_body(request.body, request.headers, pretty=False), soft_wrap=True)
    console.print()


def show_exchange(exchange: Exchange) -> None:
    """Print the response (status, headers, body, timing) or the error."""
    took = f"{exchange.elapsed * 1000:.1f} ms"
    if exchange.status is None:
        console.print(
            Text(f"✗ no response: {exchange.error} ({took})", style="bold red"), soft_wrap=True
        )
        return
    style = "bold green" if exchange.ok else "bold red"
    line = Text(f"← {exchange.status} {exchange.reason}", style=style)
    line.append(f"  {took}", style="dim")
    console.print(line, soft_wrap=True)
    console.print(_header_lines(exchange.headers), end="", soft_wrap=True)
    console.print(_body(exchange.body, exchange.headers, pretty=True), soft_wrap=True)
    if exchange.truncated:
        console.print(Text(f"(response body cut at {MAX_RESPONSE_BYTES} bytes)", style="dim"))


def percentile(sorted_values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (``share`` in 0..1) of ascending values."""
    rank = max(1, math.ceil(share * len(sorted_values)))
    return sorted_values[rank - 1]


def show_summary(exchanges: Sequence[Exchange], wall: float) -> None:
    """Status counts and latency percentiles of a repeated send."""
    counts = Counter(
        str(e.status) if e.status is not None else f"error: {e.error}" for e in exchanges
    )
    console.print(Text(f"{len(exchanges)} requests in {wall:.2f} s", style="bold"))
    table = Table()
    table.add_column("status")
    table.add_column("count", justify="right")
    for status, count in sorted(counts.items()):
        table.add_row(Text(status, style="green" if status.startswith("2") else "red"), str(count))
    console.print(table)
    latencies = sorted(e.elapsed * 1000 for e in exchanges)
    console.print(
        "latency ms: "
        + "  ".join(f"p{int(p * 100)} {percentile(latencies, p):.1f}" for p in (0.5, 0.9, 0.99))
        + f"  max {latencies[-1]:.1f}",
        soft_wrap=True,
    )


def report(exchanges: Sequence[Exchange], wall: float) -> None:
    """Print the first request and response (and a summary when several were
    sent); end the command with 1 unless every response was 2xx."""
    first = exchanges[0]
    show_request(first.request, first.sent_headers)
    show_exchange(first)
    if len(exchanges) > 1:
        console.print()
        show_summary(exchanges, wall)
    if not all(e.ok for e in exchanges):
        raise typer.Exit(1)


def read_data(value: str) -> bytes:
    """``--data``: ``@path`` reads the file's bytes, anything else is the body itself."""
    if not value.startswith("@"):
        return value.encode("utf-8")
    path = Path(value[1:])
    try:
        return path.read_bytes()
    except OSError as exc:
        err_console.print(f"[red]Cannot read --data file[/red] {path}: {exc.strerror}")
        raise typer.Exit(2) from None


def parse_headers(values: Sequence[str]) -> list[tuple[str, str]]:
    """``--header "Name: value"`` options as pairs; a malformed one ends the command."""
    pairs = []
    for value in values:
        name, sep, rest = value.partition(":")
        if not sep or not name.strip():
            err_console.print(f"[red]--header must be 'Name: value', not[/red] {value!r}")
            raise typer.Exit(2)
        pairs.append((name.strip(), rest.strip()))
    return pairs


def with_headers(request: Request, extra: Sequence[tuple[str, str]]) -> Request:
    """``request`` with ``extra`` headers replacing any of the same name."""
    if not extra:
        return request
    names = {name.lower() for name, _ in extra}
    kept = [(n, v) for n, v in request.headers if n.lower() not in names]
    return Request(request.method, request.url, [*kept, *extra], request.body, request.signed_url)


# --- hookgate send -------------------------------------------------------------


def standard_request(
    url: str, body: bytes, secret: str, *, msg_id: str | None = None, now: int | None = None
) -> Request:
    """A Standard Webhooks POST of ``body`` to ``url`` signed with ``secret``."""
    timestamp = int(time.time()) if now is None else now
    signed = sign_headers(
        STANDARD_WEBHOOKS,
        body=body,
        secret=secret,
        timestamp=timestamp,
        msg_id=msg_id or f"msg_{uuid.uuid4().hex}",
    )
    headers = [("User-Agent", "hookgate-send"), ("Content-Type", "application/json")]
    return Request("POST", url, [*headers, *signed.items()], body)


def envelope(event: str | None, data: bytes | None, raw: bool) -> bytes:
    """The body ``send`` signs: ``data`` as is when ``raw`` or already an
    envelope (a JSON object with ``type``), else ``{"type", "timestamp",
    "data"}`` around it, as Standard Webhooks recommends."""
    if data is not None and raw:
        return data
    payload: Any = {}
    if data is not None:
        try:
            payload = json.loads(data)
        except ValueError:
            err_console.print("[red]--data is not JSON[/red] (pass --raw to send it as is)")
            raise typer.Exit(2) from None
        if isinstance(payload, dict) and "type" in payload:
            return data
    if not event:
        err_console.print(
            '[red]--event is required[/red] unless --data is a whole payload with a "type"'
        )
        raise typer.Exit(2)
    stamp = datetime.now(tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    document = {"type": event, "timestamp": stamp, "data": payload}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def send(
    url: Annotated[
        str,
        typer.Argument(metavar="URL", help="Where to POST, e.g. http://localhost:3000/webhook."),
    ],
    secret: Annotated[
        str,
        typer.Option(
            help="The endpoint's signing secret (whsec_<base64>).",
            envvar="HOOKGATE_SEND_SECRET",
        ),
    ],
    event: Annotated[str | None, typer.Option(help="The event type, e.g. invoice.paid.")] = None,
    data: Annotated[
        str | None,
        typer.Option(help="The event data: JSON text or @file.json (default: {})."),
    ] = None,
    raw: Annotated[
        bool, typer.Option(help="Send --data exactly as given, without the type/data envelope.")
    ] = False,
    msg_id: Annotated[
        str | None, typer.Option("--id", help="The webhook-id (default: a new msg_...).")
    ] = None,
    header: ExtraHeaders = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the response.")] = 30.0,
    insecure: AcceptAnyCertificate = False,
) -> None:
    """Send one Standard Webhooks request (webhook-id, webhook-timestamp,
    webhook-signature) and print the request and the full response."""
    check_url(url)
    body = envelope(event, read_data(data) if data is not None else None, raw)
    extra = parse_headers(header or [])
    try:
        request = with_headers(standard_request(url, body, secret, msg_id=msg_id), extra)
    except ValueError as exc:
        err_console.print(f"[red]Unusable --secret:[/red] {exc}")
        raise typer.Exit(2) from None
    started = time.perf_counter()
    exchanges = run_exchanges(lambda: request, timeout=timeout, verify_tls=not insecure)
    report(exchanges, time.perf_counter() - started)


def check_url(url: str) -> None:
    """End the command unless ``url`` is an http(s) URL."""
    if not url.lower().startswith(("http://", "https://")):
        err_console.print(f"[red]The URL must start with http:// or https://:[/red] {url}")
        raise typer.Exit(2)

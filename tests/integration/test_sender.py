"""Every sender (``HttpSender`` over aiohttp, ``ReqwestSender`` over pyreqwest,
``ProcessSender`` running aiohttp in a child process)
against real HTTP servers on loopback: every test that takes a sender runs on
each."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from hookgate.core.netpolicy import AddressPolicy, parse_subnets
from hookgate.core.outcome import MAX_HEADER_BLOCK, ErrorKind, SendResult
from hookgate.delivery.sender import (
    BlockedAddressError,
    HttpSender,
    OutboundRequest,
    PolicyResolver,
    Sender,
)
from hookgate.delivery.sender_process import ProcessSender
from hookgate.delivery.sender_reqwest import ReqwestSender

LOOPBACK_ALLOWED = AddressPolicy(parse_subnets("127.0.0.0/8"))

# Bounds every send so a hang fails the test instead of stalling the run.
GUARD = 10.0


def _request(
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes = b"{}",
    timeout: float = 5.0,
) -> OutboundRequest:
    return OutboundRequest(url=url, headers=headers or {}, body=body, timeout=timeout)


#: Each sender implementation, by the name ``HOOKGATE_HTTP_CLIENT`` gives it.
#: ``process``: aiohttp in a child process (``HOOKGATE_SEND_IN_CHILD_PROCESS``).
SENDERS: dict[str, Callable[..., Sender]] = {
    "aiohttp": HttpSender,
    "reqwest": ReqwestSender,
    "process": ProcessSender,
}


async def _send(sender: Sender, request: OutboundRequest) -> SendResult:
    return await asyncio.wait_for(sender.send(request), GUARD)


class Receiver:
    """An aiohttp.web server on 127.0.0.1 that records what it receives."""

    def __init__(self, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> None:
        self.requests: list[tuple[web.Request, bytes]] = []
        self.peer_ports: set[int] = set()
        self._handler = handler
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def _record(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.requests.append((request, body))
        peer = request.transport.get_extra_info("peername") if request.transport else None
        if peer:
            self.peer_ports.add(peer[1])
        return await self._handler(request)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._record)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    def url(self, path: str = "/hook", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


class RawServer:
    """A raw TCP server for peers that misbehave; counts accepted connections."""

    def __init__(
        self,
        handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
        host: str = "127.0.0.1",
    ) -> None:
        self.connections = 0
        self._handler = handler
        self._host = host
        self._writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None
        self.port = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(writer)
        with contextlib.suppress(ConnectionError):
            await self._handler(reader, writer)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self._host, 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        for writer in self._writers:
            writer.transport.abort()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


async def _read_request_head(reader: asyncio.StreamReader) -> None:
    await reader.readuntil(b"\r\n\r\n")


async def _hold_open(reader: asyncio.StreamReader) -> None:
    """Send nothing more until the client goes away (or the server stops)."""
    await reader.read()


@pytest.fixture(params=sorted(SENDERS))
def sender_kind(request: pytest.FixtureRequest) -> str:
    """The sender implementation under test."""
    kind: str = request.param
    return kind


@pytest.fixture
def make_sender(sender_kind: str) -> Callable[..., Sender]:
    """Builds a sender of the implementation under test (``HttpSender``'s arguments)."""
    return SENDERS[sender_kind]


@pytest.fixture
async def sender(make_sender: Callable[..., Sender]) -> AsyncIterator[Sender]:
    s = make_sender(LOOPBACK_ALLOWED)
    if isinstance(s, ProcessSender):
        await s.start()  # as the engine does: no spawn inside a timed attempt
    yield s
    await s.close()


@pytest.fixture
async def strict_sender(make_sender: Callable[..., Sender]) -> AsyncIterator[Sender]:
    """A sender with the default policy: loopback is refused."""
    s = make_sender(AddressPolicy())
    yield s
    await s.close()


@pytest.fixture
async def receivers() -> AsyncIterator[list[Receiver | RawServer]]:
    started: list[Receiver | RawServer] = []
    yield started
    for server in started:
        await server.stop()


@pytest.fixture
def start_receiver(
    receivers: list[Receiver | RawServer],
) -> Callable[..., Awaitable[Receiver]]:
    async def start(
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]] | None = None,
    ) -> Receiver:
        async def ok(_: web.Request) -> web.StreamResponse:
            return web.Response(body=b"ok")

        receiver = Receiver(handler or ok)
        await receiver.start()
        receivers.append(receiver)
        return receiver

    return start


@pytest.fixture
def start_raw(
    receivers: list[Receiver | RawServer],
) -> Callable[..., Awaitable[RawServer]]:
    async def start(
        handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
        host: str = "127.0.0.1",
    ) -> RawServer:
        server = RawServer(handler, host)
        await server.start()
        receivers.append(server)
        return server

    return start


@pytest.fixture
def connect_calls(monkeypatch: pytest.MonkeyPatch, sender_kind: str) -> list[str]:
    """Hosts for which the sender asked its client for a connection: aiohttp's
    connector, or the pinned client ``ReqwestSender`` picks per request."""
    if sender_kind == "process":
        pytest.skip("the child process's connections cannot be watched from the test")
    calls: list[str] = []
    if sender_kind == "reqwest":
        pick = ReqwestSender._client_for

        async def pick_spy(self: ReqwestSender, target: Any) -> Any:
            calls.append(target.label.rsplit(":", 1)[0])
            return await pick(self, target)

        monkeypatch.setattr(ReqwestSender, "_client_for", pick_spy)
        return calls
    original = aiohttp.BaseConnector.connect

    async def spy(self: aiohttp.BaseConnector, req: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(req.host)
        return await original(self, req, *args, **kwargs)

    monkeypatch.setattr(aiohttp.BaseConnector, "connect", spy)
    return calls


# --- delivery -----------------------------------------------------------------


async def test_delivers_body_bytes_and_headers(
    sender: Sender, start_receiver: Callable[..., Awaitable[Receiver]]
) -> None:
    async def handler(_: web.Request) -> web.StreamResponse:
        return web.Response(status=201, body=b'{"received": true}')

    receiver = await start_receiver(handler)
    body = b'{"type":"invoice.paid","n":"\xc3\xa9"}\x00\xff'
    request = OutboundRequest(
        url=receiver.url("/hooks/in?token=abc"),
        headers={"webhook-id": "msg_1", "X-Custom": "value"},
        body=body,
        timeout=5.0,
    )

    result = await _send(sender, request)

    assert result.status_code == 201
    assert result.body == b'{"received": true}'
    assert result.error_kind is None
    assert result.error_message is None
    assert result.succeeded
    assert result.duration_ms >= 0
    [(received, received_body)] = receiver.requests
    assert received.method == "POST"
    assert received.path_qs == "/hooks/in?token=abc"
    assert received_body == body
    assert received.headers["webhook-id"] == "msg_1"
    assert received.headers["X-Custom"] == "value"
    assert received.headers["User-Agent"] == "Hookgate-Webhooks/0.1"
    assert received.headers["Content-Type"] == "application/json"
    assert received.headers["Content-Length"] == str(len(body))


async def test_given_content_type_and_user_agent_are_kept(
    make_sender: Callable[..., Sender],
    start_receiver: Callable[..., Awaitable[Receiver]],
) -> None:
    receiver = await start_receiver()
    sender = make_sender(LOOPBACK_ALLOWED, user_agent="Custom-Default/2")
    try:
        await _send(sender, _request(receiver.url(), headers={"content-type": "text/plain"}))
        await _send(sender, _request(receiver.url(), headers={"user-agent": "Mine/1"}))
    finally:
        await sender.close()

    (first, _), (second, _) = receiver.requests
    assert first.headers.getall("Content-Type") == ["text/plain"]
    assert first.headers["User-Agent"] == "Custom-Default/2"
    assert second.headers.getall("User-Agent") == ["Mine/1"]
    assert second.headers["Content-Type"] == "application/json"


async def test_non_2xx_is_reported_with_status_and_body(
    sender: Sender, start_receiver: Callable[..., Awaitable[Receiver]]
) -> None:
    async def handler(_: web.Request) -> web.StreamResponse:
        return web.Response(status=500, body=b"boom", headers={"X-Trace": "t-1"})

    receiver = await start_receiver(handler)

    result = await _send(sender, _request(receiver.url()))

    assert result.status_code == 500
    assert result.body == b"boom"
    assert result.error_kind is ErrorKind.HTTP_STATUS
    assert result.error_message == "HTTP 500"
    assert result.retry_after is None
    assert b"X-Trace: t-1\r\n" in result.headers
    assert b"Content-Length: 4\r\n" in result.headers


async def test_response_headers_are_kept_whole_lines_up_to_the_cap(
    sender: Sender, start_receiver: Callable[..., Awaitable[Receiver]]
) -> None:
    # Lines of 116 bytes, past the 8 KiB cap: 120 of them, or 90 for reqwest
    # (hyper refuses a response of more than 100 header lines).
    count = 90 if isinstance(sender, ReqwestSender) else 120
    many = {f"X-Filler-{i:03d}": "v" * 100 for i in range(count)}

    async def handler(_: web.Request) -> web.StreamResponse:
        return web.Response(status=200, headers=many)

    receiver = await start_receiver(handler)

    result = await _send(sender, _request(receiver.url()))

    assert result.succeeded
    assert 0 < len(result.headers) <= MAX_HEADER_BLOCK
    assert result.headers.endswith(b"\r\n")
    assert b"X-Filler-000: " + b"v" * 100 + b"\r\n" in result.headers
    assert f"X-Filler-{count - 1:03d}".encode() not in result.headers


async def test_a_header_value_that_is_not_ascii_does_not_fail_the_attempt(
    sender: Sender, start_raw: Callable[..., Awaitable[RawServer]]
) -> None:
    async def odd_header(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request_head(reader)
        writer.write(
            b"HTTP/1.1 429 Too Many Requests\r\nX-Odd: caf\xe9\r\nRetry-After: 7\r\n"
            b"Content-Length: 2\r\n\r\nno"
        )
        await writer.drain()
        await _hold_open(reader)

    server = await start_raw(odd_header)

    result = await _send(sender, _request(f"http://127.0.0.1:{server.port}/"))

    assert (result.status_code, result.body, result.retry_after) == (429, b"no", 7.0)
    assert result.headers.startswith(b"X-Odd: ")
    assert b"Retry-After: 7\r\n" in result.headers


async def test_large_body_is_truncated_to_the_cap_without_waiting_for_the_rest(
    make_sender: Callable[..., Sender],
    start_raw: Callable[..., Awaitable[RawServer]],
) -> None:
    async def huge_then_stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n")
        writer.write(b"x" * 200_000)
        await writer.drain()
        await _hold_open(reader)

    server = await start_raw(huge_then_stall)
    sender = make_sender(LOOPBACK_ALLOWED, max_response_bytes=1000)
    try:
        started = time.monotonic()
        result = await _send(sender, _request(f"http://127.0.0.1:{server.port}/", timeout=30.0))
        elapsed = time.monotonic() - started
    finally:
        await sender.close()

    assert result.status_code == 200
    assert result.body == b"x" * 1000
    assert result.error_kind is None
    # Still a success, but not a clean one: the attempt says what happened.
    assert result.error_message == "response body over the 1000-byte cap; the rest was not read"
    assert elapsed < 5.0  # far below the 30 s timeout: the rest was not waited for


@pytest.mark.parametrize("size", [999, 1000])
async def test_body_up_to_the_cap_is_returned_whole_and_clean(
    make_sender: Callable[..., Sender],
    start_receiver: Callable[..., Awaitable[Receiver]],
    size: int,
) -> None:
    async def handler(_: web.Request) -> web.StreamResponse:
        return web.Response(body=b"y" * size)

    receiver = await start_receiver(handler)
    sender = make_sender(LOOPBACK_ALLOWED, max_response_bytes=1000)
    try:
        result = await _send(sender, _request(receiver.url()))
    finally:
        await sender.close()

    assert result.body == b"y" * size
    assert result.error_message is None


async def test_status_counts_when_the_body_then_stalls(
    make_sender: Callable[..., Sender],
    start_raw: Callable[..., Awaitable[RawServer]],
) -> None:
    async def partial_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
        await writer.drain()
        await _hold_open(reader)

    server = await start_raw(partial_body)
    sender = make_sender(LOOPBACK_ALLOWED)
    try:
        result = await _send(sender, _request(f"http://127.0.0.1:{server.port}/", timeout=0.3))
    finally:
        await sender.close()

    assert result.status_code == 200
    assert result.body == b"partial"
    assert result.error_kind is None
    assert result.error_message is not None
    assert "response body incomplete" in result.error_message


async def test_redirect_is_not_followed(
    sender: Sender, start_receiver: Callable[..., Awaitable[Receiver]]
) -> None:
    target = await start_receiver()

    async def redirect(_: web.Request) -> web.StreamResponse:
        return web.Response(status=302, headers={"Location": target.url("/target")})

    origin = await start_receiver(redirect)

    result = await _send(sender, _request(origin.url()))

    assert result.status_code == 302
    assert result.error_kind is ErrorKind.HTTP_STATUS
    assert result.error_message == "HTTP 302"
    assert len(origin.requests) == 1
    assert target.requests == []


def _http_date(offset: timedelta) -> str:
    return format_datetime(datetime.now(UTC) + offset, usegmt=True)


@pytest.mark.parametrize(
    ("header", "low", "high"),
    [
        ("120", 120.0, 120.0),
        ("0", 0.0, 0.0),
        (timedelta(hours=1), 3500.0, 3600.0),
        (timedelta(hours=-1), 0.0, 0.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0, 0.0),
    ],
)
async def test_retry_after_is_parsed_on_429(
    sender: Sender,
    start_receiver: Callable[..., Awaitable[Receiver]],
    header: str | timedelta,
    low: float,
    high: float,
) -> None:
    if isinstance(header, timedelta):  # an HTTP-date relative to now, made now
        header = _http_date(header)

    async def handler(_: web.Request) -> web.StreamResponse:
        return web.Response(status=429, headers={"Retry-After": header})

    receiver = await start_receiver(handler)

    result = await _send(sender, _request(receiver.url()))

    assert result.status_code == 429
    assert result.error_kind is ErrorKind.HTTP_STATUS
    assert result.retry_after is not None
    assert low <= result.retry_after <= high


@pytest.mark.parametrize("header", ["soon", "-5", "1.5", "", "Wed, 99 Foo 2015"])
async def test_unparseable_retry_after_is_ignored(
    sender: Sender,
    start_receiver: Callable[..., Awaitable[Receiver]],
    header: str,
) -> None:
    async def handler(_: web.Request) -> web.StreamResponse:
        return web.Response(status=429, headers={"Retry-After": header})

    receiver = await start_receiver(handler)

    result = await _send(sender, _request(receiver.url()))

    assert result.status_code == 429
    assert result.retry_after is None


async def test_connection_reuse(
    sender: Sender, start_receiver: Callable[..., Awaitable[Receiver]]
) -> None:
    receiver = await start_receiver()

    for _ in range(50):
        result = await _send(sender, _request(receiver.url()))
        assert result.status_code == 200

    assert len(receiver.requests) == 50
    assert len(receiver.peer_ports) <= 2


# --- failures -----------------------------------------------------------------


async def test_timeout(sender: Sender, start_raw: Callable[..., Awaitable[RawServer]]) -> None:
    async def never_answer(reader: asyncio.StreamReader, _: asyncio.StreamWriter) -> None:
        await _read_request_head(reader)
        await _hold_open(reader)

    server = await start_raw(never_answer)

    result = await _send(sender, _request(f"http://127.0.0.1:{server.port}/", timeout=0.3))

    assert result.status_code is None
    assert result.error_kind is ErrorKind.TIMEOUT
    assert result.error_message == "no response within 0.3 s"
    assert result.body == b""


async def test_each_request_gets_its_own_timeout_on_a_reused_url(
    sender: Sender, start_raw: Callable[..., Awaitable[RawServer]]
) -> None:
    async def never_answer(reader: asyncio.StreamReader, _: asyncio.StreamWriter) -> None:
        await _read_request_head(reader)
        await _hold_open(reader)

    server = await start_raw(never_answer)
    url = f"http://127.0.0.1:{server.port}/"

    for timeout in (0.2, 0.4, 0.2):
        started = time.monotonic()
        result = await _send(sender, _request(url, timeout=timeout))
        assert result.error_kind is ErrorKind.TIMEOUT
        assert result.error_message == f"no response within {timeout} s"
        assert timeout <= time.monotonic() - started < timeout + 1.0


async def test_connection_refused(sender: Sender) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # The port is closed again: nothing listens there.

    result = await _send(sender, _request(f"http://127.0.0.1:{port}/"))

    assert result.status_code is None
    assert result.error_kind is ErrorKind.CONNECTION_REFUSED
    assert result.error_message is not None
    assert f"127.0.0.1:{port}" in result.error_message


async def test_dns_failure(sender: Sender) -> None:
    result = await _send(sender, _request("http://does-not-exist.invalid/hook"))

    assert result.status_code is None
    assert result.error_kind is ErrorKind.DNS_FAILURE
    assert result.error_message is not None
    assert result.error_message.startswith("could not resolve host does-not-exist.invalid")


async def test_peer_closes_without_answering(
    sender: Sender, start_raw: Callable[..., Awaitable[RawServer]]
) -> None:
    async def close_at_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request_head(reader)
        writer.close()

    server = await start_raw(close_at_once)

    result = await _send(sender, _request(f"http://127.0.0.1:{server.port}/"))

    assert result.status_code is None
    assert result.error_kind is ErrorKind.CONNECTION_RESET
    assert result.error_message is not None
    assert f"127.0.0.1:{server.port}" in result.error_message


async def test_peer_resets_the_connection(
    sender: Sender, start_raw: Callable[..., Awaitable[RawServer]]
) -> None:
    async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request_head(reader)
        sock = writer.get_extra_info("socket")
        # Linger 0 makes close() send RST instead of FIN.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    server = await start_raw(reset)

    result = await _send(sender, _request(f"http://127.0.0.1:{server.port}/"))

    assert result.status_code is None
    assert result.error_kind is ErrorKind.CONNECTION_RESET


async def test_truncated_body_keeps_the_status(
    sender: Sender, start_raw: Callable[..., Awaitable[RawServer]]
) -> None:
    async def cut_short(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request_head(reader)
        writer.write(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 100\r\n\r\nshort")
        await writer.drain()
        writer.close()

    server = await start_raw(cut_short)

    result = await _send(sender, _request(f"http://127.0.0.1:{server.port}/"))

    assert result.status_code == 503
    assert result.body == b"short"
    assert result.error_kind is ErrorKind.HTTP_STATUS
    assert result.error_message is not None
    assert result.error_message.startswith("HTTP 503; response body incomplete")


async def test_garbage_response_is_a_connection_error(
    sender: Sender, start_raw: Callable[..., Awaitable[RawServer]]
) -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request_head(reader)
        writer.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
        await writer.drain()
        await _hold_open(reader)

    server = await start_raw(garbage)

    result = await _send(sender, _request(f"http://127.0.0.1:{server.port}/"))

    assert result.status_code is None
    assert result.error_kind is ErrorKind.CONNECTION_ERROR
    assert result.error_message is not None
    assert result.error_message.startswith(f"invalid HTTP response from 127.0.0.1:{server.port}")


async def test_https_to_plain_http_server_is_a_tls_error(
    sender: Sender, start_receiver: Callable[..., Awaitable[Receiver]]
) -> None:
    receiver = await start_receiver()

    result = await _send(sender, _request(f"https://127.0.0.1:{receiver.port}/hook"))

    assert result.status_code is None
    assert result.error_kind is ErrorKind.TLS_ERROR
    assert result.error_message is not None
    assert result.error_message.startswith(f"TLS handshake with 127.0.0.1:{receiver.port}")
    assert receiver.requests == []


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/hook", "not a url", "http:///no-host", "/relative", "http://127.1/"],
)
async def test_invalid_url(sender: Sender, connect_calls: list[str], url: str) -> None:
    result = await _send(sender, _request(url))

    assert result.status_code is None
    assert result.error_kind is ErrorKind.INVALID_URL
    assert result.error_message
    assert connect_calls == []


async def test_invalid_header_value_does_not_raise(
    sender: Sender, start_receiver: Callable[..., Awaitable[Receiver]]
) -> None:
    receiver = await start_receiver()

    result = await _send(sender, _request(receiver.url(), headers={"X-Bad": "a\r\nInjected: 1"}))

    assert result.status_code is None
    assert result.error_kind is ErrorKind.CONNECTION_ERROR
    assert receiver.requests == []


# --- address policy ----------------------------------------------------------


async def test_loopback_literal_is_blocked_by_default(
    strict_sender: Sender,
    start_receiver: Callable[..., Awaitable[Receiver]],
    connect_calls: list[str],
) -> None:
    receiver = await start_receiver()

    result = await _send(strict_sender, _request(receiver.url()))

    assert result.status_code is None
    assert result.error_kind is ErrorKind.BLOCKED_ADDRESS
    assert result.error_message is not None
    assert "HOOKGATE_ALLOWED_SUBNETS=127.0.0.1/32" in result.error_message
    assert receiver.requests == []
    assert connect_calls == []


async def test_a_refused_url_stays_refused_and_an_allowed_one_stays_allowed(
    sender: Sender,
    start_receiver: Callable[..., Awaitable[Receiver]],
    connect_calls: list[str],
) -> None:
    receiver = await start_receiver()
    blocked = "http://169.254.169.254/latest/meta-data/"

    for _ in range(3):
        assert (await _send(sender, _request(blocked))).error_kind is ErrorKind.BLOCKED_ADDRESS
        assert (await _send(sender, _request(receiver.url()))).status_code == 200

    assert connect_calls == ["127.0.0.1"] * 3
    assert len(receiver.requests) == 3


async def test_localhost_is_blocked_by_the_resolver(
    strict_sender: Sender, start_receiver: Callable[..., Awaitable[Receiver]]
) -> None:
    receiver = await start_receiver()

    result = await _send(strict_sender, _request(receiver.url(host="localhost")))

    assert result.status_code is None
    assert result.error_kind is ErrorKind.BLOCKED_ADDRESS
    assert result.error_message is not None
    assert result.error_message.startswith("host localhost resolves only to refused addresses")
    assert "HOOKGATE_ALLOWED_SUBNETS" in result.error_message
    assert receiver.requests == []


async def test_localhost_is_reached_when_loopback_is_allowed(
    sender: Sender, start_receiver: Callable[..., Awaitable[Receiver]]
) -> None:
    receiver = await start_receiver()

    result = await _send(sender, _request(receiver.url(host="localhost")))

    assert result.status_code == 200
    assert len(receiver.requests) == 1


async def test_ipv6_loopback_literal_is_blocked(
    sender: Sender,
    start_raw: Callable[..., Awaitable[RawServer]],
    connect_calls: list[str],
) -> None:
    # 127.0.0.0/8 is allowed, ::1 is not.
    try:
        server = await start_raw(_read_request_head, "::1")
    except OSError:
        pytest.skip("IPv6 loopback is not available")

    result = await _send(sender, _request(f"http://[::1]:{server.port}/hook"))

    assert result.error_kind is ErrorKind.BLOCKED_ADDRESS
    assert result.error_message is not None
    assert "HOOKGATE_ALLOWED_SUBNETS=::1/128" in result.error_message
    assert server.connections == 0
    assert connect_calls == []


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/latest/meta-data/",
        "http://[fe80::1%25eth0]/",
    ],
)
async def test_internal_literals_are_blocked_without_connecting(
    sender: Sender, connect_calls: list[str], url: str
) -> None:
    result = await _send(sender, _request(url))

    assert result.error_kind is ErrorKind.BLOCKED_ADDRESS
    assert result.error_message is not None
    assert "refused by the address policy" in result.error_message
    assert connect_calls == []


class _FakeResolver(AbstractResolver):
    def __init__(self, addresses: list[str]) -> None:
        self.addresses = addresses
        self.closed = False

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=0,
            )
            for address in self.addresses
        ]

    async def close(self) -> None:
        self.closed = True


async def test_policy_resolver_keeps_only_allowed_addresses() -> None:
    inner = _FakeResolver(["10.0.0.5", "93.184.215.14", "::1", "2606:2800:21f:cb07::1"])
    resolver = PolicyResolver(AddressPolicy(), inner)

    results = await resolver.resolve("mixed.example", 443)
    await resolver.close()

    assert [r["host"] for r in results] == ["93.184.215.14", "2606:2800:21f:cb07::1"]
    assert inner.closed


async def test_policy_resolver_refuses_when_nothing_is_allowed() -> None:
    resolver = PolicyResolver(AddressPolicy(), _FakeResolver(["10.0.0.5", "169.254.169.254"]))

    with pytest.raises(BlockedAddressError) as caught:
        await resolver.resolve("internal.example", 80)

    message = str(caught.value)
    assert message.startswith("host internal.example resolves only to refused addresses")
    assert "HOOKGATE_ALLOWED_SUBNETS=10.0.0.5/32" in message
    assert "cloud metadata" in message


# --- lifecycle ----------------------------------------------------------------


async def test_close_is_idempotent(
    make_sender: Callable[..., Sender], start_receiver: Callable[..., Awaitable[Receiver]]
) -> None:
    never_used = make_sender(LOOPBACK_ALLOWED)
    await never_used.close()
    await never_used.close()

    receiver = await start_receiver()
    used = make_sender(LOOPBACK_ALLOWED)
    assert (await _send(used, _request(receiver.url()))).status_code == 200
    await used.close()
    await used.close()

    with pytest.raises(RuntimeError, match="closed"):
        await used.send(_request(receiver.url()))


async def test_concurrent_sends_share_one_pool(
    sender: Sender, start_receiver: Callable[..., Awaitable[Receiver]]
) -> None:
    receiver = await start_receiver()

    results = await asyncio.gather(*(_send(sender, _request(receiver.url())) for _ in range(100)))

    assert all(r.status_code == 200 for r in results)
    assert len(receiver.requests) == 100


@pytest.mark.parametrize("timeout", [0.0, -1.0, float("inf"), float("nan")])
def test_request_needs_a_positive_finite_timeout(timeout: float) -> None:
    with pytest.raises(ValueError, match="timeout"):
        OutboundRequest(url="http://example.com/", headers={}, body=b"", timeout=timeout)


async def test_a_body_dripping_forever_is_cut_off_at_the_total_deadline(
    sender: Sender, start_raw: Callable[..., Awaitable[RawServer]]
) -> None:
    """Each byte arrives well within any per-read timeout; only a deadline on
    the whole attempt ends it (the guard around the send is 20x longer)."""
    client_gone = asyncio.Event()

    async def drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        try:
            while not writer.is_closing():
                await writer.drain()
                await asyncio.sleep(0.02)
                writer.write(b"x")
        except ConnectionError:
            pass
        finally:
            client_gone.set()

    server = await start_raw(drip)
    result = await _send(sender, _request(f"http://127.0.0.1:{server.port}/", timeout=0.5))

    assert result.status_code == 200
    assert result.error_message is not None
    assert "response body incomplete" in result.error_message
    assert 0 < len(result.body) < 100_000
    await asyncio.wait_for(client_gone.wait(), GUARD)


async def test_a_huge_body_is_dropped_after_the_cap_not_drained(
    make_sender: Callable[..., Sender],
    start_raw: Callable[..., Awaitable[RawServer]],
) -> None:
    total = 64 * 1024 * 1024
    written = 0
    finished: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal written
        await _read_request_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % total)
        chunk = b"x" * 65536
        try:
            while written < total:
                writer.write(chunk)
                await writer.drain()
                written += len(chunk)
        except ConnectionError:
            finished.set_result("dropped")
            return
        finished.set_result("all written")
        await _hold_open(reader)

    server = await start_raw(flood)
    sender = make_sender(LOOPBACK_ALLOWED, max_response_bytes=1000)
    try:
        result = await _send(sender, _request(f"http://127.0.0.1:{server.port}/", timeout=30.0))
    finally:
        await sender.close()

    assert (result.status_code, result.body, result.error_kind) == (200, b"x" * 1000, None)
    assert await asyncio.wait_for(finished, GUARD) == "dropped"
    assert written < total

"""Host names: each sender connects only to an address its own resolution
checked, and TLS still verifies the certificate for the host name.

Name resolution is replaced by a fake (``aiohttp.ThreadedResolver``, which
``PolicyResolver`` wraps for both senders), so a name the system cannot
resolve is reached only if the sender connects to the address we checked.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
import trustme

from hookgate.core.outcome import ErrorKind
from hookgate.delivery import sender_reqwest
from hookgate.delivery.sender import Sender
from tests.integration import test_sender as sending
from tests.integration.test_sender import (
    LOOPBACK_ALLOWED,
    Receiver,
    _FakeResolver,
    _read_request_head,
    _request,
    _send,
)


# The sender suite's fixtures, shared rather than copied; the senders whose
# name lookups this process can replace (the process sender looks names up in
# its child, where ``dns`` does not reach; it runs these same clients).
@pytest.fixture(params=["aiohttp", "reqwest"])
def sender_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


make_sender = sending.make_sender
sender = sending.sender
receivers = sending.receivers
start_receiver = sending.start_receiver


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> _FakeResolver:
    """What every host name resolves to, in order (set ``addresses``)."""
    fake = _FakeResolver([])
    monkeypatch.setattr(aiohttp, "ThreadedResolver", lambda: fake)
    return fake


async def test_a_name_is_reached_at_the_address_we_resolved(
    sender: Sender, dns: _FakeResolver, start_receiver: Callable[..., Awaitable[Receiver]]
) -> None:
    receiver = await start_receiver()
    dns.addresses = ["127.0.0.1"]

    result = await _send(sender, _request(receiver.url(host="hooks.hookgate-pinning.invalid")))

    assert result.status_code == 200
    [(request, _)] = receiver.requests
    assert request.host == f"hooks.hookgate-pinning.invalid:{receiver.port}"


async def test_refused_addresses_of_a_name_are_skipped(
    sender: Sender, dns: _FakeResolver, start_receiver: Callable[..., Awaitable[Receiver]]
) -> None:
    receiver = await start_receiver()
    dns.addresses = ["10.0.0.5", "169.254.169.254", "127.0.0.1"]

    result = await _send(sender, _request(receiver.url(host="mixed.hookgate-pinning.invalid")))

    assert result.status_code == 200
    assert len(receiver.requests) == 1


async def test_a_name_resolving_only_to_refused_addresses_is_blocked(
    sender: Sender, dns: _FakeResolver, start_receiver: Callable[..., Awaitable[Receiver]]
) -> None:
    receiver = await start_receiver()
    dns.addresses = ["169.254.169.254"]

    result = await _send(sender, _request(receiver.url(host="meta.hookgate-pinning.invalid")))

    assert result.error_kind is ErrorKind.BLOCKED_ADDRESS
    assert result.error_message is not None
    assert "cloud metadata" in result.error_message
    assert receiver.requests == []


async def test_reqwest_checks_a_name_again_when_its_address_expires(
    dns: _FakeResolver,
    monkeypatch: pytest.MonkeyPatch,
    start_receiver: Callable[..., Awaitable[Receiver]],
) -> None:
    """A name that turns into a refused address (DNS rebinding) is refused
    from the next resolution on, though a pooled connection is still open."""
    monkeypatch.setattr(sender_reqwest, "DNS_TTL_SECONDS", 0.0)
    receiver = await start_receiver()
    sender = sender_reqwest.ReqwestSender(LOOPBACK_ALLOWED)
    url = receiver.url(host="rebind.hookgate-pinning.invalid")
    try:
        dns.addresses = ["127.0.0.1"]
        assert (await _send(sender, _request(url))).status_code == 200
        dns.addresses = ["169.254.169.254"]
        refused = await _send(sender, _request(url))
        dns.addresses = ["127.0.0.1"]
        again = await _send(sender, _request(url))
    finally:
        await sender.close()

    assert refused.error_kind is ErrorKind.BLOCKED_ADDRESS
    assert again.status_code == 200
    assert len(receiver.requests) == 2


# --- TLS ------------------------------------------------------------------------


TLS_HOST = "tls.hookgate-pinning.invalid"


@pytest.fixture
async def tls_port() -> AsyncIterator[int]:
    """The port of a TLS server on 127.0.0.1 whose certificate (from a test CA
    nobody trusts) names ``TLS_HOST``; it answers 200 to anything."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    trustme.CA().issue_cert(TLS_HOST).configure_cert(context)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, ssl.SSLError, asyncio.IncompleteReadError):
            await _read_request_head(reader)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=context)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


async def test_tls_verifies_the_certificate_of_a_pinned_name(
    sender: Sender, dns: _FakeResolver, tls_port: int
) -> None:
    dns.addresses = ["127.0.0.1"]

    result = await _send(sender, _request(f"https://{TLS_HOST}:{tls_port}/hook"))

    assert result.status_code is None
    assert result.error_kind is ErrorKind.TLS_ERROR
    assert result.error_message is not None
    assert result.error_message.startswith(f"TLS certificate of {TLS_HOST}:{tls_port} rejected")


async def test_reqwest_trusts_a_pinned_name_by_its_certificate_and_sni(
    dns: _FakeResolver, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With the CA trusted, the name's certificate is accepted (so SNI and the
    name check use the host name, not the pinned address), and a certificate
    for another name is not."""
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    dns.addresses = ["127.0.0.1"]
    seen_names: list[str | None] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, ssl.SSLError, asyncio.IncompleteReadError):
            await _read_request_head(reader)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
        writer.close()

    def note_sni(_: ssl.SSLObject, name: str | None, __: ssl.SSLContext) -> None:
        seen_names.append(name)

    ports: dict[str, int] = {}
    servers: list[asyncio.Server] = []
    for name in (TLS_HOST, "other.hookgate-pinning.invalid"):
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert(name).configure_cert(context)
        context.sni_callback = note_sni  # type: ignore[assignment]
        server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=context)
        servers.append(server)
        ports[name] = server.sockets[0].getsockname()[1]
    sender = sender_reqwest.ReqwestSender(LOOPBACK_ALLOWED)
    try:
        good = await _send(sender, _request(f"https://{TLS_HOST}:{ports[TLS_HOST]}/"))
        other = ports["other.hookgate-pinning.invalid"]
        wrong = await _send(sender, _request(f"https://{TLS_HOST}:{other}/"))
    finally:
        await sender.close()
        for server in servers:
            server.close()
            await server.wait_closed()

    assert good.status_code == 200, good.error_message
    assert wrong.error_kind is ErrorKind.TLS_ERROR
    assert wrong.error_message is not None
    assert "not valid for name" in wrong.error_message
    assert seen_names == [TLS_HOST, TLS_HOST]

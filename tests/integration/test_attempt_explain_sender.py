"""The explanations of real failures: each sender meets refused ports,
silent and rude peers, TLS to a plain server, unresolvable names and the
address policy, and ``core.attempt_explain`` must read every message it
writes (so the two cannot drift apart unnoticed)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from hookgate.core.attempt_explain import Explanation, explain
from hookgate.core.outcome import SendResult
from hookgate.delivery.sender import Sender
from tests.integration import test_sender as sending
from tests.integration.test_sender import RawServer, Receiver, _read_request_head, _request, _send

# The sender suite's fixtures, shared rather than copied (each test runs on
# every sender implementation).
sender_kind = sending.sender_kind
make_sender = sending.make_sender
sender = sending.sender
strict_sender = sending.strict_sender
receivers = sending.receivers
start_receiver = sending.start_receiver
start_raw = sending.start_raw


@dataclass(frozen=True)
class Stored:
    """What the dispatcher stores of a ``SendResult`` (see ``AttemptRow``)."""

    url: str
    status: int
    response_status_code: int
    response_duration_ms: int
    error_kind: str | None
    error_message: str | None


def explained(url: str, result: SendResult) -> Explanation:
    return explain(
        Stored(
            url=url,
            status=0 if result.succeeded else 2,
            response_status_code=result.status_code or 0,
            response_duration_ms=result.duration_ms,
            error_kind=result.error_kind.value if result.error_kind else None,
            error_message=result.error_message,
        )
    )


async def _explain(sender: Sender, url: str, timeout: float = 5.0) -> str:
    result = await _send(sender, _request(url, timeout=timeout))
    explanation = explained(url, result)
    assert explanation.ok == result.succeeded
    return explanation.text


async def test_answers(sender: Sender, start_receiver: Callable[..., Awaitable[Receiver]]) -> None:
    async def fail(_: web.Request) -> web.StreamResponse:
        return web.Response(status=500, body=b"boom")

    ok, failing = await start_receiver(), await start_receiver(fail)
    assert (await _explain(sender, ok.url())).startswith("the endpoint answered 200 in ")
    assert (await _explain(sender, failing.url())).startswith("the endpoint answered 500 after ")


async def test_refused(sender: Sender) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    text = await _explain(sender, f"http://127.0.0.1:{port}/")
    assert text.startswith(f"the connection to 127.0.0.1:{port} was refused")


async def test_no_answer_in_time(
    sender: Sender, start_raw: Callable[..., Awaitable[RawServer]]
) -> None:
    async def never_answer(reader: asyncio.StreamReader, _: asyncio.StreamWriter) -> None:
        await _read_request_head(reader)
        await reader.read()

    server = await start_raw(never_answer)
    text = await _explain(sender, f"http://127.0.0.1:{server.port}/", timeout=0.3)
    assert text == "no answer within 0.3 s"


async def test_peer_closes(sender: Sender, start_raw: Callable[..., Awaitable[RawServer]]) -> None:
    async def close_at_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request_head(reader)
        writer.close()

    server = await start_raw(close_at_once)
    text = await _explain(sender, f"http://127.0.0.1:{server.port}/")
    assert text == f"127.0.0.1:{server.port} closed the connection before answering completely"


async def test_name_that_does_not_resolve(sender: Sender) -> None:
    text = await _explain(sender, "http://does-not-exist.invalid/hook")
    assert text == "the name does-not-exist.invalid did not resolve"


async def test_tls_to_a_plain_server(
    sender: Sender, start_receiver: Callable[..., Awaitable[Receiver]]
) -> None:
    receiver = await start_receiver()
    text = await _explain(sender, f"https://127.0.0.1:{receiver.port}/hook")
    assert text.startswith("the TLS handshake failed: ")
    assert "_ssl.c" not in text
    assert "[SSL" not in text


async def test_blocked_addresses(
    strict_sender: Sender, start_receiver: Callable[..., Awaitable[Receiver]]
) -> None:
    receiver = await start_receiver()
    text = await _explain(strict_sender, receiver.url())
    assert text == (
        "the address 127.0.0.1 is a loopback address and not allowed"
        " (allow it with HOOKGATE_ALLOWED_SUBNETS=127.0.0.1/32)"
    )
    by_name = await _explain(strict_sender, receiver.url(host="localhost"))
    assert by_name.startswith("the name localhost points to ")
    assert "HOOKGATE_ALLOWED_SUBNETS=" in by_name


async def test_invalid_url(sender: Sender) -> None:
    text = await _explain(sender, "ftp://example.com/hook")
    assert text.startswith("the endpoint URL is not valid: unsupported URL scheme 'ftp'")

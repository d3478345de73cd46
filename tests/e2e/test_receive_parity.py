"""The toolkit and the server reach the same verdict on the same request.

One table of requests per provider (Slack and Standard Webhooks: valid,
missing header, malformed header, bad signature, stale, deep JSON,
url_verification, form bodies) goes over HTTP to a
``hookgate.receive.Receiver`` mounted in a Starlette app (served by uvicorn
in the test) and to a source's ``/in`` URL on the real server; both must
answer with the same status and the same verdict (accepted, the challenge
echoed, or refused with the same ``code``), and accepted requests must carry
the same event type.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import uvicorn
from slack_sdk.signature import SignatureVerifier
from standardwebhooks import Webhook
from starlette.applications import Starlette
from starlette.routing import Route
from svix.api import IngestSourceIn, Svix
from svix.models import SlackConfig, SvixConfig

from hookgate.receive import Event, Receiver, Router
from hookgate.receive.adapters.starlette import starlette_endpoint
from tests.e2e.test_inbound import received
from tests.fakes import wait_until

pytestmark = pytest.mark.slow

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Case:
    """A request (``body``, ``headers``) and the verdict both must reach."""

    name: str
    body: bytes
    headers: dict[str, str]
    status: int
    #: "accepted", "challenge", or the refusal's ``code``.
    verdict: str
    #: The event type an accepted request carries.
    event_type: str | None = None


def _signed(
    body: bytes,
    content_type: str = JSON,
    *,
    secret: str = SECRET,
    age: int = 0,
    timestamp: str | None = None,
) -> dict[str, str]:
    ts = str(int(time.time()) - age)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": timestamp or ts,
        "X-Slack-Signature": str(signature),
    }


def _event(event_type: str) -> bytes:
    document = {
        "type": "event_callback",
        "event_id": f"Ev{uuid.uuid4().hex}",
        "event": {"type": event_type, "text": "hi"},
    }
    return json.dumps(document).encode()


def slack_cases() -> list[Case]:
    """The Slack table (built per test: signatures carry the current time)."""
    valid = _event("app_mention")
    deep = b'{"a":' * 200 + b"1" + b"}" * 200
    challenge = json.dumps(
        {"token": "t", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9", "type": "url_verification"}
    ).encode()
    command = urlencode({"command": "/weather", "text": "94070", "team_id": "T1"}).encode()
    interactive = urlencode(
        {"payload": json.dumps({"type": "block_actions", "actions": [{"value": "ok"}]})}
    ).encode()
    missing = {k: v for k, v in _signed(valid).items() if k != "X-Slack-Signature"}
    return [
        Case("valid", valid, _signed(valid), 200, "accepted", "app_mention"),
        Case("missing header", valid, missing, 400, "missing_header"),
        Case("malformed header", valid, _signed(valid, timestamp="soon"), 400, "malformed_header"),
        Case("bad signature", valid, _signed(valid, secret="other"), 401, "bad_signature"),
        Case("stale", valid, _signed(valid, age=600), 401, "stale_timestamp"),
        Case("deep JSON", deep, _signed(deep), 400, "malformed_body"),
        Case("slack challenge", challenge, _signed(challenge), 200, "challenge"),
        Case("form body", command, _signed(command, FORM), 200, "accepted", None),
        Case(
            "form payload",
            interactive,
            _signed(interactive, FORM),
            200,
            "accepted",
            "block_actions",
        ),
    ]


def _sw_signed(
    body: bytes,
    content_type: str = JSON,
    *,
    secret: str = SW_SECRET,
    age: int = 0,
    timestamp: str | None = None,
) -> dict[str, str]:
    msg_id = f"msg_{uuid.uuid4().hex}"
    ts = int(time.time()) - age
    signature = Webhook(secret).sign(msg_id, datetime.fromtimestamp(ts, UTC), body.decode())
    return {
        "Content-Type": content_type,
        "webhook-id": msg_id,
        "webhook-timestamp": timestamp or str(ts),
        "webhook-signature": signature,
    }


def standard_webhooks_cases() -> list[Case]:
    """The Standard Webhooks table: Slack's url_verification is no challenge here."""
    valid = json.dumps({"type": "invoice.paid", "data": {"id": "in_1"}}).encode()
    deep = b'{"a":' * 200 + b"1" + b"}" * 200
    looks_like_slack = json.dumps({"type": "url_verification", "challenge": "c"}).encode()
    form = urlencode({"type": "ping", "n": "1"}).encode()
    missing = {k: v for k, v in _sw_signed(valid).items() if k != "webhook-signature"}
    other_secret = "whsec_" + "A" * 32
    return [
        Case("valid", valid, _sw_signed(valid), 200, "accepted", "invoice.paid"),
        Case("missing header", valid, missing, 400, "missing_header"),
        Case(
            "malformed header", valid, _sw_signed(valid, timestamp="soon"), 400, "malformed_header"
        ),
        Case("bad signature", valid, _sw_signed(valid, secret=other_secret), 401, "bad_signature"),
        Case("stale", valid, _sw_signed(valid, age=600), 401, "stale_timestamp"),
        Case("deep JSON", deep, _sw_signed(deep), 400, "malformed_body"),
        Case(
            "not slack",
            looks_like_slack,
            _sw_signed(looks_like_slack),
            200,
            "accepted",
            "url_verification",
        ),
        Case("form body", form, _sw_signed(form, FORM), 200, "accepted", "ping"),
    ]


@dataclass(frozen=True)
class Provider:
    """A provider as the toolkit names it and as a server source is created."""

    scheme: str
    secret: str
    source: Callable[[], IngestSourceIn]
    cases: Callable[[], list[Case]]


PROVIDERS = {
    "slack": Provider(
        "slack",
        SECRET,
        lambda: IngestSourceIn(name="Slack", type="slack", config=SlackConfig(secret=SECRET)),
        slack_cases,
    ),
    "standard_webhooks": Provider(
        "standard_webhooks",
        SW_SECRET,
        lambda: IngestSourceIn(name="SW", type="svix", config=SvixConfig(secret=SW_SECRET)),
        standard_webhooks_cases,
    ),
}


@dataclass(frozen=True)
class Verdict:
    status: int
    verdict: str
    event_type: str | None


async def _verdict(
    response: httpx.Response, event_type: Callable[[], Awaitable[str | None]]
) -> Verdict:
    document: Any = response.json()
    if response.status_code >= 400:
        return Verdict(response.status_code, document["code"], None)
    if "challenge" in document:
        assert document["challenge"] == "3eZbrw1aBm2rZgRNFdxV2595E9"
        return Verdict(response.status_code, "challenge", None)
    return Verdict(response.status_code, "accepted", await event_type())


@dataclass(frozen=True)
class Toolkit:
    """A ``Receiver`` served over HTTP, and the events its router handled."""

    #: Receivers at ``<url>/<scheme>``.
    url: str
    handled: list[Event]


@pytest.fixture
async def toolkit() -> AsyncIterator[Toolkit]:
    router = Router()
    handled: list[Event] = []

    @router.on("*")
    async def record(event: Event) -> None:
        handled.append(event)

    app = Starlette(
        routes=[
            Route(
                f"/hooks/{p.scheme}",
                starlette_endpoint(Receiver(p.scheme, p.secret, router)),
                methods=["POST"],
            )
            for p in PROVIDERS.values()
        ]
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        await wait_until(lambda: server.started or serving.done(), what="uvicorn to start")
        assert server.started, "uvicorn did not start"
        yield Toolkit(f"http://127.0.0.1:{port}/hooks", handled)
    finally:
        server.should_exit = True
        await serving
        sock.close()


@pytest.mark.parametrize("provider", list(PROVIDERS))
async def test_toolkit_and_server_reach_the_same_verdict(
    provider: str, toolkit: Toolkit, svix_client: Svix, api: httpx.Client
) -> None:
    chosen = PROVIDERS[provider]
    source = svix_client.ingest.source.create(chosen.source())

    async def toolkit_type() -> str | None:
        return toolkit.handled[-1].type

    async def server_type() -> str | None:
        stored: str | None = received(api, source.id)[0]["eventType"]
        return stored

    seen: dict[str, tuple[Verdict, Verdict]] = {}
    expected: dict[str, tuple[Verdict, Verdict]] = {}
    async with httpx.AsyncClient(timeout=15.0) as http:
        for case in chosen.cases():
            request = {"content": case.body, "headers": case.headers}
            sent = await http.post(f"{toolkit.url}/{chosen.scheme}", **request)
            by_toolkit = await _verdict(sent, toolkit_type)
            by_server = await _verdict(await http.post(source.ingest_url, **request), server_type)
            seen[case.name] = (by_toolkit, by_server)
            expected[case.name] = (Verdict(case.status, case.verdict, case.event_type),) * 2
    assert seen == expected

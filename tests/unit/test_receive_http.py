"""Receiver and the Starlette/FastAPI adapter: raw bytes in, the right reply out.

The Flask and Django adapters are tested against the real frameworks in
``test_receive_flask.py`` and ``test_receive_django.py``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import time
from urllib.parse import quote, urlencode

import httpx
import pytest
from fastapi import FastAPI
from twilio.request_validator import RequestValidator

from hookgate.receive import Event, Receiver, Router, verify
from hookgate.receive.adapters.starlette import starlette_endpoint
from tests.unit.receive_requests import BODY, SECRET, github_headers


def _app(router: Router) -> httpx.AsyncClient:
    app = FastAPI()
    app.add_api_route(
        "/hooks/github", starlette_endpoint(Receiver("github", SECRET, router)), methods=["POST"]
    )
    return _client(app)


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_fastapi_endpoint_verifies_raw_bytes_and_dedupes() -> None:
    router = Router()
    got: list[Event] = []

    @router.on("issues")
    async def handler(event: Event) -> None:
        got.append(event)

    client = _app(router)
    response = await client.post("/hooks/github", content=BODY, headers=github_headers(BODY))
    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    assert got[0].body == BODY
    assert got[0].payload == {"action": "opened", "n": 1.0}
    again = await client.post("/hooks/github", content=BODY, headers=github_headers(BODY))
    assert again.json() == {"status": "duplicate"}
    assert len(got) == 1


async def test_fastapi_endpoint_error_replies() -> None:
    router = Router()

    @router.on("*")
    async def boom(event: Event) -> None:
        raise RuntimeError("secret internals")

    client = _app(router)
    missing = await client.post("/hooks/github", content=BODY)
    assert missing.status_code == 400
    assert missing.json() == {
        "code": "missing_header",
        "detail": "missing header X-Hub-Signature-256 or X-Hub-Signature",
        "error": "MissingHeader",
    }
    bad = await client.post("/hooks/github", content=BODY + b" ", headers=github_headers(BODY))
    assert (bad.status_code, bad.json()["error"]) == (401, "BadSignature")
    failed = await client.post("/hooks/github", content=BODY, headers=github_headers(BODY))
    assert failed.status_code == 500
    assert "secret internals" not in failed.text


async def test_slack_url_verification_is_answered_after_verifying() -> None:
    body = b'{"token":"t","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9","type":"url_verification"}'
    now = int(time.time())
    sig = "v0=" + hmac.new(b"sl", f"v0:{now}:".encode() + body, hashlib.sha256).hexdigest()
    headers = {"X-Slack-Signature": sig, "X-Slack-Request-Timestamp": str(now)}
    app = FastAPI()
    app.add_api_route(
        "/slack", starlette_endpoint(Receiver("slack", "sl", Router())), methods=["POST"]
    )
    reply = await _client(app).post("/slack", content=body, headers=headers)
    assert reply.json() == {"challenge": json.loads(body)["challenge"]}


def test_github_form_mode_payload_is_parsed() -> None:
    body = ("payload=" + quote(BODY.decode())).encode()
    headers = {**github_headers(body), "Content-Type": "application/x-www-form-urlencoded"}
    event = verify("github", body, headers, SECRET)
    assert event.payload == {"action": "opened", "n": 1.0}


def test_unknown_provider_lists_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown provider 'nope'; known: .*github"):
        verify("nope", b"", {}, "s")


def test_flask_and_django_adapters_import_without_the_frameworks() -> None:
    code = (
        "import sys\n"
        "sys.modules.update(flask=None, werkzeug=None, django=None)\n"
        "from hookgate.receive import Receiver, Router\n"
        "from hookgate.receive.adapters.django import django_view\n"
        "from hookgate.receive.adapters.flask import flask_view\n"
        "receiver = Receiver('github', 's', Router())\n"
        "print(flask_view(receiver).__name__, django_view(receiver).__name__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert (done.returncode, done.stdout.split()) == (0, ["hookgate_github", "hookgate_github"])


async def test_starlette_endpoint_verifies_the_url_as_sent_with_escapes_in_path_and_query() -> None:
    token = "12345678901234567890123456789012"
    app = FastAPI()
    app.add_api_route(
        "/hooks/{tenant}/twilio",
        starlette_endpoint(Receiver("twilio", token, Router())),
        methods=["POST"],
    )
    sent_path = "/hooks/caf%C3%A9%7E/twilio?x=%7E&y=a%20b"
    params = {"Body": "hello world", "From": "+15005550006"}
    signature = RequestValidator(token).compute_signature(f"http://test{sent_path}", params)
    async with _client(app) as client:
        response = await client.post(
            sent_path,
            content=urlencode(params).encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": signature,
            },
        )
    assert (response.status_code, response.json()) == (200, {"status": "ok"})

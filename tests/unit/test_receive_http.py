"""Receiver and the framework adapters: raw bytes in, the right reply out."""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
import time
import types
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI

from hookgate.receive import Event, Receiver, Router, verify
from hookgate.receive.adapters.django import django_view
from hookgate.receive.adapters.flask import flask_view
from hookgate.receive.adapters.starlette import starlette_endpoint

SECRET = "gh-secret"
BODY = b'{"action": "opened",  "n": 1.0}'  # spacing and 1.0 change if re-serialised


def _github_headers(body: bytes, delivery: str = "d-1") -> dict[str, str]:
    sig = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": sig, "X-GitHub-Event": "issues", "X-GitHub-Delivery": delivery}


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
    response = await client.post("/hooks/github", content=BODY, headers=_github_headers(BODY))
    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    assert got[0].body == BODY
    assert got[0].payload == {"action": "opened", "n": 1.0}
    again = await client.post("/hooks/github", content=BODY, headers=_github_headers(BODY))
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
        "error": "MissingHeader",
        "detail": "missing header X-Hub-Signature-256 or X-Hub-Signature",
    }
    bad = await client.post("/hooks/github", content=BODY + b" ", headers=_github_headers(BODY))
    assert (bad.status_code, bad.json()["error"]) == (401, "BadSignature")
    failed = await client.post("/hooks/github", content=BODY, headers=_github_headers(BODY))
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
    headers = {**_github_headers(body), "Content-Type": "application/x-www-form-urlencoded"}
    event = verify("github", body, headers, SECRET)
    assert event.payload == {"action": "opened", "n": 1.0}


def test_unknown_provider_lists_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown provider 'nope'; known: .*github"):
        verify("nope", b"", {}, "s")


class _FakeRequest:
    def __init__(self, body: bytes, headers: dict[str, str]) -> None:
        self.body = body
        self.headers = headers
        self.url = "https://example.com/hooks"
        self.asked_for: dict[str, Any] = {}

    def get_data(self, **kwargs: Any) -> bytes:
        self.asked_for = kwargs
        return self.body

    def build_absolute_uri(self) -> str:
        return self.url


def test_flask_view_reads_get_data_without_parsing_forms(monkeypatch: pytest.MonkeyPatch) -> None:
    request = _FakeRequest(BODY, _github_headers(BODY))
    monkeypatch.setitem(sys.modules, "flask", types.SimpleNamespace(request=request))
    view = flask_view(Receiver("github", SECRET, Router()))
    body, status, headers = view()
    assert (status, json.loads(body), headers) == (
        200,
        {"status": "ok"},
        {"Content-Type": "application/json"},
    )
    assert request.asked_for == {"cache": True, "as_text": False, "parse_form_data": False}
    assert view.__name__ == "hookgate_github"


async def test_django_view_reads_request_body(monkeypatch: pytest.MonkeyPatch) -> None:
    class HttpResponse:
        def __init__(self, content: bytes, status: int, content_type: str) -> None:
            self.content, self.status_code, self.content_type = content, status, content_type

    monkeypatch.setitem(
        sys.modules, "django.http", types.SimpleNamespace(HttpResponse=HttpResponse)
    )
    view = django_view(Receiver("github", SECRET, Router()))
    assert getattr(view, "csrf_exempt", False) is True
    response = await view(_FakeRequest(BODY, _github_headers(BODY)))
    assert (response.status_code, json.loads(response.content)) == (200, {"status": "ok"})
    rejected = await view(_FakeRequest(BODY, {}))
    assert rejected.status_code == 400

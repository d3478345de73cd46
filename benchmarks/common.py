"""Shared pieces of the benchmark: payloads, headers, ports, tiny HTTP helpers."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import urllib.request
from typing import Any

EVENT_TYPE = "bench.event"
#: Size of the filler string in every benchmark payload (the delivered body is ~250 bytes).
FILLER_BYTES = 200
#: HMAC-SHA256 signature as Hookgate formats it: "v1," + 44 base64 characters.
_FAKE_SIGNATURE = "v1," + "A" * 43 + "="


def event_payload(seq: int, sent: float | None = None) -> dict[str, Any]:
    """The JSON object a benchmark message carries (fixed size for a given shape).

    ``sent`` (a ``time.time()`` value) is included for latency measurements.
    """
    payload: dict[str, Any] = {"type": EVENT_TYPE, "seq": f"{seq:010d}", "data": "x" * FILLER_BYTES}
    if sent is not None:
        payload["sent"] = sent
    return payload


def message_body(payload: dict[str, Any]) -> dict[str, Any]:
    """A Hookgate/Svix message-create request body carrying ``payload``."""
    return {"eventType": EVENT_TYPE, "payload": payload}


def webhook_like_headers() -> dict[str, str]:
    """Six headers shaped like the ones Hookgate adds to each delivery
    (``webhook-*`` and ``svix-*`` id/timestamp/signature). Hookgate's sender also
    sets User-Agent and Content-Type; the raw client sets those on its session."""
    msg_id = "msg_" + "0" * 27
    ts = "1700000000"
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": ts,
        "webhook-signature": _FAKE_SIGNATURE,
        "svix-id": msg_id,
        "svix-timestamp": ts,
        "svix-signature": _FAKE_SIGNATURE,
    }


#: The inbound phase's GitHub source: uid and webhook secret.
GITHUB_SOURCE_UID = "bench-gh"
GITHUB_SECRET = "bench-secret"


def github_push_payload() -> dict[str, Any]:
    """A GitHub ``push`` event shaped like a real one (one commit, trimmed
    repository and user objects): about 1.8 KB of JSON."""
    user = {
        "name": "octocat",
        "email": "octocat@users.noreply.github.com",
        "username": "octocat",
    }
    account = {
        "login": "octocat",
        "id": 583231,
        "node_id": "MDQ6VXNlcjU4MzIzMQ==",
        "type": "User",
        "site_admin": False,
    }
    commit = {
        "id": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
        "distinct": True,
        "message": "Fix the retry schedule for endpoints that answer 429",
        "timestamp": "2024-05-14T12:34:56+02:00",
        "url": "https://github.com/octocat/hello-world/commit/0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
        "author": user,
        "committer": user,
        "added": [],
        "removed": [],
        "modified": ["src/retry.py", "tests/test_retry.py"],
    }
    return {
        "ref": "refs/heads/main",
        "before": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
        "after": commit["id"],
        "repository": {
            "id": 1296269,
            "node_id": "MDEwOlJlcG9zaXRvcnkxMjk2MjY5",
            "name": "hello-world",
            "full_name": "octocat/hello-world",
            "private": False,
            "owner": account,
            "html_url": "https://github.com/octocat/hello-world",
            "fork": False,
            "default_branch": "main",
            "pushed_at": 1715682896,
        },
        "pusher": {"name": "octocat", "email": "octocat@users.noreply.github.com"},
        "sender": account,
        "created": False,
        "deleted": False,
        "forced": False,
        "base_ref": None,
        "commits": [commit],
        "head_commit": commit,
    }


def github_headers(body: bytes, secret: str) -> dict[str, str]:
    """The headers GitHub sends with ``body`` (a ``push``), both signatures
    included, except ``X-GitHub-Delivery`` (unique per request)."""
    key = secret.encode()
    sha256 = hmac.new(key, body, hashlib.sha256).hexdigest()
    sha1 = hmac.new(key, body, hashlib.sha1).hexdigest()
    return {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/a1b2c3d",
        "X-GitHub-Event": "push",
        "X-GitHub-Hook-ID": "292430182",
        "X-GitHub-Hook-Installation-Target-ID": "1296269",
        "X-GitHub-Hook-Installation-Target-Type": "repository",
        "X-Hub-Signature": f"sha1={sha1}",
        "X-Hub-Signature-256": f"sha256={sha256}",
    }


def mark(ok: bool) -> str:
    """How a figure compares with its target."""
    return "PASS" if ok else "MISS"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def http_json(
    method: str,
    url: str,
    body: Any = None,
    *,
    token: str | None = None,
    timeout: float = 10.0,
) -> tuple[int, Any]:
    """One blocking JSON request (setup and polling only, never timed)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            status: int = response.status
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        status = exc.code
    return status, (json.loads(raw) if raw else None)

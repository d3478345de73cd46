"""Shared pieces of the benchmark: payloads, headers, ports, tiny HTTP helpers."""

from __future__ import annotations

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

"""How ``hookgate listen`` hands one stored request to the local server:
the exact method, body bytes and headers received (minus the hop-by-hop
ones), the sub-path and query string appended to the ``--forward`` URL, and
what came back (status, headers, the first ``BODY_CAP`` bytes, latency).

Only these headers are added: ``X-Hookgate-Verified`` (``true`` when the
server verified the request's signature, else ``false``) and
``X-Hookgate-Request-Id``. ``Host`` is the local server's; ``Content-Length``
is recomputed from the same bytes (so it is the same number); no other
header (``User-Agent``, ``Accept``, ...) is invented. Redirects are not
followed: the local server's answer is reported as it is.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from typing import Any

import httpx

#: Headers that describe one connection, not the request (RFC 9110 §7.6.1),
#: plus those the new connection sets itself.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)
#: The largest part of a local response body kept and reported.
BODY_CAP = 64 * 1024


@dataclass(frozen=True, slots=True)
class LocalAnswer:
    """What the local server answered (``status`` None and ``error`` set
    when it did not answer)."""

    status: int | None
    headers: list[tuple[str, str]]
    body: bytes
    latency_ms: int
    error: str | None
    url: str

    def report(self) -> dict[str, Any]:
        """The body of ``POST .../request/{id}/local-response``."""
        return {
            "status": self.status,
            "headers": [list(pair) for pair in self.headers],
            "body": base64.b64encode(self.body).decode("ascii"),
            "latencyMs": self.latency_ms,
            "error": self.error,
            "forwardedTo": self.url,
        }


def sub_path(stored_path: str) -> str:
    """The part of a stored ``/in/<key>/...`` path below the source's own
    URL (``""`` for the source's URL itself)."""
    parts = stored_path.split("/", 3)
    return "/" + parts[3] if len(parts) == 4 else ""


def target_url(forward: str, item: dict[str, Any]) -> str:
    """``forward`` with the request's sub-path and query string appended."""
    base, _, forward_query = forward.partition("?")
    below = sub_path(item["path"])
    url = base.rstrip("/") + below if below else base
    query = "&".join(part for part in (forward_query, item["query"]) if part)
    return f"{url}?{query}" if query else url


def forwarded_headers(item: dict[str, Any]) -> list[tuple[str, str]]:
    """The request's headers in order, repeats kept, minus hop-by-hop ones,
    plus Hookgate's two."""
    kept = [(name, value) for name, value in item["headers"] if name.lower() not in HOP_BY_HOP]
    kept.append(("X-Hookgate-Verified", "true" if item["verified"] else "false"))
    kept.append(("X-Hookgate-Request-Id", item["id"]))
    return kept


def local_client(timeout: float, *, verify: bool = True) -> httpx.Client:
    """A client that adds no header of its own and follows no redirect
    (``verify=False``: any HTTPS certificate, for a local self-signed one)."""
    client = httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False, verify=verify)
    client.headers.clear()
    return client


def forward(client: httpx.Client, forward_to: str, item: dict[str, Any]) -> LocalAnswer:
    """Send ``item`` (a streamed request) to the local server."""
    url = target_url(forward_to, item)
    body = base64.b64decode(item["body"])
    started = time.perf_counter()
    try:
        request = client.build_request(
            item["method"], url, content=body, headers=forwarded_headers(item)
        )
        response = client.send(request, stream=True)
        try:
            kept = bytearray()
            for chunk in response.iter_raw():
                kept += chunk[: BODY_CAP - len(kept)]
                if len(kept) >= BODY_CAP:
                    break
        finally:
            response.close()
        latency = _ms_since(started)
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers.raw]
        return LocalAnswer(response.status_code, headers, bytes(kept), latency, None, url)
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return LocalAnswer(None, [], b"", _ms_since(started), error, url)


def _ms_since(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)

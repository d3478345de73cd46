"""What every outbound HTTP client shares: the request, the ``Sender``
interface and the checks made before anything is sent.

``HttpSender`` (aiohttp, ``delivery/sender.py``) and ``ReqwestSender``
(pyreqwest, ``delivery/sender_reqwest.py``) implement ``Sender`` with the same
contract, the same refusals and the same ``ErrorKind`` messages (which
``core.attempt_explain`` reads back).
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar

from yarl import URL

from hookgate.core.netpolicy import AddressPolicy
from hookgate.core.outcome import ErrorKind, SendResult

#: The outbound HTTP clients (``HOOKGATE_HTTP_CLIENT``).
HttpClient = Literal["aiohttp", "reqwest"]

#: The ``User-Agent`` deliveries carry unless their headers name one.
USER_AGENT = "Hookgate-Webhooks/0.1"

#: Entries kept per sender in each of its per-URL, per-timeout and per-host
#: caches; a full cache is emptied and refilled.
CACHE_LIMIT = 10_000

_K = TypeVar("_K")
_V = TypeVar("_V")


@dataclass(frozen=True, slots=True)
class OutboundRequest:
    """One webhook attempt: POST ``body`` to ``url`` with ``headers``.

    ``timeout`` is the total time allowed in seconds, from connecting to
    reading the (capped) response body; it must be positive and finite
    (``ValueError`` otherwise).
    """

    url: str
    headers: Mapping[str, str]
    body: bytes
    timeout: float

    def __post_init__(self) -> None:
        # aiohttp treats a zero timeout as "no timeout"; never allow that by accident.
        if not (self.timeout > 0 and math.isfinite(self.timeout)):
            raise ValueError(f"timeout must be a positive number of seconds, not {self.timeout}")


class Sender(Protocol):
    """Sends webhook attempts. ``send`` never raises for network problems."""

    async def send(self, request: OutboundRequest) -> SendResult: ...

    async def close(self) -> None: ...


class Refused(Exception):
    """The request was refused before anything was sent."""

    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def checked_url(raw_url: str, policy: AddressPolicy) -> URL:
    """Parse ``raw_url``; raise ``Refused`` for bad URLs and for IP-literal
    hosts the policy refuses (clients connect to IP literals without asking a
    resolver)."""
    try:
        url = URL(raw_url)
    except (ValueError, TypeError) as exc:
        raise Refused(ErrorKind.INVALID_URL, f"invalid URL: {exc}") from exc
    if not url.scheme:
        raise Refused(ErrorKind.INVALID_URL, "invalid URL: it must start with http:// or https://")
    if url.scheme not in ("http", "https"):
        raise Refused(
            ErrorKind.INVALID_URL,
            f"unsupported URL scheme {url.scheme!r}; only http and https are allowed",
        )
    host = url.raw_host
    if not host:
        raise Refused(ErrorKind.INVALID_URL, "invalid URL: it has no host")
    # Same test aiohttp uses to decide a host is an IP literal and skip DNS.
    if ":" in host or host.replace(".", "").isdigit():
        try:
            address = ipaddress.ip_address(url.host or host)
        except ValueError:
            raise Refused(
                ErrorKind.INVALID_URL, f"invalid URL: host {host} is not a valid IP address"
            ) from None
        check_address(address, policy)
    return url


def check_address(
    address: str | ipaddress.IPv4Address | ipaddress.IPv6Address, policy: AddressPolicy
) -> None:
    """Raise ``Refused`` (``BLOCKED_ADDRESS``) if ``policy`` refuses ``address``."""
    reason = policy.blocked_reason(address)
    if reason is not None:
        raise Refused(ErrorKind.BLOCKED_ADDRESS, reason)


def cache(store: dict[_K, _V], key: _K, value: _V) -> None:
    """``store[key] = value``, emptying ``store`` first when it holds
    ``CACHE_LIMIT`` entries."""
    if len(store) >= CACHE_LIMIT:
        store.clear()
    store[key] = value


def check_limits(max_response_bytes: int, pool_limit: int, pool_limit_per_host: int) -> None:
    """Raise ``ValueError`` for a sender limit that cannot be (0 pool limits
    mean none)."""
    if max_response_bytes < 0:
        raise ValueError("max_response_bytes must be >= 0")
    if pool_limit < 0 or pool_limit_per_host < 0:
        raise ValueError("pool limits must be >= 0 (0 means no limit)")


def elapsed_ms(start: float) -> int:
    """Whole milliseconds since ``start`` (a ``time.perf_counter()`` reading)."""
    return round((time.perf_counter() - start) * 1000)


def cap_note(cap: int) -> str:
    """The note on a response whose body went on beyond ``cap`` bytes."""
    return f"response body over the {cap}-byte cap; the rest was not read"


def response_result(
    status: int,
    body: bytes,
    start: float,
    body_note: str | None,
    retry_after: float | None,
    headers: bytes,
) -> SendResult:
    """The report of an attempt that got a status line: a 2xx succeeds (with
    ``body_note``, if any, as its message); anything else is ``HTTP_STATUS``
    with a message like ``"HTTP 500"`` (plus the note)."""
    duration_ms = elapsed_ms(start)
    if 200 <= status < 300:
        return SendResult(status, body, duration_ms, None, body_note, retry_after, headers)
    message = f"HTTP {status}" if body_note is None else f"HTTP {status}; {body_note}"
    return SendResult(
        status, body, duration_ms, ErrorKind.HTTP_STATUS, message, retry_after, headers
    )


def refused_result(refused: Refused, start: float) -> SendResult:
    """The report of an attempt refused before anything was sent."""
    return SendResult(None, b"", elapsed_ms(start), refused.kind, refused.message)

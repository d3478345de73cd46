"""Outbound HTTP: send one webhook attempt and report what happened.

``HttpSender`` POSTs a prepared request with aiohttp over a shared keep-alive
connection pool and turns every outcome, network failures included, into a
``SendResult``. It only ever connects to addresses the ``AddressPolicy``
allows: host names are checked by the resolver the connection pool uses (so
the address checked is the address connected to, which defeats DNS
rebinding), and IP-literal hosts are checked before the request is made.

Nothing here logs: URLs, headers and bodies can carry secrets.
"""

from __future__ import annotations

import errno
import socket
import ssl
import time
from datetime import UTC, datetime

import aiohttp
from yarl import URL

from hookgate.core.httpdate import parse_retry_after
from hookgate.core.netpolicy import AddressPolicy
from hookgate.core.outcome import ErrorKind, SendResult, header_block
from hookgate.delivery.outbound import (
    USER_AGENT,
    OutboundRequest,
    Refused,
    Sender,
    cache,
    cap_note,
    check_limits,
    checked_url,
    elapsed_ms,
    refused_result,
    response_result,
)
from hookgate.delivery.resolver import BlockedAddressError, PolicyResolver

__all__ = [
    "BlockedAddressError",
    "HttpSender",
    "OutboundRequest",
    "PolicyResolver",
    "Sender",
]

_RESET_ERRNOS = frozenset({errno.ECONNRESET, errno.ECONNABORTED, errno.EPIPE})


class HttpSender:
    """``Sender`` over aiohttp with one shared keep-alive connection pool.

    The ``aiohttp.ClientSession`` is created on the first ``send`` inside the
    running event loop; every call must then come from that same loop.
    ``close`` releases the pool and is idempotent; ``send`` after ``close``
    raises ``RuntimeError`` (a programming error, not a network problem).

    Each request is a POST with the given headers; ``User-Agent`` and
    ``Content-Type: application/json`` are added unless given (case-insensitive).
    Redirects are not followed: a 3xx is returned like any other status. The
    response body is read up to ``max_response_bytes``; anything beyond is
    never waited for (that connection is closed instead of reused, and
    ``error_message`` says the body was cut off). No proxy
    settings are taken from the environment and no cookies are kept.

    ``pool_limit`` caps open connections overall and ``pool_limit_per_host``
    per host (0 means no limit).

    Parsed and accepted URLs are cached per URL string (IP-literal hosts
    included, so ``policy`` must not change after construction), as are the
    aiohttp timeouts per distinct ``timeout``; refused URLs are checked anew
    each time.
    """

    __slots__ = (
        "_closed",
        "_default_headers",
        "_max_response_bytes",
        "_policy",
        "_pool_limit",
        "_pool_limit_per_host",
        "_resolver",
        "_session",
        "_timeouts",
        "_urls",
    )

    def __init__(
        self,
        policy: AddressPolicy,
        *,
        max_response_bytes: int = 16 * 1024,
        pool_limit: int = 1000,
        pool_limit_per_host: int = 0,
        user_agent: str = USER_AGENT,
    ) -> None:
        check_limits(max_response_bytes, pool_limit, pool_limit_per_host)
        self._policy = policy
        self._max_response_bytes = max_response_bytes
        self._pool_limit = pool_limit
        self._pool_limit_per_host = pool_limit_per_host
        # Session-level defaults are overridden case-insensitively by request
        # headers, which is exactly "add unless given" without a per-request merge.
        self._default_headers = {
            "User-Agent": user_agent,
            "Content-Type": "application/json",
        }
        self._session: aiohttp.ClientSession | None = None
        self._resolver: PolicyResolver | None = None
        self._closed = False
        self._urls: dict[str, URL] = {}
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}

    async def send(self, request: OutboundRequest) -> SendResult:
        """POST ``request`` and report the outcome; never raises for network
        problems (see ``ErrorKind`` for how failures are reported).

        A non-2xx status gives ``error_kind=HTTP_STATUS`` and ``error_message``
        like ``"HTTP 500"``. Once the status line has arrived it is what counts:
        if reading the body then fails or times out, the status is still
        reported with the body read so far, and ``error_message`` notes that the
        body is incomplete (with ``error_kind`` None for a 2xx); so it does when
        the body was longer than the cap.
        """
        start = time.perf_counter()
        session = self._session_for_send()
        url = self._urls.get(request.url)
        if url is None:
            try:
                url = checked_url(request.url, self._policy)
            except Refused as refused:
                return refused_result(refused, start)
            cache(self._urls, request.url, url)
        timeout = self._timeouts.get(request.timeout)
        if timeout is None:
            timeout = aiohttp.ClientTimeout(total=request.timeout)
            cache(self._timeouts, request.timeout, timeout)

        body_note: str | None = None
        try:
            async with session.post(
                url,
                data=request.body,
                headers=request.headers,
                allow_redirects=False,
                timeout=timeout,
            ) as response:
                status = response.status
                retry_after = parse_retry_after(
                    response.headers.get("Retry-After"), datetime.now(UTC)
                )
                chunks: list[bytes] = []
                cap = self._max_response_bytes
                try:
                    if await _read_capped(response.content, cap, chunks):
                        body_note = cap_note(cap)
                except (aiohttp.ClientError, OSError) as exc:
                    # OSError covers TimeoutError: the total timeout includes the body.
                    _, message = _describe_error(exc, url, request.timeout)
                    body_note = f"response body incomplete: {message}"
                body = b"".join(chunks)
                headers = header_block(response.raw_headers)
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            # ValueError: e.g. a header value containing a newline.
            kind, message = _describe_error(exc, url, request.timeout)
            return SendResult(None, b"", elapsed_ms(start), kind, message)
        return response_result(status, body, start, body_note, retry_after, headers)

    async def close(self) -> None:
        """Close the connection pool. Safe to call more than once."""
        self._closed = True
        session, self._session = self._session, None
        resolver, self._resolver = self._resolver, None
        if session is not None:
            await session.close()
        # The connector does not close a resolver it did not create.
        if resolver is not None:
            await resolver.close()

    def _session_for_send(self) -> aiohttp.ClientSession:
        if self._session is not None:
            return self._session
        if self._closed:
            raise RuntimeError("HttpSender is closed")
        # No await between the check above and the assignment below, so
        # concurrent first sends cannot create two sessions.
        resolver = PolicyResolver(self._policy)
        connector = aiohttp.TCPConnector(
            limit=self._pool_limit,
            limit_per_host=self._pool_limit_per_host,
            ttl_dns_cache=60,
            resolver=resolver,
        )
        self._resolver = resolver
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers=self._default_headers,
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
        )
        return self._session


async def _read_capped(content: aiohttp.StreamReader, cap: int, chunks: list[bytes]) -> bool:
    """Append up to ``cap`` bytes of ``content`` to ``chunks``, stopping at EOF;
    return whether the body goes on beyond ``cap`` (what follows is not read).

    Appends as it goes so a caller that catches an error keeps what was read.
    """
    remaining = cap
    while remaining > 0:
        chunk = await content.read(remaining)
        if not chunk:
            return False
        chunks.append(chunk)
        remaining -= len(chunk)
    # One byte more tells a body of exactly ``cap`` bytes (EOF, at once for a
    # Content-Length body) from a longer one, without reading the rest.
    return bool(await content.read(1))


def _blocked_cause(exc: BaseException) -> BlockedAddressError | None:
    """The ``BlockedAddressError`` behind ``exc``, if any (aiohttp wraps
    resolver errors in ``ClientConnectorDNSError``)."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return None
        if isinstance(seen, BlockedAddressError):
            return seen
        if isinstance(seen, aiohttp.ClientConnectorError) and isinstance(
            seen.os_error, BlockedAddressError
        ):
            return seen.os_error
        seen = seen.__cause__ or seen.__context__
    return None


def _os_errno(exc: BaseException) -> int | None:
    if isinstance(exc, aiohttp.ClientConnectorError):
        return exc.os_error.errno
    if isinstance(exc, OSError):
        return exc.errno
    return None


def _describe_error(exc: BaseException, url: URL, timeout: float) -> tuple[ErrorKind, str]:
    """Map a failed attempt to an ``ErrorKind`` and an operator-facing message.

    Messages name host and port only: paths and query strings may hold secrets.
    """
    target = f"{url.host}:{url.port}"
    blocked = _blocked_cause(exc)
    if blocked is not None:
        return ErrorKind.BLOCKED_ADDRESS, str(blocked)
    # Before OSError: TimeoutError is an OSError, ServerTimeoutError a TimeoutError.
    if isinstance(exc, TimeoutError):
        return ErrorKind.TIMEOUT, f"no response within {float(timeout)} s"
    if isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        return ErrorKind.INVALID_URL, f"invalid URL: {exc}"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return ErrorKind.TLS_ERROR, (
            f"TLS certificate of {target} rejected: {exc.certificate_error}"
        )
    if isinstance(exc, aiohttp.ClientSSLError):
        return ErrorKind.TLS_ERROR, f"TLS handshake with {target} failed: {exc.os_error}"
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return ErrorKind.TLS_ERROR, f"TLS error with {target}: {exc}"
    if isinstance(exc, aiohttp.ClientConnectorDNSError | socket.gaierror):
        cause = exc.os_error if isinstance(exc, aiohttp.ClientConnectorDNSError) else exc
        detail = cause.strerror or str(cause)
        return ErrorKind.DNS_FAILURE, f"could not resolve host {url.host} ({detail})"
    code = _os_errno(exc)
    if code == errno.ECONNREFUSED:
        return ErrorKind.CONNECTION_REFUSED, (
            f"connection refused by {target} (is the receiver running on that port?)"
        )
    if code == errno.ETIMEDOUT:
        return ErrorKind.TIMEOUT, f"connecting to {target} timed out"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return ErrorKind.CONNECTION_RESET, (
            f"{target} closed the connection before sending a complete response"
        )
    if isinstance(exc, ConnectionResetError) or code in _RESET_ERRNOS:
        return ErrorKind.CONNECTION_RESET, f"connection to {target} was reset"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return ErrorKind.CONNECTION_RESET, f"response from {target} was cut short: {exc}"
    if isinstance(exc, aiohttp.ClientResponseError):
        return ErrorKind.CONNECTION_ERROR, (
            f"invalid HTTP response from {target}: {exc.message or exc.status}"
        )
    if isinstance(exc, aiohttp.ClientConnectorError):
        return ErrorKind.CONNECTION_ERROR, f"could not connect to {target}: {exc.os_error}"
    if isinstance(exc, ValueError):
        return ErrorKind.CONNECTION_ERROR, f"could not build the request: {exc}"
    detail = str(exc) or type(exc).__name__
    return ErrorKind.CONNECTION_ERROR, f"request to {target} failed: {detail}"

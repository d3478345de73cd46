"""Outbound HTTP over pyreqwest (Rust reqwest/hyper), pinned to checked addresses.

``ReqwestSender`` keeps ``HttpSender``'s contract (``delivery/outbound.py``):
same refusals, same ``ErrorKind`` messages, same caps and timeouts. The HTTP
work (connection pooling, TLS, parsing) runs in Rust; what stays in Python
per attempt is a few calls.

The SSRF guarantee, the address connected to is the address checked, holds
by pinning: a host name is resolved here (``PolicyResolver``: the policy's
allowed addresses only) and a client is built for that host whose static
resolution maps it to that one address, so the client never looks the name
up itself. TLS still verifies the certificate for the host name and sends it
as SNI. IP-literal hosts are checked before sending and use a client without
overrides (no lookup happens for them). Redirects are never followed, no
proxy is taken from the environment, and no cookies are kept.

Nothing here logs: URLs, headers and bodies can carry secrets.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from pyreqwest.client import Client, ClientBuilder
from pyreqwest.exceptions import (
    BuilderError,
    PyreqwestError,
)
from pyreqwest.http import Url

from hookgate.core.netpolicy import AddressPolicy
from hookgate.core.outcome import ErrorKind, SendResult
from hookgate.delivery.outbound import (
    USER_AGENT,
    OutboundRequest,
    Refused,
    cache,
    check_address,
    check_limits,
    checked_url,
    elapsed_ms,
    refused_result,
    response_result,
)
from hookgate.delivery.reqwest_reading import describe_error, read_capped, read_head
from hookgate.delivery.resolver import BlockedAddressError, PolicyResolver

#: How long a host's checked address is used before it is resolved again
#: (what ``HttpSender`` gives aiohttp's DNS cache).
DNS_TTL_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class _Target:
    """A checked URL: ``url`` as the client parses it, ``domain`` None for an
    IP-literal host, ``port`` the one connected to, ``label`` "host:port" for
    messages (never the path or query, which may hold secrets)."""

    url: Url
    domain: str | None
    port: int
    label: str
    https: bool


@dataclass(slots=True)
class _Pinned:
    """A host's client, bound to the address it was checked for."""

    address: str
    client: Client
    expires: float


class ReqwestSender:
    """``Sender`` over pyreqwest with one pooled client per host and address.

    Created outside or inside an event loop; every ``send`` must come from
    one running loop. ``close`` closes every client and is idempotent;
    ``send`` after ``close`` raises ``RuntimeError``.

    Each request is a POST with the given headers; ``User-Agent`` and
    ``Content-Type: application/json`` are added unless given
    (case-insensitive). A 3xx is returned like any other status. The response
    body is read up to ``max_response_bytes``; anything beyond is never waited
    for (the connection is dropped, not reused). ``timeout`` bounds the whole
    attempt, body included.

    ``pool_limit_per_host`` caps requests in flight per pinned host (0: no
    limit). ``pool_limit`` is accepted for ``HttpSender`` compatibility: the
    dispatcher's ``max_in_flight`` already bounds the requests in flight.

    Response header names come back lower-cased from the client; they are
    kept in ``Title-Case`` (``Content-Length``), in the order received, with
    the values of a repeated name together.
    """

    __slots__ = (
        "_closed",
        "_direct",
        "_lookups",
        "_max_response_bytes",
        "_per_host",
        "_pinned",
        "_policy",
        "_resolver",
        "_targets",
        "_timeouts",
        "_user_agent",
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
        self._per_host = pool_limit_per_host or None
        self._user_agent = user_agent
        self._closed = False
        self._direct: Client | None = None
        self._resolver: PolicyResolver | None = None
        self._pinned: dict[str, _Pinned] = {}
        self._lookups: dict[str, asyncio.Future[_Pinned]] = {}
        self._targets: dict[str, _Target] = {}
        self._timeouts: dict[float, timedelta] = {}

    async def send(self, request: OutboundRequest) -> SendResult:
        """POST ``request`` and report the outcome, exactly as
        ``HttpSender.send`` does; never raises for network problems."""
        start = time.perf_counter()
        if self._closed:
            raise RuntimeError("ReqwestSender is closed")
        target = self._targets.get(request.url)
        try:
            if target is None:
                target = self._checked_target(request.url)
                cache(self._targets, request.url, target)
            client = await self._client_for(target)
        except Refused as refused:
            return refused_result(refused, start)
        timeout = self._timeouts.get(request.timeout)
        if timeout is None:
            timeout = timedelta(seconds=request.timeout)
            cache(self._timeouts, request.timeout, timeout)
        cap = self._max_response_bytes
        try:
            streamed = (
                client.post(target.url)
                .headers(request.headers)
                .body_bytes(request.body)
                .timeout(timeout)
                # No body read before the head is returned, so a failure while
                # reading the body still reports the status.
                .streamed_read_buffer_limit(0)
                .build_streamed()
            )
        except (BuilderError, ValueError) as exc:
            return SendResult(
                None,
                b"",
                elapsed_ms(start),
                ErrorKind.CONNECTION_ERROR,
                f"could not build the request: {exc}",
            )
        body_note: str | None = None
        try:
            async with streamed as response:
                status = response.status
                retry_after, headers = read_head(response.headers)
                chunks: list[bytes] = []
                try:
                    body_note = await read_capped(response.body_reader, cap, chunks)
                except PyreqwestError as exc:
                    _, message = describe_error(exc, target.label, target.https, request.timeout)
                    body_note = f"response body incomplete: {message}"
                body = b"".join(chunks)
        except PyreqwestError as exc:
            kind, message = describe_error(exc, target.label, target.https, request.timeout)
            return SendResult(None, b"", elapsed_ms(start), kind, message)
        return response_result(status, body, start, body_note, retry_after, headers)

    async def close(self) -> None:
        """Close every client. Safe to call more than once."""
        self._closed = True
        clients = [pinned.client for pinned in self._pinned.values()]
        if self._direct is not None:
            clients.append(self._direct)
        self._pinned.clear()
        self._direct = None
        for lookup in list(self._lookups.values()):
            lookup.cancel()
        resolver, self._resolver = self._resolver, None
        for client in clients:
            await client.close()
        if resolver is not None:
            await resolver.close()

    def _checked_target(self, raw_url: str) -> _Target:
        """Check ``raw_url`` as ``HttpSender`` does, then parse it as the
        client will and check that parse's IP-literal host too (the two
        parsers read some hosts differently, e.g. ``0x7f.1``)."""
        checked = checked_url(raw_url, self._policy)
        try:
            url = Url(raw_url)
        except ValueError as exc:
            raise Refused(ErrorKind.INVALID_URL, f"invalid URL: {exc}") from exc
        host = url.host_str
        port = url.port_or_known_default
        if not host or port is None or url.scheme not in ("http", "https"):
            raise Refused(ErrorKind.INVALID_URL, f"invalid URL: {checked.human_repr()}")
        domain = url.domain
        if domain is None:
            check_address(ipaddress.ip_address(host.strip("[]")), self._policy)
        label = f"{checked.host}:{checked.port}"
        return _Target(url, domain, port, label, url.scheme == "https")

    async def _client_for(self, target: _Target) -> Client:
        """The client for ``target``: for a host name, one pinned to an
        address the policy allows (looked up anew once ``DNS_TTL_SECONDS``
        have passed, once for all the sends waiting on it); raises ``Refused``
        when the name does not resolve or resolves only to refused addresses."""
        if target.domain is None:
            if self._direct is None:
                self._direct = self._build()
            return self._direct
        pinned = self._pinned.get(target.domain)
        if pinned is not None and pinned.expires > time.monotonic():
            return pinned.client
        lookup = self._lookups.get(target.domain)
        if lookup is None:
            lookup = asyncio.ensure_future(self._pin(target.domain, target.port))
            self._lookups[target.domain] = lookup
            lookup.add_done_callback(partial(self._lookup_done, target.domain))
        # Shielded: one waiting send that is cancelled does not cancel the others' lookup.
        return (await asyncio.shield(lookup)).client

    def _lookup_done(self, domain: str, lookup: asyncio.Future[_Pinned]) -> None:
        if self._lookups.get(domain) is lookup:
            del self._lookups[domain]
        if not lookup.cancelled():
            lookup.exception()  # retrieved here too, in case every waiter was cancelled

    async def _pin(self, domain: str, port: int) -> _Pinned:
        address = await self._resolve(domain, port)
        if self._closed:
            raise RuntimeError("ReqwestSender is closed")
        expires = time.monotonic() + DNS_TTL_SECONDS
        pinned = self._pinned.get(domain)
        if pinned is not None and pinned.address == address:
            pinned.expires = expires
            return pinned
        # A replaced client is not closed: requests still in flight on it finish.
        pinned = _Pinned(address, self._build(domain, address), expires)
        cache(self._pinned, domain, pinned)
        return pinned

    async def _resolve(self, domain: str, port: int) -> str:
        """The address to pin ``domain`` to: the first allowed IPv4 address,
        else the first allowed one (one address is pinned, so the family most
        likely to be routable comes first)."""
        if self._resolver is None:
            self._resolver = PolicyResolver(self._policy)
        try:
            results = await self._resolver.resolve(domain, port, socket.AF_UNSPEC)
        except BlockedAddressError as exc:
            raise Refused(ErrorKind.BLOCKED_ADDRESS, str(exc)) from exc
        except OSError as exc:
            detail = exc.strerror or str(exc)
            raise Refused(
                ErrorKind.DNS_FAILURE, f"could not resolve host {domain} ({detail})"
            ) from exc
        if not results:
            raise Refused(ErrorKind.DNS_FAILURE, f"could not resolve host {domain} (no addresses)")
        return min(results, key=lambda result: result["family"] != socket.AF_INET)["host"]

    def _build(self, domain: str | None = None, address: str | None = None) -> Client:
        builder = (
            ClientBuilder()
            .no_proxy()
            .follow_redirects(False)
            .referer(False)
            .brotli(False)
            .zstd(False)
            .user_agent(self._user_agent)
            .default_headers({"Content-Type": "application/json"})
            .max_connections(self._per_host)
        )
        if domain is not None and address is not None:
            # Port 0: the URL's port (or the scheme's) is connected to.
            builder = builder.resolve(domain, address, 0)
        return builder.build()

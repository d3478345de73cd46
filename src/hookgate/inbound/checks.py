"""The checks ``/in`` makes before reading a request's body: the source's
parsed options, its rate limit, the client address, method, content type
and declared size; then reading the body within the source's limit
(``read_within_limit``). ``handle_request.handle`` runs them in order."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace

import orjson

from hookgate.core.ratelimit import RateLimiter, retry_after_header
from hookgate.core.verify.decide import Refused, Reply, refusal_reply
from hookgate.inbound import network
from hookgate.inbound.config import SourceOptions, load
from hookgate.inbound.request import HttpRequest
from hookgate.store.sources import Source

#: Parsed configs by their canonical JSON (sources are few; parsing is not free).
_OPTIONS: dict[bytes, SourceOptions] = {}
_OPTIONS_MAX = 1000
#: The last ``Source`` object seen for each source id, with its options: the
#: ingest cache hands every request the same object until the source changes
#: or the entry is read again, so most requests need not even serialize the
#: config to find its options.
_LAST: dict[str, tuple[Source, SourceOptions]] = {}


def source_options(source: Source) -> SourceOptions:
    """``source``'s parsed config, parsed once per distinct config."""
    last = _LAST.get(source.id)
    if last is not None and last[0] is source:
        return last[1]
    key = orjson.dumps(source.config, option=orjson.OPT_SORT_KEYS)
    options = _OPTIONS.get(key)
    if options is None:
        if len(_OPTIONS) >= _OPTIONS_MAX:
            _OPTIONS.clear()
        options = _OPTIONS[key] = load(source.config)
    if len(_LAST) >= _OPTIONS_MAX:
        _LAST.clear()
    _LAST[source.id] = (source, options)
    return options


def rate_limited(
    limiter: RateLimiter, source: Source, options: SourceOptions, now: float
) -> Reply | None:
    """The 429 answer if ``source`` is over its ``rateLimit``, else None (and
    the request is counted). ``now`` is a monotonic time in seconds."""
    spec = options.rate_limit
    if spec is None:
        return None
    wait = limiter.take(source.id, spec.per_second, spec.capacity, now)
    if wait <= 0:
        return None
    retry_after = retry_after_header(wait)
    detail = f"more than {spec.per_second:g} requests per second; retry in {retry_after} s"
    reply = refusal_reply(Refused(429, "rate_limited", detail))
    return Reply(reply.status, reply.body, {**reply.headers, "retry-after": retry_after})


def client_ip(options: SourceOptions, http: HttpRequest) -> str | None:
    """The client address of ``http`` (whose ``peer_ip`` is the TCP peer):
    the peer, or what ``X-Forwarded-For`` says if the peer is one of the
    source's ``trustedProxies``."""
    if not options.trusted_proxies:
        return http.peer_ip
    return network.client_ip(http.peer_ip, http.header("x-forwarded-for"), options.trusted_proxies)


def precheck(options: SourceOptions, http: HttpRequest) -> Refused | None:
    """A refusal decided before the body is read: method, client address,
    content type, declared size (``Content-Length``). None if the request
    may be read."""
    if http.method not in options.allowed_methods:
        allowed = ", ".join(options.allowed_methods)
        return Refused(405, "method_not_allowed", f"{http.method} not allowed; use {allowed}")
    if not network.allowed(http.peer_ip, options.allowed_cidrs):
        return Refused(403, "ip_not_allowed", f"client address {http.peer_ip} is not allowed")
    content_type = http.header("content-type")
    if not options.content_type_allowed(content_type):
        allowed = ", ".join(options.allowed_content_types or ())
        shown = f"Content-Type {content_type!r}" if content_type else "no Content-Type"
        detail = f"{shown} is not accepted; use {allowed}"
        return Refused(415, "unsupported_media_type", detail)
    length = http.header("content-length")
    declared = int(length) if length and length.isdigit() else None
    if declared is not None and declared > options.max_body_bytes:
        return too_large(declared, options)
    return None


#: Reads a request's body, at most the given number of bytes; None if it is longer.
BodyReader = Callable[[int], Awaitable[bytes | None]]


async def read_within_limit(
    options: SourceOptions, http: HttpRequest, read_body: BodyReader
) -> tuple[HttpRequest, Refused | None]:
    """``precheck`` the request, then read its body (at most the source's
    ``maxBodyBytes``): the request with its body, or with the refusal."""
    refused = precheck(options, http)
    if refused is not None:
        return http, refused
    body = await read_body(options.max_body_bytes)
    if body is None:
        return http, too_large(options.max_body_bytes + 1, options)
    return replace(http, body=body), None


def too_large(size: int, options: SourceOptions) -> Refused:
    """The 413 refusal of a body of at least ``size`` bytes."""
    detail = f"request body is {size} bytes or more; the limit is {options.max_body_bytes}"
    return Refused(413, "payload_too_large", detail)

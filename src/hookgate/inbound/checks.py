"""The checks ``/in`` makes before reading a request's body: the source's
parsed options, its rate limit, the client address, method, content type
and declared size; then reading the body within the source's limit
(``read_within_limit``). ``handle_request.handle`` runs them in order."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import orjson

from hookgate.core.ratelimit import RateLimiter, retry_after_header
from hookgate.core.verify import PRESETS, Locator, Scheme
from hookgate.core.verify.decide import Refused, Reply, refusal_reply
from hookgate.inbound import network
from hookgate.inbound.config import FieldSpec, SourceOptions, body_hash_dedupe, load
from hookgate.inbound.request import HttpRequest
from hookgate.store.sources import Source


@dataclass(frozen=True, slots=True)
class Prepared:
    """What every request to a source needs from its config, worked out
    once per distinct config and scheme (``prepared``)."""

    options: SourceOptions
    #: The verification scheme (None: the source verifies nothing, or its
    #: scheme is unknown to this version: see ``handle_request``).
    scheme: Scheme | None
    event_id_at: Locator | None
    event_type_at: Locator | None
    #: The answer to an accepted request (``options.response``).
    accepted: Reply
    #: Whether requests are deduplicated on the body's hash (``body_hash_dedupe``).
    dedupe_on_body: bool
    dedupe_window_ms: int


#: Prepared configs by scheme and canonical JSON (sources are few; parsing
#: is not free).
_PREPARED: dict[tuple[str, bytes], Prepared] = {}
_PREPARED_MAX = 1000
#: The last ``Source`` object seen for each source id, with its prepared
#: config: the ingest cache hands every request the same object until the
#: source changes or the entry is read again, so most requests need not even
#: serialize the config to find it.
_LAST: dict[str, tuple[Source, Prepared]] = {}


def source_options(source: Source) -> SourceOptions:
    """``source``'s parsed config, parsed once per distinct config."""
    return prepared(source).options


def prepared(source: Source) -> Prepared:
    """``source``'s config prepared for requests, once per distinct config."""
    last = _LAST.get(source.id)
    if last is not None and last[0] is source:
        return last[1]
    key = (source.scheme, orjson.dumps(source.config, option=orjson.OPT_SORT_KEYS))
    found = _PREPARED.get(key)
    if found is None:
        if len(_PREPARED) >= _PREPARED_MAX:
            _PREPARED.clear()
        found = _PREPARED[key] = _prepare(load(source.config), source.scheme)
    if len(_LAST) >= _PREPARED_MAX:
        _LAST.clear()
    _LAST[source.id] = (source, found)
    return found


def _prepare(options: SourceOptions, scheme: str) -> Prepared:
    spec = options.response
    return Prepared(
        options=options,
        scheme=PRESETS.get(scheme),
        event_id_at=_locator(options.dedupe_key),
        event_type_at=_locator(options.event_type_key),
        accepted=Reply(spec.status, spec.body.encode(), dict(spec.headers)),
        dedupe_on_body=body_hash_dedupe(options, scheme),
        dedupe_window_ms=options.dedupe_window_seconds * 1000,
    )


def _locator(spec: FieldSpec | None) -> Locator | None:
    return spec.locator() if spec is not None else None


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
    return http.with_body(body), None


def too_large(size: int, options: SourceOptions) -> Refused:
    """The 413 refusal of a body of at least ``size`` bytes."""
    detail = f"request body is {size} bytes or more; the limit is {options.max_body_bytes}"
    return Refused(413, "payload_too_large", detail)

"""A request to ``/in/{source}`` as the route hands it over, and as stored."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from hookgate.core.verify.decide import LowerHeaders, normalize_headers
from hookgate.store import inbound_requests, source_lookup
from hookgate.store.inbound_requests import InboundRequest
from hookgate.store.sources import Source

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class HttpRequest:
    """A received request: its head, then (once read) its body."""

    method: str
    path: str
    query: str
    #: (name, value) pairs in the order received.
    headers: list[tuple[str, str]]
    #: The URL the request arrived at (scheme, host, path and query).
    url: str
    #: The TCP peer as received; the client address once the source's
    #: ``trustedProxies`` have been applied (``checks.client_ip``).
    peer_ip: str | None
    body: bytes = b""
    #: ``headers`` by lower-case name, the first value of each (filled from
    #: ``headers`` when not given): what verification reads.
    lower: LowerHeaders = field(default_factory=LowerHeaders, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.lower and self.headers:
            object.__setattr__(self, "lower", normalize_headers(self.headers))

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive)."""
        return self.lower.get(name.lower())

    def with_body(self, body: bytes) -> HttpRequest:
        """This request with its body read."""
        return HttpRequest(
            self.method,
            self.path,
            self.query,
            self.headers,
            self.url,
            self.peer_ip,
            body,
            self.lower,
        )


def body_key(body: bytes) -> str:
    """The dedupe key of a body (``dedupeOnBodyHash``)."""
    return "sha256:" + hashlib.sha256(body).hexdigest()


def stored(
    source: Source,
    http: HttpRequest,
    now: float,
    *,
    verified: bool,
    rejection: str | None,
    event: tuple[str | None, str | None] = (None, None),
) -> InboundRequest:
    """``http`` as stored (its path without the source's token); ``event``
    is its ``(event id, event type)``."""
    return InboundRequest(
        id=inbound_requests.new_request_id(),
        source_id=source.id,
        received_at=int(now * 1000),
        method=http.method,
        path=source_lookup.redacted_path(source, http.path),
        query=http.query,
        headers=http.headers,
        body=http.body,
        source_ip=http.peer_ip,
        verified=verified,
        rejection=rejection,
        event_id=_clip(event[0]),
        event_type=_clip(event[1]),
    )


def _clip(value: str | None) -> str | None:
    """Event ids/types fit their 256-character text columns: no NULs, and
    lone surrogates (which JSON escapes can carry) become U+FFFD."""
    if value is None:
        return None
    if not value.isascii():  # only non-ASCII text can hold a surrogate
        value = _LONE_SURROGATE.sub("\ufffd", value)
    return value.replace("\x00", "")[:256] or None

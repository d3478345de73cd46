"""The accept path of ``/in/{source}``: check, verify, store, answer.

The caller (the HTTP route) finds the source, calls ``precheck`` before
reading the body, reads at most ``options.max_body_bytes`` bytes, then calls
``accept``. Either way every refusal for a known source is stored with its
reason (``refuse``). Answers:

- the source's configured response (default 200 ``{"ok": true}``) when
  accepted, and also for a duplicate (stored with status duplicate, "duplicate of
  inreq_..."), so that the provider stops retrying;
- 200 ``{"challenge": ...}`` for a verified Slack ``url_verification``;
- 400 ``missing_header`` / ``malformed_header`` / ``malformed_body`` (JSON
  nested too deep to find the event id or type in); 401 ``bad_signature`` /
  ``stale_timestamp`` / ``wrong_credentials``; 403 ``ip_not_allowed``;
  405 ``method_not_allowed``; 413 ``payload_too_large``; 415
  ``unsupported_media_type``; 429 ``rate_limited`` (with ``Retry-After``,
  and not stored); 500 ``source_misconfigured``, and 500 ``internal_error``
  for a request that failed unexpectedly (stored as refused) -- all with
  ``{"code", "detail"}`` bodies.

The event id, and the event type, are located by the source's ``dedupeKey``
/ ``eventTypeKey`` when configured, else by its verification scheme.
Requests are deduplicated on that event id, or on the SHA-256 of the body
where ``config.body_hash_dedupe`` says so (an event id the signature does
not cover could be changed by anyone replaying a captured body); a source
that does not verify deduplicates only when it has a ``dedupeKey`` or
``dedupeOnBodyHash``.

Verification is CPU only and runs before the request is stored by the
``Recorder``, which group-commits concurrent requests into one short
transaction.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qs

import orjson

from hookgate.core import jsondepth
from hookgate.core.ratelimit import RateLimiter, retry_after_header
from hookgate.core.verify import PRESETS, VerificationError, Verified, locate, verify
from hookgate.core.verify.errors import MalformedBody, MalformedHeader, MissingHeader
from hookgate.inbound import network
from hookgate.inbound.config import NO_SCHEME, SourceOptions, body_hash_dedupe, load
from hookgate.inbound.forward import forward_item
from hookgate.inbound.recorder import Recorder
from hookgate.store import inbound_requests, sources
from hookgate.store.inbound_requests import InboundRequest
from hookgate.store.sources import Source

log = logging.getLogger(__name__)

_CODE_WORDS = re.compile(r"(?<!^)(?=[A-Z])")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class HttpRequest:
    """A received request as the route hands it over."""

    method: str
    path: str
    query: str
    #: (name, value) pairs in the order received.
    headers: list[tuple[str, str]]
    #: The URL the request arrived at (scheme, host, path and query).
    url: str
    peer_ip: str | None
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive)."""
        lower = name.lower()
        return next((v for k, v in self.headers if k.lower() == lower), None)


@dataclass(frozen=True)
class Reply:
    """The HTTP answer to send."""

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=lambda: {"content-type": "application/json"})


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused, before or after verification."""

    status: int
    code: str
    detail: str


def error_reply(status: int, code: str, detail: str) -> Reply:
    """A Svix-shaped error answer."""
    return Reply(status, json.dumps({"code": code, "detail": detail}).encode())


def rate_limited(
    limiter: RateLimiter, source: Source, options: SourceOptions, now: float
) -> Reply | None:
    """The 429 answer if ``source`` is over its ``rateLimit``, else None (and
    the request is counted). Checked first, and not stored, so that a flood
    costs no write."""
    spec = options.rate_limit
    if spec is None:
        return None
    wait = limiter.take(source.id, spec.per_second, spec.capacity, now)
    if wait <= 0:
        return None
    retry_after = retry_after_header(wait)
    detail = f"more than {spec.per_second:g} requests per second; retry in {retry_after} s"
    reply = error_reply(429, "rate_limited", detail)
    return replace(reply, headers={**reply.headers, "retry-after": retry_after})


def precheck(
    options: SourceOptions, http: HttpRequest, content_length: str | None
) -> Refusal | None:
    """A refusal decided before the body is read: method, client address,
    content type, declared size. None if the request may be read."""
    if http.method not in options.allowed_methods:
        allowed = ", ".join(options.allowed_methods)
        return Refusal(405, "method_not_allowed", f"{http.method} not allowed; use {allowed}")
    if not network.allowed(http.peer_ip, options.allowed_cidrs):
        return Refusal(403, "ip_not_allowed", f"client address {http.peer_ip} is not allowed")
    content_type = http.header("content-type")
    if not options.content_type_allowed(content_type):
        allowed = ", ".join(options.allowed_content_types or ())
        shown = f"Content-Type {content_type!r}" if content_type else "no Content-Type"
        detail = f"{shown} is not accepted; use {allowed}"
        return Refusal(415, "unsupported_media_type", detail)
    declared = int(content_length) if content_length and content_length.isdigit() else None
    if declared is not None and declared > options.max_body_bytes:
        return too_large(declared, options)
    return None


def too_large(size: int, options: SourceOptions) -> Refusal:
    detail = f"request body is {size} bytes or more; the limit is {options.max_body_bytes}"
    return Refusal(413, "payload_too_large", detail)


def source_options(source: Source) -> SourceOptions:
    """``source``'s parsed config, parsed once per distinct config."""
    key = orjson.dumps(source.config, option=orjson.OPT_SORT_KEYS)
    options = _OPTIONS.get(key)
    if options is None:
        if len(_OPTIONS) >= _OPTIONS_MAX:
            _OPTIONS.clear()
        options = _OPTIONS[key] = load(source.config)
    return options


#: Parsed configs by their canonical JSON (sources are few; parsing is not free).
_OPTIONS: dict[bytes, SourceOptions] = {}
_OPTIONS_MAX = 1000


def client_ip(options: SourceOptions, peer: str | None, forwarded_for: str | None) -> str | None:
    return network.client_ip(peer, forwarded_for, options.trusted_proxies)


async def refuse(
    recorder: Recorder, source: Source, http: HttpRequest, refusal: Refusal, now: float
) -> Reply:
    """Store the refused request with its reason and return the error answer."""
    record = _record(source, http, now, verified=False, rejection=refusal.detail)
    await recorder.record(record, dedupe_window_ms=0)
    return error_reply(refusal.status, refusal.code, refusal.detail)


async def accept(
    recorder: Recorder,
    source: Source,
    options: SourceOptions,
    http: HttpRequest,
    *,
    now: float,
    public_base: str | None,
) -> Reply:
    """Verify ``http`` (whose body is complete) against ``source``, store it
    and, if accepted, the message forwarding it (one transaction: see
    ``Recorder``), and return the answer. ``now`` is the time in seconds;
    ``public_base`` the externally visible base URL of the server, if
    configured.

    A request that fails in any unexpected way (a bug, or a value the
    database refuses) is still stored, as refused with the kind of failure,
    and answered 500 ``internal_error`` without details; only when even that
    cannot be stored (the database is down) does the error propagate."""
    try:
        decided = _decide(source, options, http, now, public_base)
    except Exception as exc:
        log.exception("processing a request for source %s failed", source.id)
        return await _refuse_internal(recorder, source, http, now, exc)
    if isinstance(decided, Refusal):
        return await refuse(recorder, source, http, decided, now)
    record, answer = decided
    forward = forward_item(source, record)
    window_ms = options.dedupe_window_seconds * 1000
    dedupe_key = body_key(http.body) if body_hash_dedupe(options, source.scheme) else None
    try:
        await recorder.record(
            record, dedupe_window_ms=window_ms, forward=forward, dedupe_key=dedupe_key
        )
    except Exception as exc:
        log.error("storing a request for source %s failed (%s)", source.id, type(exc).__name__)
        return await _refuse_internal(recorder, source, http, now, exc)
    return answer


def _decide(
    source: Source, options: SourceOptions, http: HttpRequest, now: float, public_base: str | None
) -> Refusal | tuple[InboundRequest, Reply]:
    """The refusal of ``http``, or the request to store and the answer to
    give once it is stored (CPU only: no I/O)."""
    if source.scheme == NO_SCHEME:
        try:
            event = _locate_event(options, None, http)
        except MalformedBody as exc:
            return Refusal(400, _code(exc), str(exc))
        record = _record(source, http, now, verified=False, rejection=None, event=event)
        return record, _configured(options)
    try:
        verified = _verify(source, options, http, now, public_base)
        event = _locate_event(options, verified, http)
    except (MissingHeader, MalformedHeader, MalformedBody) as exc:
        return Refusal(400, _code(exc), str(exc))
    except VerificationError as exc:
        return Refusal(401, _code(exc), str(exc))
    except ValueError as exc:
        return Refusal(500, "source_misconfigured", f"source configuration error: {exc}")
    record = _record(source, http, now, verified=True, rejection=None, event=event)
    challenge = _slack_challenge(verified, http.body)
    if challenge is not None:
        return record, Reply(200, json.dumps({"challenge": challenge}).encode())
    return record, _configured(options)


#: The answer to a request that failed unexpectedly (no internals in it).
INTERNAL_ERROR = error_reply(
    500, "internal_error", "the request could not be processed; it was recorded as refused"
)


async def _refuse_internal(
    recorder: Recorder, source: Source, http: HttpRequest, now: float, exc: Exception
) -> Reply:
    """Store ``http`` as refused by an internal error (the exception's kind
    is the reason; its text may hold internals) and answer 500."""
    reason = f"internal error ({type(exc).__name__}); the request was not processed"
    record = _record(source, http, now, verified=False, rejection=reason)
    await recorder.record(record, dedupe_window_ms=0)
    return INTERNAL_ERROR


def body_key(body: bytes) -> str:
    """The dedupe key of a body (``dedupeOnBodyHash``)."""
    return "sha256:" + hashlib.sha256(body).hexdigest()


def _locate_event(
    options: SourceOptions, verified: Verified | None, http: HttpRequest
) -> tuple[str | None, str | None]:
    """``(event id, event type)``: where the source's config says, else as
    the verification found them."""
    found = (verified.event_id, verified.event_type) if verified else (None, None)
    if options.dedupe_key is None and options.event_type_key is None:
        return found
    lower = {name.lower(): value for name, value in reversed(http.headers)}
    located = [
        locate((spec.locator(),), lower, http.body) if spec is not None else default
        for spec, default in zip((options.dedupe_key, options.event_type_key), found, strict=True)
    ]
    return located[0], located[1]


def _verify(
    source: Source, options: SourceOptions, http: HttpRequest, now: float, public_base: str | None
) -> Verified:
    headers: dict[str, str] = {}
    for name, value in http.headers:
        headers.setdefault(name.lower(), value)
    return verify(
        PRESETS[source.scheme],
        body=http.body,
        headers=headers,
        secrets=options.secrets,
        now=now,
        url=signed_url(options, http, public_base),
        form=_form(headers.get("content-type"), http.body),
    )


def signed_url(options: SourceOptions, http: HttpRequest, public_base: str | None) -> str:
    """The URL the provider signed: the source's ``public_url`` (with the
    request's query string if it has none), else the server's public base URL
    plus the request path, else the URL the request arrived at."""
    query = f"?{http.query}" if http.query else ""
    if options.public_url:
        return options.public_url if "?" in options.public_url else options.public_url + query
    if public_base:
        return public_base.rstrip("/") + http.path + query
    return http.url


def _form(content_type: str | None, body: bytes) -> dict[str, list[str]] | None:
    if not content_type or not content_type.lower().startswith("application/x-www-form-urlencoded"):
        return None
    try:
        return parse_qs(body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        return None


def _slack_challenge(verified: Verified, body: bytes) -> str | None:
    if verified.scheme != "slack":
        return None
    try:
        payload: Any = jsondepth.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if isinstance(payload, dict) and payload.get("type") == "url_verification":
        challenge = payload.get("challenge")
        return challenge if isinstance(challenge, str) else None
    return None


def _configured(options: SourceOptions) -> Reply:
    spec = options.response
    return Reply(spec.status, spec.body.encode(), dict(spec.headers))


def _code(exc: VerificationError) -> str:
    """``BadSignature`` -> ``"bad_signature"``."""
    return _CODE_WORDS.sub("_", type(exc).__name__).lower()


def _record(
    source: Source,
    http: HttpRequest,
    now: float,
    *,
    verified: bool,
    rejection: str | None,
    event: tuple[str | None, str | None] = (None, None),
) -> InboundRequest:
    """``http`` as stored; ``event`` is its ``(event id, event type)``."""
    return InboundRequest(
        id=inbound_requests.new_request_id(),
        source_id=source.id,
        received_at=int(now * 1000),
        method=http.method,
        path=sources.redacted_path(source, http.path),
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
    return _LONE_SURROGATE.sub("\ufffd", value).replace("\x00", "")[:256] or None

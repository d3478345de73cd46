"""``/in/{source}``: the one function that owns the order of checks.

``handle`` takes a request's head and a way to read its body, and answers:

1. **source lookup**: an unknown source is 404 ``not_found``, not stored;
2. **token rule**: a ``requireToken`` source addressed by id or uid is 404
   too (only its token URL is accepted);
3. **rate limit**: over the source's ``rateLimit`` is 429 ``rate_limited``
   with ``Retry-After``, not stored (a flood costs no write); then Meta's
   ``GET`` subscription check is answered (``inbound.handshakes``);
4. **method** (405 ``method_not_allowed``), **client address** (403
   ``ip_not_allowed``; ``X-Forwarded-For`` only from the source's
   ``trustedProxies``), **content type** (415 ``unsupported_media_type``),
   **declared size** (413 ``payload_too_large``), before the body is read;
5. **body read** with the source's ``maxBodyBytes`` as the bound (413 as
   soon as a streamed body passes it);
6. **verification** and locating the event id and type, by the receive core
   shared with ``hookgate.receive`` (``core.verify.decide``): 400
   ``missing_header`` / ``malformed_header`` / ``malformed_body``, 401
   ``bad_signature`` / ``stale_timestamp`` / ``wrong_credentials``, 500
   ``source_misconfigured``;
7. **dedupe, store and forward** in one group-committed transaction
   (``Recorder``): on the event id, or on the SHA-256 of the body where
   ``config.body_hash_dedupe`` says so; a source that does not verify
   deduplicates only with a ``dedupeKey`` or ``dedupeOnBodyHash``;
8. **reply**: the source's configured response (default 200 ``{"ok": true}``),
   also for a duplicate (stored with status duplicate) so that the provider
   stops retrying; 200 ``{"challenge": ...}`` for a verified Slack
   ``url_verification``.

Every refusal from step 4 on is stored with its reason. A request that fails
unexpectedly (a bug, or a value the database refuses) is stored as refused
with the kind of failure and answered 500 ``internal_error`` without
internals. Error answers are ``{"code", "detail"}``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace

from hookgate.core.clock import now_ms
from hookgate.core.ratelimit import RateLimiter
from hookgate.core.verify import PRESETS
from hookgate.core.verify.decide import (
    Challenge,
    Refused,
    Reply,
    challenge_reply,
    decide,
    refusal_reply,
)
from hookgate.inbound import bins, checks, handshakes
from hookgate.inbound.config import NO_SCHEME, SourceOptions
from hookgate.inbound.forward import forward_item
from hookgate.inbound.recorder import Recorder
from hookgate.inbound.request import HttpRequest, body_key, stored
from hookgate.store import source_lookup
from hookgate.store.database import Database
from hookgate.store.errors import NotFound
from hookgate.store.inbound_requests import InboundRequest
from hookgate.store.sources import Source

log = logging.getLogger(__name__)

BodyReader = checks.BodyReader

NOT_FOUND = refusal_reply(Refused(404, "not_found", "Source not found"))
#: The answer to a request that failed unexpectedly (no internals in it).
INTERNAL_ERROR = refusal_reply(
    Refused(500, "internal_error", "the request could not be processed; it was recorded as refused")
)


@dataclass(frozen=True)
class Inbound:
    """What handling ``/in`` requests needs from the process."""

    db: Database
    recorder: Recorder
    #: The ``rateLimit`` buckets of sources, by source id.
    limiter: RateLimiter
    #: The externally visible base URL of the server, if configured.
    public_base: str | None


async def handle(
    inbound: Inbound, key: str, head: HttpRequest, read_body: BodyReader, sub_path: str = ""
) -> Reply:
    """The answer to the request ``head`` to ``/in/{key}`` (its ``peer_ip``
    the TCP peer, its body not read yet: ``read_body`` reads it). The steps,
    in order, are in the module docstring. A bin (``inbound.bins``) takes
    over after the lookup; only bins answer a ``sub_path`` (``/in/{key}/...``)."""
    source = await _find_source(inbound.db, key)
    if source is None:
        return NOT_FOUND
    if bins.is_bin(source):
        return await bins.handle(inbound, source, key, sub_path, head, read_body)
    if sub_path:
        return NOT_FOUND
    plan = checks.prepared(source)
    options = plan.options
    if options.require_token and not source_lookup.matched_by_token(source, key):
        return NOT_FOUND
    limited = checks.rate_limited(inbound.limiter, source, options, time.monotonic())
    if limited is not None:
        return limited
    client = checks.client_ip(options, head)
    http = head if client == head.peer_ip else replace(head, peer_ip=client)
    if handshakes.is_subscription_check(source, http):
        return await handshakes.answer_subscription_check(
            inbound.recorder, source, options, http, time.time()
        )
    http, refused = await checks.read_within_limit(options, http, read_body)
    if refused is not None:
        return await refuse(inbound.recorder, source, http, refused, time.time())
    return await accept(
        inbound.recorder, source, plan, http, now=time.time(), public_base=inbound.public_base
    )


async def _find_source(db: Database, key: str) -> Source | None:
    try:
        return await source_lookup.get_for_ingest(db, key, now_ms())
    except NotFound:
        return None


async def refuse(
    recorder: Recorder, source: Source, http: HttpRequest, refused: Refused, now: float
) -> Reply:
    """Store the refused request with its reason (detail and diagnosis) and
    return the error answer (the detail only)."""
    record = stored(source, http, now, verified=False, rejection=refused.reason)
    await recorder.record(record, dedupe_window_ms=0)
    return refusal_reply(refused)


async def accept(
    recorder: Recorder,
    source: Source,
    plan: checks.Prepared,
    http: HttpRequest,
    *,
    now: float,
    public_base: str | None,
) -> Reply:
    """Verify ``http`` (whose body is complete) against ``source``, store it
    and, if accepted, the message forwarding it (one transaction: see
    ``Recorder``), and return the answer. ``now`` is the time in seconds.

    A request that fails in any unexpected way is still stored, as refused
    with the kind of failure, and answered 500 ``internal_error``; only when
    even that cannot be stored (the database is down) does the error
    propagate."""
    try:
        decided = _decide(source, plan, http, now, public_base)
    except Exception as exc:
        log.exception("processing a request for source %s failed", source.id)
        return await _refuse_internal(recorder, source, http, now, exc)
    if isinstance(decided, Refused):
        return await refuse(recorder, source, http, decided, now)
    record, answer = decided
    forward = forward_item(source, record)
    dedupe_key = body_key(http.body) if plan.dedupe_on_body else None
    try:
        await recorder.record(
            record, dedupe_window_ms=plan.dedupe_window_ms, forward=forward, dedupe_key=dedupe_key
        )
    except Exception as exc:
        log.error("storing a request for source %s failed (%s)", source.id, type(exc).__name__)
        return await _refuse_internal(recorder, source, http, now, exc)
    return answer


def _decide(
    source: Source, plan: checks.Prepared, http: HttpRequest, now: float, public_base: str | None
) -> Refused | tuple[InboundRequest, Reply]:
    """The refusal of ``http``, or the request to store and the answer to
    give once it is stored (CPU only: no I/O)."""
    scheme = plan.scheme
    if scheme is None and source.scheme != NO_SCHEME:
        scheme = PRESETS[source.scheme]  # unknown to this version: an internal error
    options = plan.options
    decision = decide(
        scheme,
        options.secrets,
        body=http.body,
        headers=http.lower,
        now=now,
        url=signed_url(options, http, public_base),
        event_id_at=plan.event_id_at,
        event_type_at=plan.event_type_at,
    )
    if isinstance(decision, Refused):
        return decision
    event = (decision.event_id, decision.event_type)
    verified = decision.verified is not None
    record = stored(source, http, now, verified=verified, rejection=None, event=event)
    if isinstance(decision, Challenge):
        return record, challenge_reply(decision)
    return record, plan.accepted


async def _refuse_internal(
    recorder: Recorder, source: Source, http: HttpRequest, now: float, exc: Exception
) -> Reply:
    """Store ``http`` as refused by an internal error (the exception's kind
    is the reason; its text may hold internals) and answer 500."""
    reason = f"internal error ({type(exc).__name__}); the request was not processed"
    record = stored(source, http, now, verified=False, rejection=reason)
    await recorder.record(record, dedupe_window_ms=0)
    return INTERNAL_ERROR


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

"""The request stream of a source, which ``hookgate listen`` follows, and the
local responses it reports back (Hookgate extensions of ``/ingest``).

``GET /ingest/api/v1/source/{source_id}/listen`` answers
``text/event-stream``: every request the source (or bin) stores, in id
order, each as::

    event: request
    id: inreq_...
    data: {... the request as GET .../request/{id} shows it, but with
           every header value as received: nothing redacted ...}

Credential headers are sent as received (a listener forwards them: GitLab's
``X-Gitlab-Token`` is its signature), so the stream needs the same API
token as the rest of the management API. Where it starts:

- ``Last-Event-ID`` (a request id; a reconnecting listener sends the
  highest id it has): again from ``LOOKBACK_MS`` before that request, so
  that requests committed out of id order meanwhile (several API processes
  on PostgreSQL) are not missed; the listener drops the ids it already has;
- else ``after=<request id>``: strictly after that request;
- else ``since=<ISO 8601 time>``: every request received from then on;
- else now: only requests stored from now on.

The first event is ``event: ready`` with ``id:`` the position the stream
starts after (the newest request stored, or an id standing for this
moment) and ``data: {"sourceId", "cursor", "lookbackMs"}``. The stream
looks for new requests every ``POLL_S``, sends a comment every
``KEEPALIVE_S``, checks the token again every ``AUTH_CHECK_S`` (a revoked
token ends it) and ends after ``MAX_STREAM_S`` (the listener reconnects).

``POST .../request/{request_id}/local-response`` keeps what the listener's
local server answered (``LocalResponseIn``); ``GET .../request/{id}`` shows
it as ``localResponse``. 204; 404 for an unknown source or request.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Annotated

import orjson
from fastapi import Depends, Header, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import Field, StringConstraints, field_validator

from hookgate.api.deps import Services, authenticated, now_ms
from hookgate.api.errors import ApiError, validation_response
from hookgate.api.openapi import no_content
from hookgate.api.routes.ingest import request_json
from hookgate.api.routing import api_router
from hookgate.api.schemas.base import RequestModel, UtcDatetime
from hookgate.core import ids
from hookgate.store import request_stream
from hookgate.store.request_stream import LocalResponse
from hookgate.store.sources import Source

router = api_router("/ingest/api/v1/source", "Ingest Source")

#: How often an open stream looks for new requests.
POLL_S = 0.25
#: How far below the newest request sent the stream looks again, for
#: requests committed after newer ones (and where a resumed stream restarts).
LOOKBACK_MS = 5_000
#: At most this many requests are read per poll (the rest follow at once).
BATCH = 100
KEEPALIVE_S = 15.0
AUTH_CHECK_S = 30.0
MAX_STREAM_S = 3600.0
#: How long ``EventSource`` clients wait before reconnecting (ms).
RETRY_MS = 1000
#: The largest local response body kept (bytes); longer ones are cut.
LOCAL_BODY_CAP = 64 * 1024


def _id_at(when_ms: int) -> str:
    """The smallest request id that could be created at ``when_ms``."""
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=max(0, when_ms))
    return ids.min_id_for_time(ids.INBOUND_REQUEST, moment)


def _request_id(value: str, where: list[str]) -> str:
    if not ids.looks_like_id(value, ids.INBOUND_REQUEST):
        raise _Invalid(where, f"expected a request id (inreq_...), got {value[:80]!r}")
    return value


class _Invalid(Exception):
    def __init__(self, loc: list[str], msg: str) -> None:
        super().__init__(msg)
        self.loc = loc
        self.msg = msg


class StreamWindow:
    """Which requests a stream sent: everything above ``floor`` is due unless
    in ``sent`` (ids sent, kept for ``LOOKBACK_MS`` below the newest)."""

    def __init__(self, floor: str) -> None:
        self.floor = floor
        self.sent: set[str] = set()
        self.newest = floor

    def low(self) -> str:
        """The bound to read above: the lookback below the newest sent."""
        newest_ms = ids.created_ms(self.newest)
        if newest_ms is None:
            return self.floor
        return max(self.floor, _id_at(newest_ms - LOOKBACK_MS))

    def mark(self, request_id: str) -> None:
        self.sent.add(request_id)
        self.newest = max(self.newest, request_id)
        if len(self.sent) > 2 * BATCH:
            low = self.low()
            self.sent = {i for i in self.sent if i > low}


def _event(name: str, event_id: str, data: object) -> bytes:
    return f"event: {name}\nid: {event_id}\n".encode() + b"data: " + orjson.dumps(data) + b"\n\n"


async def _still_authorized(svc: Services, request: Request) -> bool:
    try:
        await svc.tokens.authenticate(request.headers.get("authorization"))
    except ApiError:
        return False
    return True


async def _stream(
    request: Request, svc: Services, source: Source, window: StreamWindow, cursor: str
) -> AsyncIterator[bytes]:
    started = last_beat = last_check = time.monotonic()
    yield f"retry: {RETRY_MS}\n\n".encode()
    ready = {"sourceId": source.id, "cursor": cursor, "lookbackMs": LOOKBACK_MS}
    yield _event("ready", cursor, ready)
    while not await request.is_disconnected():
        low = window.low()
        listed = await request_stream.ids_after(svc.db, source.id, low, len(window.sent) + BATCH)
        due = [i for i in listed if i not in window.sent][:BATCH]
        for item in await request_stream.requests_with_ids(svc.db, source.id, due):
            yield _event("request", item.id, request_json(item, redact=False))
            window.mark(item.id)
        now = time.monotonic()
        if now - started >= MAX_STREAM_S:
            return
        if now - last_check >= AUTH_CHECK_S:
            if not await _still_authorized(svc, request):
                return
            last_check = now
        if now - last_beat >= KEEPALIVE_S:
            yield b": keep-alive\n\n"
            last_beat = now
        if len(due) < BATCH:
            await asyncio.sleep(POLL_S)


async def _start(
    svc: Services,
    source: Source,
    last_event_id: str | None,
    after: str | None,
    since: datetime | None,
) -> tuple[StreamWindow, str]:
    """The window a new stream starts with, and the cursor it reports."""
    if last_event_id:
        resumed = _request_id(last_event_id, ["header", "Last-Event-ID"])
        created = ids.created_ms(resumed) or 0
        return StreamWindow(_id_at(created - LOOKBACK_MS)), resumed
    if after:
        checked = _request_id(after, ["query", "after"])
        return StreamWindow(checked), checked
    if since is not None:
        # No id equals the smallest possible one of a millisecond (its random
        # part would be all zeros), so "after it" is "from then on".
        start = _id_at(int(since.timestamp() * 1000))
        return StreamWindow(start), start
    newest = await request_stream.newest_id(svc.db, source.id)
    cursor = max(newest or "", _id_at(now_ms()))
    return StreamWindow(cursor), cursor


@router.get("/{source_id}/listen", include_in_schema=False)
async def listen(
    request: Request,
    source_id: str,
    after: str | None = None,
    since: UtcDatetime | None = None,
    last_event_id: str | None = Header(None, alias="Last-Event-ID"),
    svc: Services = Depends(authenticated),
) -> Response:
    """The source's requests as server-sent events (see the module docstring)."""
    source = await request_stream.source_of(svc.db, source_id)
    try:
        window, cursor = await _start(svc, source, last_event_id, after, since)
    except _Invalid as exc:
        return validation_response([{"loc": exc.loc, "msg": exc.msg, "type": "value_error"}])
    return StreamingResponse(
        _stream(request, svc, source, window, cursor),
        media_type="text/event-stream",
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )


HeaderText = Annotated[str, StringConstraints(max_length=8192)]
HeaderPair = Annotated[list[HeaderText], Field(min_length=2, max_length=2)]


class LocalResponseIn(RequestModel):
    """What a listener's local server answered: ``status`` and ``headers``
    (null / empty with ``error`` when it did not answer), the body in base64
    (cut to ``LOCAL_BODY_CAP`` bytes), the latency and where it was sent."""

    status: Annotated[int, Field(ge=100, le=599)] | None = None
    headers: Annotated[list[HeaderPair], Field(max_length=200)] = Field(default_factory=list)
    body: Annotated[str, StringConstraints(max_length=LOCAL_BODY_CAP * 2)] = ""
    latency_ms: Annotated[int, Field(ge=0, le=86_400_000)] = 0
    error: Annotated[str, StringConstraints(max_length=1024)] | None = None
    forwarded_to: Annotated[str, StringConstraints(max_length=2048)] = ""

    @field_validator("body")
    @classmethod
    def _base64(cls, value: str) -> str:
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("body must be base64") from None
        return value


@router.post("/{source_id}/request/{request_id}/local-response", **no_content())
async def report_local_response(
    source_id: str,
    request_id: str,
    body: LocalResponseIn,
    svc: Services = Depends(authenticated),
) -> Response:
    """Keep what a ``hookgate listen`` client's local server answered."""
    response = LocalResponse(
        request_id=request_id,
        status=body.status,
        headers=[(pair[0], pair[1]) for pair in body.headers],
        body=base64.b64decode(body.body)[:LOCAL_BODY_CAP],
        latency_ms=body.latency_ms,
        error=body.error,
        forwarded_to=body.forwarded_to,
        reported_at=now_ms(),
    )
    await request_stream.save_local_response(svc.db, source_id, response)
    return Response(status_code=204)

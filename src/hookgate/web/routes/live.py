"""``GET /sources/{source_id}/live``: newly received requests of a source as
server-sent events, for the source page's live list (htmx's SSE extension
swaps each event's rendered row in at the top).

How new requests are noticed: by polling the store. Nothing in the process
signals a stored inbound request (``store.listen`` wakes delivery workers
only), and on PostgreSQL the request may be received by another process, so
each open stream asks ``store.inbound_search.list_requests`` every
``POLL_S`` for the requests newer than the last one it sent (the id cursor;
ids are time-ordered), with the page's filters. A poll is one short read:
no connection is held between polls. Within one process requests commit in
id order (ids increase strictly and one group commit runs at a time), so
the cursor misses nothing there; with several processes on PostgreSQL a
request committed by one process after a newer request of another was
already sent is missed by the stream (a reload shows it).

Each event is ``event: request``, ``id: <request id>``, ``data:`` the row's
HTML. The browser's ``EventSource`` reconnects by itself when a stream ends
and sends the last id back as ``Last-Event-ID``, which takes precedence over
the ``after`` query parameter, so no row is sent twice. A stream ends when
the client disconnects, after ``MAX_STREAM_S`` (the reconnection is
authenticated afresh), or as soon as the operator's session is no longer
valid (checked every ``SESSION_CHECK_S``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import StreamingResponse

from hookgate.api.deps import services
from hookgate.store import inbound_search, sources
from hookgate.store.inbound_requests import InboundRequest
from hookgate.store.sources import Source
from hookgate.web.routes.sources import RequestListQuery, request_list_query
from hookgate.web.sessions import LoginRequired, OperatorSession, operator
from hookgate.web.templating import templates

router = APIRouter(include_in_schema=False)

#: How often an open stream looks for new requests.
POLL_S = 1.0
#: At most this many rows per poll (the rest follow on the next polls).
BATCH = 50
#: A comment line this often keeps proxies from closing an idle stream.
KEEPALIVE_S = 15.0
#: How often the operator's session is checked again while streaming.
SESSION_CHECK_S = 30.0
#: Streams end after this long; the browser reconnects on its own.
MAX_STREAM_S = 600.0
#: How long the browser waits before reconnecting (the SSE ``retry`` field, ms).
RETRY_MS = 2000


def event(item: InboundRequest, source: Source) -> str:
    """The SSE event carrying ``item``'s row."""
    html = templates.env.get_template("partials/inbound_row.html").render(
        item=item, source_id=source.id, app_id=source.app_id
    )
    data = "".join(f"data: {line}\n" for line in html.strip().splitlines())
    return f"event: request\nid: {item.id}\n{data}\n"


async def _still_logged_in(request: Request) -> bool:
    try:
        await operator(request)
    except LoginRequired:
        return False
    return True


async def _stream(
    request: Request, source: Source, query: RequestListQuery, after: str | None
) -> AsyncIterator[str]:
    db = services(request).db
    started = last_beat = last_check = time.monotonic()
    yield f"retry: {RETRY_MS}\n\n"
    while not await request.is_disconnected():
        # Backwards from the cursor: the requests just newer than ``after``.
        iterator = f"-{after}" if after else None
        found = await inbound_search.list_requests(
            db, source.id, query.search, iterator=iterator, limit=BATCH
        )
        for item in reversed(found.items):  # oldest first: the newest ends on top
            yield event(item, source)
        if found.items:
            after = found.items[0].id
        now = time.monotonic()
        if now - started >= MAX_STREAM_S:
            return
        if now - last_check >= SESSION_CHECK_S:
            if not await _still_logged_in(request):
                return
            last_check = now
        if now - last_beat >= KEEPALIVE_S:
            yield ": keep-alive\n\n"
            last_beat = now
        await asyncio.sleep(POLL_S)


@router.get("/sources/{source_id}/live")
async def live(
    request: Request,
    source_id: str,
    after: str | None = None,
    _: OperatorSession = Depends(operator),
) -> Response:
    """The stream of the source's new requests (see the module docstring);
    ``after`` is the newest request the page shows (empty: none)."""
    source = await sources.get(services(request).db, source_id)
    cursor = request.headers.get("last-event-id") or after or None
    query = request_list_query(request.query_params)
    return StreamingResponse(
        _stream(request, source, query, cursor),
        media_type="text/event-stream",
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )

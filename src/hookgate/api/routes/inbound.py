"""``/in/{source}``: where providers send webhooks (no API token: requests
prove themselves with the source's verification scheme).

The body is read here, capped at the source's ``maxBodyBytes`` (413 before
reading when ``Content-Length`` is over it, or as soon as a streamed body
passes it); everything else is ``hookgate.inbound.handle_request``. Unknown sources
answer 404 and are not stored (so does a source's id or uid when it has
``requireToken``: only its token URL is accepted); nor are requests over the source's
``rateLimit`` (429).
"""

from __future__ import annotations

import time
from dataclasses import replace

from starlette.requests import Request
from starlette.responses import Response

from hookgate.api.deps import services
from hookgate.api.limits import BodyTooLarge, set_body_limit
from hookgate.api.routing import refuse_nul_in_url
from hookgate.inbound import handle_request
from hookgate.inbound.config import METHODS as ALL_METHODS
from hookgate.inbound.handle_request import HttpRequest
from hookgate.receive.adapters.starlette import raw_url
from hookgate.store import sources
from hookgate.store.errors import NotFound

#: The methods ``/in/{source}`` is routed for; each source allows its own.
METHODS = ALL_METHODS
_NOT_FOUND = handle_request.error_reply(404, "not_found", "Source not found")


async def receive(request: Request) -> Response:
    """Verify, store and answer one provider request (a plain Starlette
    endpoint at the front of the routes: it is a hot path)."""
    refuse_nul_in_url(request)
    source: str = request.path_params["source"]
    svc = services(request)
    try:
        found = await sources.get_for_ingest(svc.db, source, int(time.time() * 1000))
    except NotFound:
        return _send(_NOT_FOUND)
    options = handle_request.source_options(found)
    if options.require_token and not sources.matched_by_token(found, source):
        return _send(_NOT_FOUND)
    limited = handle_request.rate_limited(svc.inbound_limits, found, options, time.monotonic())
    if limited is not None:
        return _send(limited)
    peer = request.client.host if request.client else None
    http = HttpRequest(
        method=request.method,
        path=request.url.path,
        query=request.scope.get("query_string", b"").decode("latin-1"),
        headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.scope["headers"]],
        url=raw_url(request),
        peer_ip=handle_request.client_ip(options, peer, request.headers.get("x-forwarded-for")),
    )
    refusal = handle_request.precheck(options, http, request.headers.get("content-length"))
    if refusal is None:
        body = await _read_capped(request, options.max_body_bytes)
        if body is None:
            refusal = handle_request.too_large(options.max_body_bytes + 1, options)
        else:
            http = replace(http, body=body)
    if refusal is not None:
        return _send(await handle_request.refuse(svc.recorder, found, http, refusal, time.time()))
    reply = await handle_request.accept(
        svc.recorder,
        found,
        options,
        http,
        now=time.time(),
        public_base=svc.settings.public_url,
    )
    return _send(reply)


async def _read_capped(request: Request, cap: int) -> bytes | None:
    """The whole body, or None as soon as it is longer than ``cap`` bytes
    (counted while it streams, by ``api.limits``)."""
    set_body_limit(request.scope, cap)
    try:
        return await request.body()
    except BodyTooLarge:
        return None


def _send(reply: handle_request.Reply) -> Response:
    return Response(reply.body, status_code=reply.status, headers=dict(reply.headers))

"""``/in/{source}``: where providers send webhooks (no API token: requests
prove themselves with the source's verification scheme).

A thin route: it hands the request's head and a bounded body reader to
``hookgate.inbound.handle_request.handle``, which owns every check and the
answer.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from hookgate.api.deps import services
from hookgate.api.limits import BodyTooLarge, set_body_limit
from hookgate.api.routing import refuse_nul_in_url
from hookgate.inbound import handle_request
from hookgate.inbound.config import METHODS as ALL_METHODS
from hookgate.inbound.handle_request import Inbound
from hookgate.inbound.request import HttpRequest
from hookgate.receive.adapters.starlette import raw_url

#: The methods ``/in/{source}`` is routed for; each source allows its own.
METHODS = ALL_METHODS
#: The methods ``/in/{source}/{rest:path}`` is routed for (only bins answer it).
SUB_PATH_METHODS = (*ALL_METHODS, "OPTIONS")


async def receive(request: Request) -> Response:
    """Verify, store and answer one provider request (a plain Starlette
    endpoint at the front of the routes: it is a hot path)."""
    return await _receive(request, "")


async def receive_sub_path(request: Request) -> Response:
    """``/in/{source}/{rest:path}``: a request to a bin's sub-path (other
    sources answer 404). The sub-path is kept as sent (still percent-encoded)."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    parts = raw.decode("latin-1").split("?", 1)[0].split("/", 3)
    return await _receive(request, "/" + (parts[3] if len(parts) > 3 else ""))


async def _receive(request: Request, sub_path: str) -> Response:
    refuse_nul_in_url(request)
    svc = services(request)
    inbound = Inbound(svc.db, svc.recorder, svc.inbound_limits, svc.settings.public_url)
    head = HttpRequest(
        method=request.method,
        path=request.url.path,
        query=request.scope.get("query_string", b"").decode("latin-1"),
        headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.scope["headers"]],
        url=raw_url(request),
        peer_ip=request.client.host if request.client else None,
    )

    async def read_body(limit: int) -> bytes | None:
        """The whole body, or None as soon as it is longer than ``limit``
        bytes (counted while it streams, by ``api.limits``)."""
        set_body_limit(request.scope, limit)
        try:
            return await request.body()
        except BodyTooLarge:
            return None

    key = request.path_params["source"]
    reply = await handle_request.handle(inbound, key, head, read_body, sub_path)
    return Response(reply.body, status_code=reply.status, headers=dict(reply.headers))

"""``/in/{source}``: where providers send webhooks (no API token: requests
prove themselves with the source's verification scheme).

A thin route: it hands the request's head and a bounded body reader to
``hookgate.inbound.handle_request.handle``, which owns every check and the
answer. ``answer`` does it at the ASGI level (``api.raw_asgi``): the hot path
(``api.hotpath.HotPathApp.serve_raw_route``) calls it directly, and the
Starlette endpoints (``receive``, ``receive_sub_path``: the full middleware
stack, taken while telemetry is recorded) wrap it.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope

from hookgate.api.deps import Services
from hookgate.api.raw_asgi import BodyReader, RawReply, encode, raw_url
from hookgate.api.routing import refuse_nul_in_scope
from hookgate.inbound import handle_request
from hookgate.inbound.config import METHODS as ALL_METHODS
from hookgate.inbound.handle_request import Inbound
from hookgate.inbound.request import HttpRequest

#: The methods ``/in/{source}`` is routed for; each source allows its own.
METHODS = ALL_METHODS
#: The methods ``/in/{source}/{rest:path}`` is routed for (only bins answer it).
SUB_PATH_METHODS = (*ALL_METHODS, "OPTIONS")


async def answer(scope: Scope, receive: Receive, sub_path: str = "") -> RawReply:
    """Verify, store and answer the request in ``scope`` to ``/in/{source}``
    (``sub_path``: what followed it, for a bin). Its body is read from
    ``receive`` within its source's ``maxBodyBytes``. An exception (a NUL in
    the URL: ``ApiError`` 400) is for the application's handlers."""
    refuse_nul_in_scope(scope)
    query: bytes = scope.get("query_string", b"")
    client = scope.get("client")
    head = HttpRequest(
        method=scope["method"],
        path=scope["path"],
        query=query.decode("latin-1"),
        headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]],
        url=raw_url(scope),
        peer_ip=client[0] if client else None,
    )
    body = BodyReader(receive)
    key = scope["path_params"]["source"]
    reply = await handle_request.handle(_inbound(scope), key, head, body.read, sub_path)
    return encode(reply, close=body.over_limit)


#: The ``Inbound`` of the services last seen (one per process in practice).
_last: tuple[Services, Inbound] | None = None


def _inbound(scope: Scope) -> Inbound:
    """What ``handle`` needs, from the services of the app serving ``scope``."""
    global _last
    svc: Services = scope["app"].state.services
    if _last is None or _last[0] is not svc:
        inbound = Inbound(svc.db, svc.recorder, svc.inbound_limits, svc.settings.public_url)
        _last = (svc, inbound)
    return _last[1]


class _Answer(Response):
    """A ``RawReply`` as a Starlette response."""

    def __init__(self, reply: RawReply) -> None:
        self.status_code = reply.status
        self.body = reply.body
        self.background = None
        self.raw_headers = reply.headers


async def receive(request: Request) -> Response:
    """``answer`` as a Starlette endpoint (behind the full middleware stack)."""
    return _Answer(await answer(request.scope, request.receive))


async def receive_sub_path(request: Request) -> Response:
    """``/in/{source}/{rest:path}``: a request to a bin's sub-path (other
    sources answer 404). The sub-path is kept as sent (still percent-encoded)."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    parts = raw.decode("latin-1").split("?", 1)[0].split("/", 3)
    sub_path = "/" + (parts[3] if len(parts) > 3 else "")
    return _Answer(await answer(request.scope, request.receive, sub_path))

"""FastAPI / Starlette: an endpoint that reads ``await request.body()``.

::

    app.add_api_route("/hooks/stripe", starlette_endpoint(receiver), methods=["POST"])
    # or Starlette: Route("/hooks/stripe", starlette_endpoint(receiver), methods=["POST"])

Never declare a pydantic body model on a webhook route: parsing and
re-serialising JSON changes the bytes and breaks every signature.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from ..http import Receiver


def starlette_endpoint(receiver: Receiver) -> Callable[[Request], Awaitable[Response]]:
    """An ASGI endpoint verifying and dispatching with ``receiver``."""

    async def endpoint(request: Request) -> Response:
        body = await request.body()
        reply = await receiver.handle(body, request.headers, raw_url(request))
        return Response(reply.body, status_code=reply.status, headers=dict(reply.headers))

    endpoint.__name__ = f"hookgate_{receiver.name}"
    return endpoint


def raw_url(request: Request) -> str:
    """The URL as the client sent it: Starlette's ``request.url`` decodes
    percent-escapes in the path, which changes the URL a provider such as
    Twilio signed; the ASGI ``raw_path`` keeps them. (Behind a proxy that
    rewrites the path, configure the public URL instead.)"""
    url = request.url
    raw_path: bytes | None = request.scope.get("raw_path")
    if not raw_path:
        return str(url)
    query = f"?{url.query}" if url.query else ""
    return f"{url.scheme}://{url.netloc}{raw_path.decode('latin-1')}{query}"

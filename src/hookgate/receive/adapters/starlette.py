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
        reply = await receiver.handle(body, request.headers, str(request.url))
        return Response(reply.body, status_code=reply.status, media_type=reply.content_type)

    endpoint.__name__ = f"hookgate_{receiver.name}"
    return endpoint

"""Whose ``X-Forwarded-For`` / ``X-Forwarded-Proto`` the server believes.

``HOOKGATE_FORWARDED_ALLOW_IPS`` names the proxies trusted for every route
except ``/in/...`` (default: none). Requests to ``/in/...`` always reach the
route with the socket peer as their client address: each source's own
``trustedProxies`` alone decides whose forwarded addresses it believes
(``hookgate.inbound.network``), so a server-wide setting made for the API can
never let a forged header pass a source's ``allowedCidrs``.
"""

from __future__ import annotations

from typing import Any, cast

from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

#: Paths whose client address is the socket peer, whatever the server trusts.
INBOUND_PREFIX = "/in/"


class ForwardedHeaders:
    """ASGI wrapper: uvicorn's proxy-header handling for ``trusted_hosts``
    (comma list, ``*`` = all, empty = none) on every route but ``/in/...``."""

    def __init__(self, app: ASGIApp, trusted_hosts: str) -> None:
        self._app = app
        self._proxied: ASGIApp = app
        if trusted_hosts.strip():
            # uvicorn types ASGI apps its own way; both are the same protocol.
            middleware = ProxyHeadersMiddleware(cast(Any, app), trusted_hosts)
            self._proxied = cast(ASGIApp, middleware)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(INBOUND_PREFIX):
            await self._app(scope, receive, send)
        else:
            await self._proxied(scope, receive, send)

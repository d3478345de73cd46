"""The one ASGI middleware in front of every route.

Every HTTP request passes ``RequestGate`` before the application runs: a
path that needs a token is authenticated first (``api.auth.authenticate``,
401 without reading the body), then the body is bounded while it streams
(``api.limits.run_within_limit``, 413). One layer doing both in one pass
costs each request less than two middlewares stacked, which matters on the
hot paths (message creation, ``/in``).
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from hookgate.api.auth import authenticate, needs_token
from hookgate.api.limits import run_within_limit


class RequestGate:
    """ASGI middleware: authenticate, then bound the body by ``limit_for(path)``."""

    def __init__(
        self,
        app: ASGIApp,
        limit_for: Callable[[str], int],
        self_refusing: tuple[str, ...] = (),
    ) -> None:
        """``limit_for(path)`` is the body limit of a path; paths starting
        with one of ``self_refusing`` are let in even when their declared
        length is over it (their route refuses, and may record the refusal,
        itself)."""
        self.app = app
        self.limit_for = limit_for
        self.self_refusing = self_refusing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if needs_token(path) and not await authenticate(scope, receive, send):
            return
        await run_within_limit(
            self.app,
            scope,
            receive,
            send,
            self.limit_for(path),
            self_refusing=path.startswith(self.self_refusing),
        )

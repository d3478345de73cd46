"""Request bodies bounded while they stream, at the ASGI level.

``BodyLimit`` wraps the whole application. Every HTTP request gets a
``BodyBudget`` in its scope with the limit for its route (``limit_for``):
a body declared (``Content-Length``) over it is answered 413 before the
application runs, and a body that streams past it (chunked, or longer than
declared) stops the read with ``BodyTooLarge``, answered 413 as well. So no
route can read more than its limit into memory, whatever it does.

A route that learns its real limit only after looking something up (an
``/in/{source}`` has its own ``maxBodyBytes``) lowers or raises the budget
with ``set_body_limit`` before reading, and may catch ``BodyTooLarge`` to
answer in its own words.

Modelled on Starlette's ``RequestBodyLimitMiddleware``, which has a fixed
limit per route and answers a plain-text 413; ours is chosen per request and
answers with the API's error shape and the limit in bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hookgate.api.errors import error_response

_BUDGET_KEY = "hookgate.body_budget"
_CLOSE = (b"connection", b"close")


class BodyTooLarge(HTTPException):
    """The request body passed its limit while it was read. An
    ``HTTPException``, so FastAPI's body parsing lets it through to the
    error handlers (413) instead of turning it into a 400."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(413, f"request body is over the limit of {limit} bytes")


@dataclass(slots=True)
class BodyBudget:
    """How many body bytes this request may still deliver."""

    limit: int
    received: int = 0


def set_body_limit(scope: Scope, limit: int) -> None:
    """Make ``limit`` the body limit of the request in ``scope`` (before its
    body is read)."""
    budget: BodyBudget | None = scope.get(_BUDGET_KEY)
    if budget is not None:
        budget.limit = limit


def declared_length(scope: Scope) -> int | None:
    """The request's ``Content-Length``, if it is a plain number."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


class BodyLimit:
    """ASGI middleware: every request body bounded by ``limit_for(path)``."""

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
        budget = BodyBudget(self.limit_for(path))
        scope[_BUDGET_KEY] = budget
        declared = declared_length(scope)
        if (
            declared is not None
            and declared > budget.limit
            and not path.startswith(self.self_refusing)
        ):
            await _refuse(scope, receive, send, BodyTooLarge(budget.limit))
            return

        async def receive_within_budget() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                budget.received += len(message.get("body", b""))
                if budget.received > budget.limit:
                    raise BodyTooLarge(budget.limit)
            return message

        started = False

        async def send_tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if budget.received > budget.limit:
                    # The rest of the body will not be read: do not wait for it.
                    message = {**message, "headers": [*message.get("headers", []), _CLOSE]}
            await send(message)

        try:
            await self.app(scope, receive_within_budget, send_tracking)
        except BodyTooLarge as exc:
            if started:
                raise
            await _refuse(scope, receive, send, exc)


async def _refuse(scope: Scope, receive: Receive, send: Send, exc: BodyTooLarge) -> None:
    """413, and close the connection: the rest of the body is not read."""
    response = error_response(413, str(exc.detail))
    response.headers["connection"] = "close"
    await response(scope, receive, send)

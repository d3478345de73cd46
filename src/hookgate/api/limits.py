"""Request bodies bounded while they stream, at the ASGI level.

``run_within_limit`` runs the application (from ``api.gate.RequestGate``,
in front of every route). Every HTTP request gets a ``BodyBudget`` in its
scope with the limit for its route:
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


class BodyBudget:
    """How many body bytes this request may still deliver, and the ``receive``
    and ``send`` the application gets in place of the server's, which keep
    to it (one object per request, no closures)."""

    __slots__ = ("_receive", "_send", "limit", "received", "started")

    def __init__(self, limit: int, receive: Receive, send: Send) -> None:
        self.limit = limit
        self.received = 0
        #: Whether the response has started.
        self.started = False
        self._receive = receive
        self._send = send

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                raise BodyTooLarge(self.limit)
        return message

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
            if self.received > self.limit:
                # The rest of the body will not be read: do not wait for it.
                message = {**message, "headers": [*message.get("headers", []), _CLOSE]}
        await self._send(message)


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


async def run_within_limit(
    app: ASGIApp, scope: Scope, receive: Receive, send: Send, limit: int, *, self_refusing: bool
) -> None:
    """Run ``app`` on an HTTP request whose body may not exceed ``limit``
    (its route may change that with ``set_body_limit``). A declared length
    over it is refused at once unless the route is ``self_refusing`` (it
    refuses, and may record the refusal, itself)."""
    budget = BodyBudget(limit, receive, send)
    scope[_BUDGET_KEY] = budget
    if not self_refusing:
        declared = declared_length(scope)
        if declared is not None and declared > limit:
            await _refuse(scope, receive, send, BodyTooLarge(limit))
            return
    try:
        await app(scope, budget.receive, budget.send)
    except BodyTooLarge as exc:
        if budget.started:
            raise
        await _refuse(scope, receive, send, exc)


async def _refuse(scope: Scope, receive: Receive, send: Send, exc: BodyTooLarge) -> None:
    """413, and close the connection: the rest of the body is not read."""
    response = error_response(413, str(exc.detail))
    response.headers["connection"] = "close"
    await response(scope, receive, send)

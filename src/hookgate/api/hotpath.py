"""The hot routes served ahead of the framework's middleware stack.

``POST /api/v1/app/{app_id}/msg`` (message creation) and ``/in/{source}``
(a provider's webhook) are the requests a Hookgate server sees most. Through
the full stack each passes six ASGI layers before its endpoint runs (server
errors, telemetry, FastAPI's body limit, ``api.gate.RequestGate``, exception
handling, FastAPI's exit stack) and a route search, each wrapping ``send``
once more for the answer. ``HotPathApp`` is the FastAPI application with one
shortcut: such a request goes straight to ``RequestGate`` (the same
authentication and body limit) and then to its endpoint, and an exception
the endpoint raises is answered by the handler the application registered
for it, as the stack would. Everything else (other paths and methods, a
``root_path``), and every request while FastAPI records telemetry, takes the
full stack.

A raw route (``serve_raw_route``) goes further: its endpoint takes the ASGI
scope and ``receive`` and returns the answer (``api.raw_asgi.RawReply``),
sent with two ``send`` calls; no middleware runs, so the endpoint itself
authenticates (``/in`` needs no token) and bounds the body it reads
(``api.raw_asgi.BodyReader``). Its exceptions are answered by the
application's handlers, as for the other hot routes.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hookgate.api.raw_asgi import RawReply

Endpoint = Callable[[Request], Awaitable[Response]]
#: An endpoint of a raw route: the request's scope and ``receive``, its answer.
RawEndpoint = Callable[[Scope, Receive], Awaitable[RawReply]]


class HotPathApp(FastAPI):
    """A FastAPI application that serves a few routes (plain Starlette
    ``Route`` objects with ``{name}`` segments) behind one middleware alone
    (in Hookgate ``api.gate.RequestGate``), once ``serve_hot_route`` was
    called for each."""

    _hot: tuple[tuple[re.Pattern[str], frozenset[str], Route, ASGIApp], ...] = ()

    def serve_hot_route(self, route: Route, gate: Callable[[ASGIApp], ASGIApp]) -> None:
        """Serve ``route``'s methods on its path through ``gate(app)`` only;
        call before the first request. Routes are tried in the order given,
        before any other."""
        methods = frozenset(route.methods or {"GET", "HEAD"})
        pattern = _path_pattern(route)
        endpoint: Endpoint = route.endpoint
        self._hot += ((pattern, methods, route, gate(_EndpointApp(self, endpoint))),)

    def serve_raw_route(self, route: Route, endpoint: RawEndpoint) -> None:
        """Serve ``route``'s methods on its path by ``endpoint`` alone (see
        the module docstring); call before the first request. Tried in the
        order given, with the other hot routes."""
        methods = frozenset(route.methods or {"GET", "HEAD"})
        pattern = _path_pattern(route)
        self._hot += ((pattern, methods, route, _RawApp(self, endpoint)),)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._hot and scope["type"] == "http" and not scope.get("root_path"):
            path = scope["path"]
            for pattern, methods, route, app in self._hot:
                match = pattern.fullmatch(path)
                if match is not None and scope["method"] in methods:
                    scope["app"] = self
                    scope["route"] = route
                    scope["path_params"] = match.groupdict()
                    if type(app) is _RawApp:
                        await app(scope, receive, send)
                    else:
                        await self._serve_hot(app, scope, receive, send)
                    return
        await super().__call__(scope, receive, send)

    async def _serve_hot(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        """Run ``app``; an exception nothing handled is answered by the
        application's 500 handler (if no response started) and raised again
        for the server to log, as ``ServerErrorMiddleware`` does."""
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await app(scope, receive, tracked)
        except Exception as exc:
            if not started:
                await _answer_unhandled(self, scope, receive, send, exc)
            raise


def _path_pattern(route: Route) -> re.Pattern[str]:
    """A pattern matching ``route``'s path, its ``{name}`` segments as groups."""
    return re.compile(re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(route.path)))


async def _answer_unhandled(
    app: FastAPI, scope: Scope, receive: Receive, send: Send, exc: Exception
) -> None:
    """Answer ``exc``, which nothing handled, with ``app``'s 500 handler, as
    ``ServerErrorMiddleware`` does (the caller raises it again for the
    server to log)."""
    handlers: dict[Any, Any] = app.exception_handlers
    handler = handlers.get(500) or handlers.get(Exception)
    response: Response = (
        PlainTextResponse("Internal Server Error", status_code=500)
        if handler is None
        else await handler(Request(scope), exc)
    )
    await response(scope, receive, send)


class _RawApp:
    """ASGI app running one raw endpoint: its answer sent in two messages,
    its exceptions answered by the application's handlers."""

    __slots__ = ("_app", "_endpoint")

    def __init__(self, app: FastAPI, endpoint: RawEndpoint) -> None:
        self._app = app
        self._endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            reply = await self._endpoint(scope, receive)
        except Exception as exc:
            response = await _handled(self._app, Request(scope, receive), exc)
            if response is None:
                await _answer_unhandled(self._app, scope, receive, send, exc)
                raise
            await response(scope, receive, send)
            return
        await send(
            {"type": "http.response.start", "status": reply.status, "headers": reply.headers}
        )
        await send({"type": "http.response.body", "body": reply.body})


class _EndpointApp:
    """ASGI app running one request/response endpoint, its exceptions
    answered by the application's handlers as Starlette's middleware would."""

    __slots__ = ("_app", "_endpoint")

    def __init__(self, app: FastAPI, endpoint: Endpoint) -> None:
        self._app = app
        self._endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        try:
            response = await self._endpoint(request)
        except Exception as exc:
            await self._answer(request, exc, send)
            return
        await response(scope, receive, send)

    async def _answer(self, request: Request, exc: Exception, send: Send) -> None:
        """The response of the handler registered for ``exc`` (``_handled``);
        ``exc`` is raised again if there is none but the 500 handler."""
        response = await _handled(self._app, request, exc)
        if response is None:
            raise exc
        await response(request.scope, request.receive, send)


async def _handled(app: FastAPI, request: Request, exc: Exception) -> Response | None:
    """The response of the handler ``app`` registered for ``exc``'s class
    (or, for an ``HTTPException``, its status); None if there is none but
    the 500 handler."""
    handlers: dict[Any, Any] = app.exception_handlers
    handler = handlers.get(exc.status_code) if isinstance(exc, HTTPException) else None
    if handler is None:
        handler = next((handlers[cls] for cls in type(exc).__mro__ if cls in handlers), None)
    if handler is None or handler is handlers.get(Exception):
        return None
    response: Response = await handler(request, exc)
    return response

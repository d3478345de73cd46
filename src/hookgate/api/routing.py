"""Request handling shared by every API route: orjson body parsing, bounded
in nesting depth (``core.jsondepth``). (Body sizes are bounded while they
stream by ``api.limits``, tokens checked before by ``api.auth``.)"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.types import Scope

from hookgate.api.errors import ApiError
from hookgate.api.openapi import ERRORS, operation_id
from hookgate.core.jsondepth import JsonTooDeep, check_depth


def refuse_nul_in_url(request: Request) -> None:
    """Answer 400 for a NUL character in the path or query: no id, uid or
    filter value can contain one, and no database text can hold one."""
    refuse_nul_in_scope(request.scope)


def refuse_nul_in_scope(scope: Scope) -> None:
    """``refuse_nul_in_url`` for the request in ``scope``."""
    # The decoded path from the scope: building ``request.url`` costs more.
    if "\x00" in scope["path"] or b"%00" in scope.get("query_string", b""):
        raise ApiError(400, "URLs may not contain NUL characters (%00)")


def parse_json_body(body: bytes) -> Any:
    """``body`` parsed by orjson (faster than the standard library and, like
    JSON itself, refusing ``NaN`` and ``Infinity``) once its nesting depth is
    known to be bounded. A document nested too deep answers 400 (an
    ``HTTPException``, which FastAPI's body parsing passes through);
    ``orjson.JSONDecodeError`` is left to the caller (422)."""
    try:
        check_depth(body)
    except JsonTooDeep as exc:
        raise HTTPException(400, str(exc)) from None
    return orjson.loads(body)


class JsonRequest(Request):
    """A request whose JSON body is parsed by ``parse_json_body``."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = parse_json_body(await self.body())
        return self._json


class JsonRoute(APIRoute):
    """Route class of the management API."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            refuse_nul_in_url(request)
            return await handler(JsonRequest(request.scope, request.receive))

        return handle


def api_router(prefix: str, tag: str, *, declares_errors: bool = True) -> APIRouter:
    """A router of the management API: ``JsonRoute`` handling, Svix operation
    ids, and (unless ``declares_errors`` is false, for routes that cannot
    fail, like the health checks) the Svix error answers in the OpenAPI."""
    return APIRouter(
        prefix=prefix,
        tags=[tag],
        route_class=JsonRoute,
        responses=ERRORS if declares_errors else None,
        generate_unique_id_function=operation_id,
    )

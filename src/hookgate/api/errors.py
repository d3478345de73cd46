"""Svix-shaped error answers.

Every error body is ``{"code": "...", "detail": "..."}``, except request
validation errors (422), which are ``{"detail": [{"loc", "msg", "type"}]}`` as
in the Svix server. Nothing reaches the client as an unshaped 500.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from hookgate.api.responses import JsonResponse
from hookgate.api.schemas.common import wire_loc
from hookgate.store.errors import (
    Conflict,
    ConstraintViolated,
    NotFound,
    StoreRejected,
    StoreUnavailable,
)

log = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    401: "authentication_failed",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation",
    429: "rate_limited",
    503: "service_unavailable",
}


class ApiError(Exception):
    """Raise from a route to answer ``status`` with a Svix error body."""

    def __init__(self, status: int, detail: str, code: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code or _CODES.get(status, "error")


def error_response(status: int, detail: str, code: str | None = None) -> JsonResponse:
    return JsonResponse(
        {"code": code or _CODES.get(status, "error"), "detail": detail}, status_code=status
    )


def validation_response(errors: list[dict[str, Any]]) -> JsonResponse:
    """422 with the Svix validation body; ``errors`` are pydantic-style
    ``{"loc", "msg", "type"}`` items."""
    detail = [
        {
            "loc": wire_loc(e.get("loc", ()), str(e.get("type", ""))),
            "msg": str(e.get("msg", "")),
            "type": str(e.get("type", "")),
        }
        for e in errors
    ]
    return JsonResponse({"detail": detail}, status_code=422)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves on the request's path, for the
    ``Allow`` header of a 405 (Starlette names only the first route's)."""
    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    ]


def install(app: FastAPI) -> None:
    """Register the handlers that give every error its Svix shape."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JsonResponse:
        return error_response(exc.status, exc.detail, exc.code)

    @app.exception_handler(NotFound)
    async def _not_found(_: Request, exc: NotFound) -> JsonResponse:
        return error_response(404, str(exc))

    @app.exception_handler(Conflict)
    async def _conflict(_: Request, exc: Conflict) -> JsonResponse:
        return error_response(409, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JsonResponse:
        return validation_response(list(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JsonResponse:
        detail = exc.detail if isinstance(exc.detail, str) else "HTTP error"
        if exc.status_code == 404 and detail == "Not Found":
            detail = "No such API path"
        response = error_response(exc.status_code, detail)
        response.headers.update(exc.headers or {})
        if exc.status_code == 405:
            response.headers["Allow"] = ", ".join(allowed_methods(request))
        return response

    @app.exception_handler(StoreRejected)
    async def _bad_value(_: Request, exc: StoreRejected) -> JsonResponse:
        # The database refused a value validation let through (e.g. a NUL
        # character, which PostgreSQL text cannot hold).
        return validation_response(
            [{"loc": ["request"], "msg": f"invalid value: {exc}", "type": "value_error"}]
        )

    @app.exception_handler(ConstraintViolated)
    async def _constraint(_: Request, exc: ConstraintViolated) -> JsonResponse:
        # A row this write refers to was changed or deleted meanwhile.
        return error_response(409, f"The write conflicts with stored data: {exc}")

    @app.exception_handler(StoreUnavailable)
    async def _database_down(_: Request, exc: StoreUnavailable) -> JsonResponse:
        log.error("database unavailable: %s", exc)
        return error_response(503, "The database is unavailable; retry shortly")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JsonResponse:
        # The route's template, not the path: an ingest path carries a token.
        route = request.scope.get("route")
        where = getattr(route, "path", None) or request.url.path
        log.exception("unexpected error on %s %s", request.method, where)
        return error_response(500, "Internal error", "internal_error")

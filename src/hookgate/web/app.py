"""Mounting the pages on the app: routes, ``/static/``, and error pages.

Errors on a page path (anything but the API, ``/in`` and ``/metrics``)
answer with a page instead of the API's JSON: ``LoginRequired`` sends the
browser to the login (an htmx request gets ``HX-Redirect``), ``CsrfRejected``
is a 403, a missing object a 404 page. Elsewhere the API's handlers answer
as before.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from hookgate.store.errors import NotFound, StoreUnavailable
from hookgate.web.routes import (
    apps,
    bins,
    endpoints,
    live,
    login,
    messages,
    overview,
    portal,
    portal_endpoints,
    portal_messages,
    sources,
)
from hookgate.web.sessions import CsrfRejected, LoginRequired
from hookgate.web.templating import page

#: Paths that belong to the API or the receivers, never to a page.
_NOT_PAGES = ("/api/", "/ingest/", "/in/", "/metrics", "/openapi.json", "/docs", "/redoc")

Handler = Callable[[Request, Exception], Awaitable[Response]]


def is_page_path(path: str) -> bool:
    return not path.startswith(_NOT_PAGES)


def _back_url(path: str) -> str:
    """Where an error page leads back to: the portal's home on a portal
    page (a consumer has no business with the dashboard), else ``/``."""
    parts = path.split("/")
    if len(parts) > 2 and parts[1] == "portal" and parts[2]:
        return "/portal/" + quote(parts[2], safe="")
    return "/"


def _error_page(request: Request, status: int, title: str, message: str) -> Response:
    return page(
        request,
        "error.html",
        {"title": title, "message": message, "back_url": _back_url(request.url.path)},
        status_code=status,
    )


async def _login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": exc.login_url})
    return RedirectResponse(exc.login_url, status_code=303)


async def _csrf_rejected(request: Request, _: Exception) -> Response:
    return _error_page(
        request,
        403,
        "Request refused",
        "The form was not sent from this site's page, or the page is too old:"
        " reload the page and try again.",
    )


def _on_pages(api_handler: Callable[[Request, Any], Any], page_handler: Handler) -> Handler:
    """A handler answering with ``page_handler`` on page paths and with the
    API's own handler everywhere else."""

    async def handle(request: Request, exc: Exception) -> Response:
        if is_page_path(request.url.path):
            return await page_handler(request, exc)
        answer = api_handler(request, exc)
        response: Response = await answer if inspect.isawaitable(answer) else answer
        return response

    return handle


async def _not_found_page(request: Request, exc: Exception) -> Response:
    detail = str(exc) if isinstance(exc, NotFound) else "There is no page at this address."
    return _error_page(request, 404, "Not found", detail)


async def _http_error_page(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        return await _not_found_page(request, exc)
    detail = exc.detail if isinstance(exc.detail, str) else "The request was refused."
    return _error_page(request, exc.status_code, "Request refused", detail)


async def _invalid_request_page(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = "; ".join(
        f"{'.'.join(str(part) for part in error.get('loc', ()))}: {error.get('msg', 'invalid')}"
        for error in exc.errors()
    )
    return _error_page(
        request, 400, "Bad request", f"The request has a malformed value ({problems})."
    )


async def _database_down_page(request: Request, _: Exception) -> Response:
    return _error_page(
        request, 503, "Database unavailable", "The database is unavailable; retry shortly."
    )


def install(app: FastAPI) -> None:
    """Add the pages to ``app``; call after the API's error handlers are
    installed (``api.errors.install``), which this wraps for page paths."""
    app.mount("/static", StaticFiles(packages=[("hookgate.web", "static")]), name="static")
    for module in (
        login,
        overview,
        portal,
        portal_endpoints,
        portal_messages,
        bins,
        sources,
        live,
        messages,
        apps,
        endpoints,
    ):
        app.include_router(module.router)
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(CsrfRejected, _csrf_rejected)
    wrapped: dict[Any, Handler] = {
        NotFound: _not_found_page,
        StarletteHTTPException: _http_error_page,
        StoreUnavailable: _database_down_page,
        RequestValidationError: _invalid_request_page,
    }
    for exc_type, page_handler in wrapped.items():
        api_handler = app.exception_handlers[exc_type]
        app.add_exception_handler(exc_type, _on_pages(api_handler, page_handler))

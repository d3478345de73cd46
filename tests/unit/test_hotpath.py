"""The hot route (``api.hotpath.HotPathApp``) answers exactly as it would
through the full middleware stack: its middleware runs, the application's
exception handlers shape its errors, an unexpected error is a Svix-shaped
500, and every other request takes the full stack."""

from __future__ import annotations

import httpx
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from hookgate.api import errors
from hookgate.api.errors import ApiError
from hookgate.api.hotpath import HotPathApp
from hookgate.api.responses import JsonResponse


async def _endpoint(request: Request) -> Response:
    what = request.path_params["what"]
    if what == "api-error":
        raise ApiError(404, "Application not found")
    if what == "http-error":
        raise HTTPException(400, "too deep")
    if what == "bug":
        raise RuntimeError("a bug")
    return JsonResponse({"what": what, "seen": request.scope.get("seen", False)}, 202)


class _Marking:
    """A stand-in for the gate: marks the scope, or fails for ``/x/gate-bug/msg``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] == "/x/gate-bug/msg":
            raise RuntimeError("the gate failed")
        scope["seen"] = True
        await self.app(scope, receive, send)


def _app(*, hot: bool) -> HotPathApp:
    app = HotPathApp()
    errors.install(app)
    app.add_middleware(_Marking)
    route = Route("/x/{what}/msg", _endpoint, methods=["POST"])
    app.router.routes.insert(0, route)
    if hot:
        app.serve_hot_route(route, _Marking)
    return app


async def _both(method: str, path: str) -> tuple[httpx.Response, httpx.Response]:
    """The answers of the hot and the full path to the same request."""
    answers = []
    for hot in (True, False):
        transport = httpx.ASGITransport(app=_app(hot=hot), raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            answers.append(await client.request(method, path))
    return answers[0], answers[1]


async def test_the_hot_route_runs_its_middleware_and_endpoint() -> None:
    hot, full = await _both("POST", "/x/ok/msg")
    assert hot.status_code == full.status_code == 202
    assert hot.json() == full.json() == {"what": "ok", "seen": True}


async def test_errors_are_shaped_by_the_application_handlers() -> None:
    for path, status in (("/x/api-error/msg", 404), ("/x/http-error/msg", 400)):
        hot, full = await _both("POST", path)
        assert hot.status_code == full.status_code == status
        assert hot.json() == full.json()


async def test_an_unexpected_error_is_a_shaped_500() -> None:
    for path in ("/x/bug/msg", "/x/gate-bug/msg"):
        hot, full = await _both("POST", path)
        assert hot.status_code == full.status_code == 500
        assert hot.json() == full.json() == {"code": "internal_error", "detail": "Internal error"}


async def test_other_methods_and_paths_take_the_full_stack() -> None:
    for method, path in (("GET", "/x/ok/msg"), ("POST", "/x/ok/msg/more")):
        hot, full = await _both(method, path)
        assert hot.status_code == full.status_code
        assert hot.json() == full.json()

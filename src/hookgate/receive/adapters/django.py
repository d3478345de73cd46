"""Django: an async view that reads ``request.body`` (raw bytes), CSRF-exempt.

::

    path("hooks/stripe", django_view(receiver))

Variables in the route (``path("<tenant>/hooks/stripe", ...)``) are accepted
and ignored. Let nothing read ``request.POST`` before it: for a multipart
body that consumes the stream and ``request.body`` then raises.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from typing import Any

from ..http import Receiver


def django_view(receiver: Receiver) -> Callable[..., Awaitable[Any]]:
    """An async, CSRF-exempt Django view verifying and dispatching with
    ``receiver``; it works under WSGI and ASGI."""

    async def view(request: Any, *_route_args: object, **_route_kwargs: object) -> Any:
        http = importlib.import_module("django.http")
        body: bytes = request.body
        headers = dict(request.headers.items())
        reply = await receiver.handle(body, headers, request.build_absolute_uri())
        return http.HttpResponse(reply.body, status=reply.status, content_type=reply.content_type)

    view.__name__ = f"hookgate_{receiver.name}"
    # What django.views.decorators.csrf.csrf_exempt sets: providers send no CSRF token.
    setattr(view, "csrf_exempt", True)  # noqa: B010
    return view

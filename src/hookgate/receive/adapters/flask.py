"""Flask: a view that reads ``request.get_data()`` (raw bytes, form not parsed).

::

    app.add_url_rule("/hooks/github", view_func=flask_view(receiver), methods=["POST"])

The view is synchronous and runs the router with ``asyncio.run``, so it must
not be called from a thread that already runs an event loop.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable

from ..http import Receiver

FlaskReply = tuple[bytes, int, dict[str, str]]


def flask_view(receiver: Receiver) -> Callable[[], FlaskReply]:
    """A Flask view function verifying and dispatching with ``receiver``."""

    def view() -> FlaskReply:
        request = importlib.import_module("flask").request
        body = request.get_data(cache=True, as_text=False, parse_form_data=False)
        headers = dict(request.headers.items())
        reply = asyncio.run(receiver.handle(body, headers, request.url))
        return reply.body, reply.status, {"Content-Type": reply.content_type}

    view.__name__ = f"hookgate_{receiver.name}"
    return view

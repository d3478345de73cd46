"""Flask: a view that reads ``request.get_data()`` (raw bytes, form not parsed).

::

    app.add_url_rule("/hooks/github", view_func=flask_view(receiver), methods=["POST"])

The view is synchronous and runs the router with ``asyncio.run``, so it must
not be called from a thread that already runs an event loop. Variables in the
route (``/<tenant>/hooks/github``) are accepted and ignored. Read nothing from
``request.form`` before it (e.g. in ``before_request``): parsing the form
consumes the body, which then verifies as empty.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable
from typing import Any

from ..http import Receiver

FlaskReply = tuple[bytes, int, dict[str, str]]


def flask_view(receiver: Receiver) -> Callable[..., FlaskReply]:
    """A Flask view function verifying and dispatching with ``receiver``,
    named ``hookgate_<scheme>`` (its default endpoint name)."""

    def view(**_route_variables: object) -> FlaskReply:
        request = importlib.import_module("flask").request
        body = request.get_data(cache=True, as_text=False, parse_form_data=False)
        headers = dict(request.headers.items())
        reply = asyncio.run(receiver.handle(body, headers, _sent_url(request)))
        return reply.body, reply.status, dict(reply.headers)

    view.__name__ = f"hookgate_{receiver.name}"
    return view


def _sent_url(request: Any) -> str:
    """The URL as the client sent it, for providers that sign it (Twilio).

    Werkzeug's ``request.url`` is an IRI: it decodes percent-escapes in the
    query (``%C3%A9`` to ``é``, ``%7E`` to ``~``), which no longer matches the
    signed URL. The path is re-encoded from the IRI; the query is kept raw.
    """
    iri_to_uri = importlib.import_module("werkzeug.urls").iri_to_uri
    url: str = iri_to_uri(request.base_url)
    query: bytes = request.query_string
    # WSGI carries the query string as latin-1, so this restores the raw bytes.
    return f"{url}?{query.decode('latin-1')}" if query else url

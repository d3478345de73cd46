"""Forwarding accepted inbound requests to the source's destinations.

A request the source accepted (verified, or any request for a source without
verification, and not a duplicate) becomes a message in the source's
internal application, through the same accept path as API messages (group
commit, hand-over to the dispatcher, retries, attempt log, resend). The
message payload is the exact body received; its event type is the verified
event type (sanitized) or "inbound"; the original headers are stored on it
and sent first with every delivery (see ``delivery.forwarding``), together
with ``X-Hookgate-Verified``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from hookgate.delivery.forwarding import forwardable
from hookgate.store.accept_messages import AcceptItem, AcceptOutcome
from hookgate.store.inbound_requests import InboundRequest
from hookgate.store.sources import Source

#: Submits a message (``Engine.accept``).
Submit = Callable[[AcceptItem], Awaitable[AcceptOutcome]]

DEFAULT_EVENT_TYPE = "inbound"
_NOT_EVENT_TYPE_CHARS = re.compile(r"[^a-zA-Z0-9\-_.]")


def event_type(verified_type: str | None) -> str:
    """A valid event type name for a forwarded request."""
    if not verified_type:
        return DEFAULT_EVENT_TYPE
    return _NOT_EVENT_TYPE_CHARS.sub("_", verified_type)[:256]


def forward_item(source: Source, request: InboundRequest) -> AcceptItem | None:
    """The message forwarding ``request`` to ``source``'s destinations, or
    None if ``source`` has none or ``request`` was refused."""
    if source.app_id is None or request.rejection is not None:
        return None
    marker = source.scheme if request.verified else "false"
    return AcceptItem(
        app_ref=source.app_id,
        event_type=event_type(request.event_type),
        payload=request.body,
        headers=forwardable(request.headers, marker),
    )


async def forward(submit: Submit, source: Source, request: InboundRequest) -> AcceptOutcome | None:
    """Forward ``request`` (as stored) on its own (a replay) if it was
    accepted and ``source`` has destinations; returns the accept outcome,
    or None if not forwarded. Received requests are forwarded in the
    transaction that stores them instead (``Recorder``)."""
    item = forward_item(source, request)
    return None if item is None else await submit(item)

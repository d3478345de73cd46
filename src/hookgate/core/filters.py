"""Which endpoints a message is delivered to (Svix semantics)."""

from __future__ import annotations

from collections.abc import Sequence


def endpoint_accepts(
    *,
    event_type: str,
    channels: Sequence[str] | None,
    endpoint_event_types: Sequence[str] | None,
    endpoint_channels: Sequence[str] | None,
) -> bool:
    """True if an endpoint with these filters should receive the message.

    An endpoint without an event type filter (None or empty) receives every
    event type; otherwise ``event_type`` must be listed. An endpoint without
    channels receives messages on any channel, or none; an endpoint with
    channels receives only messages sharing at least one of them, so a message
    without channels does not reach it.
    """
    if endpoint_event_types and event_type not in endpoint_event_types:
        return False
    if not endpoint_channels:
        return True
    return not set(endpoint_channels).isdisjoint(channels or ())

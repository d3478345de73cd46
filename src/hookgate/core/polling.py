"""Which endpoints are polling endpoints: read by the customer through the
message poller API, never pushed to by the delivery engine."""

from __future__ import annotations

#: The URL scheme that makes an endpoint a polling endpoint
#: (e.g. ``svix-poller://orders``; the rest of the URL is free-form).
POLLER_SCHEME = "svix-poller"
_PREFIX = POLLER_SCHEME + "://"


def is_poller_url(url: str) -> bool:
    """True if an endpoint with ``url`` is read by polling (scheme compared
    case-insensitively, as URL schemes are)."""
    return url[: len(_PREFIX)].lower() == _PREFIX

"""Which endpoint (and ingest destination) URLs the API accepts.

A URL is checked when an endpoint is created, replaced or its ``url`` is
patched, so that a delivery that could never be made is refused with a 422
instead of being retried for days:

* with ``HOOKGATE_ENDPOINT_HTTPS_ONLY=true``, the scheme must be ``https``;
* a host written as an IP literal (``http://10.0.0.5/``, ``http://[::1]/``,
  or a shorthand such as ``http://10.1/``) must pass the same address policy deliveries are held to
  (``core.netpolicy``, with ``HOOKGATE_ALLOWED_SUBNETS``).

Host *names* are not resolved here: what a name resolves to can change, so
they are checked on the address actually connected to, at delivery time.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from hookgate.config import Settings
from hookgate.core.netpolicy import AddressPolicy


def url_problem(url: str, settings: Settings) -> str | None:
    """Why ``url`` (already a syntactically valid http(s) URL) may not be an
    endpoint URL under ``settings``, or ``None`` when it may."""
    parts = urlsplit(url)
    if settings.endpoint_https_only and parts.scheme != "https":
        return "url must be an https URL (HOOKGATE_ENDPOINT_HTTPS_ONLY is set)"
    address = _literal_address(parts.hostname or "")
    if address is None:
        return None  # a name: checked where it is connected to
    return AddressPolicy(settings.allowed_networks).blocked_reason(address)


def _literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address ``host`` spells, including the shorthand IPv4 forms the
    resolver also accepts (``10.1``, ``167772161``, ``0xa.0.0.1``), else None."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None

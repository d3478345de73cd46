"""Who sent a request: the client address behind trusted proxies, and the
per-source address allowlist. Pure functions, no I/O."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _address(text: str | None) -> Address | None:
    if not text:
        return None
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _networks(texts: Sequence[str]) -> list[Network]:
    return [ipaddress.ip_network(text, strict=False) for text in texts]


def _within(address: Address, networks: Sequence[Network]) -> bool:
    return any(address.version == net.version and address in net for net in networks)


def client_ip(peer: str | None, forwarded_for: str | None, trusted: Sequence[str]) -> str | None:
    """The client's address: ``peer``, unless ``peer`` is a trusted proxy,
    then the right-most ``X-Forwarded-For`` entry that is not a trusted proxy
    (entries further left are whatever the client claimed)."""
    address = _address(peer)
    proxies = _networks(trusted)
    if address is None or not proxies or not forwarded_for or not _within(address, proxies):
        return peer
    for hop in reversed(forwarded_for.split(",")):
        candidate = _address(hop)
        if candidate is None:
            return str(address)
        address = candidate
        if not _within(candidate, proxies):
            break
    return str(address)


def allowed(ip: str | None, cidrs: Sequence[str] | None) -> bool:
    """True if no allowlist is set or ``ip`` is within one of ``cidrs``."""
    if cidrs is None:
        return True
    address = _address(ip)
    return address is not None and _within(address, _networks(cidrs))

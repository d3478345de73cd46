"""Which network addresses outbound webhooks may reach.

By default only globally routable unicast addresses are allowed: private,
loopback, link-local, CGNAT, cloud-metadata, multicast, reserved and
unspecified addresses are refused, so a webhook URL can never be used to reach
inside the operator's network. Operators allow specific subnets explicitly.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_METADATA = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),
        ipaddress.ip_address("169.254.170.2"),
        ipaddress.ip_address("fd00:ec2::254"),
        ipaddress.ip_address("100.100.100.200"),
    }
)


def parse_subnets(text: str | Iterable[str]) -> tuple[IPNetwork, ...]:
    """Parse comma-separated CIDRs (or an iterable of them).

    Raises ``ValueError`` naming the bad entry.
    """
    items = text.split(",") if isinstance(text, str) else list(text)
    networks: list[IPNetwork] = []
    for raw in items:
        item = raw.strip()
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ValueError(f"invalid subnet {item!r} in allowed subnets: {exc}") from exc
    return tuple(networks)


def _category(ip: IPAddress) -> str | None:
    """The reason ``ip`` is not a public destination, or None if it is."""
    if ip in _METADATA:
        return "a cloud metadata address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.version == 4 and ip in _CGNAT:
        return "a carrier-grade NAT address"
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_private:
        return "a private address"
    if ip.is_reserved or not ip.is_global:
        return "a reserved address"
    return None


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address carried inside an IPv4-mapped, 6to4 or Teredo IPv6
    address (judged as that IPv4 address), else None."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


class AddressPolicy:
    """Decides whether a resolved IP address may be connected to."""

    def __init__(self, allowed_subnets: Iterable[IPNetwork] = ()) -> None:
        self.allowed_subnets = tuple(allowed_subnets)

    def blocked_reason(self, address: str | IPAddress) -> str | None:
        """None if ``address`` may be reached, else a message that says why not
        and how an operator can allow it."""
        try:
            ip = ipaddress.ip_address(address) if isinstance(address, str) else address
        except ValueError:
            return f"{address!r} is not an IP address"
        effective = embedded_ipv4(ip) or ip
        if any(effective in net for net in self.allowed_subnets):
            return None
        category = _category(effective)
        if category is None:
            return None
        suffix = "32" if effective.version == 4 else "128"
        return (
            f"destination {effective} is {category}; refused by the address policy "
            f"(allow it with HOOKGATE_ALLOWED_SUBNETS={effective}/{suffix})"
        )

    def is_allowed(self, address: str | IPAddress) -> bool:
        return self.blocked_reason(address) is None

"""Which network addresses outbound webhooks may reach.

By default only globally reachable unicast addresses are allowed. The blocked
ranges follow the IANA IPv4 and IPv6 Special-Purpose Address Registries
(every block not marked "globally reachable"), plus multicast, broadcast,
the reserved IPv4 class E space, deprecated ranges (IPv6 site-local
``fec0::/10``, the 6to4 relay anycast ``192.88.99.0/24``) and the cloud
metadata addresses. IPv6 is allowed only inside global unicast space
(``2000::/3``), so everything IANA reserves outside it (IPv4-compatible
``::/96``, ``::ffff:0:0:0/96``, ``100::/64``, ``5f00::/16``, ...) is refused.

IPv6 forms that carry an IPv4 address are judged by that address first:
IPv4-mapped (``::ffff:0:0/96``), NAT64 (``64:ff9b::/96``), 6to4
(``2002::/16``) and Teredo (``2001::/32``, the client address). So
``::ffff:10.0.0.1`` and ``64:ff9b::a9fe:a9fe`` are refused like ``10.0.0.1``
and ``169.254.169.254``. Mapped and NAT64 addresses reach their IPv4 address
and are allowed when it is; the tunnel forms are judged as IPv6 addresses too.

Operators allow specific subnets explicitly (``HOOKGATE_ALLOWED_SUBNETS``);
an allowed subnet covers an address and the IPv4 address inside it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_METADATA = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),
        ipaddress.ip_address("169.254.170.2"),
        ipaddress.ip_address("fd00:ec2::254"),
        ipaddress.ip_address("100.100.100.200"),
    }
)

#: (network, what it is), most specific first: the first match names the reason.
_BLOCKED_IPV4: tuple[tuple[ipaddress.IPv4Network, str], ...] = tuple(
    (ipaddress.IPv4Network(net), reason)
    for net, reason in (
        ("0.0.0.0/32", "an unspecified address"),
        ("0.0.0.0/8", "a 'this network' address"),
        ("127.0.0.0/8", "a loopback address"),
        ("169.254.0.0/16", "a link-local address"),
        ("10.0.0.0/8", "a private address"),
        ("172.16.0.0/12", "a private address"),
        ("192.168.0.0/16", "a private address"),
        ("100.64.0.0/10", "a carrier-grade NAT address"),
        ("192.0.0.0/24", "an IETF protocol assignment address"),
        ("192.0.2.0/24", "a documentation address"),
        ("198.51.100.0/24", "a documentation address"),
        ("203.0.113.0/24", "a documentation address"),
        ("198.18.0.0/15", "a benchmarking address"),
        ("192.88.99.0/24", "a deprecated 6to4 relay anycast address"),
        ("224.0.0.0/4", "a multicast address"),
        ("255.255.255.255/32", "the broadcast address"),
        ("240.0.0.0/4", "a reserved address"),
    )
)

_BLOCKED_IPV6: tuple[tuple[ipaddress.IPv6Network, str], ...] = tuple(
    (ipaddress.IPv6Network(net), reason)
    for net, reason in (
        ("::/128", "an unspecified address"),
        ("::1/128", "a loopback address"),
        ("fe80::/10", "a link-local address"),
        ("fec0::/10", "a deprecated site-local address"),
        ("fc00::/7", "a private address (unique local)"),
        ("ff00::/8", "a multicast address"),
        ("64:ff9b:1::/48", "a local-use NAT64 address"),
        ("100::/64", "a discard-only address"),
        ("2001:db8::/32", "a documentation address"),
        ("3fff::/20", "a documentation address"),
        ("2001::/23", "an IETF protocol assignment address (Teredo, ORCHID, benchmarking)"),
    )
)

#: IPv6 global unicast space; everything outside it is reserved (or listed above).
_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


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
    """The reason ``ip`` (judged as itself) is not a public destination, or
    None if it is."""
    if ip in _METADATA:
        return "a cloud metadata address"
    if isinstance(ip, ipaddress.IPv4Address):
        return next((reason for net, reason in _BLOCKED_IPV4 if ip in net), None)
    listed = next((reason for net, reason in _BLOCKED_IPV6 if ip in net), None)
    if listed is not None:
        return listed
    if ip not in _GLOBAL_UNICAST and ip not in _MAPPED and ip not in _NAT64:
        return "a reserved address"
    return None


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address carried inside an IPv4-mapped, NAT64 (``64:ff9b::/96``),
    6to4 or Teredo IPv6 address, else None."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


class AddressPolicy:
    """Decides whether a resolved IP address may be connected to."""

    def __init__(self, allowed_subnets: Iterable[IPNetwork] = ()) -> None:
        self.allowed_subnets = tuple(allowed_subnets)

    def _allowed_explicitly(self, ip: IPAddress) -> bool:
        return any(ip.version == net.version and ip in net for net in self.allowed_subnets)

    def blocked_reason(self, address: str | IPAddress) -> str | None:
        """None if ``address`` may be reached, else a message that says why not
        and how an operator can allow it."""
        try:
            ip = ipaddress.ip_address(address) if isinstance(address, str) else address
        except ValueError:
            return f"{address!r} is not an IP address"
        if self._allowed_explicitly(ip):
            return None
        inner = embedded_ipv4(ip)
        if inner is not None:
            if self._allowed_explicitly(inner):
                return None
            category = _category(inner)
            if category is not None:
                return _refusal(inner, category)
        category = _category(ip)
        return None if category is None else _refusal(ip, category)

    def is_allowed(self, address: str | IPAddress) -> bool:
        return self.blocked_reason(address) is None


def _refusal(ip: IPAddress, category: str) -> str:
    suffix = "32" if ip.version == 4 else "128"
    return (
        f"destination {ip} is {category}; refused by the address policy "
        f"(allow it with HOOKGATE_ALLOWED_SUBNETS={ip}/{suffix})"
    )

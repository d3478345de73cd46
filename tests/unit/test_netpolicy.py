from __future__ import annotations

import ipaddress
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookgate.core.netpolicy import AddressPolicy, parse_subnets


@pytest.mark.parametrize(
    ("address", "category"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("169.254.10.20", "link-local"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("100.127.255.254", "carrier-grade NAT"),
        ("169.254.169.254", "cloud metadata"),
        ("100.100.100.200", "cloud metadata"),
        ("fd00:ec2::254", "cloud metadata"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fd12:3456::1", "private"),  # unique local (ULA)
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped IPv6
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "cloud metadata"),
    ],
)
def test_internal_addresses_are_blocked_with_an_actionable_message(
    address: str, category: str
) -> None:
    policy = AddressPolicy()
    reason = policy.blocked_reason(address)
    assert reason is not None
    assert category in reason
    assert "HOOKGATE_ALLOWED_SUBNETS" in reason
    assert not policy.is_allowed(address)
    assert not policy.is_allowed(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "10.1.2.3", "169.254.169.254", "::1", "fd12::1", "::ffff:10.0.0.1"]
)
def test_the_suggested_setting_allows_the_address(address: str) -> None:
    reason = AddressPolicy().blocked_reason(address)
    assert reason is not None
    suggestion = reason.split("HOOKGATE_ALLOWED_SUBNETS=")[1].rstrip(")")
    assert AddressPolicy(parse_subnets(suggestion)).is_allowed(address)


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "100.128.0.1"]
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert AddressPolicy().blocked_reason(address) is None


def test_allowed_subnets_override_only_what_they_cover() -> None:
    policy = AddressPolicy(parse_subnets("10.0.0.0/8, fd00::/8"))
    assert policy.is_allowed("10.20.30.40")
    assert policy.is_allowed("::ffff:10.20.30.40")
    assert policy.is_allowed("fd12::1")
    assert not policy.is_allowed("192.168.1.1")
    assert not policy.is_allowed("127.0.0.1")


def test_allowed_subnet_can_open_cloud_metadata_explicitly() -> None:
    assert AddressPolicy(parse_subnets("169.254.169.254/32")).is_allowed("169.254.169.254")


def test_non_ip_is_refused() -> None:
    reason = AddressPolicy().blocked_reason("example.com")
    assert reason is not None
    assert "not an IP address" in reason


def test_parse_subnets_accepts_lists_hosts_and_blanks() -> None:
    assert parse_subnets("") == ()
    assert parse_subnets(" 10.0.0.0/8 ,, 192.168.1.7 ") == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("192.168.1.7/32"),
    )
    assert parse_subnets(["10.1.2.3/8", "::1"]) == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("::1/128"),
    )


@pytest.mark.parametrize("bad", ["10.0.0.0/33", "not-a-subnet", "300.1.1.1", "fd00::/129"])
def test_parse_subnets_names_the_bad_entry(bad: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"invalid subnet {bad!r}")):
        parse_subnets(f"10.0.0.0/8,{bad}")


@pytest.mark.parametrize(
    "address",
    [
        "2002:a00:1::1",  # 6to4 wrapping 10.0.0.1
        "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo client 10.0.0.1
    ],
)
def test_ipv6_tunnel_addresses_are_judged_by_their_ipv4_inside(address: str) -> None:
    reason = AddressPolicy().blocked_reason(address)
    assert reason is not None
    assert "10.0.0.1" in reason


@pytest.mark.parametrize(
    ("address", "category"),
    [
        ("fec0::1", "site-local"),  # deprecated, yet not "private" to Python's ipaddress
        ("feff:ffff::1", "site-local"),
        ("0.1.2.3", "this network"),
        ("192.0.0.8", "IETF protocol assignment"),
        ("192.0.2.1", "documentation"),
        ("198.51.100.7", "documentation"),
        ("203.0.113.9", "documentation"),
        ("198.19.0.1", "benchmarking"),
        ("192.88.99.1", "6to4 relay"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "broadcast"),
        ("2001:db8::1", "documentation"),
        ("3fff::1", "documentation"),
        ("2001:2::1", "IETF protocol assignment"),
        ("100::1", "discard-only"),
        ("64:ff9b:1::1", "local-use NAT64"),
        ("5f00::1", "reserved"),
        ("::10.0.0.1", "reserved"),  # IPv4-compatible (deprecated)
        ("::ffff:0:808:808", "reserved"),  # IPv4-translated (SIIT)
        ("64:ff9b::a9fe:a9fe", "cloud metadata"),  # NAT64 of 169.254.169.254
        ("64:ff9b::7f00:1", "loopback"),
        ("2002:c0a8:101::1", "private"),  # 6to4 of 192.168.1.1
    ],
)
def test_special_purpose_and_deprecated_ranges_are_blocked(address: str, category: str) -> None:
    reason = AddressPolicy().blocked_reason(address)
    assert reason is not None
    assert category in reason


@pytest.mark.parametrize("address", ["64:ff9b::808:808", "2002:808:808::1", "2a00:1450::1"])
def test_translated_forms_of_public_addresses_are_allowed(address: str) -> None:
    assert AddressPolicy().blocked_reason(address) is None


# -- properties ------------------------------------------------------------------

#: Every IPv4 block that IANA's special-purpose registry marks not globally
#: reachable (written out independently of the module under test).
IANA_V4_NOT_GLOBAL = [
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "240.0.0.0/4",
    "255.255.255.255/32",
    "224.0.0.0/4",
]
IANA_V6_NOT_GLOBAL = [
    "::1/128",
    "::/128",
    "64:ff9b:1::/48",
    "100::/64",
    "2001::/23",
    "2001:db8::/32",
    "3fff::/20",
    "5f00::/16",
    "fc00::/7",
    "fe80::/10",
    "fec0::/10",
    "ff00::/8",
]

ipv4s = st.ip_addresses(v=4)


def _in(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, nets: list[str]) -> bool:
    return any(
        ip in ipaddress.ip_network(n) for n in nets if ipaddress.ip_network(n).version == ip.version
    )


def _blocked_v4(ip: ipaddress.IPv4Address) -> bool:
    return _in(ip, IANA_V4_NOT_GLOBAL) or ip in ipaddress.ip_network("192.88.99.0/24")


@given(st.sampled_from(IANA_V4_NOT_GLOBAL + IANA_V6_NOT_GLOBAL), st.integers(min_value=0))
def test_every_address_iana_marks_not_global_is_blocked(network: str, offset: int) -> None:
    net = ipaddress.ip_network(network)
    address = net[offset % net.num_addresses]
    assert not AddressPolicy().is_allowed(address)


@given(ipv4s)
def test_ipv4_is_judged_the_same_in_every_ipv6_form(ip: ipaddress.IPv4Address) -> None:
    policy = AddressPolicy()
    allowed = policy.is_allowed(ip)
    assert allowed == (not _blocked_v4(ip))
    mapped = ipaddress.IPv6Address(f"::ffff:{ip}")
    nat64 = ipaddress.IPv6Address(int(ipaddress.IPv6Address("64:ff9b::")) | int(ip))
    sixtofour = ipaddress.IPv6Address((0x2002 << 112) | (int(ip) << 80) | 1)
    assert policy.is_allowed(mapped) == allowed
    assert policy.is_allowed(nat64) == allowed
    assert policy.is_allowed(sixtofour) == allowed
    # IPv4-compatible addresses are deprecated: never reachable.
    assert not policy.is_allowed(ipaddress.IPv6Address(int(ip)))


@given(st.ip_addresses(v=6))
def test_ipv6_outside_global_unicast_is_blocked_unless_it_carries_a_public_ipv4(
    ip: ipaddress.IPv6Address,
) -> None:
    if ip in ipaddress.ip_network("2000::/3"):
        return
    carried = ip.ipv4_mapped
    if ip in ipaddress.ip_network("64:ff9b::/96"):
        carried = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    expected = carried is not None and not _blocked_v4(carried)
    assert AddressPolicy().is_allowed(ip) == expected


@given(st.ip_addresses())
def test_an_address_in_an_allowed_subnet_is_allowed(
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    suffix = 32 if ip.version == 4 else 128
    assert AddressPolicy(parse_subnets(f"{ip}/{suffix}")).is_allowed(ip)

from __future__ import annotations

import ipaddress
import re

import pytest

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

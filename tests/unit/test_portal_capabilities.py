"""What a portal token may do, from its capabilities and read-only flag."""

from __future__ import annotations

import pytest

from hookgate.core.portal import ALL_CAPABILITIES, Capability, PortalGrant, capabilities_of


def _grant(*names: str, read_only: bool = False) -> PortalGrant:
    return PortalGrant("ptok_1", "app_1", capabilities_of(list(names)), read_only)


def test_no_capabilities_asked_for_means_all_of_them() -> None:
    assert capabilities_of(None) == ALL_CAPABILITIES


def test_view_base_is_always_granted() -> None:
    assert capabilities_of(["ViewEndpointSecret"]) == {
        Capability.VIEW_BASE,
        Capability.VIEW_ENDPOINT_SECRET,
    }


def test_view_base_alone_shows_no_secret_and_changes_nothing() -> None:
    grant = _grant("ViewBase")
    assert not grant.can_view_secret
    assert not grant.can_rotate_secret
    assert not grant.can_manage_endpoints
    assert not grant.can_create_attempts


def test_managing_secrets_includes_seeing_them() -> None:
    grant = _grant("ManageEndpointSecret")
    assert grant.can_view_secret
    assert grant.can_rotate_secret
    assert not grant.can_manage_endpoints


def test_managing_endpoints_includes_their_secrets() -> None:
    grant = _grant("ManageEndpoint")
    assert grant.can_manage_endpoints
    assert grant.can_rotate_secret
    assert grant.can_view_secret


def test_read_only_changes_nothing_whatever_the_capabilities() -> None:
    grant = PortalGrant("ptok_1", "app_1", ALL_CAPABILITIES, read_only=True)
    assert grant.can_view_secret
    assert not grant.can_rotate_secret
    assert not grant.can_manage_endpoints
    assert not grant.can_create_attempts


def test_an_unknown_capability_is_refused() -> None:
    with pytest.raises(ValueError, match="NoSuchThing"):
        capabilities_of(["NoSuchThing"])

"""What a consumer-portal session may do: Svix's app portal capabilities.

A portal token (``POST /api/v1/auth/app-portal-access/{app_id}``) carries a
set of capabilities and a read-only flag; every portal page and action asks
``PortalGrant`` before it shows or changes anything. Pure: no I/O.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass


class Capability(enum.StrEnum):
    """Svix's ``AppPortalCapability`` names."""

    #: Read everything of the application but endpoint secrets.
    VIEW_BASE = "ViewBase"
    VIEW_ENDPOINT_SECRET = "ViewEndpointSecret"
    #: Rotate (and so also see) endpoint secrets.
    MANAGE_ENDPOINT_SECRET = "ManageEndpointSecret"
    MANAGE_TRANSFORMATIONS = "ManageTransformations"
    #: Resend and recover messages, send example events.
    CREATE_ATTEMPTS = "CreateAttempts"
    #: Create, change and delete endpoints, secrets included.
    MANAGE_ENDPOINT = "ManageEndpoint"


ALL_CAPABILITIES = frozenset(Capability)

#: Default and longest lifetime of a portal token, and the shortest (Svix's).
DEFAULT_EXPIRY_S = 7 * 24 * 3600
MIN_EXPIRY_S = 3600


def capabilities_of(requested: Iterable[str] | None) -> frozenset[Capability]:
    """The capabilities a token gets: all of them when none are asked for
    (Svix's default); otherwise those asked for, ``ViewBase`` always included."""
    if requested is None:
        return ALL_CAPABILITIES
    return frozenset(Capability(name) for name in requested) | {Capability.VIEW_BASE}


@dataclass(frozen=True, slots=True)
class PortalGrant:
    """One portal token's rights over its one application."""

    token_id: str
    app_id: str
    capabilities: frozenset[Capability]
    read_only: bool
    #: When the token (and every portal session made from it) ends, epoch
    #: ms; 0 when not known (a grant made outside the store).
    expires_at: int = 0

    def _has(self, *any_of: Capability) -> bool:
        return any(capability in self.capabilities for capability in any_of)

    @property
    def can_view_secret(self) -> bool:
        return self._has(
            Capability.VIEW_ENDPOINT_SECRET,
            Capability.MANAGE_ENDPOINT_SECRET,
            Capability.MANAGE_ENDPOINT,
        )

    @property
    def can_rotate_secret(self) -> bool:
        return not self.read_only and self._has(
            Capability.MANAGE_ENDPOINT_SECRET, Capability.MANAGE_ENDPOINT
        )

    @property
    def can_manage_endpoints(self) -> bool:
        return not self.read_only and self._has(Capability.MANAGE_ENDPOINT)

    @property
    def can_create_attempts(self) -> bool:
        """Resend, recover, send an example event."""
        return not self.read_only and self._has(Capability.CREATE_ATTEMPTS)

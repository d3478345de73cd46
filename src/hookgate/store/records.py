"""Plain records the store returns and accepts. Timestamps are epoch milliseconds."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any


class DeliveryStatus(IntEnum):
    """Svix ``MessageStatus`` values, used for deliveries and attempts."""

    SUCCESS = 0
    PENDING = 1
    FAIL = 2
    SENDING = 3


class TriggerType(IntEnum):
    SCHEDULED = 0
    MANUAL = 1


@dataclass(frozen=True, slots=True)
class Application:
    id: str
    uid: str | None
    name: str
    throttle_rate: int | None
    metadata: dict[str, str]
    created_at: int
    updated_at: int


@dataclass(frozen=True, slots=True)
class EventType:
    name: str
    description: str
    archived: bool
    deprecated: bool
    schemas: dict[str, Any] | None
    feature_flag: str | None
    group_name: str | None
    created_at: int
    updated_at: int


@dataclass(frozen=True, slots=True)
class EndpointSecret:
    """A signing secret (in clear: the store seals it at rest, see
    ``rows.sealed_secrets``); ``expires_at`` is set on secrets replaced by a
    rotation."""

    key: str = field(repr=False)
    expires_at: int | None = None


@dataclass(frozen=True, slots=True)
class Endpoint:
    id: str
    app_id: str
    uid: str | None
    url: str
    description: str
    throttle_rate: int | None
    disabled: bool
    event_types: list[str] | None
    channels: list[str] | None
    metadata: dict[str, str]
    headers: dict[str, str]
    secrets: tuple[EndpointSecret, ...]
    created_at: int
    updated_at: int

    def active_secrets(self, now_ms: int) -> list[str]:
        """Secrets a delivery made now is signed with: the current one plus any
        rotated-out secret still inside its grace period."""
        return [s.key for s in self.secrets if s.expires_at is None or s.expires_at > now_ms]


@dataclass(frozen=True, slots=True)
class Message:
    id: str
    app_id: str
    event_type: str
    event_id: str | None
    channels: list[str] | None
    tags: list[str] | None
    payload: bytes | None
    created_at: int
    #: A forwarded inbound request's headers to send, in order; else None.
    headers: list[tuple[str, str]] | None = None


@dataclass(frozen=True, slots=True)
class Attempt:
    id: str
    msg_id: str
    endpoint_id: str
    app_id: str
    url: str
    status: int
    response_status_code: int
    response: bytes | None
    response_duration_ms: int
    trigger_type: int
    #: The response's header block (``core.outcome.header_block``); None
    #: once expunged, empty when no response arrived.
    response_headers: bytes | None
    error_kind: str | None
    error_message: str | None
    created_at: int


@dataclass(frozen=True, slots=True)
class Delivery:
    """The state of one message towards one endpoint."""

    id: str
    msg_id: str
    app_id: str
    endpoint_id: str
    status: int
    attempt_count: int
    next_attempt_at: int
    lease_until: int
    created_at: int
    updated_at: int


@dataclass(slots=True)
class Job:
    """A claimed delivery, with everything needed to send it."""

    delivery_id: str
    msg_id: str
    app_id: str
    endpoint: Endpoint
    payload: bytes
    attempt_count: int
    trigger_type: int = TriggerType.SCHEDULED
    #: A forwarded inbound request's headers, sent before our own (see
    #: ``delivery.forwarding``); None for ordinary messages.
    headers: list[tuple[str, str]] | None = None
    #: Send no earlier than this (epoch ms): the send slot a throttled
    #: endpoint's claim reserved (``store.throttle``); 0 for no throttle.
    not_before: int = 0


@dataclass(frozen=True, slots=True)
class AttemptRow:
    """One attempt to write to the log."""

    id: str
    url: str
    status: int
    response_status_code: int
    response: bytes
    response_duration_ms: int
    error_kind: str | None
    error_message: str | None
    created_at: int
    response_headers: bytes = b""


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """What the dispatcher learned about one job, written back in batches."""

    job: Job
    status: DeliveryStatus
    next_attempt_at: int
    attempt: AttemptRow | None = None
    disable_endpoint: bool = False
    #: Pause the endpoint for every worker until then (epoch ms; 0: no pause).
    pause_endpoint_until: int = 0


@dataclass(frozen=True, slots=True)
class NewApplication:
    """Application fields for create-on-send (``MessageIn.application``)."""

    name: str
    uid: str | None = None
    throttle_rate: int | None = None
    metadata: dict[str, str] = field(default_factory=dict)

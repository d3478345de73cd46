"""Delivery state: attempts, and a message's status per endpoint (and the
reverse, an endpoint's status per message)."""

from __future__ import annotations

from typing import Any

from hookgate.api.schemas.base import ResponseModel, UtcDatetime
from hookgate.api.schemas.enums import (
    MessageAttemptTriggerType,
    MessageStatus,
    MessageStatusText,
)


class MessageAttemptOut(ResponseModel):
    """One HTTP request made to deliver a message to an endpoint (``atmpt_...``).

    ``response`` is the (truncated) response body, ``responseStatusCode`` is 0
    when no response arrived.
    """

    id: str
    msg_id: str
    endpoint_id: str
    url: str
    response: str
    response_status_code: int
    response_duration_ms: int
    status: MessageStatus
    status_text: MessageStatusText
    trigger_type: MessageAttemptTriggerType
    timestamp: UtcDatetime


class MessageEndpointOut(ResponseModel):
    """An endpoint a message was routed to, with the delivery status of that
    message there and when it will next be tried."""

    id: str
    uid: str | None = None
    url: str
    description: str
    disabled: bool = False
    throttle_rate: int | None = None
    event_types: list[str] | None = None
    channels: list[str] | None = None
    status: MessageStatus
    status_text: MessageStatusText
    next_attempt: UtcDatetime | None = None
    created_at: UtcDatetime
    updated_at: UtcDatetime


class EndpointMessageOut(ResponseModel):
    """A message routed to an endpoint, with its delivery status there and
    when it will next be tried."""

    id: str
    event_type: str
    event_id: str | None = None
    payload: dict[str, Any]
    channels: list[str] | None = None
    tags: list[str] | None = None
    timestamp: UtcDatetime
    status: MessageStatus
    status_text: MessageStatusText
    next_attempt: UtcDatetime | None = None

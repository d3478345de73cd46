"""Messages: the events an application sends (``msg_...``)."""

from __future__ import annotations

from typing import Annotated, Any

from annotated_types import Interval

from hookgate.api.schemas.application import ApplicationIn
from hookgate.api.schemas.base import (
    EventTypeName,
    MessageChannels,
    MessageUid,
    RequestModel,
    ResponseModel,
    Tags,
    UtcDatetime,
    null_means,
)

_RETENTION_DEFAULT = 90  # days


class MessageIn(RequestModel):
    """Body of ``POST /api/v1/app/{app_id}/msg/``.

    ``payload`` is the JSON object delivered as the webhook body. ``eventId``
    is the client's idempotency key. ``application``, when given, creates the
    application if the one in the path does not exist yet.
    """

    event_type: EventTypeName
    payload: dict[str, Any]
    event_id: MessageUid | None = None
    channels: MessageChannels | None = None
    tags: Tags | None = None
    payload_retention_period: Annotated[
        int, Interval(ge=5, le=90), null_means(lambda: _RETENTION_DEFAULT)
    ] = _RETENTION_DEFAULT
    application: ApplicationIn | None = None


class MessageOut(ResponseModel):
    """A message as returned by the API. ``tags`` is an SDK field, not in the
    OSS doc."""

    id: str
    event_type: str
    event_id: str | None = None
    payload: dict[str, Any]
    channels: list[str] | None = None
    tags: list[str] | None = None
    timestamp: UtcDatetime

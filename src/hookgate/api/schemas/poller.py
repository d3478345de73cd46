"""Message poller bodies (``/api/v1/app/{app_id}/poller/{sink_id}``), the
shapes of Svix's ``PollingEndpoint*`` models."""

from __future__ import annotations

from typing import Any

from hookgate.api.schemas.base import RequestModel, ResponseModel, UtcDatetime


class PollingEndpointMessageOut(ResponseModel):
    """A message as a polling endpoint hands it out."""

    id: str
    event_type: str
    event_id: str | None = None
    payload: dict[str, Any]
    channels: list[str] | None = None
    tags: list[str] | None = None
    timestamp: UtcDatetime


class PollingEndpointOut(ResponseModel):
    """One read: messages in id order, the iterator to read on from, and
    ``done`` once the reader has caught up."""

    data: list[PollingEndpointMessageOut]
    iterator: str
    done: bool


class PollingEndpointConsumerSeekIn(RequestModel):
    """Move a consumer to the messages created at or after ``after``."""

    after: UtcDatetime


class PollingEndpointConsumerSeekOut(ResponseModel):
    """The iterator of the consumer's new position."""

    iterator: str

"""Operational webhook endpoints (``/api/v1/operational-webhook/endpoint``):
where Hookgate sends events about itself (``store.operational``). The
official SDK's ``OperationalWebhookEndpoint*`` models are the contract."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictBool, field_validator

from hookgate.api.schemas.base import (
    EndpointHeaders,
    EndpointSecret,
    EndpointUid,
    EndpointUrl,
    EventTypeNames,
    Metadata,
    RequestModel,
    ResponseModel,
    ThrottleRate,
    UtcDatetime,
    null_means,
)
from hookgate.core.operational_events import OPERATIONAL_EVENT_TYPES


class OperationalWebhookEndpointUpsertIn(RequestModel):
    """Body of ``PUT .../operational-webhook/endpoint/{endpoint_id}``: full
    replacement. ``eventTypes`` of ``null`` means every operational event;
    when given, each must be one (``endpoint.created``, ...)."""

    url: EndpointUrl
    description: Annotated[str, null_means(str)] = ""
    disabled: Annotated[StrictBool, null_means(lambda: False)] = False
    uid: EndpointUid | None = None
    throttle_rate: ThrottleRate | None = None
    event_types: EventTypeNames | None = None
    metadata: Annotated[Metadata, null_means(dict)] = Field(default_factory=dict)

    @field_validator("event_types")
    @classmethod
    def _known_events(cls, names: list[str] | None) -> list[str] | None:
        unknown = [n for n in names or () if n not in OPERATIONAL_EVENT_TYPES]
        if unknown:
            known = ", ".join(sorted(OPERATIONAL_EVENT_TYPES))
            raise ValueError(f"not operational event types: {', '.join(unknown)} (known: {known})")
        return names


class OperationalWebhookEndpointIn(OperationalWebhookEndpointUpsertIn):
    """Body of ``POST /api/v1/operational-webhook/endpoint``: like the upsert
    body plus an optional ``secret`` (generated when absent) and initial
    custom ``headers``."""

    secret: EndpointSecret | None = None
    headers: EndpointHeaders | None = None


class OperationalWebhookEndpointOut(ResponseModel):
    """An operational webhook endpoint (never includes the secret)."""

    id: str
    uid: str | None = None
    url: str
    description: str
    disabled: bool = False
    throttle_rate: int | None = None
    event_types: list[str] | None = None
    metadata: Metadata
    created_at: UtcDatetime
    updated_at: UtcDatetime

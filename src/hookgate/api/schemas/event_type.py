"""Event types: the catalogue of message kinds (``user.signup``, ...)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import StrictBool

from hookgate.api.schemas.base import (
    NOT_NULL,
    EventTypeName,
    FeatureFlag,
    RequestModel,
    ResponseModel,
    UtcDatetime,
    null_means,
)

Schemas = dict[str, dict[str, Any]]
"""JSON schemas of the payload, keyed by version (``{"1": {...}}``)."""


class EventTypeIn(RequestModel):
    """Body of ``POST /api/v1/event-type/``."""

    name: EventTypeName
    description: str
    archived: Annotated[StrictBool, null_means(lambda: False)] = False
    deprecated: Annotated[StrictBool, null_means(lambda: False)] = False
    feature_flag: FeatureFlag | None = None
    schemas: Schemas | None = None


class EventTypeUpdate(RequestModel):
    """Body of ``PUT /api/v1/event-type/{event_type_name}/``: full replacement."""

    description: str
    archived: Annotated[StrictBool, null_means(lambda: False)] = False
    deprecated: Annotated[StrictBool, null_means(lambda: False)] = False
    feature_flag: FeatureFlag | None = None
    schemas: Schemas | None = None


class EventTypePatch(RequestModel):
    """Body of ``PATCH /api/v1/event-type/{event_type_name}/``.

    Only keys that were sent change; ``null`` clears ``featureFlag``/``schemas``.
    """

    description: Annotated[str | None, NOT_NULL] = None
    archived: Annotated[StrictBool | None, NOT_NULL] = None
    deprecated: Annotated[StrictBool | None, NOT_NULL] = None
    feature_flag: FeatureFlag | None = None
    schemas: Schemas | None = None


class EventTypeOut(ResponseModel):
    """An event type as returned by the API."""

    name: str
    description: str
    archived: bool = False
    deprecated: bool
    feature_flag: str | None = None
    schemas: dict[str, Any] | None = None
    created_at: UtcDatetime
    updated_at: UtcDatetime


class EventExampleIn(RequestModel):
    """Body of ``POST .../endpoint/{endpoint_id}/send-example/``: send the
    example payload of this event type to the endpoint."""

    event_type: EventTypeName

"""Endpoints: the URLs an application's messages are delivered to (``ep_...``),
with their custom headers, signing secret, statistics and recovery."""

from __future__ import annotations

from typing import Annotated

from annotated_types import Interval
from pydantic import Field, StrictBool

from hookgate.api.schemas.base import (
    NOT_NULL,
    DestinationUrl,
    EndpointChannels,
    EndpointHeaders,
    EndpointHeadersPatch,
    EndpointSecret,
    EndpointUid,
    EventTypeNames,
    Metadata,
    RequestModel,
    ResponseModel,
    ThrottleRate,
    UtcDatetime,
    null_means,
)
from hookgate.api.schemas.enums import BackgroundTaskStatus, BackgroundTaskType

_GRACE_PERIOD_DEFAULT = 86400  # one day
_GRACE_PERIOD_MAX = 604800  # seven days


class EndpointUpdate(RequestModel):
    """Body of ``PUT .../endpoint/{endpoint_id}/``: full replacement.

    ``eventTypes``/``channels`` of ``null`` mean "all"; when given they are
    de-duplicated and must be non-empty (channels: at most 10).
    """

    url: DestinationUrl
    description: Annotated[str, null_means(str)] = ""
    disabled: Annotated[StrictBool, null_means(lambda: False)] = False
    uid: EndpointUid | None = None
    throttle_rate: ThrottleRate | None = None
    event_types: EventTypeNames | None = None
    channels: EndpointChannels | None = None
    metadata: Annotated[Metadata, null_means(dict)] = Field(default_factory=dict)


class EndpointIn(EndpointUpdate):
    """Body of ``POST /api/v1/app/{app_id}/endpoint/``.

    Like ``EndpointUpdate`` plus an optional ``secret`` (generated when absent)
    and initial custom ``headers`` (an SDK field, not in the OSS doc).
    """

    secret: EndpointSecret | None = None
    headers: EndpointHeaders | None = None


class EndpointPatch(RequestModel):
    """Body of ``PATCH .../endpoint/{endpoint_id}/``.

    Only keys that were sent change (see ``model_fields_set``); ``null`` clears
    ``uid``, ``throttleRate``, ``eventTypes`` and ``channels``.
    """

    url: Annotated[DestinationUrl | None, NOT_NULL] = None
    description: Annotated[str | None, NOT_NULL] = None
    disabled: Annotated[StrictBool | None, NOT_NULL] = None
    uid: EndpointUid | None = None
    throttle_rate: ThrottleRate | None = None
    event_types: EventTypeNames | None = None
    channels: EndpointChannels | None = None
    metadata: Annotated[Metadata | None, NOT_NULL] = None


class EndpointOut(ResponseModel):
    """An endpoint as returned by the API (never includes the secret)."""

    id: str
    uid: str | None = None
    url: str
    description: str
    disabled: bool = False
    throttle_rate: int | None = None
    event_types: list[str] | None = None
    channels: list[str] | None = None
    metadata: Metadata
    created_at: UtcDatetime
    updated_at: UtcDatetime


# --- headers --------------------------------------------------------------------


class EndpointHeadersIn(RequestModel):
    """Body of ``PUT .../endpoint/{endpoint_id}/headers/``: replaces all custom
    headers."""

    headers: EndpointHeaders


class EndpointHeadersPatchIn(RequestModel):
    """Body of ``PATCH .../endpoint/{endpoint_id}/headers/``.

    In ``headers`` a string sets a header and ``null`` removes it; the SDK
    removes headers by listing them in ``deleteHeaders`` instead.
    """

    headers: EndpointHeadersPatch
    delete_headers: Annotated[list[str], null_means(list)] = Field(default_factory=list)


class EndpointHeadersOut(ResponseModel):
    """An endpoint's custom headers; the values of sensitive ones (e.g.
    ``Authorization``) are withheld and their names listed in ``sensitive``."""

    headers: dict[str, str]
    sensitive: list[str]


# --- secret -----------------------------------------------------------------------


class EndpointSecretRotateIn(RequestModel):
    """Body of ``POST .../endpoint/{endpoint_id}/secret/rotate/``.

    ``key`` is the new secret (generated when absent or null). The old secret
    keeps being used for ``gracePeriodSeconds`` (0-604800, default 86400).
    """

    key: EndpointSecret | None = None
    grace_period_seconds: Annotated[
        int,
        Interval(ge=0, le=_GRACE_PERIOD_MAX),
        null_means(lambda: _GRACE_PERIOD_DEFAULT),
    ] = _GRACE_PERIOD_DEFAULT


class EndpointSecretOut(ResponseModel):
    """An endpoint's current signing secret (``whsec_...``)."""

    key: str


# --- statistics and recovery -----------------------------------------------------


class EndpointStats(ResponseModel):
    """Count of recent message deliveries to an endpoint, by status."""

    success: int
    pending: int
    sending: int
    fail: int
    canceled: int = 0


class RecoverIn(RequestModel):
    """Body of ``POST .../endpoint/{endpoint_id}/recover/``: resend the failed
    messages from ``since`` (until ``until``, or now)."""

    since: UtcDatetime
    until: UtcDatetime | None = None


class RecoverOut(ResponseModel):
    """The background task started by a recover request."""

    id: str
    status: BackgroundTaskStatus
    task: BackgroundTaskType
    updated_at: UtcDatetime

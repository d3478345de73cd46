"""Applications: one per customer of the sending service (``app_...``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from hookgate.api.schemas.base import (
    NOT_NULL,
    ApplicationUid,
    Metadata,
    RequestModel,
    ResponseModel,
    ThrottleRate,
    UtcDatetime,
    null_means,
)

_Name = Annotated[str, StringConstraints(min_length=1)]


class ApplicationIn(RequestModel):
    """Body of ``POST /api/v1/app/`` (also nested in ``MessageIn`` and
    ``AppPortalAccessIn`` to create the application on the fly)."""

    name: _Name
    uid: ApplicationUid | None = None
    throttle_rate: ThrottleRate | None = None
    metadata: Annotated[Metadata, null_means(dict)] = Field(default_factory=dict)


class ApplicationPatch(RequestModel):
    """Body of ``PATCH /api/v1/app/{app_id}/``.

    Only keys that were sent change (see ``model_fields_set``); ``null`` clears
    ``uid`` and ``throttleRate``.
    """

    name: Annotated[_Name | None, NOT_NULL] = None
    uid: ApplicationUid | None = None
    throttle_rate: ThrottleRate | None = None
    metadata: Annotated[Metadata | None, NOT_NULL] = None


class ApplicationOut(ResponseModel):
    """An application as returned by the API."""

    id: str
    uid: str | None = None
    name: str
    throttle_rate: int | None = None
    metadata: Metadata
    created_at: UtcDatetime
    updated_at: UtcDatetime

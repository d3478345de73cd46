"""Ingest sources and the requests they receive (``/ingest/api/v1/source``).

These models document the bodies the ingest routes build as plain dicts (see
``api.routes.ingest``); they are the shapes the official SDK's ingest models
read, plus Hookgate's extensions (``appId``, the request log, replay).
"""

from __future__ import annotations

from typing import Any

from hookgate.api.schemas.base import Metadata, ResponseModel, UtcDatetime


class IngestSourceOut(ResponseModel):
    """A source: where a provider sends (``ingestUrl``) and how it is verified."""

    id: str
    uid: str | None = None
    name: str
    ingest_url: str
    created_at: UtcDatetime
    updated_at: UtcDatetime
    metadata: Metadata
    type: str
    config: dict[str, Any]
    #: The internal application whose endpoints are the destinations (null
    #: until the first destination exists).
    app_id: str | None = None


class RotateTokenOut(ResponseModel):
    """The source's new ingest URL."""

    ingest_url: str


class LocalResponseOut(ResponseModel):
    """What a ``hookgate listen`` client's local server answered to the
    request it forwarded (``status`` null with ``error`` if none came)."""

    status: int | None = None
    headers: list[tuple[str, str]]
    body: str
    latency_ms: int
    error: str | None = None
    forwarded_to: str
    reported_at: UtcDatetime


class InboundRequestOut(ResponseModel):
    """One request received by a source, as stored (credential headers
    redacted, the body base64 of the exact bytes)."""

    id: str
    source_id: str
    received_at: UtcDatetime
    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: str
    source_ip: str | None = None
    verified: bool
    rejection: str | None = None
    event_id: str | None = None
    event_type: str | None = None
    #: Only in ``GET .../request/{request_id}``.
    local_response: LocalResponseOut | None = None


class ReplayOut(ResponseModel):
    """The message a replayed request was forwarded as."""

    msg_id: str

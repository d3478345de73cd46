"""``/ingest/api/v1/source``: sources, wire-compatible with Svix Ingest as
the official SDKs use it (create, get by id or uid, list, upsert, delete).

``type`` is a Svix Ingest source type and ``config`` its configuration; see
``hookgate.inbound.config`` for the mapping to verification schemes and for
Hookgate's own config keys. Responses are ``IngestSourceOut``: ``config``
shows the options without secrets (plus ``secretCount``) and ``ingestUrl`` is
``<public base URL>/in/<token>``, where the token is an unguessable secret
of the source (``/in/<source id or uid>`` keeps working too).

``POST .../{source_id}/token/rotate`` (Svix ``RotateTokenOut``) gives the
source a new token and answers 200 ``{"ingestUrl": "<new URL>"}``; the
previous URL keeps working for 24 hours (``sources.TOKEN_GRACE_MS``; Svix
documents 48), so that the provider can be re-pointed without losing events.
Rotating again within that time retires the previous token at once (only one
is kept). Honours ``Idempotency-Key`` (a replay answers the same URL without
rotating again); 404 for an unknown source.

Hookgate extension: ``appId`` in ``IngestSourceOut`` is the id of the
source's internal application, whose endpoints are the source's destinations
(``/ingest/api/v1/source/{source_id}/endpoint``): null until the first
destination is created. Its messages and attempts (forwarded requests) can be
read and resent through the ordinary ``/api/v1/app/{appId}/...`` API.

Hookgate extension: ``GET /ingest/api/v1/source/{source_id}/request`` lists
the requests received, newest first (``limit``, ``iterator``), as a
``ListResponse``. Filters, all optional and combinable (pass the same ones
with every page's ``iterator``):

- ``verified``: ``true`` | ``false``;
- ``after`` / ``before``: ISO 8601 datetimes (UTC if no offset), exclusive
  bounds on ``receivedAt``, as in the message list;
- ``eventId`` / ``eventType``: exact match (1 to 256 characters);
- ``status``: ``accepted``, ``duplicate`` (a repeat of an accepted event
  id) or ``rejected`` (refused for any other reason).

A bad value answers 422 with the Svix validation body naming the parameter
(``"loc": ["query", "eventId"]``). Each item is::

    {"id": "inreq_...", "sourceId": "src_...", "receivedAt": "<ISO 8601>",
     "method": "POST", "path": "/in/...", "query": "a=1",
     "headers": [["name", "value"], ...],      # as received, in order
     "body": "<base64 of the exact bytes>",
     "sourceIp": "203.0.113.9", "verified": true,
     "status": "accepted" | "duplicate" | "rejected",
     "rejection": null | "why it was refused / duplicate of inreq_...",
     "eventId": "..." | null, "eventType": "..." | null}

Values of credential headers (``Authorization``, ``Cookie``, ...) are shown
as ``"<redacted>"``. ``GET .../request/{request_id}`` gives one of them.

Hookgate extension: ``POST .../request/{request_id}/replay`` forwards a stored
request to the source's destinations again (``hookgate.inbound.forward``, the
exact bytes and headers received) as a new message of the internal
application, answering 202 ``{"msgId": "msg_..."}``. Accepted requests and
duplicates (``rejection`` "duplicate of ...") can be replayed; requests
refused for any other reason (bad signature, method, size, ...) answer 409,
as does a source without destinations (nothing would be delivered). Unknown
sources or requests answer 404.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response
from pydantic import AfterValidator, Field, StringConstraints

from hookgate.api import convert
from hookgate.api import schemas as s
from hookgate.api.convert import SENSITIVE_HEADERS, iso
from hookgate.api.deps import (
    Limit,
    Services,
    UpsertRef,
    authenticated,
    check_upsert_ref,
    idempotent,
    ms_or_none,
    now_ms,
)
from hookgate.api.errors import ApiError, validation_response
from hookgate.api.openapi import no_content, returns
from hookgate.api.responses import JsonResponse
from hookgate.api.routing import api_router
from hookgate.api.schemas.base import Metadata, RequestModel, Uid, UtcDatetime
from hookgate.inbound import bins
from hookgate.inbound import config as source_config
from hookgate.inbound.replay import NotReplayable, replay
from hookgate.store import inbound_search, request_stream, sources
from hookgate.store.errors import NotFound
from hookgate.store.inbound_requests import InboundRequest, RequestStatus
from hookgate.store.inbound_search import RequestFilter
from hookgate.store.request_stream import LocalResponse
from hookgate.store.sources import Source

router = api_router("/ingest/api/v1/source", "Ingest Source")

_REDACTED_HEADERS = SENSITIVE_HEADERS | {"x-gitlab-token"}

SourceType = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9\-]{0,63}$")]


def _no_source_prefix(value: str) -> str:
    if value.startswith(f"{sources.SOURCE}_"):
        raise ValueError(f"uids may not start with the id prefix '{sources.SOURCE}_'")
    return value


class IngestSourceIn(RequestModel):
    """``IngestSourceIn`` of the Svix API."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    uid: Annotated[Uid, AfterValidator(_no_source_prefix)] | None = None
    metadata: Metadata | None = None
    type: SourceType
    config: dict[str, Any] = Field(default_factory=dict)

    def fields(self) -> dict[str, Any]:
        """Store fields; raises ``ConfigError`` for an unusable config."""
        scheme, stored = source_config.parse(self.type, self.config)
        return {
            "uid": self.uid,
            "name": self.name,
            "type": self.type,
            "scheme": scheme,
            "config": stored,
            "metadata": self.metadata or {},
        }


def _fields_or_error(body: IngestSourceIn) -> dict[str, Any] | JsonResponse:
    try:
        return body.fields()
    except source_config.ConfigError as exc:
        return validation_response(
            [{"loc": ["body", "config"], "msg": str(exc), "type": "value_error"}]
        )


def public_base(svc: Services, request: Request) -> str:
    """The externally visible base URL, without a trailing slash."""
    return (svc.settings.public_url or str(request.base_url)).rstrip("/")


def ingest_url(source: Source, base: str) -> str:
    """Where providers send to ``source``: its current token's URL."""
    return f"{base}/in/{source.token}"


def source_json(source: Source, base: str) -> dict[str, Any]:
    """``IngestSourceOut``. A bin (``inbound.bins``) shows as a
    ``generic-webhook`` (a type the official SDKs can read: a bin verifies
    nothing) with ``"hookgateType": "hookgate-bin"`` (a Hookgate extension)."""
    shown = {
        "id": source.id,
        "uid": source.uid,
        "name": source.name,
        "ingestUrl": ingest_url(source, base),
        "createdAt": iso(source.created_at),
        "updatedAt": iso(source.updated_at),
        "metadata": source.metadata,
        "type": source.type,
        "config": source_config.public_config(source.config),
        "appId": source.app_id,
    }
    if source.type == source_config.BIN_TYPE:
        shown["type"] = source_config.GENERIC
        shown["hookgateType"] = source_config.BIN_TYPE
    return shown


def shown_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``headers`` in order, credential values (``Authorization``, ``Cookie``,
    ...) replaced by ``"<redacted>"``: how the API and the dashboard show them."""
    return [(k, "<redacted>" if k.lower() in _REDACTED_HEADERS else v) for k, v in headers]


def request_json(item: InboundRequest, *, redact: bool = True) -> dict[str, Any]:
    """One received request (see the module docstring); ``redact=False``
    keeps credential header values (the request stream's listeners forward
    them)."""
    headers = shown_headers(item.headers) if redact else item.headers
    return {
        "id": item.id,
        "sourceId": item.source_id,
        "receivedAt": iso(item.received_at),
        "method": item.method,
        "path": item.path,
        "query": item.query,
        "headers": [list(pair) for pair in headers],
        "body": base64.b64encode(item.body).decode("ascii"),
        "sourceIp": item.source_ip,
        "verified": item.verified,
        "status": item.status.value,
        "rejection": item.rejection,
        "eventId": item.event_id,
        "eventType": item.event_type,
    }


def local_response_json(local: LocalResponse) -> dict[str, Any]:
    """What a listener's local server answered to a forwarded request."""
    return {
        "status": local.status,
        "headers": [list(pair) for pair in local.headers],
        "body": base64.b64encode(local.body).decode("ascii"),
        "latencyMs": local.latency_ms,
        "error": local.error,
        "forwardedTo": local.forwarded_to,
        "reportedAt": iso(local.reported_at),
    }


@router.get("", **returns(s.ListResponse[s.IngestSourceOut]))
async def list_sources(
    request: Request,
    limit: Limit = None,
    iterator: str | None = None,
    order: s.Ordering = s.Ordering.ASCENDING,
    svc: Services = Depends(authenticated),
) -> Response:
    page = await sources.list_page(
        svc.db, iterator=iterator, limit=limit, descending=order is s.Ordering.DESCENDING
    )
    base = public_base(svc, request)
    return convert.list_json(page, [source_json(item, base) for item in page.items])


@router.post("", **returns(s.IngestSourceOut, status=201, idempotent=True))
async def create_source(
    body: IngestSourceIn, request: Request, svc: Services = Depends(authenticated)
) -> Response:
    fields = _fields_or_error(body)
    if isinstance(fields, JsonResponse):
        return fields
    checked = fields

    async def handler() -> Response:
        source = await sources.create(svc.db, checked, now_ms())
        return JsonResponse(source_json(source, public_base(svc, request)), status_code=201)

    return await idempotent(request, svc, handler)


@router.get("/{source_id}", **returns(s.IngestSourceOut))
async def get_source(
    source_id: str, request: Request, svc: Services = Depends(authenticated)
) -> Response:
    source = await sources.get(svc.db, source_id)
    return JsonResponse(source_json(source, public_base(svc, request)))


@router.put("/{source_id}", **returns(s.IngestSourceOut, 201))
async def upsert_source(
    source_id: UpsertRef,
    body: IngestSourceIn,
    request: Request,
    svc: Services = Depends(authenticated),
) -> Response:
    check_upsert_ref("source_id", source_id, sources.SOURCE)
    fields = _fields_or_error(await _keeping_a_bin(svc, source_id, body))
    if isinstance(fields, JsonResponse):
        return fields
    source, created = await sources.upsert(svc.db, source_id, fields, now_ms())
    base = public_base(svc, request)
    return JsonResponse(source_json(source, base), status_code=201 if created else 200)


@router.delete("/{source_id}", **no_content())
async def delete_source(source_id: str, svc: Services = Depends(authenticated)) -> Response:
    await sources.delete_source(svc.db, source_id)
    return Response(status_code=204)


async def _keeping_a_bin(svc: Services, source_ref: str, body: IngestSourceIn) -> IngestSourceIn:
    """``body`` as the update of ``source_ref``: a bin reads back as
    ``generic-webhook`` (``source_json``), so an update saying
    ``generic-webhook`` keeps it a bin, with its response and retention
    unless the update gives others (an SDK round trip changes nothing else).
    To make a bin an ordinary source, delete it and create one."""
    if body.type != source_config.GENERIC:
        return body
    try:
        current = await sources.get(svc.db, source_ref)
    except NotFound:
        return body
    if not bins.is_bin(current):
        return body
    config = {**bins.public_config(current.config), **body.config}
    return body.model_copy(update={"type": source_config.BIN_TYPE, "config": config})


@router.post("/{source_id}/token/rotate", **returns(s.RotateTokenOut, idempotent=True))
async def rotate_source_token(
    source_id: str, request: Request, svc: Services = Depends(authenticated)
) -> Response:
    """Give the source a new ingest URL; the previous one works 24 hours more."""

    async def handler() -> Response:
        source = await sources.rotate_token(svc.db, source_id, now_ms())
        return JsonResponse({"ingestUrl": ingest_url(source, public_base(svc, request))})

    return await idempotent(request, svc, handler)


#: An ``eventId`` / ``eventType`` filter: as long as the stored values can be.
SearchText = Annotated[str, StringConstraints(min_length=1, max_length=256)]


@router.get("/{source_id}/request", **returns(s.ListResponse[s.InboundRequestOut]))
async def list_source_requests(
    source_id: str,
    verified: bool | None = None,
    after: UtcDatetime | None = None,
    before: UtcDatetime | None = None,
    event_id: SearchText | None = Query(None, alias="eventId"),
    event_type: SearchText | None = Query(None, alias="eventType"),
    status: RequestStatus | None = None,
    limit: Limit = None,
    iterator: str | None = None,
    svc: Services = Depends(authenticated),
) -> Response:
    """Hookgate extension: the requests received by a source, newest first,
    filtered (see the module docstring)."""
    search = RequestFilter(
        verified=verified,
        after=ms_or_none(after),
        before=ms_or_none(before),
        event_id=event_id,
        event_type=event_type,
        status=status,
    )
    page = await inbound_search.list_requests(
        svc.db, source_id, search, iterator=iterator, limit=limit
    )
    return convert.list_json(page, [request_json(item) for item in page.items])


@router.get("/{source_id}/request/{request_id}", **returns(s.InboundRequestOut))
async def get_source_request(
    source_id: str, request_id: str, svc: Services = Depends(authenticated)
) -> Response:
    """Hookgate extension: one request received by a source, with what a
    ``hookgate listen`` client's local server answered (``localResponse``)."""
    stored = await inbound_search.get_request(svc.db, source_id, request_id)
    shown = request_json(stored)
    local = await request_stream.local_response(svc.db, stored.id)
    shown["localResponse"] = None if local is None else local_response_json(local)
    return JsonResponse(shown)


@router.post("/{source_id}/request/{request_id}/replay", **returns(s.ReplayOut, status=202))
async def replay_source_request(
    source_id: str, request_id: str, svc: Services = Depends(authenticated)
) -> Response:
    """Hookgate extension: forward a stored request to the destinations again."""
    try:
        message = await replay(svc.db, svc.engine.accept, source_id, request_id)
    except NotReplayable as exc:
        raise ApiError(409, str(exc)) from exc
    return JsonResponse({"msgId": message.id}, status_code=202)

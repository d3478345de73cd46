"""Messages and their attempts: ``/api/v1/app/{app_id}/msg`` and
``/api/v1/app/{app_id}/attempt``."""

from __future__ import annotations

import re
from dataclasses import replace

import orjson
from fastapi import Depends, Request, Response
from pydantic import ValidationError
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope

from hookgate.api import convert
from hookgate.api import schemas as s
from hookgate.api.auth import principal_of
from hookgate.api.deps import (
    Paging,
    Services,
    authenticated,
    check_upsert_ref,
    idempotent,
    list_filter,
    now_ms,
    services,
)
from hookgate.api.errors import ApiError, validation_response
from hookgate.api.openapi import no_content, returns
from hookgate.api.responses import JsonResponse
from hookgate.api.routing import api_router, parse_json_body
from hookgate.core import ids
from hookgate.store import messages
from hookgate.store.accept_messages import AcceptItem, AcceptStatus
from hookgate.store.messages import ListFilter
from hookgate.store.records import NewApplication

router = api_router("/api/v1/app/{app_id}", "Message")


@router.post("/msg", **returns(s.MessageOut, status=202, idempotent=True))
async def create_message(
    app_id: str,
    body: s.MessageIn,
    request: Request,
    with_content: bool = True,
    svc: Services = Depends(authenticated),
) -> Response:
    """Documents the endpoint; requests are served by ``create_message_fast``."""
    return await accept_message(svc, app_id, body, request, with_content=with_content)


async def create_message_fast(request: Request) -> Response:
    """``POST /api/v1/app/{app_id}/msg`` as a plain Starlette endpoint.

    Message creation is the hot path, so it skips FastAPI's route matching and
    dependency solving; it answers exactly as the documented route above
    (same validation, same error shapes).
    """
    principal_of(request)  # authenticated by ``api.gate.RequestGate``
    svc = services(request)
    try:
        data = parse_json_body(await _body(request.receive))
    except orjson.JSONDecodeError as exc:
        return validation_response(
            [{"loc": ["body", exc.pos], "msg": "JSON decode error", "type": "json_invalid"}]
        )
    try:
        body = s.MessageIn.model_validate(data)
    except ValidationError as exc:
        return validation_response(
            [{**error, "loc": ["body", *error["loc"]]} for error in exc.errors()]
        )
    # Most requests have no query string: no parsing for them.
    with_content = not request.scope.get("query_string") or (
        request.query_params.get("with_content", "true").lower() not in _FALSE
    )
    app_id = request.path_params["app_id"]
    return await accept_message(svc, app_id, body, request, with_content=with_content)


_FALSE = frozenset({"false", "0", "no", "off"})


async def _body(receive: Receive) -> bytes:
    """The request body, as ``Request.body`` reads it (``ClientDisconnect``
    if the client goes away first), without its stream's layers."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.request":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)
        elif message["type"] == "http.disconnect":
            raise ClientDisconnect()


class _Accepted(Response):
    """202 with an encoded JSON body: the status and headers ``JsonResponse``
    sends, without rendering or header assembly."""

    media_type = "application/json"

    def __init__(self, body: bytes) -> None:
        self.status_code = 202
        self.background = None
        self.body = body
        self.raw_headers = [
            (b"content-length", str(len(body)).encode("latin-1")),
            (b"content-type", b"application/json"),
        ]


def _idempotency_key(scope: Scope) -> str | None:
    """The request's first ``Idempotency-Key`` header, None if absent or
    empty (read from the raw list, as ``request.headers`` would decode it,
    without building ``Headers``)."""
    for name, value in scope["headers"]:
        if name == b"idempotency-key":
            return value.decode("latin-1") or None
    return None


_REFERENCE = re.compile(r"[a-zA-Z0-9\-_.]{1,256}")


async def accept_message(
    svc: Services, app_id: str, body: s.MessageIn, request: Request, *, with_content: bool
) -> Response:
    """Store the message and its deliveries durably, then answer 202."""
    if body.application is not None and body.application.uid is None:
        # The application may be created here, with the path as its uid.
        check_upsert_ref("app_id", app_id, ids.APP)
    if not _REFERENCE.fullmatch(app_id):
        # No application can have this id or uid; checked here because a
        # value the database refuses would fail the whole group commit.
        raise ApiError(404, "Application not found")
    payload = orjson.dumps(body.payload)
    if len(payload) > svc.settings.max_payload_bytes:
        raise ApiError(
            413, f"payload is {len(payload)} bytes; the limit is {svc.settings.max_payload_bytes}"
        )
    new_app = body.application
    outcome = await svc.engine.accept(
        AcceptItem(
            app_ref=app_id,
            event_type=body.event_type,
            payload=payload,
            event_id=body.event_id,
            channels=body.channels,
            tags=body.tags,
            payload_retention_days=body.payload_retention_period,
            idempotency_key=_idempotency_key(request.scope),
            new_application=NewApplication(
                name=new_app.name,
                uid=new_app.uid,
                throttle_rate=new_app.throttle_rate,
                metadata=new_app.metadata,
            )
            if new_app
            else None,
        )
    )
    if outcome.status is AcceptStatus.APP_NOT_FOUND:
        raise ApiError(404, "Application not found")
    if outcome.status is AcceptStatus.EVENT_ID_CONFLICT:
        raise ApiError(409, "A message with this eventId already exists")
    if outcome.message is None:
        raise ApiError(409, "A request with this Idempotency-Key is still being processed")
    return _Accepted(orjson.dumps(convert.message_json(outcome.message, with_content=with_content)))


@router.get("/msg", **returns(s.ListResponse[s.MessageOut]))
async def list_messages(
    app_id: str,
    paging: Paging = Depends(),
    f: ListFilter = Depends(list_filter),
    with_content: bool = True,
    svc: Services = Depends(authenticated),
) -> Response:
    page = await messages.list_messages(
        svc.db, app_id, f, iterator=paging.iterator, limit=paging.limit
    )
    return convert.list_json(
        page, [convert.message_json(m, with_content=with_content) for m in page.items]
    )


@router.get("/msg/{msg_id}", **returns(s.MessageOut))
async def get_message(
    app_id: str, msg_id: str, with_content: bool = True, svc: Services = Depends(authenticated)
) -> Response:
    msg = await messages.get_message(svc.db, app_id, msg_id)
    return JsonResponse(convert.message_json(msg, with_content=with_content))


@router.delete("/msg/{msg_id}/content", **no_content())
async def expunge_message_content(
    app_id: str, msg_id: str, svc: Services = Depends(authenticated)
) -> Response:
    await messages.expunge_message(svc.db, app_id, msg_id)
    return Response(status_code=204)


@router.get("/msg/{msg_id}/endpoint", **returns(s.ListResponse[s.MessageEndpointOut]))
async def list_message_destinations(
    app_id: str,
    msg_id: str,
    paging: Paging = Depends(),
    svc: Services = Depends(authenticated),
) -> Response:
    page = await messages.message_destinations(
        svc.db, app_id, msg_id, iterator=paging.iterator, limit=paging.limit
    )
    now = now_ms()
    return convert.list_json(
        page, [convert.message_endpoint_out(ep, d, now) for ep, d in page.items]
    )


@router.post(
    "/msg/{msg_id}/endpoint/{endpoint_id}/resend",
    **returns(s.EmptyResponse, status=202, idempotent=True),
)
async def resend(
    app_id: str,
    msg_id: str,
    endpoint_id: str,
    request: Request,
    svc: Services = Depends(authenticated),
) -> Response:
    async def handler() -> Response:
        await messages.resend(svc.db, app_id, msg_id, endpoint_id, now_ms())
        await svc.engine.wake()
        return JsonResponse({}, status_code=202)

    return await idempotent(request, svc, handler)


@router.get("/msg/{msg_id}/attempt/{attempt_id}", **returns(s.MessageAttemptOut))
async def get_attempt(
    app_id: str, msg_id: str, attempt_id: str, svc: Services = Depends(authenticated)
) -> Response:
    attempt = await messages.get_attempt(svc.db, app_id, msg_id, attempt_id)
    return convert.model_response(convert.attempt_out(attempt))


@router.delete("/msg/{msg_id}/attempt/{attempt_id}/content", **no_content())
async def expunge_attempt_content(
    app_id: str, msg_id: str, attempt_id: str, svc: Services = Depends(authenticated)
) -> Response:
    await messages.expunge_attempt(svc.db, app_id, msg_id, attempt_id)
    return Response(status_code=204)


@router.get("/attempt/endpoint/{endpoint_id}", **returns(s.ListResponse[s.MessageAttemptOut]))
async def list_attempts_by_endpoint(
    app_id: str,
    endpoint_id: str,
    paging: Paging = Depends(),
    f: ListFilter = Depends(list_filter),
    with_content: bool = True,
    svc: Services = Depends(authenticated),
) -> Response:
    page = await messages.list_attempts(
        svc.db, app_id, f, endpoint_ref=endpoint_id, iterator=paging.iterator, limit=paging.limit
    )
    return convert.list_json(page, [convert.attempt_out(a) for a in page.items])


@router.get("/attempt/msg/{msg_id}", **returns(s.ListResponse[s.MessageAttemptOut]))
async def list_attempts_by_message(
    app_id: str,
    msg_id: str,
    paging: Paging = Depends(),
    f: ListFilter = Depends(list_filter),
    endpoint_id: str | None = None,
    with_content: bool = True,
    svc: Services = Depends(authenticated),
) -> Response:
    page = await messages.list_attempts(
        svc.db,
        app_id,
        replace(f, endpoint_id=endpoint_id),
        msg_ref=msg_id,
        iterator=paging.iterator,
        limit=paging.limit,
    )
    return convert.list_json(page, [convert.attempt_out(a) for a in page.items])


@router.get("/endpoint/{endpoint_id}/msg", **returns(s.ListResponse[s.EndpointMessageOut]))
async def list_endpoint_messages(
    app_id: str,
    endpoint_id: str,
    paging: Paging = Depends(),
    f: ListFilter = Depends(list_filter),
    with_content: bool = True,
    svc: Services = Depends(authenticated),
) -> Response:
    page = await messages.endpoint_messages(
        svc.db, app_id, endpoint_id, f, iterator=paging.iterator, limit=paging.limit
    )
    now = now_ms()
    return convert.list_json(
        page,
        [
            convert.endpoint_message_json(m, d, now, with_content=with_content)
            for m, d in page.items
        ],
    )

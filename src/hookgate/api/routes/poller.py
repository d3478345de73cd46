"""``/api/v1/app/{app_id}/poller/{sink_id}``: the message poller. A polling
endpoint (an endpoint whose URL is ``svix-poller://...``) is read here by
its consumer instead of being pushed to (``store.poller``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError

from hookgate.api import convert
from hookgate.api.deps import Limit, Services, authenticated, idempotent, ms_or_none, now_ms
from hookgate.api.openapi import returns
from hookgate.api.responses import JsonResponse
from hookgate.api.routing import api_router
from hookgate.api.schemas.base import UtcDatetime
from hookgate.api.schemas.poller import (
    PollingEndpointConsumerSeekIn,
    PollingEndpointConsumerSeekOut,
    PollingEndpointOut,
)
from hookgate.store import poller
from hookgate.store.poller import BadIterator, MessageFilter, PollPage

router = api_router("/api/v1/app/{app_id}/poller/{sink_id}", "Message Poller")


def _page_json(page: PollPage) -> JsonResponse:
    return JsonResponse(
        {
            "data": [convert.message_json(m) for m in page.messages],
            "iterator": page.iterator,
            "done": page.done,
        }
    )


async def _answer(read: Callable[[], Awaitable[PollPage]]) -> JsonResponse:
    try:
        return _page_json(await read())
    except BadIterator:
        raise RequestValidationError(
            [{"loc": ("query", "iterator"), "msg": "invalid iterator", "type": "value_error"}]
        ) from None


@router.get("", **returns(PollingEndpointOut))
async def poll(
    app_id: str,
    sink_id: str,
    limit: Limit = None,
    iterator: str | None = None,
    event_type: str | None = None,
    channel: str | None = None,
    after: UtcDatetime | None = None,
    svc: Services = Depends(authenticated),
) -> Response:
    """Read the application's messages that pass the polling endpoint's
    filters (and ``event_type`` / ``channel``), in order, from ``iterator``
    (or from ``after``, or the endpoint's creation)."""
    return await _answer(
        lambda: poller.poll(
            svc.db,
            app_id,
            sink_id,
            iterator=iterator,
            limit=limit,
            after_ms=ms_or_none(after),
            filters=MessageFilter(event_type=event_type, channel=channel),
            now_ms=now_ms(),
        )
    )


@router.get("/consumer/{consumer_id}", **returns(PollingEndpointOut))
async def consumer_poll(
    app_id: str,
    sink_id: str,
    consumer_id: str,
    limit: Limit = None,
    iterator: str | None = None,
    svc: Services = Depends(authenticated),
) -> Response:
    """Read on from the consumer's position kept by the server, which moves
    past what is returned."""
    _check_consumer(consumer_id)
    return await _answer(
        lambda: poller.consumer_poll(
            svc.db,
            app_id,
            sink_id,
            consumer_id,
            iterator=iterator,
            limit=limit,
            now_ms=now_ms(),
        )
    )


@router.post(
    "/consumer/{consumer_id}/seek", **returns(PollingEndpointConsumerSeekOut, idempotent=True)
)
async def consumer_seek(
    app_id: str,
    sink_id: str,
    consumer_id: str,
    body: PollingEndpointConsumerSeekIn,
    request: Request,
    svc: Services = Depends(authenticated),
) -> Response:
    """Move the consumer to the messages created at or after ``after``."""
    _check_consumer(consumer_id)

    async def handler() -> Response:
        iterator = await poller.consumer_seek(
            svc.db,
            app_id,
            sink_id,
            consumer_id,
            after_ms=convert.to_ms(body.after),
            now_ms=now_ms(),
        )
        return convert.model_response(PollingEndpointConsumerSeekOut(iterator=iterator))

    return await idempotent(request, svc, handler)


def _check_consumer(consumer_id: str) -> None:
    if not 1 <= len(consumer_id) <= 256:
        raise RequestValidationError(
            [
                {
                    "loc": ("path", "consumer_id"),
                    "msg": "must be 1 to 256 characters",
                    "type": "value_error",
                }
            ]
        )

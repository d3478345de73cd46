"""``/api/v1/event-type``: the event type catalogue."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request, Response

from hookgate.api import convert
from hookgate.api import schemas as s
from hookgate.api.deps import Limit, Services, authenticated, idempotent, now_ms
from hookgate.api.openapi import no_content, returns
from hookgate.api.routing import api_router
from hookgate.api.schemas.base import NAME_PATTERN
from hookgate.store import event_types

#: The name in the path of a PUT, which may create the event type.
NewEventTypeName = Annotated[str, Path(max_length=256, pattern=NAME_PATTERN)]

router = api_router("/api/v1/event-type", "Event Type")


@router.get("", **returns(s.ListResponse[s.EventTypeOut]))
async def list_event_types(
    limit: Limit = None,
    iterator: str | None = None,
    order: s.Ordering = s.Ordering.ASCENDING,
    include_archived: bool = False,
    with_content: bool = False,
    svc: Services = Depends(authenticated),
) -> Response:
    page = await event_types.list_page(
        svc.db,
        iterator=iterator,
        limit=limit,
        descending=order is s.Ordering.DESCENDING,
        include_archived=include_archived,
    )
    items = [convert.event_type_out(et) for et in page.items]
    if not with_content:
        items = [item.model_copy(update={"schemas": None}) for item in items]
    return convert.list_json(page, items)


@router.post("", **returns(s.EventTypeOut, status=201, idempotent=True))
async def create_event_type(
    body: s.EventTypeIn, request: Request, svc: Services = Depends(authenticated)
) -> Response:
    async def handler() -> Response:
        et = await event_types.create(
            svc.db, body.name, body.model_dump(exclude={"name"}), now_ms()
        )
        return convert.model_response(convert.event_type_out(et), 201)

    return await idempotent(request, svc, handler)


@router.get("/{event_type_name}", **returns(s.EventTypeOut))
async def get_event_type(event_type_name: str, svc: Services = Depends(authenticated)) -> Response:
    return convert.model_response(
        convert.event_type_out(await event_types.get(svc.db, event_type_name))
    )


@router.put("/{event_type_name}", **returns(s.EventTypeOut, 201))
async def upsert_event_type(
    event_type_name: NewEventTypeName,
    body: s.EventTypeUpdate,
    svc: Services = Depends(authenticated),
) -> Response:
    et, created = await event_types.upsert(svc.db, event_type_name, body.model_dump(), now_ms())
    return convert.model_response(convert.event_type_out(et), 201 if created else 200)


@router.patch("/{event_type_name}", **returns(s.EventTypeOut))
async def patch_event_type(
    event_type_name: str, body: s.EventTypePatch, svc: Services = Depends(authenticated)
) -> Response:
    et = await event_types.patch(
        svc.db, event_type_name, body.model_dump(exclude_unset=True), now_ms()
    )
    return convert.model_response(convert.event_type_out(et))


@router.delete("/{event_type_name}", **no_content())
async def delete_event_type(
    event_type_name: str, expunge: bool = False, svc: Services = Depends(authenticated)
) -> Response:
    await event_types.archive(svc.db, event_type_name, now_ms(), expunge=expunge)
    return Response(status_code=204)

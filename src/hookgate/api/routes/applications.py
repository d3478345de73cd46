"""``/api/v1/app``: applications."""

from __future__ import annotations

from fastapi import Depends, Request, Response

from hookgate.api import convert
from hookgate.api import schemas as s
from hookgate.api.deps import (
    Limit,
    Services,
    UpsertRef,
    authenticated,
    check_upsert_ref,
    idempotent,
    now_ms,
)
from hookgate.api.openapi import no_content, returns
from hookgate.api.routing import api_router
from hookgate.core import ids
from hookgate.store import applications

router = api_router("/api/v1/app", "Application")


@router.get("", **returns(s.ListResponse[s.ApplicationOut]))
async def list_applications(
    limit: Limit = None,
    iterator: str | None = None,
    order: s.Ordering = s.Ordering.ASCENDING,
    svc: Services = Depends(authenticated),
) -> Response:
    page = await applications.list_page(
        svc.db, iterator=iterator, limit=limit, descending=order is s.Ordering.DESCENDING
    )
    return convert.list_json(page, [convert.application_out(a) for a in page.items])


@router.post("", **returns(s.ApplicationOut, 200, status=201, idempotent=True))
async def create_application(
    body: s.ApplicationIn,
    request: Request,
    get_if_exists: bool = False,
    svc: Services = Depends(authenticated),
) -> Response:
    async def handler() -> Response:
        app, created = await applications.create(
            svc.db, body.model_dump(), now_ms(), get_if_exists=get_if_exists
        )
        return convert.model_response(convert.application_out(app), 201 if created else 200)

    return await idempotent(request, svc, handler)


@router.get("/{app_id}", **returns(s.ApplicationOut))
async def get_application(app_id: str, svc: Services = Depends(authenticated)) -> Response:
    return convert.model_response(convert.application_out(await applications.get(svc.db, app_id)))


@router.put("/{app_id}", **returns(s.ApplicationOut, 201))
async def upsert_application(
    app_id: UpsertRef, body: s.ApplicationIn, svc: Services = Depends(authenticated)
) -> Response:
    check_upsert_ref("app_id", app_id, ids.APP)
    app, created = await applications.upsert(svc.db, app_id, body.model_dump(), now_ms())
    return convert.model_response(convert.application_out(app), 201 if created else 200)


@router.patch("/{app_id}", **returns(s.ApplicationOut))
async def patch_application(
    app_id: str, body: s.ApplicationPatch, svc: Services = Depends(authenticated)
) -> Response:
    fields = body.model_dump(exclude_unset=True)
    if "metadata" in fields and fields["metadata"] is None:
        fields["metadata"] = {}
    app = await applications.update_fields(svc.db, app_id, fields, now_ms())
    return convert.model_response(convert.application_out(app))


@router.delete("/{app_id}", **no_content())
async def delete_application(app_id: str, svc: Services = Depends(authenticated)) -> Response:
    await applications.delete_app(svc.db, app_id)
    return Response(status_code=204)

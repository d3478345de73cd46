"""``/api/v1/auth``: app portal access links and logout."""

from __future__ import annotations

import secrets

from fastapi import Depends, Request, Response

from hookgate.api import convert
from hookgate.api import schemas as s
from hookgate.api.deps import Services, authenticated, check_upsert_ref, idempotent, now_ms
from hookgate.api.openapi import no_content, returns
from hookgate.api.routing import api_router
from hookgate.core import ids
from hookgate.store import applications
from hookgate.store.errors import NotFound
from hookgate.store.records import Application

router = api_router("/api/v1/auth", "Authentication")


@router.post("/app-portal-access/{app_id}", **returns(s.AppPortalAccessOut, idempotent=True))
async def app_portal_access(
    app_id: str,
    request: Request,
    body: s.AppPortalAccessIn | None = None,
    svc: Services = Depends(authenticated),
) -> Response:
    """A one-off token and URL for the application's consumer portal.

    The token is scoped to the portal: it is not a management API token.
    """

    async def handler() -> Response:
        app = await _find_or_create(svc, app_id, body)
        token = "appsk_" + secrets.token_urlsafe(32)
        base = (svc.settings.public_url or str(request.base_url)).rstrip("/")
        url = f"{base}/portal/{app.id}#key={token}"
        return convert.model_response(s.AppPortalAccessOut(token=token, url=url))

    return await idempotent(request, svc, handler)


@router.post("/logout", **no_content(idempotent=True))
async def logout(_: Services = Depends(authenticated)) -> Response:
    return Response(status_code=204)


async def _find_or_create(
    svc: Services, app_id: str, body: s.AppPortalAccessIn | None
) -> Application:
    """The application, created from ``body.application`` if it is missing."""
    try:
        return await applications.get(svc.db, app_id)
    except NotFound:
        if body is None or body.application is None:
            raise
    fields = body.application.model_dump()
    if fields.get("uid") is None and not ids.looks_like_id(app_id, ids.APP):
        fields["uid"] = check_upsert_ref("app_id", app_id, ids.APP)
    app, _ = await applications.create(svc.db, fields, now_ms(), get_if_exists=True)
    return app

"""``/api/v1/auth``: consumer-portal access links, their expiry and logout."""

from __future__ import annotations

from fastapi import Depends, Request, Response

from hookgate.api import convert
from hookgate.api import schemas as s
from hookgate.api.auth import principal_of
from hookgate.api.deps import Services, authenticated, check_upsert_ref, idempotent, now_ms
from hookgate.api.errors import ApiError
from hookgate.api.openapi import no_content, returns
from hookgate.api.routing import api_router
from hookgate.core import ids
from hookgate.core.portal import DEFAULT_EXPIRY_S, capabilities_of
from hookgate.store import applications, portal_tokens
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
    """A login link to the application's consumer portal, and its token.

    The token is scoped to that one application and to the portal (it opens
    no management API route but logout); it travels in the link's fragment
    (``#key=``), which browsers never send to a server, and the portal page
    exchanges it for a session cookie. It expires after ``expiry`` seconds
    (7 days by default).
    """

    async def handler() -> Response:
        app = await _find_or_create(svc, app_id, body)
        now = now_ms()
        expiry_s = (body.expiry if body else None) or DEFAULT_EXPIRY_S
        token = await portal_tokens.create(
            svc.db,
            app.id,
            capabilities=capabilities_of(body.capabilities if body else None),
            read_only=bool(body and body.read_only),
            session_id=body.session_id if body else None,
            now_ms=now,
            expires_at=now + expiry_s * 1000,
        )
        base = (svc.settings.public_url or str(request.base_url)).rstrip("/")
        url = f"{base}/portal/{app.id}#key={token}"
        return convert.model_response(s.AppPortalAccessOut(token=token, url=url))

    return await idempotent(request, svc, handler)


@router.post("/app/{app_id}/expire-all", **no_content(idempotent=True))
async def expire_all(
    app_id: str,
    request: Request,
    body: s.ApplicationTokenExpireIn | None = None,
    svc: Services = Depends(authenticated),
) -> Response:
    """Expire the application's portal tokens, and the portal sessions opened
    with them, in ``expiry`` seconds (at once by default); only those made
    with one of ``sessionIds`` when given."""

    async def handler() -> Response:
        app = await applications.get(svc.db, app_id)
        expiry_s = (body.expiry if body else None) or 0
        await portal_tokens.expire_all(
            svc.db, app.id, now_ms() + expiry_s * 1000, body.session_ids if body else None
        )
        return Response(status_code=204)

    return await idempotent(request, svc, handler)


@router.post("/logout", **no_content(idempotent=True))
async def logout(request: Request, _: Services = Depends(authenticated)) -> Response:
    """Log out the consumer-portal token presented: it, and every portal
    session opened with it, stop working at once. Other tokens cannot log
    out (403): revoke an API token with ``hookgate token revoke``."""
    principal = principal_of(request)
    if principal.app_id is None or principal.token_id is None:
        raise ApiError(
            403,
            "Only a consumer-portal token can log out; revoke an API token with"
            " 'hookgate token revoke'",
        )
    await portal_tokens.revoke(request.app.state.services.db, principal.token_id)
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

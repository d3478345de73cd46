"""The consumer portal's entry: ``/portal/{app_id}``, its session and logout.

A portal link (``POST /api/v1/auth/app-portal-access/{app_id}``) carries its
token in the fragment (``#key=appsk_...``), which no browser sends to a
server. Without a session the landing page's script
(``static/portal-login.js``) posts the token to ``/portal/{app_id}/session``,
which answers with the session cookie, then drops the fragment and reloads;
with a session the landing page is the portal's home, the endpoint list.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse

from hookgate.api.deps import services
from hookgate.core.clock import now_ms
from hookgate.store import endpoints, portal_tokens, web_sessions
from hookgate.web import sessions
from hookgate.web.routes.portal_common import page_url, portal_page
from hookgate.web.sessions import PORTAL_COOKIE, PortalSession, set_cookie
from hookgate.web.templating import page

router = APIRouter(include_in_schema=False)

#: The longest token the session route reads (a portal token is ~50 chars).
_MAX_TOKEN = 200


@router.get("/portal/{app_id}")
async def landing(request: Request, app_id: str, iterator: str | None = None) -> Response:
    """The endpoint list with a session for this application, else the page
    that exchanges the link's token for one."""
    try:
        session = await sessions.portal(request)
    except sessions.LoginRequired:
        logged_out = request.query_params.get("done") == "logout"
        return _login_page(request, app_id, logged_out=logged_out)
    return await _home(request, session, iterator)


def _login_page(request: Request, app_id: str, *, logged_out: bool) -> Response:
    return page(
        request,
        "portal_login.html",
        {"session_url": f"/portal/{app_id}/session", "logged_out": logged_out},
    )


async def _home(request: Request, session: PortalSession, iterator: str | None) -> Response:
    app_id = session.grant.app_id
    listing = await endpoints.list_page(
        services(request).db, app_id, iterator=iterator, limit=None, descending=True
    )
    here = f"/portal/{app_id}"
    return await portal_page(
        request,
        session,
        "portal_home.html",
        {
            "endpoints": listing.items,
            "next_url": None if listing.done else page_url(here, listing.iterator),
            "prev_url": page_url(here, listing.prev_iterator) if iterator else None,
        },
    )


@router.post("/portal/{app_id}/session")
async def open_session(request: Request, app_id: str) -> Response:
    """Exchange a portal token (JSON ``{"token": ...}``) for a session cookie
    of this application's portal: 204, or 401 for a token that is unknown,
    expired, logged out or for another application."""
    token = await _token_of(request)
    svc = services(request)
    now = now_ms()
    grant = None if token is None else await portal_tokens.identify(svc.db, token, now)
    if grant is None or grant.app_id != app_id:
        return Response(status_code=401)
    secret = await web_sessions.create_portal(svc.db, grant, now, grant.expires_at)
    response = Response(status_code=204)
    max_age = max(1, (grant.expires_at - now) // 1000)
    set_cookie(
        response, request, PORTAL_COOKIE, secret, path=cookie_path(grant.app_id), max_age=max_age
    )
    return response


def cookie_path(app_id: str) -> str:
    """The portal cookie's path: one application's pages, so that a browser
    holds a session per application and opening a second customer's portal
    does not end the first's."""
    return f"/portal/{app_id}"


async def _token_of(request: Request) -> str | None:
    """The token of a JSON body; only JSON, which no other site's form can
    send, so that no page elsewhere can plant a session in this browser."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return None
    body = await request.body()
    if len(body) > _MAX_TOKEN + 20:
        return None
    try:
        value = json.loads(body).get("token")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) and value.isascii() else None


@router.post("/portal/{app_id}/logout")
async def logout(request: Request, session: PortalSession = Depends(sessions.portal)) -> Response:
    """End this browser's portal session (the link's token stays valid: the
    link opens the portal again)."""
    secret = request.cookies.get(PORTAL_COOKIE)
    if secret:
        await web_sessions.end(services(request).db, secret)
    response = RedirectResponse(f"/portal/{session.grant.app_id}?done=logout", status_code=303)
    response.delete_cookie(PORTAL_COOKIE, path=cookie_path(session.grant.app_id))
    return response

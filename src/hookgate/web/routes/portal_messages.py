"""The consumer portal's message log: the application's messages, those
routed to one endpoint, a message with its attempts, and resending it
(``can_create_attempts`` only)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse

from hookgate.api.deps import services
from hookgate.core.clock import now_ms
from hookgate.store import endpoints, messages
from hookgate.store.messages import ListFilter
from hookgate.web.routes.portal_common import after, page_url, portal_page, refuse_unless
from hookgate.web.sessions import PortalSession, portal

router = APIRouter(prefix="/portal/{app_id}", include_in_schema=False)

#: Attempts shown on a message's page (newest first).
_ATTEMPTS = 100


@router.get("/messages")
async def message_log(
    request: Request, iterator: str | None = None, session: PortalSession = Depends(portal)
) -> Response:
    app_id = session.grant.app_id
    listing = await messages.list_messages(
        services(request).db, app_id, ListFilter(), iterator=iterator, limit=None
    )
    here = f"/portal/{app_id}/messages"
    return await portal_page(
        request,
        session,
        "portal_messages.html",
        {
            "endpoint": None,
            "rows": [(msg, None) for msg in listing.items],
            "next_url": None if listing.done else page_url(here, listing.iterator),
            "prev_url": page_url(here, listing.prev_iterator) if iterator else None,
        },
    )


@router.get("/endpoints/{endpoint_id}/messages")
async def endpoint_message_log(
    request: Request,
    endpoint_id: str,
    iterator: str | None = None,
    session: PortalSession = Depends(portal),
) -> Response:
    db = services(request).db
    app_id = session.grant.app_id
    ep = await endpoints.get(db, app_id, endpoint_id)
    listing = await messages.endpoint_messages(
        db, app_id, ep.id, ListFilter(), iterator=iterator, limit=None
    )
    here = f"/portal/{app_id}/endpoints/{ep.id}/messages"
    return await portal_page(
        request,
        session,
        "portal_messages.html",
        {
            "endpoint": ep,
            "rows": listing.items,
            "next_url": None if listing.done else page_url(here, listing.iterator),
            "prev_url": page_url(here, listing.prev_iterator) if iterator else None,
        },
    )


@router.get("/messages/{msg_id}")
async def message_detail(
    request: Request, msg_id: str, session: PortalSession = Depends(portal)
) -> Response:
    """The payload, each endpoint it went to with its state, every attempt."""
    db = services(request).db
    app_id = session.grant.app_id
    msg = await messages.get_message(db, app_id, msg_id)
    destinations = await messages.message_destinations(db, app_id, msg.id, iterator=None, limit=250)
    attempts = await messages.list_attempts(
        db, app_id, ListFilter(), msg_ref=msg.id, iterator=None, limit=_ATTEMPTS
    )
    return await portal_page(
        request,
        session,
        "portal_message.html",
        {
            "message": msg,
            "destinations": destinations.items,
            "endpoint_urls": {ep.id: ep.url for ep, _ in destinations.items},
            "attempts": attempts.items,
        },
    )


@router.post("/messages/{msg_id}/resend")
async def resend(
    request: Request, msg_id: str, session: PortalSession = Depends(portal)
) -> Response:
    """Send the message again to the endpoint of the form (``endpoint_id``)."""
    refuse_unless(session.grant.can_create_attempts, "send messages again")
    svc = services(request)
    app_id = session.grant.app_id
    form = await request.form()
    msg = await messages.get_message(svc.db, app_id, msg_id)
    await messages.resend(svc.db, app_id, msg.id, str(form.get("endpoint_id") or ""), now_ms())
    await svc.engine.wake()
    return RedirectResponse(after(f"/portal/{app_id}/messages/{msg.id}", "resent"), 303)

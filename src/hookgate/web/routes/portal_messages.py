"""The consumer portal's message log: the application's messages, those
routed to one endpoint, a message with its attempts, and resending it
(``can_create_attempts`` only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse

from hookgate.api.deps import services
from hookgate.core.clock import now_ms
from hookgate.store import endpoints, messages
from hookgate.store.messages import ListFilter
from hookgate.store.pagination import Page
from hookgate.store.records import Endpoint
from hookgate.web import attempts_view, forms
from hookgate.web.routes.portal_common import after, page_url, portal_page, refuse_unless
from hookgate.web.sessions import PortalSession, portal

router = APIRouter(prefix="/portal/{app_id}", include_in_schema=False)


#: The outcomes the endpoint log filters by (``DeliveryStatus``).
STATUSES = {"success": 0, "pending": 1, "failed": 2, "sending": 3}


@router.get("/messages")
async def message_log(
    request: Request,
    iterator: str | None = None,
    event_type: str | None = None,
    session: PortalSession = Depends(portal),
) -> Response:
    """The application's messages, newest first, optionally of one event type."""
    return await _log(request, session, None, iterator, event_type, None)


@router.get("/endpoints/{endpoint_id}/messages")
async def endpoint_message_log(
    request: Request,
    endpoint_id: str,
    iterator: str | None = None,
    event_type: str | None = None,
    status: str | None = None,
    session: PortalSession = Depends(portal),
) -> Response:
    """The messages routed to one endpoint with their delivery state,
    optionally of one event type and one outcome."""
    ep = await endpoints.get(services(request).db, session.grant.app_id, endpoint_id)
    return await _log(request, session, ep, iterator, event_type, status)


async def _log(
    request: Request,
    session: PortalSession,
    ep: Endpoint | None,
    iterator: str | None,
    event_type: str | None,
    status: str | None,
) -> Response:
    db = services(request).db
    app_id = session.grant.app_id
    event_type = (event_type or "").strip() or None
    status = status or None
    context: dict[str, Any] = {
        "endpoint": ep,
        "event_type": event_type or "",
        "status": status or "",
        "statuses": list(STATUSES),
        "rows": [],
        "next_url": None,
        "prev_url": None,
        "problem": None,
    }
    if event_type is not None and not forms.is_event_type(event_type):
        context["problem"] = "An event type is letters, digits, '.', '-' and '_' only."
    elif status is not None and status not in STATUSES:
        context["problem"] = f"The outcome is one of {', '.join(STATUSES)}."
    if context["problem"]:
        return await portal_page(request, session, "portal_messages.html", context, 422)
    f = ListFilter(
        event_types=[event_type] if event_type else None,
        status=STATUSES[status] if status else None,
    )
    listing: Page[Any]
    if ep is None:
        listing = await messages.list_messages(db, app_id, f, iterator=iterator, limit=None)
        rows: list[Any] = [(msg, None) for msg in listing.items]
        here = f"/portal/{app_id}/messages"
    else:
        listing = await messages.endpoint_messages(
            db, app_id, ep.id, f, iterator=iterator, limit=None
        )
        rows = list(listing.items)
        here = f"/portal/{app_id}/endpoints/{ep.id}/messages"
    params = {"event_type": event_type, "status": status}
    context |= {
        "rows": rows,
        "next_url": None if listing.done else page_url(here, listing.iterator, **params),
        "prev_url": page_url(here, listing.prev_iterator, **params) if iterator else None,
    }
    return await portal_page(request, session, "portal_messages.html", context)


@router.get("/messages/{msg_id}")
async def message_detail(
    request: Request, msg_id: str, session: PortalSession = Depends(portal)
) -> Response:
    """The payload, and each endpoint it went to with its attempts explained
    (the shared ``partials/attempts.html``)."""
    msg = await messages.get_message(services(request).db, session.grant.app_id, msg_id)
    context = await _attempts(request, session, msg.id, with_resend=msg.payload is not None)
    return await portal_page(request, session, "portal_message.html", {"message": msg, **context})


@router.get("/messages/{msg_id}/attempts")
async def message_attempts(
    request: Request, msg_id: str, session: PortalSession = Depends(portal)
) -> Response:
    """The attempts part of a message's page alone (it polls this while a
    delivery is pending)."""
    msg = await messages.get_message(services(request).db, session.grant.app_id, msg_id)
    context = await _attempts(request, session, msg.id, with_resend=msg.payload is not None)
    return await portal_page(request, session, "partials/attempts.html", context)


async def _attempts(
    request: Request, session: PortalSession, msg_id: str, *, with_resend: bool
) -> dict[str, Any]:
    base = f"/portal/{session.grant.app_id}/messages/{msg_id}"
    allowed = with_resend and session.grant.can_create_attempts

    def resend_url(endpoint: Endpoint) -> str | None:
        return f"{base}/endpoints/{endpoint.id}/resend" if allowed else None

    view = await attempts_view.message_attempts(
        services(request).db, session.grant.app_id, msg_id, resend_url=resend_url
    )
    return attempts_view.attempts_context(
        view, poll_url=f"{base}/attempts", csrf_token=session.csrf_token
    )


@router.post("/messages/{msg_id}/endpoints/{endpoint_id}/resend")
async def resend(
    request: Request, msg_id: str, endpoint_id: str, session: PortalSession = Depends(portal)
) -> Response:
    """Send the message again to that endpoint."""
    refuse_unless(session.grant.can_create_attempts, "send messages again")
    svc = services(request)
    app_id = session.grant.app_id
    msg = await messages.get_message(svc.db, app_id, msg_id)
    await messages.resend(svc.db, app_id, msg.id, endpoint_id, now_ms())
    await svc.engine.wake()
    return RedirectResponse(after(f"/portal/{app_id}/messages/{msg.id}", "resent"), 303)

"""``/apps`` and ``/apps/{app_id}``: the applications, and one application
with its endpoints and each endpoint's health. ``app_id`` is an id or a uid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response

from hookgate.api.deps import Services, services
from hookgate.core.clock import DAY_MS, now_ms
from hookgate.core.endpoint_report import Outcome, Report, report
from hookgate.store import applications, endpoint_activity, endpoints
from hookgate.store.records import Attempt, DeliveryStatus, Endpoint
from hookgate.web.sessions import OperatorSession, operator
from hookgate.web.templating import page

router = APIRouter(include_in_schema=False)

#: Applications and endpoints a list page shows.
PAGE_SIZE = 20
#: Attempts an endpoint's health is computed from on the application page.
RECENT_ATTEMPTS = 30

#: What ``?done=`` after an action tells the operator (fixed texts: nothing
#: of the query string is echoed).
NOTICES = {
    "enabled": "The endpoint is enabled: deliveries to it resume.",
    "disabled": "The endpoint is disabled: nothing is sent to it until it is enabled.",
    "rotated": "The secret was rotated; the previous one keeps signing for 24 hours.",
    "recovered": "Failed messages were queued again.",
    "example": "An example event was sent to this endpoint.",
}


@dataclass(frozen=True, slots=True)
class EndpointHealth:
    endpoint: Endpoint
    report: Report
    #: Newest attempts, newest first.
    recent: list[Attempt]


async def endpoint_health(
    svc: Services, eps: Sequence[Endpoint], *, recent: int
) -> list[EndpointHealth]:
    """Each endpoint with its health from its ``recent`` newest attempts."""
    now = now_ms()
    found = await endpoint_activity.activity(svc.db, [ep.id for ep in eps], recent=recent)
    disable_after_ms = int(svc.settings.disable_after_days * DAY_MS)
    healths = []
    for ep in eps:
        seen = found.get(ep.id)
        attempts = seen.recent if seen else []
        outcomes = [
            Outcome(a.status == DeliveryStatus.SUCCESS, a.response_status_code, a.created_at)
            for a in attempts
        ]
        summary = report(
            outcomes,
            disabled=ep.disabled,
            failing_since=seen.failing_since if seen else None,
            paused_until=seen.paused_until if seen else None,
            now_ms=now,
            disable_after_ms=disable_after_ms,
            looked_at=recent,
        )
        healths.append(EndpointHealth(ep, summary, attempts))
    return healths


def page_links(
    path: str, iterator: str | None, prev: str | None, done: bool
) -> dict[str, str | None]:
    """The pager's links for a page of a cursor list at ``path``."""
    return {
        "next_url": None if done else f"{path}?{urlencode({'iterator': iterator})}",
        "prev_url": f"{path}?{urlencode({'iterator': prev})}" if prev else None,
    }


@router.get("/apps")
async def list_apps(
    request: Request, iterator: str | None = None, session: OperatorSession = Depends(operator)
) -> Response:
    """Applications, newest first, a page at a time."""
    found = await applications.list_page(
        services(request).db, iterator=iterator, limit=PAGE_SIZE, descending=True
    )
    prev = found.prev_iterator if iterator else None
    return page(
        request,
        "apps.html",
        {
            "csrf_token": session.csrf_token,
            "apps": found.items,
            **page_links("/apps", found.iterator, prev, found.done),
        },
    )


@router.get("/apps/{app_id}")
async def show_app(
    request: Request,
    app_id: str,
    iterator: str | None = None,
    done: str | None = None,
    session: OperatorSession = Depends(operator),
) -> Response:
    """The application, its endpoints a page at a time, each with its health."""
    svc = services(request)
    app = await applications.get(svc.db, app_id)
    found = await endpoints.list_page(
        svc.db, app.id, iterator=iterator, limit=PAGE_SIZE, descending=False
    )
    prev = found.prev_iterator if iterator else None
    return page(
        request,
        "apps_show.html",
        {
            "csrf_token": session.csrf_token,
            "app": app,
            "endpoints": await endpoint_health(svc, found.items, recent=RECENT_ATTEMPTS),
            "notice": NOTICES.get(done or ""),
            **page_links(f"/apps/{app.id}", found.iterator, prev, found.done),
        },
    )

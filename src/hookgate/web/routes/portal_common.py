"""What every consumer-portal page shares: its context and the capability
checks.

Every portal page is scoped by the session's grant (``PortalSession.grant``):
store calls always take ``grant.app_id`` as the application, never an id
from the URL alone, so an id of another application is simply not found.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Request, Response
from starlette.exceptions import HTTPException

from hookgate.api.deps import services
from hookgate.store import applications
from hookgate.web.sessions import PortalSession
from hookgate.web.templating import page


def refuse_unless(allowed: bool, what: str) -> None:
    """A 403 page unless ``allowed``: ``what`` says which change was refused."""
    if not allowed:
        raise HTTPException(403, f"This portal link does not allow you to {what}.")


async def portal_page(
    request: Request,
    session: PortalSession,
    template: str,
    context: dict[str, Any],
    status_code: int = 200,
) -> Response:
    """Render a portal page: ``context`` plus the application, the grant and
    the CSRF token every portal template uses."""
    grant = session.grant
    app = await applications.get(services(request).db, grant.app_id)
    full = {
        "app": app,
        "grant": grant,
        "base": f"/portal/{grant.app_id}",
        "csrf_token": session.csrf_token,
        "notice": NOTICES.get(request.query_params.get("done", "")),
        **context,
    }
    return page(request, template, full, status_code=status_code)


def page_url(path: str, iterator: str | None, **params: str | None) -> str | None:
    """``path`` continuing at ``iterator`` (None when there is no such page)."""
    if iterator is None:
        return None
    query = {k: v for k, v in params.items() if v} | {"iterator": iterator}
    return f"{path}?{urlencode(query)}"


#: What a page says after a change sent the browser there (``?done=``);
#: fixed texts, so that no link can make a portal page say anything else.
NOTICES = {
    "created": "The endpoint was created.",
    "updated": "The endpoint was saved.",
    "deleted": "The endpoint was deleted.",
    "disabled": "The endpoint is disabled: nothing is sent to it until you enable it.",
    "enabled": "The endpoint is enabled.",
    "rotated": "A new signing secret is in use; the previous one keeps signing for a day.",
    "recovered": "Failed messages since that time will be sent again.",
    "resent": "The message will be sent again.",
    "example": "An example message was sent to the endpoint.",
}


def after(path: str, done: str) -> str:
    """``path`` showing the notice ``NOTICES[done]``."""
    return f"{path}?{urlencode({'done': done})}"

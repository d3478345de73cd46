"""``/``: the overview of everything Hookgate is doing."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from hookgate.api.deps import services
from hookgate.core.clock import now_ms
from hookgate.store import overview as figures
from hookgate.web.sessions import OperatorSession, operator
from hookgate.web.templating import page

router = APIRouter(include_in_schema=False)

#: The verdicts of received requests, in the order the page shows them.
VERDICTS = ("accepted", "rejected", "duplicate")


@router.get("/")
async def overview(request: Request, session: OperatorSession = Depends(operator)) -> Response:
    """Messages, attempts, latency, the delivery backlog, endpoints in
    trouble and received requests, over the last hour and the last day."""
    now = now_ms()
    summary = await figures.overview(services(request).db, now)
    return page(
        request,
        "overview.html",
        {
            "csrf_token": session.csrf_token,
            "now": now,
            "windows": [("Last hour", summary.hour), ("Last 24 hours", summary.day)],
            "summary": summary,
            "verdicts": VERDICTS,
            "overdue_after_ms": figures.OVERDUE_AFTER_MS,
        },
    )

"""``/``: the overview of everything Hookgate is doing."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from hookgate.web.sessions import OperatorSession, operator
from hookgate.web.templating import page

router = APIRouter(include_in_schema=False)


@router.get("/")
async def overview(request: Request, session: OperatorSession = Depends(operator)) -> Response:
    return page(request, "overview.html", {"csrf_token": session.csrf_token})

"""``POST /sources/bins``: a new inspector bin from the dashboard (the same
bin ``hookgate bin create`` makes), then its page, where its requests appear
live and, once, its full URL with the token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import RedirectResponse

from hookgate.api.deps import now_ms, services
from hookgate.inbound import bins
from hookgate.inbound.config import ConfigError
from hookgate.store import sources
from hookgate.web.routes.sources import BIN_CREATED, source_url
from hookgate.web.sessions import OperatorSession, operator
from hookgate.web.templating import page

router = APIRouter(include_in_schema=False)


@router.post("/sources/bins")
async def create_bin(
    request: Request,
    name: Annotated[str, Form(max_length=256)] = "",
    keep: Annotated[str, Form(max_length=6)] = "",
    _: OperatorSession = Depends(operator),
) -> Response:
    """Create a bin named ``name`` keeping its newest ``keep`` requests (all
    if empty), then show it; 400 with the reason for a bad value."""
    config: dict[str, object] = {}
    try:
        if keep.strip():
            config["retention"] = {"count": int(keep)}
        fields = bins.new_bin_fields(name.strip() or None, config)
    except (ValueError, ConfigError) as exc:
        problem = str(exc) if isinstance(exc, ConfigError) else "keep must be a whole number"
        context = {"title": "Invalid bin", "message": problem, "back_url": "/sources"}
        return page(request, "error.html", context, status_code=400)
    source = await sources.create(services(request).db, fields, now_ms())
    return RedirectResponse(f"{source_url(source.id)}?created={BIN_CREATED}", status_code=303)

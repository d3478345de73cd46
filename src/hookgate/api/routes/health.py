"""Health checks: ``/api/v1/health`` also checks the database."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from sqlalchemy import text

from hookgate.api.deps import Services, services
from hookgate.api.errors import ApiError
from hookgate.api.routing import JsonRoute

router = APIRouter(prefix="/api/v1/health", tags=["Health"], route_class=JsonRoute)


@router.api_route("", methods=["GET", "HEAD"], status_code=204)
async def health(svc: Services = Depends(services)) -> Response:
    try:
        async with svc.db.read() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:
        raise ApiError(503, "database unreachable") from exc
    return Response(status_code=204)


@router.api_route("/ping", methods=["GET", "HEAD"], status_code=204)
async def ping() -> Response:
    return Response(status_code=204)

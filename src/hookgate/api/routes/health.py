"""Health checks: ``/api/v1/health`` also checks the database."""

from __future__ import annotations

from fastapi import Depends, Response

from hookgate.api.deps import Services, services
from hookgate.api.errors import ApiError
from hookgate.api.openapi import ERRORS
from hookgate.api.routing import api_router
from hookgate.store.errors import StoreError

router = api_router("/api/v1/health", "Health", declares_errors=False)


# HEAD answers like GET; it is left out of the schema so that each path has
# one operation (and one operationId) per method the Svix doc lists.
@router.head("", status_code=204, include_in_schema=False)
@router.get("", status_code=204, responses={503: ERRORS[503]})
async def health(svc: Services = Depends(services)) -> Response:
    try:
        await svc.db.ping()
    except StoreError as exc:
        raise ApiError(503, "database unreachable") from exc
    return Response(status_code=204)


@router.head("/ping", status_code=204, include_in_schema=False)
@router.get("/ping", status_code=204)
async def ping() -> Response:
    return Response(status_code=204)

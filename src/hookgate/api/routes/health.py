"""Health checks: ``/api/v1/health`` also checks the database."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from hookgate.api.deps import Services, services
from hookgate.api.errors import ApiError
from hookgate.api.openapi import ERRORS, operation_id
from hookgate.api.routing import JsonRoute
from hookgate.store.errors import StoreError

router = APIRouter(
    prefix="/api/v1/health",
    tags=["Health"],
    route_class=JsonRoute,
    generate_unique_id_function=operation_id,
)


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

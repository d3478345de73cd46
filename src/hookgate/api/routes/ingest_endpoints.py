"""``/ingest/api/v1/source/{source_id}/endpoint``: a source's destinations,
wire-compatible with Svix Ingest endpoints as the official SDKs use them.

A source's destinations are the endpoints of its internal application
(created with the first destination, see ``sources.ensure_app``), so every
handler here delegates to the matching ``/api/v1/app/{app_id}/endpoint``
handler with that application's id. Accepted requests are forwarded to them
(``hookgate.inbound.forward``). Bodies are ``EndpointIn`` / ``EndpointOut``
(a superset of ``IngestEndpointIn`` / ``IngestEndpointOut``: ``eventTypes``
filters on the forwarded event type, e.g. ``push`` for GitHub).
"""

from __future__ import annotations

from fastapi import Depends, Request, Response

from hookgate.api import convert
from hookgate.api import schemas as s
from hookgate.api.deps import Limit, Services, UpsertRef, authenticated, now_ms
from hookgate.api.openapi import no_content, returns
from hookgate.api.routes import endpoints as app_endpoints
from hookgate.api.routing import api_router
from hookgate.store import sources
from hookgate.store.errors import NotFound
from hookgate.store.pagination import Page

router = api_router("/ingest/api/v1/source/{source_id}/endpoint", "Ingest Endpoint")


async def _app_id(svc: Services, source_id: str) -> str:
    """The source's internal application; ``NotFound`` if it has none yet
    (then it has no endpoints)."""
    source = await sources.get(svc.db, source_id)
    if source.app_id is None:
        raise NotFound("Endpoint")
    return source.app_id


@router.get("", **returns(s.ListResponse[s.EndpointOut]))
async def list_endpoints(
    source_id: str,
    limit: Limit = None,
    iterator: str | None = None,
    order: s.Ordering = s.Ordering.DESCENDING,
    svc: Services = Depends(authenticated),
) -> Response:
    source = await sources.get(svc.db, source_id)
    if source.app_id is None:
        return convert.list_json(Page([], None, None, True), [])
    return await app_endpoints.list_endpoints(source.app_id, limit, iterator, order, svc)


@router.post("", **returns(s.EndpointOut, status=201, idempotent=True))
async def create_endpoint(
    source_id: str, body: s.EndpointIn, request: Request, svc: Services = Depends(authenticated)
) -> Response:
    app_id = await sources.ensure_app(svc.db, source_id, now_ms())
    return await app_endpoints.create_endpoint(app_id, body, request, svc)


@router.get("/{endpoint_id}", **returns(s.EndpointOut))
async def get_endpoint(
    source_id: str, endpoint_id: str, svc: Services = Depends(authenticated)
) -> Response:
    return await app_endpoints.get_endpoint(await _app_id(svc, source_id), endpoint_id, svc)


@router.put("/{endpoint_id}", **returns(s.EndpointOut, 201))
async def upsert_endpoint(
    source_id: str,
    endpoint_id: UpsertRef,
    body: s.EndpointUpdate,
    svc: Services = Depends(authenticated),
) -> Response:
    app_id = await sources.ensure_app(svc.db, source_id, now_ms())
    return await app_endpoints.upsert_endpoint(app_id, endpoint_id, body, svc)


@router.patch("/{endpoint_id}", **returns(s.EndpointOut))
async def patch_endpoint(
    source_id: str,
    endpoint_id: str,
    body: s.EndpointPatch,
    svc: Services = Depends(authenticated),
) -> Response:
    app_id = await _app_id(svc, source_id)
    return await app_endpoints.patch_endpoint(app_id, endpoint_id, body, svc)


@router.delete("/{endpoint_id}", **no_content())
async def delete_endpoint(
    source_id: str, endpoint_id: str, svc: Services = Depends(authenticated)
) -> Response:
    return await app_endpoints.delete_endpoint(await _app_id(svc, source_id), endpoint_id, svc)


@router.get("/{endpoint_id}/headers", **returns(s.EndpointHeadersOut))
async def get_headers(
    source_id: str, endpoint_id: str, svc: Services = Depends(authenticated)
) -> Response:
    return await app_endpoints.get_headers(await _app_id(svc, source_id), endpoint_id, svc)


@router.put("/{endpoint_id}/headers", **no_content())
async def replace_headers(
    source_id: str,
    endpoint_id: str,
    body: s.EndpointHeadersIn,
    svc: Services = Depends(authenticated),
) -> Response:
    app_id = await _app_id(svc, source_id)
    return await app_endpoints.replace_headers(app_id, endpoint_id, body, svc)


@router.patch("/{endpoint_id}/headers", **no_content())
async def patch_headers(
    source_id: str,
    endpoint_id: str,
    body: s.EndpointHeadersPatchIn,
    svc: Services = Depends(authenticated),
) -> Response:
    app_id = await _app_id(svc, source_id)
    return await app_endpoints.patch_headers(app_id, endpoint_id, body, svc)


@router.get("/{endpoint_id}/secret", **returns(s.EndpointSecretOut))
async def get_secret(
    source_id: str, endpoint_id: str, svc: Services = Depends(authenticated)
) -> Response:
    return await app_endpoints.get_secret(await _app_id(svc, source_id), endpoint_id, svc)


@router.post("/{endpoint_id}/secret/rotate", **returns(s.EndpointSecretOut, idempotent=True))
async def rotate_secret(
    source_id: str,
    endpoint_id: str,
    request: Request,
    body: s.EndpointSecretRotateIn | None = None,
    svc: Services = Depends(authenticated),
) -> Response:
    app_id = await _app_id(svc, source_id)
    return await app_endpoints.rotate_secret(app_id, endpoint_id, request, body, svc)

"""``/api/v1/operational-webhook/endpoint``: the operator's own endpoints for
events about Hookgate (``endpoint.disabled``, ``message.attempt.failing``,
...; see ``store.operational``).

They are the endpoints of an internal application that no ``/api/v1/app``
route shows, so they are stored, signed, retried and logged like any other.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, Request, Response

from hookgate.api import convert
from hookgate.api import schemas as s
from hookgate.api.deps import (
    Limit,
    Services,
    UpsertRef,
    authenticated,
    check_upsert_ref,
    idempotent,
    now_ms,
)
from hookgate.api.openapi import no_content, returns
from hookgate.api.routes.endpoints import check_url, with_prefix
from hookgate.api.routing import api_router
from hookgate.api.schemas import operational as op
from hookgate.core import ids
from hookgate.store import endpoints, operational
from hookgate.store.errors import NotFound
from hookgate.store.internal_apps import OPERATIONAL
from hookgate.store.pagination import Page
from hookgate.store.records import Endpoint

router = api_router("/api/v1/operational-webhook/endpoint", "Webhook Endpoint")


@asynccontextmanager
async def _endpoint_lookup() -> AsyncIterator[None]:
    """Before the first operational endpoint is created the internal
    application does not exist: say the endpoint is missing, not an
    application nobody asked for."""
    try:
        yield
    except NotFound as missing:
        if missing.what != "Application":
            raise
        raise NotFound("Endpoint") from missing


def _out(ep: Endpoint) -> op.OperationalWebhookEndpointOut:
    return op.OperationalWebhookEndpointOut(**convert.endpoint_fields(ep))


@router.get("", **returns(s.ListResponse[op.OperationalWebhookEndpointOut]))
async def list_operational_webhook_endpoints(
    limit: Limit = None,
    iterator: str | None = None,
    order: s.Ordering = s.Ordering.DESCENDING,
    svc: Services = Depends(authenticated),
) -> Response:
    try:
        page = await endpoints.list_page(
            svc.db,
            OPERATIONAL,
            iterator=iterator,
            limit=limit,
            descending=order is s.Ordering.DESCENDING,
        )
    except NotFound:
        page = Page([], None, None, True)
    return convert.list_json(page, [_out(ep) for ep in page.items])


@router.post("", **returns(op.OperationalWebhookEndpointOut, status=201, idempotent=True))
async def create_operational_webhook_endpoint(
    body: op.OperationalWebhookEndpointIn,
    request: Request,
    svc: Services = Depends(authenticated),
) -> Response:
    check_url(svc, body.url)

    async def handler() -> Response:
        await operational.ensure_app(svc.db, now_ms())
        fields = body.model_dump()
        fields["secret"] = with_prefix(body.secret)
        ep = await endpoints.create(svc.db, OPERATIONAL, fields, now_ms())
        if body.headers:
            await endpoints.set_headers(
                svc.db, OPERATIONAL, ep.id, dict(body.headers), now_ms(), merge=False
            )
            ep = await endpoints.get(svc.db, OPERATIONAL, ep.id)
        return convert.model_response(_out(ep), 201)

    return await idempotent(request, svc, handler)


@router.get("/{endpoint_id}", **returns(op.OperationalWebhookEndpointOut))
async def get_operational_webhook_endpoint(
    endpoint_id: str, svc: Services = Depends(authenticated)
) -> Response:
    async with _endpoint_lookup():
        ep = await endpoints.get(svc.db, OPERATIONAL, endpoint_id)
    return convert.model_response(_out(ep))


@router.put("/{endpoint_id}", **returns(op.OperationalWebhookEndpointOut, 201))
async def upsert_operational_webhook_endpoint(
    endpoint_id: UpsertRef,
    body: op.OperationalWebhookEndpointUpsertIn,
    svc: Services = Depends(authenticated),
) -> Response:
    check_upsert_ref("endpoint_id", endpoint_id, ids.ENDPOINT)
    check_url(svc, body.url)
    await operational.ensure_app(svc.db, now_ms())
    ep, created = await endpoints.upsert(
        svc.db, OPERATIONAL, endpoint_id, body.model_dump(), now_ms()
    )
    return convert.model_response(_out(ep), 201 if created else 200)


@router.delete("/{endpoint_id}", **no_content())
async def delete_operational_webhook_endpoint(
    endpoint_id: str, svc: Services = Depends(authenticated)
) -> Response:
    async with _endpoint_lookup():
        await endpoints.delete_endpoint(svc.db, OPERATIONAL, endpoint_id, now_ms())
    return Response(status_code=204)


@router.get("/{endpoint_id}/headers", **returns(s.EndpointHeadersOut))
async def get_operational_webhook_endpoint_headers(
    endpoint_id: str, svc: Services = Depends(authenticated)
) -> Response:
    async with _endpoint_lookup():
        ep = await endpoints.get(svc.db, OPERATIONAL, endpoint_id)
    return convert.model_response(convert.headers_out(ep))


@router.put("/{endpoint_id}/headers", **no_content())
async def update_operational_webhook_endpoint_headers(
    endpoint_id: str,
    body: s.EndpointHeadersIn,
    svc: Services = Depends(authenticated),
) -> Response:
    headers: dict[str, str | None] = dict(body.headers)
    async with _endpoint_lookup():
        await endpoints.set_headers(
            svc.db, OPERATIONAL, endpoint_id, headers, now_ms(), merge=False
        )
    return Response(status_code=204)


@router.get("/{endpoint_id}/secret", **returns(s.EndpointSecretOut))
async def get_operational_webhook_endpoint_secret(
    endpoint_id: str, svc: Services = Depends(authenticated)
) -> Response:
    async with _endpoint_lookup():
        ep = await endpoints.get(svc.db, OPERATIONAL, endpoint_id)
    return convert.model_response(s.EndpointSecretOut(key=ep.secrets[0].key))


@router.post("/{endpoint_id}/secret/rotate", **no_content(idempotent=True))
async def rotate_operational_webhook_endpoint_secret(
    endpoint_id: str,
    request: Request,
    body: s.EndpointSecretRotateIn | None = None,
    svc: Services = Depends(authenticated),
) -> Response:
    """Make a new secret current; the previous one keeps signing for the grace
    period. Answers 204, as the SDK expects."""
    rotate = body or s.EndpointSecretRotateIn()

    async def handler() -> Response:
        async with _endpoint_lookup():
            await endpoints.rotate_secret(
                svc.db,
                OPERATIONAL,
                endpoint_id,
                with_prefix(rotate.key),
                rotate.grace_period_seconds * 1000,
                now_ms(),
            )
        return Response(status_code=204)

    return await idempotent(request, svc, handler)

"""``/api/v1/app/{app_id}/endpoint``: endpoints, their headers, secrets,
recovery, statistics and example sends."""

from __future__ import annotations

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError

from hookgate.api import convert
from hookgate.api import schemas as s
from hookgate.api.deps import (
    Limit,
    Services,
    UpsertRef,
    authenticated,
    check_upsert_ref,
    idempotent,
    ms_or_none,
    now_ms,
)
from hookgate.api.openapi import no_content, returns
from hookgate.api.responses import JsonResponse
from hookgate.api.routing import api_router
from hookgate.api.schemas.base import UtcDatetime
from hookgate.api.urlpolicy import url_problem
from hookgate.core import ids
from hookgate.core.polling import is_poller_url
from hookgate.delivery import endpoint_actions
from hookgate.store import endpoints

router = api_router("/api/v1/app/{app_id}/endpoint", "Endpoint")


def check_url(svc: Services, url: str | None) -> None:
    """422 for a URL no delivery could ever reach (see ``api.urlpolicy``)."""
    if url is None or is_poller_url(url):
        return  # a polling endpoint is never connected to
    problem = url_problem(url, svc.settings)
    if problem is not None:
        raise RequestValidationError(
            [{"loc": ("body", "url"), "msg": problem, "type": "value_error"}]
        )


def with_prefix(secret: str | None) -> str | None:
    if secret is None or secret.startswith("whsec_"):
        return secret
    return "whsec_" + secret


@router.get("", **returns(s.ListResponse[s.EndpointOut]))
async def list_endpoints(
    app_id: str,
    limit: Limit = None,
    iterator: str | None = None,
    order: s.Ordering = s.Ordering.DESCENDING,
    svc: Services = Depends(authenticated),
) -> Response:
    page = await endpoints.list_page(
        svc.db, app_id, iterator=iterator, limit=limit, descending=order is s.Ordering.DESCENDING
    )
    return convert.list_json(page, [convert.endpoint_out(ep) for ep in page.items])


@router.post("", **returns(s.EndpointOut, status=201, idempotent=True))
async def create_endpoint(
    app_id: str, body: s.EndpointIn, request: Request, svc: Services = Depends(authenticated)
) -> Response:
    check_url(svc, body.url)

    async def handler() -> Response:
        fields = body.model_dump()
        fields["secret"] = with_prefix(body.secret)
        ep = await endpoints.create(svc.db, app_id, fields, now_ms())
        if body.headers:
            await endpoints.set_headers(
                svc.db, app_id, ep.id, dict(body.headers), now_ms(), merge=False
            )
        return convert.model_response(convert.endpoint_out(ep), 201)

    return await idempotent(request, svc, handler)


@router.get("/{endpoint_id}", **returns(s.EndpointOut))
async def get_endpoint(
    app_id: str, endpoint_id: str, svc: Services = Depends(authenticated)
) -> Response:
    return convert.model_response(
        convert.endpoint_out(await endpoints.get(svc.db, app_id, endpoint_id))
    )


@router.put("/{endpoint_id}", **returns(s.EndpointOut, 201))
async def upsert_endpoint(
    app_id: str,
    endpoint_id: UpsertRef,
    body: s.EndpointUpdate,
    svc: Services = Depends(authenticated),
) -> Response:
    check_upsert_ref("endpoint_id", endpoint_id, ids.ENDPOINT)
    check_url(svc, body.url)
    ep, created = await endpoints.upsert(svc.db, app_id, endpoint_id, body.model_dump(), now_ms())
    return convert.model_response(convert.endpoint_out(ep), 201 if created else 200)


@router.patch("/{endpoint_id}", **returns(s.EndpointOut))
async def patch_endpoint(
    app_id: str, endpoint_id: str, body: s.EndpointPatch, svc: Services = Depends(authenticated)
) -> Response:
    check_url(svc, body.url)
    ep = await endpoints.update_fields(
        svc.db, app_id, endpoint_id, body.model_dump(exclude_unset=True), now_ms()
    )
    return convert.model_response(convert.endpoint_out(ep))


@router.delete("/{endpoint_id}", **no_content())
async def delete_endpoint(
    app_id: str, endpoint_id: str, svc: Services = Depends(authenticated)
) -> Response:
    await endpoints.delete_endpoint(svc.db, app_id, endpoint_id, now_ms())
    return Response(status_code=204)


@router.get("/{endpoint_id}/headers", **returns(s.EndpointHeadersOut))
async def get_headers(
    app_id: str, endpoint_id: str, svc: Services = Depends(authenticated)
) -> Response:
    return convert.model_response(
        convert.headers_out(await endpoints.get(svc.db, app_id, endpoint_id))
    )


@router.put("/{endpoint_id}/headers", **no_content())
async def replace_headers(
    app_id: str,
    endpoint_id: str,
    body: s.EndpointHeadersIn,
    svc: Services = Depends(authenticated),
) -> Response:
    headers: dict[str, str | None] = dict(body.headers)
    await endpoints.set_headers(svc.db, app_id, endpoint_id, headers, now_ms(), merge=False)
    return Response(status_code=204)


@router.patch("/{endpoint_id}/headers", **no_content())
async def patch_headers(
    app_id: str,
    endpoint_id: str,
    body: s.EndpointHeadersPatchIn,
    svc: Services = Depends(authenticated),
) -> Response:
    changes: dict[str, str | None] = dict(body.headers)
    changes.update(dict.fromkeys(body.delete_headers))
    await endpoints.set_headers(svc.db, app_id, endpoint_id, changes, now_ms(), merge=True)
    return Response(status_code=204)


@router.get("/{endpoint_id}/secret", **returns(s.EndpointSecretOut))
async def get_secret(
    app_id: str, endpoint_id: str, svc: Services = Depends(authenticated)
) -> Response:
    ep = await endpoints.get(svc.db, app_id, endpoint_id)
    return convert.model_response(s.EndpointSecretOut(key=ep.secrets[0].key))


@router.post("/{endpoint_id}/secret/rotate", **returns(s.EndpointSecretOut, idempotent=True))
async def rotate_secret(
    app_id: str,
    endpoint_id: str,
    request: Request,
    body: s.EndpointSecretRotateIn | None = None,
    svc: Services = Depends(authenticated),
) -> Response:
    """Make a new secret current; the previous one keeps signing for the grace
    period. Answers the new secret (the Svix SDKs read it; the OSS server
    answers 204 with no body, which older SDKs also accept)."""
    rotate = body or s.EndpointSecretRotateIn()

    async def handler() -> Response:
        key = await endpoints.rotate_secret(
            svc.db,
            app_id,
            endpoint_id,
            with_prefix(rotate.key),
            rotate.grace_period_seconds * 1000,
            now_ms(),
        )
        return convert.model_response(s.EndpointSecretOut(key=key))

    return await idempotent(request, svc, handler)


@router.post("/{endpoint_id}/recover", **returns(s.RecoverOut, status=202, idempotent=True))
async def recover(
    app_id: str,
    endpoint_id: str,
    body: s.RecoverIn,
    request: Request,
    svc: Services = Depends(authenticated),
) -> Response:
    async def handler() -> Response:
        now = now_ms()
        await endpoint_actions.recover(
            svc.engine, app_id, endpoint_id, convert.to_ms(body.since), ms_or_none(body.until), now
        )
        out = s.RecoverOut(
            id=ids.new_id(ids.TASK),
            status=s.BackgroundTaskStatus.FINISHED,
            task=s.BackgroundTaskType.ENDPOINT_RECOVER,
            updated_at=convert.to_datetime(now),
        )
        return convert.model_response(out, 202)

    return await idempotent(request, svc, handler)


@router.get("/{endpoint_id}/stats", **returns(s.EndpointStats))
async def stats(
    app_id: str,
    endpoint_id: str,
    since: UtcDatetime | None = None,
    until: UtcDatetime | None = None,
    svc: Services = Depends(authenticated),
) -> Response:
    counts = await endpoints.stats(
        svc.db, app_id, endpoint_id, ms_or_none(since), ms_or_none(until), now_ms()
    )
    return convert.model_response(s.EndpointStats(**counts))


@router.post("/{endpoint_id}/send-example", **returns(s.MessageOut, idempotent=True))
async def send_example(
    app_id: str,
    endpoint_id: str,
    body: s.EventExampleIn,
    request: Request,
    svc: Services = Depends(authenticated),
) -> Response:
    async def handler() -> Response:
        message = await endpoint_actions.send_example(
            svc.engine, app_id, endpoint_id, body.event_type
        )
        return JsonResponse(convert.message_json(message))

    return await idempotent(request, svc, handler)

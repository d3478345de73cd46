"""What the served ``/openapi.json`` declares, so generated clients can trust it.

Route handlers return ``Response`` objects (orjson, payload bytes embedded as
they are), so FastAPI cannot infer their bodies: every route states its
success body with ``**returns(Model, ...)`` and every router declares the
error answers any of its operations can give with ``responses=ERRORS``,
in the Svix shapes (``HttpErrorOut``; ``HTTPValidationError`` for 422).
Operations are named as in the Svix API (``v1.application.list``), which is
what generated clients call their methods by.
"""

from __future__ import annotations

from typing import Any

from fastapi.routing import APIRoute
from fastapi.utils import generate_unique_id

from hookgate.api.schemas.common import HttpErrorOut, HTTPValidationError

_ERROR_STATUSES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    413: "Payload Too Large",
    429: "Too Many Requests",
    503: "Service Unavailable",
}

#: The error answers of an authenticated management operation.
ERRORS: dict[int | str, dict[str, Any]] = {
    **{
        status: {"model": HttpErrorOut, "description": text}
        for status, text in _ERROR_STATUSES.items()
    },
    422: {"model": HTTPValidationError, "description": "Validation Error"},
}

#: The ``Idempotency-Key`` header of the operations that honour it.
IDEMPOTENCY_KEY = {
    "in": "header",
    "name": "idempotency-key",
    "required": False,
    "description": "The same key on a retried request returns the first response",
    "schema": {"type": "string"},
}


def returns(model: Any, *also: int, status: int = 200, idempotent: bool = False) -> dict[str, Any]:
    """Route decorator keywords: the body ``model`` answered with ``status``
    and with each status in ``also`` (e.g. 201 for an upsert that created);
    ``idempotent`` documents the ``Idempotency-Key`` header."""
    keywords: dict[str, Any] = {
        "status_code": status,
        "response_model": model,
        "responses": {code: {"model": model} for code in also},
    }
    if idempotent:
        keywords["openapi_extra"] = {"parameters": [IDEMPOTENCY_KEY]}
    return keywords


def no_content(*, idempotent: bool = False) -> dict[str, Any]:
    """Route decorator keywords for a 204 answer without a body."""
    keywords: dict[str, Any] = {"status_code": 204}
    if idempotent:
        keywords["openapi_extra"] = {"parameters": [IDEMPOTENCY_KEY]}
    return keywords


#: Operation ids of the Svix API (the OSS document's, with its few
#: auto-generated ones given the SDK's names), and of the ingest API by the
#: same scheme.
OPERATION_IDS = {
    ("GET", "/api/v1/app"): "v1.application.list",
    ("POST", "/api/v1/app"): "v1.application.create",
    ("DELETE", "/api/v1/app/{app_id}"): "v1.application.delete",
    ("GET", "/api/v1/app/{app_id}"): "v1.application.get",
    ("PATCH", "/api/v1/app/{app_id}"): "v1.application.patch",
    ("PUT", "/api/v1/app/{app_id}"): "v1.application.update",
    (
        "GET",
        "/api/v1/app/{app_id}/attempt/endpoint/{endpoint_id}",
    ): "v1.message-attempt.list-by-endpoint",
    ("GET", "/api/v1/app/{app_id}/attempt/msg/{msg_id}"): "v1.message-attempt.list-by-msg",
    ("GET", "/api/v1/app/{app_id}/endpoint"): "v1.endpoint.list",
    ("POST", "/api/v1/app/{app_id}/endpoint"): "v1.endpoint.create",
    ("DELETE", "/api/v1/app/{app_id}/endpoint/{endpoint_id}"): "v1.endpoint.delete",
    ("GET", "/api/v1/app/{app_id}/endpoint/{endpoint_id}"): "v1.endpoint.get",
    ("PATCH", "/api/v1/app/{app_id}/endpoint/{endpoint_id}"): "v1.endpoint.patch",
    ("PUT", "/api/v1/app/{app_id}/endpoint/{endpoint_id}"): "v1.endpoint.update",
    ("GET", "/api/v1/app/{app_id}/endpoint/{endpoint_id}/headers"): "v1.endpoint.get-headers",
    ("PATCH", "/api/v1/app/{app_id}/endpoint/{endpoint_id}/headers"): "v1.endpoint.patch-headers",
    ("PUT", "/api/v1/app/{app_id}/endpoint/{endpoint_id}/headers"): "v1.endpoint.update-headers",
    (
        "GET",
        "/api/v1/app/{app_id}/endpoint/{endpoint_id}/msg",
    ): "v1.message-attempt.list-attempted-messages",
    ("POST", "/api/v1/app/{app_id}/endpoint/{endpoint_id}/recover"): "v1.endpoint.recover",
    ("GET", "/api/v1/app/{app_id}/endpoint/{endpoint_id}/secret"): "v1.endpoint.get-secret",
    (
        "POST",
        "/api/v1/app/{app_id}/endpoint/{endpoint_id}/secret/rotate",
    ): "v1.endpoint.rotate-secret",
    (
        "POST",
        "/api/v1/app/{app_id}/endpoint/{endpoint_id}/send-example",
    ): "v1.endpoint.send-example",
    ("GET", "/api/v1/app/{app_id}/endpoint/{endpoint_id}/stats"): "v1.endpoint.get-stats",
    ("GET", "/api/v1/app/{app_id}/msg"): "v1.message.list",
    ("POST", "/api/v1/app/{app_id}/msg"): "v1.message.create",
    ("GET", "/api/v1/app/{app_id}/msg/{msg_id}"): "v1.message.get",
    ("GET", "/api/v1/app/{app_id}/msg/{msg_id}/attempt/{attempt_id}"): "v1.message-attempt.get",
    (
        "DELETE",
        "/api/v1/app/{app_id}/msg/{msg_id}/attempt/{attempt_id}/content",
    ): "v1.message-attempt.expunge-content",
    ("DELETE", "/api/v1/app/{app_id}/msg/{msg_id}/content"): "v1.message.expunge-content",
    (
        "GET",
        "/api/v1/app/{app_id}/msg/{msg_id}/endpoint",
    ): "v1.message-attempt.list-attempted-destinations",
    (
        "POST",
        "/api/v1/app/{app_id}/msg/{msg_id}/endpoint/{endpoint_id}/resend",
    ): "v1.message-attempt.resend",
    ("GET", "/api/v1/app/{app_id}/poller/{sink_id}"): "v1.message.poller.poll",
    (
        "GET",
        "/api/v1/app/{app_id}/poller/{sink_id}/consumer/{consumer_id}",
    ): "v1.message.poller.consumer-poll",
    (
        "POST",
        "/api/v1/app/{app_id}/poller/{sink_id}/consumer/{consumer_id}/seek",
    ): "v1.message.poller.consumer-seek",
    ("POST", "/api/v1/auth/app-portal-access/{app_id}"): "v1.authentication.app-portal-access",
    ("POST", "/api/v1/auth/logout"): "v1.authentication.logout",
    ("POST", "/api/v1/auth/app/{app_id}/expire-all"): "v1.authentication.expire-all",
    ("GET", "/api/v1/event-type"): "v1.event-type.list",
    ("POST", "/api/v1/event-type"): "v1.event-type.create",
    ("DELETE", "/api/v1/event-type/{event_type_name}"): "v1.event-type.delete",
    ("GET", "/api/v1/event-type/{event_type_name}"): "v1.event-type.get",
    ("PATCH", "/api/v1/event-type/{event_type_name}"): "v1.event-type.patch",
    ("PUT", "/api/v1/event-type/{event_type_name}"): "v1.event-type.update",
    ("GET", "/api/v1/health"): "v1.health.get",
    ("GET", "/api/v1/health/ping"): "v1.health.ping",
    ("GET", "/ingest/api/v1/source"): "v1.ingest.source.list",
    ("POST", "/ingest/api/v1/source"): "v1.ingest.source.create",
    ("GET", "/ingest/api/v1/source/{source_id}"): "v1.ingest.source.get",
    ("PUT", "/ingest/api/v1/source/{source_id}"): "v1.ingest.source.update",
    ("DELETE", "/ingest/api/v1/source/{source_id}"): "v1.ingest.source.delete",
    ("POST", "/ingest/api/v1/source/{source_id}/token/rotate"): "v1.ingest.source.rotate-token",
    ("GET", "/ingest/api/v1/source/{source_id}/request"): "v1.ingest.source.list-requests",
    (
        "GET",
        "/ingest/api/v1/source/{source_id}/request/{request_id}",
    ): "v1.ingest.source.get-request",
    (
        "POST",
        "/ingest/api/v1/source/{source_id}/request/{request_id}/replay",
    ): "v1.ingest.source.replay-request",
    (
        "POST",
        "/ingest/api/v1/source/{source_id}/request/{request_id}/local-response",
    ): "v1.ingest.source.report-local-response",
    ("GET", "/ingest/api/v1/source/{source_id}/endpoint"): "v1.ingest.endpoint.list",
    ("POST", "/ingest/api/v1/source/{source_id}/endpoint"): "v1.ingest.endpoint.create",
    ("GET", "/ingest/api/v1/source/{source_id}/endpoint/{endpoint_id}"): "v1.ingest.endpoint.get",
    (
        "PUT",
        "/ingest/api/v1/source/{source_id}/endpoint/{endpoint_id}",
    ): "v1.ingest.endpoint.update",
    (
        "PATCH",
        "/ingest/api/v1/source/{source_id}/endpoint/{endpoint_id}",
    ): "v1.ingest.endpoint.patch",
    (
        "DELETE",
        "/ingest/api/v1/source/{source_id}/endpoint/{endpoint_id}",
    ): "v1.ingest.endpoint.delete",
    (
        "GET",
        "/ingest/api/v1/source/{source_id}/endpoint/{endpoint_id}/headers",
    ): "v1.ingest.endpoint.get-headers",
    (
        "PUT",
        "/ingest/api/v1/source/{source_id}/endpoint/{endpoint_id}/headers",
    ): "v1.ingest.endpoint.update-headers",
    (
        "PATCH",
        "/ingest/api/v1/source/{source_id}/endpoint/{endpoint_id}/headers",
    ): "v1.ingest.endpoint.patch-headers",
    (
        "GET",
        "/ingest/api/v1/source/{source_id}/endpoint/{endpoint_id}/secret",
    ): "v1.ingest.endpoint.get-secret",
    (
        "POST",
        "/ingest/api/v1/source/{source_id}/endpoint/{endpoint_id}/secret/rotate",
    ): "v1.ingest.endpoint.rotate-secret",
    ("GET", "/api/v1/operational-webhook/endpoint"): "v1.operational-webhook.endpoint.list",
    ("POST", "/api/v1/operational-webhook/endpoint"): "v1.operational-webhook.endpoint.create",
    (
        "GET",
        "/api/v1/operational-webhook/endpoint/{endpoint_id}",
    ): "v1.operational-webhook.endpoint.get",
    (
        "PUT",
        "/api/v1/operational-webhook/endpoint/{endpoint_id}",
    ): "v1.operational-webhook.endpoint.update",
    (
        "DELETE",
        "/api/v1/operational-webhook/endpoint/{endpoint_id}",
    ): "v1.operational-webhook.endpoint.delete",
    (
        "GET",
        "/api/v1/operational-webhook/endpoint/{endpoint_id}/headers",
    ): "v1.operational-webhook.endpoint.get-headers",
    (
        "PUT",
        "/api/v1/operational-webhook/endpoint/{endpoint_id}/headers",
    ): "v1.operational-webhook.endpoint.update-headers",
    (
        "GET",
        "/api/v1/operational-webhook/endpoint/{endpoint_id}/secret",
    ): "v1.operational-webhook.endpoint.get-secret",
    (
        "POST",
        "/api/v1/operational-webhook/endpoint/{endpoint_id}/secret/rotate",
    ): "v1.operational-webhook.endpoint.rotate-secret",
}


def operation_id(route: APIRoute) -> str:
    """The ``operationId`` of ``route``: its Svix name, else FastAPI's."""
    for method in route.methods or ():
        name = OPERATION_IDS.get((method, route.path))
        if name is not None:
            return name
    return generate_unique_id(route)

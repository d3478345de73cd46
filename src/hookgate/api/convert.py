"""Records to wire shapes (camelCase, Svix field names)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from hookgate.api import schemas as s
from hookgate.api.responses import JsonResponse
from hookgate.api.schemas.base import ApiModel
from hookgate.store.pagination import Page
from hookgate.store.records import (
    Application,
    Attempt,
    Delivery,
    DeliveryStatus,
    Endpoint,
    EventType,
    Message,
)

SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key"})


def to_datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def to_ms(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)


def iso(ms: int) -> str:
    global _last_iso
    last = _last_iso
    if last[0] == ms:  # a batch's messages share their timestamp
        return last[1]
    text = to_datetime(ms).isoformat().replace("+00:00", "Z")
    _last_iso = (ms, text)
    return text


_last_iso: tuple[int, str] = (-1, "")


def model_response(model: ApiModel, status_code: int = 200) -> JsonResponse:
    return JsonResponse(model.model_dump(mode="json", by_alias=True), status_code=status_code)


def application_out(app: Application) -> s.ApplicationOut:
    return s.ApplicationOut(
        id=app.id,
        uid=app.uid,
        name=app.name,
        throttle_rate=app.throttle_rate,
        metadata=app.metadata,
        created_at=to_datetime(app.created_at),
        updated_at=to_datetime(app.updated_at),
    )


def event_type_out(et: EventType) -> s.EventTypeOut:
    return s.EventTypeOut(
        name=et.name,
        description=et.description,
        archived=et.archived,
        deprecated=et.deprecated,
        schemas=et.schemas,
        feature_flag=et.feature_flag,
        group_name=et.group_name,
        created_at=to_datetime(et.created_at),
        updated_at=to_datetime(et.updated_at),
    )


def endpoint_fields(ep: Endpoint) -> dict[str, Any]:
    """What every endpoint answer shows (``EndpointOut`` and the operational
    webhook endpoint's, which has no channels)."""
    return {
        "id": ep.id,
        "uid": ep.uid,
        "url": ep.url,
        "description": ep.description,
        "disabled": ep.disabled,
        "throttle_rate": ep.throttle_rate,
        "event_types": ep.event_types,
        "metadata": ep.metadata,
        "created_at": to_datetime(ep.created_at),
        "updated_at": to_datetime(ep.updated_at),
    }


def endpoint_out(ep: Endpoint) -> s.EndpointOut:
    return s.EndpointOut(**endpoint_fields(ep), channels=ep.channels)


def headers_out(ep: Endpoint) -> s.EndpointHeadersOut:
    visible = {k: v for k, v in ep.headers.items() if k.lower() not in SENSITIVE_HEADERS}
    return s.EndpointHeadersOut(
        headers=visible, sensitive=[k for k in ep.headers if k.lower() in SENSITIVE_HEADERS]
    )


def message_json(msg: Message, *, with_content: bool = True) -> dict[str, Any]:
    """``MessageOut`` as a dict; the payload bytes are embedded as they are."""
    payload: Any = orjson.Fragment(msg.payload) if with_content and msg.payload else {}
    return {
        "id": msg.id,
        "eventType": msg.event_type,
        "eventId": msg.event_id,
        "payload": payload,
        "channels": msg.channels,
        "tags": msg.tags,
        "timestamp": iso(msg.created_at),
    }


def _delivery_state(delivery: Delivery, now_ms: int) -> tuple[s.MessageStatus, datetime | None]:
    status = s.MessageStatus(delivery.status)
    if status is s.MessageStatus.PENDING and delivery.lease_until > now_ms:
        status = s.MessageStatus.SENDING
    next_attempt = (
        to_datetime(delivery.next_attempt_at) if delivery.status == DeliveryStatus.PENDING else None
    )
    return status, next_attempt


def message_endpoint_out(ep: Endpoint, delivery: Delivery, now_ms: int) -> s.MessageEndpointOut:
    status, next_attempt = _delivery_state(delivery, now_ms)
    return s.MessageEndpointOut(
        id=ep.id,
        uid=ep.uid,
        url=ep.url,
        description=ep.description,
        disabled=ep.disabled,
        throttle_rate=ep.throttle_rate,
        event_types=ep.event_types,
        channels=ep.channels,
        status=status,
        status_text=status.text,
        next_attempt=next_attempt,
        created_at=to_datetime(ep.created_at),
        updated_at=to_datetime(ep.updated_at),
    )


def endpoint_message_json(
    msg: Message, delivery: Delivery, now_ms: int, *, with_content: bool
) -> dict[str, Any]:
    status, next_attempt = _delivery_state(delivery, now_ms)
    return {
        **message_json(msg, with_content=with_content),
        "status": int(status),
        "statusText": status.text.value,
        "nextAttempt": next_attempt.isoformat().replace("+00:00", "Z") if next_attempt else None,
    }


def attempt_out(attempt: Attempt) -> s.MessageAttemptOut:
    status = s.MessageStatus(attempt.status)
    response = (attempt.response or b"").decode("utf-8", errors="replace")
    if not response and attempt.error_message:
        response = attempt.error_message
    return s.MessageAttemptOut(
        id=attempt.id,
        msg_id=attempt.msg_id,
        endpoint_id=attempt.endpoint_id,
        url=attempt.url,
        response=response,
        response_status_code=attempt.response_status_code,
        response_duration_ms=attempt.response_duration_ms,
        status=status,
        status_text=status.text,
        trigger_type=s.MessageAttemptTriggerType(attempt.trigger_type),
        timestamp=to_datetime(attempt.created_at),
    )


def list_json(page: Page[Any], data: list[Any]) -> JsonResponse:
    """A ``ListResponse`` body; ``data`` items are models or plain dicts."""
    return JsonResponse(
        {
            "data": [
                d.model_dump(mode="json", by_alias=True) if isinstance(d, ApiModel) else d
                for d in data
            ],
            "iterator": page.iterator,
            "prevIterator": page.prev_iterator,
            "done": page.done,
        }
    )

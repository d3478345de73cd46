"""Conversions between table rows and records. Secrets are sealed here on
the way in and opened on the way out (``store.secret_key``): records hold
them in clear, rows never do."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Row

from hookgate.store import secret_key
from hookgate.store.records import (
    Application,
    Attempt,
    Delivery,
    Endpoint,
    EndpointSecret,
    EventType,
    Message,
)


def application(row: Row[Any]) -> Application:
    m = row._mapping
    return Application(
        id=m["id"],
        uid=m["uid"],
        name=m["name"],
        throttle_rate=m["throttle_rate"],
        metadata=dict(m["metadata"] or {}),
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


def event_type(row: Row[Any]) -> EventType:
    m = row._mapping
    return EventType(
        name=m["name"],
        description=m["description"],
        archived=bool(m["archived"]),
        deprecated=bool(m["deprecated"]),
        schemas=m["schemas"],
        feature_flag=m["feature_flag"],
        group_name=m["group_name"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


def endpoint(row: Row[Any]) -> Endpoint:
    m = row._mapping
    return Endpoint(
        id=m["id"],
        app_id=m["app_id"],
        uid=m["uid"],
        url=m["url"],
        description=m["description"],
        throttle_rate=m["throttle_rate"],
        disabled=bool(m["disabled"]),
        event_types=m["event_types"],
        channels=m["channels"],
        metadata=dict(m["metadata"] or {}),
        headers=dict(m["headers"] or {}),
        secrets=opened_secrets(m["secrets"]),
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


def sealed_secrets(secrets: Iterable[EndpointSecret]) -> list[dict[str, Any]]:
    """The ``endpoints.secrets`` column value: each key sealed with the
    current secret key, ``[{"sealed": ..., "expires_at": ms | None}, ...]``."""
    box = secret_key.current()
    return [{"sealed": box.seal(s.key), "expires_at": s.expires_at} for s in secrets]


def opened_secrets(stored: Iterable[dict[str, Any]]) -> tuple[EndpointSecret, ...]:
    """The records of a ``sealed_secrets`` column value (opening is cached
    per sealed value, so loading an endpoint again costs no decryption)."""
    box = secret_key.current()
    return tuple(
        EndpointSecret(key=box.open(s["sealed"]), expires_at=s.get("expires_at")) for s in stored
    )


def message(row: Row[Any]) -> Message:
    m = row._mapping
    return Message(
        id=m["id"],
        app_id=m["app_id"],
        event_type=m["event_type"],
        event_id=m["event_id"],
        channels=m["channels"],
        tags=m["tags"],
        payload=m["payload"],
        created_at=m["created_at"],
        headers=header_pairs(m["headers"]),
    )


def header_pairs(value: Any) -> list[tuple[str, str]] | None:
    """A stored ``[[name, value], ...]`` JSON list as pairs (None stays None)."""
    return None if value is None else [(str(k), str(v)) for k, v in value]


def attempt(row: Row[Any]) -> Attempt:
    m = row._mapping
    return Attempt(
        id=m["id"],
        msg_id=m["msg_id"],
        endpoint_id=m["endpoint_id"],
        app_id=m["app_id"],
        url=m["url"],
        status=m["status"],
        response_status_code=m["response_status_code"],
        response=m["response"],
        response_duration_ms=m["response_duration_ms"],
        trigger_type=m["trigger_type"],
        response_headers=m["response_headers"],
        error_kind=m["error_kind"],
        error_message=m["error_message"],
        created_at=m["created_at"],
    )


def delivery(row: Row[Any]) -> Delivery:
    m = row._mapping
    return Delivery(
        id=m["id"],
        msg_id=m["msg_id"],
        app_id=m["app_id"],
        endpoint_id=m["endpoint_id"],
        status=m["status"],
        attempt_count=m["attempt_count"],
        next_attempt_at=m["next_attempt_at"],
        lease_until=m["lease_until"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


def application_from(values: dict[str, Any]) -> Application:
    """The record for a row we just inserted."""
    return Application(
        id=values["id"],
        uid=values["uid"],
        name=values["name"],
        throttle_rate=values["throttle_rate"],
        metadata=dict(values["metadata"]),
        created_at=values["created_at"],
        updated_at=values["updated_at"],
    )

"""Operational webhooks: events about Hookgate itself sent to the operator.

Operational endpoints are the endpoints of one internal application
(``applications.OPERATIONAL``), managed with ``store.endpoints`` like any
other and delivered by the same engine (signed with their own secret,
retried, every attempt logged). An event is an ordinary message of that
application, written by ``emit`` inside the transaction of the change that
causes it, so a committed change never loses its event.

Payloads follow the open-source Svix server: ``{"type": ..., "data": ...}``
with camelCase data (``appId``, ``appUid``, ``endpointId``, ...). Nothing
that happens to an operational endpoint or its messages emits an event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, select

from hookgate.core import ids
from hookgate.core.operational_events import ENDPOINT_DISABLED
from hookgate.store import rows
from hookgate.store.database import Database
from hookgate.store.internal_apps import OPERATIONAL_APP_ID
from hookgate.store.records import DeliveryStatus, Endpoint
from hookgate.store.retention import DEFAULT_RETENTION_DAYS, payload_expires_at
from hookgate.store.tables import applications, deliveries, endpoints, messages


def iso_utc(ms: int) -> str:
    """``ms`` (epoch) as Svix writes timestamps: ``2026-12-02T01:02:03.456Z``."""
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Event:
    """One operational event: its type and its ``data`` object."""

    type: str
    data: dict[str, Any]


async def ensure_app(db: Database, now_ms: int) -> None:
    """Create the internal operational application unless it exists."""
    async with db.write(changes_config=True) as conn:
        await conn.execute(
            db.insert_ignoring_conflicts(applications),
            [
                {
                    "id": OPERATIONAL_APP_ID,
                    "uid": None,
                    "name": "Operational webhooks",
                    "throttle_rate": None,
                    "metadata": {},
                    "created_at": now_ms,
                    "updated_at": now_ms,
                }
            ],
        )


def app_uids(conn: Connection, app_ids: set[str]) -> dict[str, str | None]:
    """The uid of each application of ``app_ids``."""
    result = conn.execute(
        select(applications.c.id, applications.c.uid).where(applications.c.id.in_(app_ids))
    )
    return dict(result.all())


def endpoint_event(kind: str, ep: Endpoint, app_uid: str | None) -> Event:
    """``endpoint.created``, ``.updated`` or ``.deleted`` for ``ep``."""
    return Event(
        kind,
        {"appId": ep.app_id, "appUid": app_uid, "endpointId": ep.id, "endpointUid": ep.uid},
    )


def disabled_event(ep: Endpoint, app_uid: str | None, fail_since_ms: int) -> Event:
    """``endpoint.disabled``: ``ep`` has been failing since ``fail_since_ms``."""
    data = endpoint_event(ENDPOINT_DISABLED, ep, app_uid).data
    return Event(ENDPOINT_DISABLED, {**data, "failSince": iso_utc(fail_since_ms)})


@dataclass(frozen=True, slots=True)
class AttemptFacts:
    """What a ``message.attempt.*`` event tells about the last attempt."""

    app_id: str
    msg_id: str
    endpoint_id: str
    attempt_id: str
    response_status_code: int
    attempt_at_ms: int


def attempt_event(
    kind: str, facts: AttemptFacts, app_uid: str | None, msg_event_id: str | None
) -> Event:
    """``message.attempt.failing``, ``.exhausted`` or ``.recovered``."""
    return Event(
        kind,
        {
            "appId": facts.app_id,
            "appUid": app_uid,
            "msgId": facts.msg_id,
            "msgEventId": msg_event_id,
            "endpointId": facts.endpoint_id,
            "lastAttempt": {
                "id": facts.attempt_id,
                "responseStatusCode": facts.response_status_code,
                "timestamp": iso_utc(facts.attempt_at_ms),
            },
        },
    )


def attempt_events(conn: Connection, facts: Sequence[tuple[str, AttemptFacts]]) -> list[Event]:
    """The events of ``facts`` (kind, facts), with the application uids and
    message event ids read in ``conn``."""
    if not facts:
        return []
    uids = app_uids(conn, {f.app_id for _, f in facts})
    result = conn.execute(
        select(messages.c.id, messages.c.event_id).where(
            messages.c.id.in_({f.msg_id for _, f in facts})
        )
    )
    event_ids: dict[str, str | None] = dict(result.all())
    return [
        attempt_event(kind, f, uids.get(f.app_id), event_ids.get(f.msg_id)) for kind, f in facts
    ]


def emit(db: Database, conn: Connection, events: Sequence[Event], now_ms: int) -> None:
    """Write each event as a message of the operational application, with a
    delivery due now to every enabled operational endpoint whose
    ``eventTypes`` include it, in the caller's transaction ``conn`` (a
    synchronous one: from async code, through ``AsyncConnection.run_sync``)."""
    if not events:
        return
    subscribed = [
        rows.endpoint(row)
        for row in conn.execute(
            select(endpoints).where(
                endpoints.c.app_id == OPERATIONAL_APP_ID, endpoints.c.disabled.is_(False)
            )
        )
    ]
    if not subscribed:
        return
    message_rows: list[dict[str, Any]] = []
    delivery_rows: list[dict[str, Any]] = []
    for event in events:
        targets = [ep for ep in subscribed if not ep.event_types or event.type in ep.event_types]
        if not targets:
            continue
        msg_id = ids.new_id(ids.MESSAGE)
        message_rows.append(
            {
                "id": msg_id,
                "app_id": OPERATIONAL_APP_ID,
                "event_type": event.type,
                "event_id": None,
                "channels": None,
                "tags": None,
                "payload": orjson.dumps({"type": event.type, "data": event.data}),
                "created_at": now_ms,
                "headers": None,
                "payload_expires_at": payload_expires_at(now_ms, DEFAULT_RETENTION_DAYS),
            }
        )
        delivery_rows.extend(
            {
                "id": ids.new_id(ids.DELIVERY),
                "msg_id": msg_id,
                "app_id": OPERATIONAL_APP_ID,
                "endpoint_id": ep.id,
                "status": DeliveryStatus.PENDING,
                "attempt_count": 0,
                "next_attempt_at": now_ms,
                "lease_until": 0,
                "trigger_type": 0,
                "created_at": now_ms,
                "updated_at": now_ms,
            }
            for ep in targets
        )
    if message_rows:
        conn.execute(messages.insert(), message_rows)
        conn.execute(deliveries.insert(), delivery_rows)
        notify = db.dialect.notify()
        if notify is not None:
            conn.execute(notify)

"""Accepting messages: one transaction stores a whole batch and its fan-out.

Called by the group committer with every message-create request that arrived
while the previous commit was running. Per item the outcome is one of:
created, replayed (same ``Idempotency-Key`` seen before), application not
found, or ``eventId`` conflict. Idempotency keys and event ids are claimed with
``INSERT ... ON CONFLICT DO NOTHING`` so they hold across API processes too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from sqlalchemy import and_, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hookgate.core import ids
from hookgate.core.clock import DAY_MS
from hookgate.core.filters import endpoint_accepts
from hookgate.store import rows
from hookgate.store.database import Database
from hookgate.store.fanout import FanoutReads, enabled_endpoints, resolve_apps
from hookgate.store.records import (
    DeliveryStatus,
    Endpoint,
    Job,
    Message,
    NewApplication,
)
from hookgate.store.retention import DEFAULT_RETENTION_DAYS, payload_expires_at
from hookgate.store.tables import (
    deliveries,
    idempotency_keys,
    message_event_ids,
    messages,
)

EVENT_ID_WINDOW_MS = DAY_MS
CREATED_STATUS = 202
CONFLICT_STATUS = 409


class AcceptStatus(Enum):
    CREATED = "created"
    REPLAYED = "replayed"
    APP_NOT_FOUND = "app_not_found"
    EVENT_ID_CONFLICT = "event_id_conflict"


@dataclass(slots=True)
class AcceptItem:
    """One message-create request, with its ``Idempotency-Key`` header value."""

    app_ref: str
    event_type: str
    payload: bytes
    event_id: str | None = None
    channels: list[str] | None = None
    tags: list[str] | None = None
    idempotency_key: str | None = None
    new_application: NewApplication | None = None
    #: Route to this endpoint only (example sends), whatever its filters.
    only_endpoint_id: str | None = None
    #: A forwarded inbound request's headers, stored on the message and sent
    #: with every delivery of it (see ``delivery.forwarding``).
    headers: list[tuple[str, str]] | None = None
    #: Days the payload is kept (``payloadRetentionPeriod``); then it is
    #: expunged (see ``store.retention``).
    payload_retention_days: int = DEFAULT_RETENTION_DAYS


@dataclass(slots=True)
class AcceptOutcome:
    status: AcceptStatus
    message: Message | None = None
    jobs: list[Job] = field(default_factory=list)


@dataclass(slots=True)
class Pending:
    """An item that passed the app check and is about to be stored."""

    index: int
    item: AcceptItem
    app_id: str
    msg_id: str

    @property
    def scoped_key(self) -> str | None:
        """The idempotency key, scoped to message creation in this application
        (whether the request named the application by id or by uid)."""
        key = self.item.idempotency_key
        return None if key is None else scoped_idempotency_key(self.app_id, key)


def scoped_idempotency_key(app_id: str, key: str) -> str:
    """The ``idempotency_keys`` row key of a message-create request's key."""
    return f"POST msg {app_id} {key}"


async def accept_batch(
    db: Database,
    batch: Sequence[AcceptItem],
    now_ms: int,
    lease_until_ms: int,
    *,
    notify_workers: bool = False,
) -> list[AcceptOutcome]:
    """Store ``batch`` in one transaction and return one outcome per item.

    Deliveries are created leased until ``lease_until_ms`` (0 = not leased):
    the caller hands the returned jobs straight to its dispatcher, and if the
    process dies the lease runs out and any worker claims them. With
    ``notify_workers``, workers in other processes are woken on commit.
    """
    async with db.write() as conn:
        reads = FanoutReads(db)
        outcomes = await accept_in_transaction(
            db, conn, reads, batch, now_ms, lease_until_ms, notify_workers=notify_workers
        )
    reads.publish()
    return outcomes


async def accept_in_transaction(
    db: Database,
    conn: AsyncConnection,
    reads: FanoutReads,
    batch: Sequence[AcceptItem],
    now_ms: int,
    lease_until_ms: int,
    *,
    notify_workers: bool = False,
) -> list[AcceptOutcome]:
    """``accept_batch`` inside the caller's write transaction ``conn``,
    reading applications and endpoints through ``reads`` (publish it once
    the transaction has committed)."""
    if not batch:
        return []
    outcomes: list[AcceptOutcome | None] = [None] * len(batch)
    replay_keys: dict[int, str] = {}
    wanted: dict[str, NewApplication | None] = {}
    for item in batch:
        if item.new_application is not None or item.app_ref not in wanted:
            wanted[item.app_ref] = item.new_application
    app_ids = await resolve_apps(db, conn, reads, wanted, now_ms)
    pending: list[Pending] = []
    for index, item in enumerate(batch):
        app_id = app_ids.get(item.app_ref)
        if app_id is None:
            outcomes[index] = AcceptOutcome(AcceptStatus.APP_NOT_FOUND)
        else:
            pending.append(Pending(index, item, app_id, ids.new_id(ids.MESSAGE)))

    pending = await _claim_idempotency_keys(db, conn, pending, replay_keys, now_ms)
    pending, conflicts = await _claim_event_ids(db, conn, pending, now_ms)
    for p in conflicts:
        outcomes[p.index] = AcceptOutcome(AcceptStatus.EVENT_ID_CONFLICT)

    created = await _insert_messages(conn, reads, pending, now_ms, lease_until_ms)
    if notify_workers and any(outcome.jobs for outcome in created):
        await db.notify_workers(conn)
    for p, outcome in zip(pending, created, strict=True):
        outcomes[p.index] = outcome

    if replay_keys:
        for index, outcome in (await _replay(conn, replay_keys)).items():
            outcomes[index] = outcome
    return [o if o is not None else AcceptOutcome(AcceptStatus.APP_NOT_FOUND) for o in outcomes]


async def _claim_idempotency_keys(
    db: Database,
    conn: AsyncConnection,
    pending: list[Pending],
    replay_keys: dict[int, str],
    now_ms: int,
) -> list[Pending]:
    """Take ownership of each new idempotency key; items whose key was used
    before (or earlier in this batch) become replays."""
    keyed = [p for p in pending if p.scoped_key is not None]
    if not keyed:
        return pending
    first_by_key: dict[str, Pending] = {}
    for p in keyed:
        first_by_key.setdefault(p.scoped_key or "", p)
    inserted = await conn.execute(
        db.insert_ignoring_conflicts(idempotency_keys).returning(idempotency_keys.c.key),
        [
            {"key": key, "status_code": CREATED_STATUS, "msg_id": p.msg_id, "created_at": now_ms}
            for key, p in first_by_key.items()
        ],
    )
    owned = set(inserted.scalars())
    kept: list[Pending] = []
    for p in pending:
        key = p.scoped_key
        if key is None or (key in owned and first_by_key[key] is p):
            kept.append(p)
        else:
            replay_keys[p.index] = key
    return kept


async def _claim_event_ids(
    db: Database, conn: AsyncConnection, pending: list[Pending], now_ms: int
) -> tuple[list[Pending], list[Pending]]:
    """Reserve each ``eventId`` in its application for a day; return
    (accepted, conflicting)."""
    with_event = [p for p in pending if p.item.event_id is not None]
    if not with_event:
        return pending, []
    await conn.execute(
        delete(message_event_ids).where(
            and_(
                message_event_ids.c.event_id.in_({p.item.event_id for p in with_event}),
                message_event_ids.c.created_at < now_ms - EVENT_ID_WINDOW_MS,
            )
        )
    )
    first: dict[tuple[str, str], Pending] = {}
    for p in with_event:
        first.setdefault((p.app_id, p.item.event_id or ""), p)
    inserted = await conn.execute(
        db.insert_ignoring_conflicts(message_event_ids).returning(
            message_event_ids.c.app_id, message_event_ids.c.event_id
        ),
        [
            {"app_id": app_id, "event_id": event_id, "msg_id": p.msg_id, "created_at": now_ms}
            for (app_id, event_id), p in first.items()
        ],
    )
    owned = {(app_id, event_id) for app_id, event_id in inserted}
    accepted: list[Pending] = []
    conflicts: list[Pending] = []
    for p in pending:
        event_id = p.item.event_id
        key = (p.app_id, event_id or "")
        if event_id is None or (key in owned and first[key] is p):
            accepted.append(p)
        else:
            conflicts.append(p)
    keys = [scoped for p in conflicts if (scoped := p.scoped_key)]
    if keys:
        # The key now answers 409 forever, as the first response did.
        await conn.execute(
            update(idempotency_keys)
            .where(idempotency_keys.c.key.in_(keys))
            .values(status_code=CONFLICT_STATUS, msg_id=None)
        )
    return accepted, conflicts


async def _insert_messages(
    conn: AsyncConnection,
    reads: FanoutReads,
    pending: list[Pending],
    now_ms: int,
    lease_until_ms: int,
) -> list[AcceptOutcome]:
    if not pending:
        return []
    app_endpoints = await enabled_endpoints(conn, reads, {p.app_id for p in pending})
    message_rows, delivery_rows, outcomes = fan_out(pending, app_endpoints, now_ms, lease_until_ms)
    await conn.execute(messages.insert(), message_rows)
    if delivery_rows:
        await conn.execute(deliveries.insert(), delivery_rows)
    return outcomes


def fan_out(
    pending: Sequence[Pending],
    app_endpoints: Mapping[str, Sequence[Endpoint]],
    now_ms: int,
    lease_until_ms: int,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[AcceptOutcome]]:
    """The ``messages`` and ``deliveries`` rows of ``pending`` items routed
    to their applications' enabled endpoints, and each item's outcome."""
    outcomes = routed(pending, app_endpoints, now_ms)
    message_rows = [
        new_message_row(p.item, outcome.message, now_ms)
        for p, outcome in zip(pending, outcomes, strict=True)
        if outcome.message is not None
    ]
    delivery_rows = [
        new_delivery_row(job, now_ms, lease_until_ms) for o in outcomes for job in o.jobs
    ]
    return message_rows, delivery_rows, outcomes


def routed(
    pending: Sequence[Pending], app_endpoints: Mapping[str, Sequence[Endpoint]], now_ms: int
) -> list[AcceptOutcome]:
    """Each ``pending`` item's outcome: its message (created at ``now_ms``)
    and a job for each of its application's enabled endpoints that takes it."""
    outcomes: list[AcceptOutcome] = []
    for p in pending:
        item = p.item
        message = Message(
            id=p.msg_id,
            app_id=p.app_id,
            event_type=item.event_type,
            event_id=item.event_id,
            channels=item.channels,
            tags=item.tags,
            payload=item.payload,
            created_at=now_ms,
            headers=item.headers,
        )
        jobs: list[Job] = []
        for ep in app_endpoints.get(p.app_id, ()):
            if item.only_endpoint_id is not None:
                if ep.id != item.only_endpoint_id:
                    continue
            elif not endpoint_accepts(
                event_type=item.event_type,
                channels=item.channels,
                endpoint_event_types=ep.event_types,
                endpoint_channels=ep.channels,
            ):
                continue
            jobs.append(
                Job(
                    delivery_id=ids.new_id(ids.DELIVERY),
                    msg_id=message.id,
                    app_id=p.app_id,
                    endpoint=ep,
                    payload=item.payload,
                    attempt_count=0,
                    headers=item.headers,
                )
            )
        outcomes.append(AcceptOutcome(AcceptStatus.CREATED, message, jobs))
    return outcomes


def new_message_row(item: AcceptItem, message: Message, now_ms: int) -> dict[str, Any]:
    return {
        "id": message.id,
        "app_id": message.app_id,
        "event_type": message.event_type,
        "event_id": message.event_id,
        "channels": message.channels,
        "tags": message.tags,
        "payload": message.payload,
        "created_at": now_ms,
        "headers": None if item.headers is None else [list(h) for h in item.headers],
        "payload_expires_at": payload_expires_at(now_ms, item.payload_retention_days),
    }


def new_delivery_row(job: Job, now_ms: int, lease_until_ms: int) -> dict[str, Any]:
    return {
        "id": job.delivery_id,
        "msg_id": job.msg_id,
        "app_id": job.app_id,
        "endpoint_id": job.endpoint.id,
        "status": DeliveryStatus.PENDING,
        "attempt_count": job.attempt_count,
        "next_attempt_at": now_ms,
        "lease_until": lease_until_ms,
        "trigger_type": job.trigger_type,
        "created_at": now_ms,
        "updated_at": now_ms,
    }


async def _replay(conn: AsyncConnection, replay_keys: dict[int, str]) -> dict[int, AcceptOutcome]:
    """Outcomes for requests that reused an idempotency key."""
    result = await conn.execute(
        select(
            idempotency_keys.c.key, idempotency_keys.c.status_code, idempotency_keys.c.msg_id
        ).where(idempotency_keys.c.key.in_(set(replay_keys.values())))
    )
    by_key = {key: (status, msg_id) for key, status, msg_id in result}
    msg_ids = {msg_id for _, msg_id in by_key.values() if msg_id}
    found = {}
    if msg_ids:
        msg_rows = await conn.execute(select(messages).where(messages.c.id.in_(msg_ids)))
        found = {m.id: m for m in map(rows.message, msg_rows)}
    outcomes: dict[int, AcceptOutcome] = {}
    for index, key in replay_keys.items():
        status, msg_id = by_key.get(key, (CONFLICT_STATUS, None))
        message = found.get(msg_id) if msg_id else None
        if status == CREATED_STATUS and message is not None:
            outcomes[index] = AcceptOutcome(AcceptStatus.REPLAYED, message)
        elif status == CREATED_STATUS:
            # Same key earlier in this very batch: the message is being created now.
            outcomes[index] = AcceptOutcome(AcceptStatus.REPLAYED, None)
        else:
            outcomes[index] = AcceptOutcome(AcceptStatus.EVENT_ID_CONFLICT)
    return outcomes

"""``store.contract.MessageAccept`` on SQLite and PostgreSQL.

Every batch can be stored by ``accept_messages.accept_batch`` (SQLAlchemy,
on both databases). On the embedded SQLite database most batches take a
shorter way first, ``accept_directly``: the whole transaction (``BEGIN
IMMEDIATE``, the idempotency keys, the messages, their deliveries,
``COMMIT``) runs on the database thread in one step, with statements
compiled once. Through SQLAlchemy (aiosqlite) the same batch costs eleven
round trips between the event loop and aiosqlite's thread (a cursor, an execute and a close
per statement), about three times the CPU of the batch itself.

The short way takes only batches it can store without reading anything:
every application and its endpoints known from the fan-out cache
(``store.fanout``) of the configuration generation the write lock holds,
no ``eventId``, and every idempotency key new. Anything else (an unknown
application, a key seen before, an error of the driver) rolls back and
stores the batch the usual way, which answers for it exactly as always.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Dialect

from hookgate.core import ids
from hookgate.store.accept_messages import (
    CREATED_STATUS,
    AcceptItem,
    AcceptOutcome,
    Pending,
    accept_batch,
    routed,
)
from hookgate.store.database import Database
from hookgate.store.driver_sql import CompiledInsert, in_transaction
from hookgate.store.records import DeliveryStatus, Endpoint
from hookgate.store.retention import payload_expires_at
from hookgate.store.tables import deliveries, idempotency_keys, messages


class SqlMessageAccept:
    """``store.contract.MessageAccept`` on one ``Database``: ``accept_directly``
    on the embedded database when it can, else ``accept_batch``."""

    __slots__ = ("_direct", "db")

    def __init__(self, db: Database) -> None:
        self.db = db
        self._direct = _DirectStatements(db.engine.dialect) if db.has_driver_writes else None

    async def accept_batch(
        self,
        batch: Sequence[AcceptItem],
        now_ms: int,
        lease_until_ms: int,
        *,
        notify_workers: bool = False,
    ) -> list[AcceptOutcome]:
        if self._direct is not None:
            outcomes = await accept_directly(self.db, self._direct, batch, now_ms, lease_until_ms)
            if outcomes is not None:
                return outcomes
        return await accept_batch(
            self.db, batch, now_ms, lease_until_ms, notify_workers=notify_workers
        )


_MESSAGE_KEYS = (
    "id",
    "app_id",
    "event_type",
    "event_id",
    "channels",
    "tags",
    "payload",
    "created_at",
    "headers",
    "payload_expires_at",
)
_DELIVERY_KEYS = (
    "id",
    "msg_id",
    "app_id",
    "endpoint_id",
    "status",
    "attempt_count",
    "next_attempt_at",
    "lease_until",
    "trigger_type",
    "created_at",
    "updated_at",
)


class _DirectStatements:
    """The three statements of ``accept_directly``, compiled for ``dialect``,
    and the rows of a batch as their parameters."""

    __slots__ = ("_json", "_null", "deliveries", "keys", "messages")

    def __init__(self, dialect: Dialect) -> None:
        self.messages = CompiledInsert(messages.insert(), dialect, _MESSAGE_KEYS)
        self.deliveries = CompiledInsert(deliveries.insert(), dialect, _DELIVERY_KEYS)
        self.keys = CompiledInsert(
            sqlite.insert(idempotency_keys).on_conflict_do_nothing(),
            dialect,
            ("key", "status_code", "msg_id", "created_at"),
        )
        # The rows below are built in the statements' parameter order.
        assert self.messages.keys == _MESSAGE_KEYS
        assert self.deliveries.keys == _DELIVERY_KEYS
        channels = self.messages.processor("channels")
        assert channels is not None  # a JSON column
        self._json = channels  # channels, tags and headers are JSON columns alike
        self._null = channels(None)  # what None is stored as, made once

    def rows(
        self, outcomes: Sequence[AcceptOutcome], pending: Sequence[Pending], lease_until_ms: int
    ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """The ``messages`` and ``deliveries`` parameters of ``routed``
        outcomes (what ``params`` makes of ``fan_out``'s rows, without the
        rows)."""
        json = self._json
        null = self._null
        message_rows: list[tuple[Any, ...]] = []
        delivery_rows: list[tuple[Any, ...]] = []
        pending_status = int(DeliveryStatus.PENDING)
        for p, outcome in zip(pending, outcomes, strict=True):
            m = outcome.message
            assert m is not None
            item = p.item
            now = m.created_at
            message_rows.append(
                (
                    m.id,
                    m.app_id,
                    m.event_type,
                    m.event_id,
                    null if m.channels is None else json(m.channels),
                    null if m.tags is None else json(m.tags),
                    m.payload,
                    now,
                    null if item.headers is None else json([list(h) for h in item.headers]),
                    payload_expires_at(now, item.payload_retention_days),
                )
            )
            for job in outcome.jobs:
                delivery_rows.append(
                    (
                        job.delivery_id,
                        job.msg_id,
                        job.app_id,
                        job.endpoint.id,
                        pending_status,
                        job.attempt_count,
                        now,
                        lease_until_ms,
                        job.trigger_type,
                        now,
                        now,
                    )
                )
        return message_rows, delivery_rows


@dataclass(slots=True)
class _Work:
    """One transaction for the database thread (touches nothing else)."""

    statements: _DirectStatements
    keys: list[tuple[Any, ...]]
    messages: list[tuple[Any, ...]]
    deliveries: list[tuple[Any, ...]]

    def __call__(self, connection: sqlite3.Connection) -> bool:
        """Store everything and commit: True; an idempotency key already
        taken: roll back, False. A driver error rolls back and is raised."""
        return in_transaction(connection, lambda: self._store(connection))

    def _store(self, connection: sqlite3.Connection) -> bool:
        statements = self.statements
        if self.keys and statements.keys.insert_many(connection, self.keys) != len(self.keys):
            return False  # a key taken before, or twice in this batch
        statements.messages.insert_many(connection, self.messages)
        statements.deliveries.insert_many(connection, self.deliveries)
        return True


async def accept_directly(
    db: Database,
    statements: _DirectStatements,
    batch: Sequence[AcceptItem],
    now_ms: int,
    lease_until_ms: int,
) -> list[AcceptOutcome] | None:
    """Store ``batch`` in one step on the database thread and return its
    outcomes (all created), or None, having stored nothing, when it needs
    the usual way (see the module's docstring)."""
    if not batch or any(item.event_id is not None for item in batch):
        return None
    async with db.driver_write() as session:
        found = pending_by_cache(db, enumerate(batch))
        if found is None:
            return None
        pending, app_endpoints = found
        outcomes = routed(pending, app_endpoints, now_ms)
        message_rows, delivery_rows = statements.rows(outcomes, pending, lease_until_ms)
        key_rows = [
            (key, CREATED_STATUS, p.msg_id, now_ms)
            for p in pending
            if (key := p.scoped_key) is not None
        ]
        work = _Work(statements, keys=key_rows, messages=message_rows, deliveries=delivery_rows)
        try:
            stored = await session.run(work)
        except sqlite3.Error:
            return None
    return outcomes if stored else None


def pending_by_cache(
    db: Database, items: Iterable[tuple[int, AcceptItem]]
) -> tuple[list[Pending], dict[str, list[Endpoint]]] | None:
    """``items`` (with their positions in the batch) as ``Pending``, each with
    a new message id, and their applications' endpoints, by the fan-out cache;
    None if it does not know every application and its endpoints for the
    current configuration. Call under the write lock, so that no
    configuration change can commit meanwhile."""
    cache = db.fanout_cache
    if cache is None or cache.generation != db.config_generation:
        return None
    pending: list[Pending] = []
    app_endpoints: dict[str, list[Endpoint]] = {}
    for index, item in items:
        app_id = cache.app_ids.get(item.app_ref)
        endpoints = cache.endpoints.get(app_id) if app_id is not None else None
        if app_id is None or endpoints is None:
            return None
        app_endpoints[app_id] = endpoints
        pending.append(Pending(index, item, app_id, ids.new_id(ids.MESSAGE)))
    return pending, app_endpoints

"""Received requests stored on the embedded SQLite database in one step.

Every batch can be stored by ``inbound_requests.record_batch`` (SQLAlchemy,
on both databases). On the embedded database a batch takes a shorter way
first, ``record_directly``: the whole transaction (``BEGIN IMMEDIATE``, the
dedupe claims, the messages forwarding accepted requests and their
deliveries, the requests, ``COMMIT``) runs on the database thread in one
step, with statements compiled once, as ``store.message_accept`` does for
messages. Through SQLAlchemy (aiosqlite) the same batch costs a round trip
between the event loop and aiosqlite's thread for every cursor, execute,
fetch and close.

The short way takes only batches it can store without reading anything:
every claim new (a repeated event id, or an expired entry to take over,
rolls back), and every forwarding source's application and endpoints known
from the fan-out cache (``store.fanout``) of the configuration generation
the write lock holds, with nothing but a plain message to create (no
idempotency key, event id or new application). Anything else is stored the
usual way, which answers for it exactly as always; so does any error of the
driver.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Table
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Dialect

from hookgate.store.accept_messages import AcceptItem, AcceptOutcome, fan_out
from hookgate.store.database import Database
from hookgate.store.driver_sql import CompiledInsert, in_transaction
from hookgate.store.inbound_requests import (
    InboundRequest,
    Received,
    Recorded,
    RequestStatus,
    claim_keys,
    with_duplicates,
)
from hookgate.store.message_accept import pending_by_cache
from hookgate.store.tables import deliveries, inbound_dedupe, inbound_requests, messages

#: The parameters of the two statements, in this order (``_claim_params``,
#: ``_request_params``).
_CLAIM_COLUMNS = ("source_id", "event_id", "request_id", "created_at", "expires_at")
_REQUEST_COLUMNS = (
    "id",
    "source_id",
    "received_at",
    "method",
    "path",
    "query",
    "headers",
    "body",
    "source_ip",
    "verified",
    "rejection",
    "event_id",
    "event_type",
    "status",
    "message_id",
)


class InboundStatements:
    """The statements of ``record_directly``, compiled for ``dialect``
    (the message and delivery inserts for the columns their rows have)."""

    __slots__ = ("_dialect", "_inserts", "claim", "request")

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect
        self.claim = CompiledInsert(
            sqlite.insert(inbound_dedupe).on_conflict_do_nothing(), dialect, _CLAIM_COLUMNS
        )
        self.request = CompiledInsert(inbound_requests.insert(), dialect, _REQUEST_COLUMNS)
        if self.claim.keys != _CLAIM_COLUMNS or self.request.keys != _REQUEST_COLUMNS:
            raise RuntimeError("the inbound statements take their parameters in another order")
        self._inserts: dict[tuple[str, tuple[str, ...]], CompiledInsert] = {}

    def rows(self, table: Table, rows: list[dict[str, Any]]) -> tuple[str, list[tuple[Any, ...]]]:
        """The ``INSERT`` of ``rows`` (dicts with the same keys) into
        ``table`` and its parameters, compiled once per table and keys."""
        key = (table.name, tuple(rows[0]))
        insert = self._inserts.get(key)
        if insert is None:
            insert = self._inserts[key] = CompiledInsert(table.insert(), self._dialect, key[1])
        return insert.sql, [insert.params(row) for row in rows]


def _claim_params(item: Received) -> tuple[Any, ...]:
    """``claim_values(item)`` as the claim statement's parameters."""
    request = item.request
    received_at = request.received_at
    expires_at = received_at + item.dedupe_window_ms
    return (request.source_id, item.claim_key, request.id, received_at, expires_at)


def _request_params(request: InboundRequest) -> tuple[Any, ...]:
    """``request_row(request)`` as the request statement's parameters,
    converted as SQLAlchemy converts them for the driver (the headers as
    JSON text, ``verified`` as an integer) but built directly."""
    return (
        request.id,
        request.source_id,
        request.received_at,
        request.method,
        request.path,
        request.query,
        _json_text(request.headers),
        request.body,
        request.source_ip,
        int(request.verified),
        request.rejection,
        request.event_id,
        request.event_type,
        request.status.value,
        request.message_id,
    )


def _json_text(headers: list[tuple[str, str]]) -> str:
    """The headers column's JSON (pairs as arrays): by orjson, or by the
    standard library for what orjson refuses (a lone surrogate)."""
    try:
        return orjson.dumps(headers).decode()
    except orjson.JSONEncodeError:
        return json.dumps([list(pair) for pair in headers])


@dataclass(slots=True)
class _Work:
    """One transaction for the database thread (touches nothing else)."""

    claim_sql: str
    claims: list[tuple[Any, ...]]
    #: (sql, parameters) of the messages, deliveries and requests, in that order.
    inserts: list[tuple[str, list[tuple[Any, ...]]]]

    def __call__(self, connection: sqlite3.Connection) -> bool:
        """Claim, store and commit: True; a claim already held: roll back,
        False. A driver error rolls back and is raised."""
        return in_transaction(connection, lambda: self._store(connection))

    def _store(self, connection: sqlite3.Connection) -> bool:
        if self.claims:
            inserted = connection.executemany(self.claim_sql, self.claims)
            if inserted.rowcount != len(self.claims):
                return False
        for sql, params in self.inserts:
            connection.executemany(sql, params)
        return True


async def record_directly(
    db: Database,
    statements: InboundStatements,
    items: Sequence[Received],
    now_ms: int | None = None,
    lease_until_ms: int = 0,
) -> list[Recorded] | None:
    """Store ``items`` in one step on the database thread and return them as
    stored (as ``record_batch`` would, with the same ``now_ms`` and
    ``lease_until_ms``), or None, having stored nothing, when the batch needs
    the usual way (see the module's docstring)."""
    if not items or not all(_plain(item.forward) for item in items):
        return None
    claiming, first_of = claim_keys(items)
    # Every claim new: only repeats inside the batch are duplicates.
    stored = with_duplicates(items, claiming, first_of, dict.fromkeys(first_of))
    forwarding = [
        (index, item.forward)
        for index, (item, request) in enumerate(zip(items, stored, strict=True))
        if item.forward is not None and request.status is RequestStatus.ACCEPTED
    ]
    at = now_ms if now_ms is not None else max(r.received_at for r in stored)
    async with db.driver_write() as session:
        # Under the write lock: no configuration change can commit meanwhile.
        inserts: list[tuple[str, list[tuple[Any, ...]]]] = []
        outcomes: dict[int, AcceptOutcome] = {}
        if forwarding:
            planned = _fan_out(db, forwarding, at, lease_until_ms)
            if planned is None:
                return None
            message_rows, delivery_rows, outcomes = planned
            inserts.append(statements.rows(messages, message_rows))
            if delivery_rows:
                inserts.append(statements.rows(deliveries, delivery_rows))
            stored = _with_message_ids(stored, outcomes)
        inserts.append((statements.request.sql, [_request_params(r) for r in stored]))
        work = _Work(
            statements.claim.sql, [_claim_params(items[i]) for i in first_of.values()], inserts
        )
        try:
            done = await session.run(work)
        except sqlite3.Error:
            return None
    if not done:
        return None
    return [Recorded(request, outcomes.get(index)) for index, request in enumerate(stored)]


def _with_message_ids(
    stored: list[InboundRequest], outcomes: dict[int, AcceptOutcome]
) -> list[InboundRequest]:
    """``inbound_requests.with_message_ids``, each copy made by the
    constructor (``dataclasses.replace`` costs several times more)."""
    result = list(stored)
    for index, outcome in outcomes.items():
        if outcome.message is not None:
            r = result[index]
            result[index] = InboundRequest(
                id=r.id,
                source_id=r.source_id,
                received_at=r.received_at,
                method=r.method,
                path=r.path,
                query=r.query,
                headers=r.headers,
                body=r.body,
                source_ip=r.source_ip,
                verified=r.verified,
                rejection=r.rejection,
                event_id=r.event_id,
                event_type=r.event_type,
                status=r.status,
                message_id=outcome.message.id,
            )
    return result


def _plain(forward: AcceptItem | None) -> bool:
    """Whether ``forward`` (if any) creates a plain message, nothing else."""
    return forward is None or (
        forward.idempotency_key is None
        and forward.event_id is None
        and forward.new_application is None
    )


def _fan_out(
    db: Database, forwarding: list[tuple[int, AcceptItem]], now_ms: int, lease_until_ms: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[int, AcceptOutcome]] | None:
    """The message and delivery rows of ``forwarding`` (by position in the
    batch) and each one's outcome, by the fan-out cache; None if it does not
    know every application and its endpoints for the current configuration."""
    found = pending_by_cache(db, forwarding)
    if found is None:
        return None
    pending, app_endpoints = found
    message_rows, delivery_rows, created = fan_out(pending, app_endpoints, now_ms, lease_until_ms)
    outcomes = {p.index: outcome for p, outcome in zip(pending, created, strict=True)}
    return message_rows, delivery_rows, outcomes

"""Received requests stored on the embedded SQLite database in one step.

Every batch can be stored by ``inbound_requests.record_batch`` (SQLAlchemy,
on both databases). On the embedded database a batch that forwards nothing
takes a shorter way first, ``record_directly``: the whole transaction
(``BEGIN IMMEDIATE``, the dedupe claims, the requests, ``COMMIT``) runs on
the database thread in one step, with statements compiled once, as
``store.message_accept`` does for messages. Through SQLAlchemy (aiosqlite) the
same batch costs a round trip between the event loop and aiosqlite's thread for every
cursor, execute, fetch and close.

The short way takes only batches whose claims are all new. A claim already
held (a repeated event id, or an expired entry to take over) rolls back and
the batch is stored the usual way, which answers for it exactly as always;
so does any error of the driver.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Dialect

from hookgate.store.database import Database
from hookgate.store.driver_sql import CompiledInsert, in_transaction
from hookgate.store.inbound_requests import (
    InboundRequest,
    Received,
    Recorded,
    claim_keys,
    with_duplicates,
)
from hookgate.store.tables import inbound_dedupe, inbound_requests

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
    """The two statements of ``record_directly``, compiled for ``dialect``."""

    __slots__ = ("claim", "request")

    def __init__(self, dialect: Dialect) -> None:
        self.claim = CompiledInsert(
            sqlite.insert(inbound_dedupe).on_conflict_do_nothing(), dialect, _CLAIM_COLUMNS
        )
        self.request = CompiledInsert(inbound_requests.insert(), dialect, _REQUEST_COLUMNS)
        if self.claim.keys != _CLAIM_COLUMNS or self.request.keys != _REQUEST_COLUMNS:
            raise RuntimeError("the inbound statements take their parameters in another order")


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

    statements: InboundStatements
    claims: list[tuple[Any, ...]]
    requests: list[tuple[Any, ...]]

    def __call__(self, connection: sqlite3.Connection) -> bool:
        """Claim, store and commit: True; a claim already held: roll back,
        False. A driver error rolls back and is raised."""
        return in_transaction(connection, lambda: self._store(connection))

    def _store(self, connection: sqlite3.Connection) -> bool:
        if self.claims:
            inserted = connection.executemany(self.statements.claim.sql, self.claims)
            if inserted.rowcount != len(self.claims):
                return False
        connection.executemany(self.statements.request.sql, self.requests)
        return True


async def record_directly(
    db: Database, statements: InboundStatements, items: Sequence[Received]
) -> list[Recorded] | None:
    """Store ``items`` in one step on the database thread and return them as
    stored (as ``record_batch`` would), or None, having stored nothing, when
    the batch needs the usual way (see the module's docstring)."""
    if not items or any(item.forward is not None for item in items):
        return None
    claiming, first_of = claim_keys(items)
    # Every claim new: only repeats inside the batch are duplicates.
    stored = with_duplicates(items, claiming, first_of, dict.fromkeys(first_of))
    work = _Work(
        statements,
        claims=[_claim_params(items[i]) for i in first_of.values()],
        requests=[_request_params(request) for request in stored],
    )
    async with db.driver_write() as session:
        try:
            done = await session.run(work)
        except sqlite3.Error:
            return None
    return [Recorded(request) for request in stored] if done else None

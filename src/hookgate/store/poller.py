"""Polling endpoints: an application's message stream read by the customer
instead of pushed to them (Svix's message poller).

A polling endpoint is an ordinary endpoint whose URL has the scheme
``svix-poller://`` (e.g. ``svix-poller://orders``); fan-out never creates a
delivery for one (``store.fanout``). Its event-type and channel filters
choose which of the application's messages it sees, from its creation on.

Position and order: messages are handed out in message-id order (ids are
time-ordered, ``core.ids``). A reader's position is the last id it has been
shown (or scanned past); the next read returns ids above it. Ids are made
inside the message's transaction, before it commits, so a message could
become visible after one with a larger id was already handed out. To avoid
that gap:

* on SQLite a read runs as a write transaction (``BEGIN IMMEDIATE``): no
  writer is then half-way, every id made so far is committed, and any id
  made later is larger, so a read reaches everything up to the current
  millisecond (left out, as a later id of the same millisecond may sort
  lower);
* on PostgreSQL a read only reaches ids made more than ``SETTLE_MS`` before
  its horizon: now or the start of the oldest other transaction still
  writing to ``messages`` (``pg_locks``), whichever is earlier, so a
  transaction that stalls after inserting holds readers back instead of
  being overtaken. What remains is the moment between making an id and the
  insert taking its lock, and clock skew between servers: both must stay
  under ``SETTLE_MS``.

Consumers (``consumer_poll``) keep their position on the server, one row of
``poller_consumers`` per (endpoint, consumer id), advanced by each read in
the same transaction that reads it (a row lock on PostgreSQL, the single
writer on SQLite), so two concurrent reads of one consumer never return the
same message twice.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hookgate.core import ids
from hookgate.core.filters import endpoint_accepts
from hookgate.core.polling import is_poller_url
from hookgate.store import endpoints, rows
from hookgate.store.database import Database
from hookgate.store.errors import NotFound, StoreError
from hookgate.store.internal_apps import AppRef
from hookgate.store.records import Endpoint, Message
from hookgate.store.tables import messages, poller_consumers

#: On PostgreSQL, only messages whose id was made at least this long before
#: the read's horizon are handed out (see the module docstring).
SETTLE_MS = 1000

#: Rows read per query while looking for messages that pass the filters,
#: and at most this many queries per read (a read that scanned that far
#: without filling a page says ``done: false`` and resumes from there).
_SCAN_CHUNK = 200
_MAX_CHUNKS = 10

DEFAULT_LIMIT = 50


class BadIterator(StoreError):
    """An iterator this server did not hand out."""

    def __init__(self) -> None:
        super().__init__("invalid iterator")


@dataclass(frozen=True, slots=True)
class PollPage:
    """One read: the messages in id order, the iterator to read on from,
    and whether the reader has caught up with the stream."""

    messages: list[Message]
    iterator: str
    done: bool


@dataclass(frozen=True, slots=True)
class MessageFilter:
    """Optional filters of one read, on top of the endpoint's own."""

    event_type: str | None = None
    channel: str | None = None


def encode_iterator(position: str) -> str:
    """The opaque iterator for ``position`` (a message-id boundary)."""
    return base64.urlsafe_b64encode(position.encode()).decode().rstrip("=")


def decode_iterator(iterator: str) -> str:
    """The position ``iterator`` stands for; ``BadIterator`` if it is not one."""
    try:
        position = base64.urlsafe_b64decode(iterator + "=" * (-len(iterator) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadIterator() from None
    if not ids.looks_like_id(position, ids.MESSAGE):
        raise BadIterator()
    return position


def _position_at(ms: int) -> str:
    """The position before every message id made at or after ``ms``."""
    return ids.min_id_for_time(ids.MESSAGE, datetime.fromtimestamp(ms / 1000, UTC))


async def find_sink(conn: AsyncConnection, app_ref: AppRef, sink_ref: str) -> Endpoint:
    """The polling endpoint ``sink_ref`` (id or uid) of ``app_ref``."""
    ep = await endpoints.find(conn, app_ref, sink_ref)
    if not is_poller_url(ep.url):
        raise NotFound("Polling endpoint")
    return ep


async def poll(
    db: Database,
    app_ref: AppRef,
    sink_ref: str,
    *,
    iterator: str | None,
    limit: int | None,
    after_ms: int | None,
    filters: MessageFilter,
    now_ms: int,
) -> PollPage:
    """Messages of the polling endpoint from ``iterator`` on; without one,
    from ``after_ms`` (or the endpoint's creation)."""
    position = None if iterator is None else decode_iterator(iterator)
    async with _reading(db) as conn:
        ep = await find_sink(conn, app_ref, sink_ref)
        if position is None:
            position = _position_at(max(ep.created_at, after_ms or 0))
        return await _read(conn, ep, position, limit, filters, now_ms)


async def consumer_poll(
    db: Database,
    app_ref: AppRef,
    sink_ref: str,
    consumer_id: str,
    *,
    iterator: str | None,
    limit: int | None,
    now_ms: int,
) -> PollPage:
    """The next messages for ``consumer_id``, from its kept position (or
    ``iterator`` when given), which then moves past what is returned."""
    given = None if iterator is None else decode_iterator(iterator)
    async with db.write() as conn:
        ep = await find_sink(conn, app_ref, sink_ref)
        kept = await _lock_consumer(db, conn, ep, consumer_id, now_ms)
        page = await _read(conn, ep, given or kept, limit, MessageFilter(), now_ms)
        await _store_position(conn, ep, consumer_id, decode_iterator(page.iterator), now_ms)
        return page


async def consumer_seek(
    db: Database, app_ref: AppRef, sink_ref: str, consumer_id: str, *, after_ms: int, now_ms: int
) -> str:
    """Move ``consumer_id`` to just before the messages made at ``after_ms``;
    returns the iterator of that position."""
    async with db.write() as conn:
        ep = await find_sink(conn, app_ref, sink_ref)
        await _lock_consumer(db, conn, ep, consumer_id, now_ms)
        position = _position_at(max(ep.created_at, after_ms))
        await _store_position(conn, ep, consumer_id, position, now_ms)
        return encode_iterator(position)


async def _lock_consumer(
    db: Database, conn: AsyncConnection, ep: Endpoint, consumer_id: str, now_ms: int
) -> str:
    """The consumer's kept position (created at the endpoint's start if new),
    its row locked until the transaction ends."""
    await conn.execute(
        db.insert_ignoring_conflicts(poller_consumers).values(
            endpoint_id=ep.id,
            consumer_id=consumer_id,
            position=_position_at(ep.created_at),
            updated_at=now_ms,
        )
    )
    position: str = (
        await conn.execute(
            select(poller_consumers.c.position)
            .where(
                poller_consumers.c.endpoint_id == ep.id,
                poller_consumers.c.consumer_id == consumer_id,
            )
            .with_for_update()
        )
    ).scalar_one()
    return position


async def _store_position(
    conn: AsyncConnection, ep: Endpoint, consumer_id: str, position: str, now_ms: int
) -> None:
    await conn.execute(
        update(poller_consumers)
        .where(
            poller_consumers.c.endpoint_id == ep.id,
            poller_consumers.c.consumer_id == consumer_id,
        )
        .values(position=position, updated_at=now_ms)
    )


async def _read(
    conn: AsyncConnection,
    ep: Endpoint,
    position: str,
    limit: int | None,
    filters: MessageFilter,
    now_ms: int,
) -> PollPage:
    """Up to ``limit`` messages above ``position`` that pass the endpoint's
    and ``filters``' filters, below the settle horizon."""
    limit = limit or DEFAULT_LIMIT
    horizon = _position_at(await _horizon_ms(conn, now_ms))
    found: list[Message] = []
    for _ in range(_MAX_CHUNKS):
        result = await conn.execute(
            select(messages)
            .where(
                messages.c.app_id == ep.app_id,
                messages.c.id > position,
                messages.c.id < horizon,
            )
            .order_by(messages.c.id)
            .limit(_SCAN_CHUNK)
        )
        scanned = 0
        for row in result:
            scanned += 1
            msg = rows.message(row)
            position = msg.id
            if _wanted(ep, filters, msg):
                found.append(msg)
                if len(found) == limit:
                    return PollPage(found, encode_iterator(position), done=False)
        if scanned < _SCAN_CHUNK:
            return PollPage(found, encode_iterator(position), done=True)
    return PollPage(found, encode_iterator(position), done=False)


_OLDEST_MESSAGE_WRITER = text(
    "SELECT (extract(epoch FROM min(a.xact_start)) * 1000)::bigint"
    " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
    " WHERE l.locktype = 'relation' AND l.relation = 'messages'::regclass"
    " AND l.mode = 'RowExclusiveLock' AND l.pid <> pg_backend_pid()"
)


def _reading(db: Database) -> contextlib.AbstractAsyncContextManager[AsyncConnection]:
    """The connection a poll reads on: a write transaction on SQLite (see
    the module docstring), a plain read on PostgreSQL."""
    return db.write() if db.dialect.name == "sqlite" else db.read()


async def _horizon_ms(conn: AsyncConnection, now_ms: int) -> int:
    """Messages whose id was made before this time may be handed out."""
    if conn.dialect.name != "postgresql":
        return now_ms  # read in a write transaction (``_reading``)
    # When the oldest other open transaction that wrote to ``messages``
    # (this schema's) began, if there is one.
    oldest = (await conn.execute(_OLDEST_MESSAGE_WRITER)).scalar()
    return min(now_ms, now_ms if oldest is None else int(oldest)) - SETTLE_MS


def _wanted(ep: Endpoint, filters: MessageFilter, msg: Message) -> bool:
    if not endpoint_accepts(
        event_type=msg.event_type,
        channels=msg.channels,
        endpoint_event_types=ep.event_types,
        endpoint_channels=ep.channels,
    ):
        return False
    if filters.event_type is not None and msg.event_type != filters.event_type:
        return False
    return filters.channel is None or filters.channel in (msg.channels or ())

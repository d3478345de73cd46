"""The requests sources receive: recording with deduplication, and
retention (searching them is ``store.inbound_search``).

Requests received for sources are stored by ``record_batch`` (many at a
time: ``hookgate.inbound.recorder`` group-commits them) in one short
transaction together with their deduplication checks; nothing slow happens
inside it. ``purge_requests`` and
``purge_expired_dedupe`` are the retention jobs (each works in bounded
batches, one short write transaction per batch).

Dedupe entries (``inbound_dedupe``) name the request that claimed their
event id, but purging requests ignores them: retention is a promise about
stored bytes, and deduplication needs only the event id, so an entry keeps
blocking repeats until it expires even when the request it names is gone
(a later duplicate's rejection then names a purged request id).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, NamedTuple

from sqlalchemy import Row, delete, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hookgate.core import ids
from hookgate.store.accept_messages import AcceptItem, AcceptOutcome, accept_in_transaction
from hookgate.store.database import Database
from hookgate.store.fanout import FanoutReads
from hookgate.store.tables import inbound_dedupe, inbound_requests

#: How ``record_batch`` words the ``rejection`` of a repeated event id.
DUPLICATE_PREFIX = "duplicate of "
#: Rows deleted per transaction by the purges.
PURGE_BATCH = 1000


class RequestStatus(StrEnum):
    """What became of a received request (also the API's ``status`` filter)."""

    #: Stored with no rejection (and forwarded, if the source has destinations).
    ACCEPTED = "accepted"
    #: Refused: bad signature, method, size, address, ...
    REJECTED = "rejected"
    #: A repeat of an accepted event id inside the dedupe window.
    DUPLICATE = "duplicate"


@dataclass(frozen=True, slots=True)
class InboundRequest:
    """One received request, byte for byte. ``rejection`` is why it was not
    accepted (None if it was); ``status`` what became of it."""

    id: str
    source_id: str
    received_at: int
    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str | None
    verified: bool
    rejection: str | None
    event_id: str | None = None
    event_type: str | None = None
    #: ``ACCEPTED`` stands for ``REJECTED`` when there is a ``rejection``.
    status: RequestStatus = RequestStatus.ACCEPTED
    #: The message that forwarded it as it was stored (None: not forwarded).
    #: A replay makes another message and leaves this one.
    message_id: str | None = None

    def __post_init__(self) -> None:
        if self.rejection is not None and self.status is RequestStatus.ACCEPTED:
            object.__setattr__(self, "status", RequestStatus.REJECTED)


def request_from_row(row: Row[Any]) -> InboundRequest:
    """The ``InboundRequest`` a row of ``inbound_requests`` holds."""
    m = row._mapping
    return InboundRequest(
        id=m["id"],
        source_id=m["source_id"],
        received_at=m["received_at"],
        method=m["method"],
        path=m["path"],
        query=m["query"],
        headers=[(str(k), str(v)) for k, v in m["headers"]],
        body=bytes(m["body"]),
        source_ip=m["source_ip"],
        verified=bool(m["verified"]),
        rejection=m["rejection"],
        event_id=m["event_id"],
        event_type=m["event_type"],
        status=RequestStatus(m["status"]),
        message_id=m["message_id"],
    )


def new_request_id() -> str:
    return ids.new_id(ids.INBOUND_REQUEST)


def is_duplicate(request: InboundRequest) -> bool:
    """Whether ``request`` was refused only as a repeat of an accepted one."""
    return request.status is RequestStatus.DUPLICATE


# -- recording -----------------------------------------------------------------


class Received(NamedTuple):
    """A request to record, and what to do with it if it is accepted."""

    request: InboundRequest
    #: How long its event id is deduplicated (0: not at all).
    dedupe_window_ms: int
    #: The message forwarding it to the source's destinations, created in
    #: the same transaction if the request is accepted (not a duplicate).
    forward: AcceptItem | None = None
    #: What it is deduplicated on, if not its ``event_id`` (a body hash).
    dedupe_key: str | None = None

    @property
    def claim_key(self) -> str | None:
        """The key this request claims if accepted (None: no claim)."""
        request = self.request
        if request.rejection is not None or self.dedupe_window_ms <= 0:
            return None
        return self.dedupe_key or request.event_id


class Recorded(NamedTuple):
    """A request as stored, and the outcome of forwarding it (None if it
    was not forwarded)."""

    request: InboundRequest
    forwarded: AcceptOutcome | None = None


async def record_request(
    db: Database, request: InboundRequest, *, dedupe_window_ms: int
) -> InboundRequest:
    """Store ``request`` and return it as stored (``record_batch`` of one)."""
    return (await record_batch(db, [Received(request, dedupe_window_ms)]))[0].request


async def record_batch(
    db: Database,
    items: Sequence[Received],
    *,
    now_ms: int | None = None,
    lease_until_ms: int = 0,
    notify_workers: bool = False,
) -> list[Recorded]:
    """Store every request of ``items`` in one transaction, with the message
    forwarding each accepted one, and return them as stored, in order.

    A request that is accepted (``rejection`` None) and carries an
    ``event_id`` (or a ``dedupe_key``) claims it for its source for its
    ``dedupe_window_ms`` (0: no check, no claim); while an earlier claim has
    not expired, the request is stored with ``rejection = "duplicate of
    <first request id>"`` -- also when the first is earlier in the same
    batch. A claim lasts for the window in force when it was made. Claims
    and inserts share the transaction, so concurrent repeats (even in other
    processes) yield exactly one accepted request.

    The forwarded messages are created as ``accept_messages.accept_batch`` creates
    them (at ``now_ms``, default the latest ``received_at``; deliveries
    leased until ``lease_until_ms``; ``notify_workers`` on commit), in the
    same transaction as the requests: a crash leaves both or neither. Each
    forwarded request is stored with its message's id (``message_id``).
    """
    async with db.write() as conn:
        reads = FanoutReads(db)
        stored = await _claim_all(db, conn, items)
        forwarding = [
            (index, item.forward)
            for index, (item, request) in enumerate(zip(items, stored, strict=True))
            if item.forward is not None and request.status is RequestStatus.ACCEPTED
        ]
        outcomes: dict[int, AcceptOutcome] = {}
        if forwarding:
            at = now_ms if now_ms is not None else max(r.received_at for r in stored)
            accepted = await accept_in_transaction(
                db,
                conn,
                reads,
                [forward for _, forward in forwarding],
                at,
                lease_until_ms,
                notify_workers=notify_workers,
            )
            outcomes = {index: o for (index, _), o in zip(forwarding, accepted, strict=True)}
            stored = with_message_ids(stored, outcomes)
        await conn.execute(inbound_requests.insert(), [request_row(request) for request in stored])
    reads.publish()
    return [Recorded(request, outcomes.get(index)) for index, request in enumerate(stored)]


def with_message_ids(
    stored: list[InboundRequest], outcomes: dict[int, AcceptOutcome]
) -> list[InboundRequest]:
    """``stored`` with each forwarded request's ``message_id`` set (from
    ``outcomes``, by position)."""
    result = list(stored)
    for index, outcome in outcomes.items():
        if outcome.message is not None:
            result[index] = replace(result[index], message_id=outcome.message.id)
    return result


#: A claim: (source id, dedupe key).
ClaimKey = tuple[str, str]


async def _claim_all(
    db: Database, conn: AsyncConnection, items: Sequence[Received]
) -> list[InboundRequest]:
    """``items``' requests with the duplicates marked, their claims made:
    one multi-row insert for every new event id, one look per repeat."""
    claiming, first_of = claim_keys(items)
    holders: dict[ClaimKey, str | None] = {}
    if first_of:
        claims = [claim_values(items[index]) for index in first_of.values()]
        # executemany (SQLAlchemy's "insertmanyvalues"): one compiled statement
        # whatever the batch size, sent as multi-row INSERTs.
        inserted = await conn.execute(
            db.insert_ignoring_conflicts(inbound_dedupe).returning(
                inbound_dedupe.c.source_id, inbound_dedupe.c.event_id
            ),
            claims,
        )
        holders = {(row[0], row[1]): None for row in inserted}
        for key, index in first_of.items():
            if key not in holders:  # claimed before this batch
                holders[key] = await _claim_again(db, conn, items[index])
    return with_duplicates(items, claiming, first_of, holders)


def claim_keys(
    items: Sequence[Received],
) -> tuple[list[ClaimKey | None], dict[ClaimKey, int]]:
    """The claim of each item (None: it claims nothing), and the position of
    the first item making each claim."""
    claiming = [
        (item.request.source_id, claim) if (claim := item.claim_key) else None for item in items
    ]
    first_of: dict[ClaimKey, int] = {}
    for index, key in enumerate(claiming):
        if key is not None:
            first_of.setdefault(key, index)
    return claiming, first_of


def with_duplicates(
    items: Sequence[Received],
    claiming: Sequence[ClaimKey | None],
    first_of: dict[ClaimKey, int],
    holders: dict[ClaimKey, str | None],
) -> list[InboundRequest]:
    """``items``' requests, those repeating a claim marked duplicates:
    ``holders`` names the request holding each claim made before the batch
    (None: the batch's first item made it)."""
    stored = []
    for index, (item, key) in enumerate(zip(items, claiming, strict=True)):
        request = item.request
        if key is not None:
            holder = holders[key]
            if first_of[key] != index:
                holder = holder or items[first_of[key]].request.id
            if holder is not None:
                request = replace(
                    request,
                    rejection=f"{DUPLICATE_PREFIX}{holder}",
                    status=RequestStatus.DUPLICATE,
                )
        stored.append(request)
    return stored


def claim_values(item: Received) -> dict[str, Any]:
    """The ``inbound_dedupe`` row of ``item``'s claim."""
    request = item.request
    return {
        "source_id": request.source_id,
        "event_id": item.claim_key,
        "request_id": request.id,
        "created_at": request.received_at,
        "expires_at": request.received_at + item.dedupe_window_ms,
    }


def request_row(request: InboundRequest) -> dict[str, Any]:
    """The ``inbound_requests`` row of ``request``."""
    return {
        "id": request.id,
        "source_id": request.source_id,
        "received_at": request.received_at,
        "method": request.method,
        "path": request.path,
        "query": request.query,
        "headers": [list(pair) for pair in request.headers],
        "body": request.body,
        "source_ip": request.source_ip,
        "verified": request.verified,
        "rejection": request.rejection,
        "event_id": request.event_id,
        "event_type": request.event_type,
        "status": request.status.value,
        "message_id": request.message_id,
    }


async def _claim_again(db: Database, conn: AsyncConnection, item: Received) -> str | None:
    """Claim ``item``'s key (seen before) until ``received_at +
    dedupe_window_ms`` if the earlier claim expired; the id of the request
    holding an unexpired claim on it (a duplicate), else None."""
    request = item.request
    key = (inbound_dedupe.c.source_id == request.source_id) & (
        inbound_dedupe.c.event_id == item.claim_key
    )
    values = claim_values(item)
    claim = {name: values[name] for name in ("request_id", "created_at", "expires_at")}
    # Twice at most: an entry seen but purged before it could be read is retried.
    for _ in range(2):
        inserted = await conn.execute(db.insert_ignoring_conflicts(inbound_dedupe).values(values))
        if inserted.rowcount:
            return None
        # Seen before: take the entry over if it has expired.
        refreshed = await conn.execute(
            update(inbound_dedupe)
            .where(key & (inbound_dedupe.c.expires_at <= request.received_at))
            .values(**claim)
        )
        if refreshed.rowcount:
            return None
        first: str | None = (
            await conn.execute(select(inbound_dedupe.c.request_id).where(key))
        ).scalar()
        if first is not None:
            return first
    return None


# -- retention -------------------------------------------------------------------


async def purge_requests(db: Database, received_before_ms: int, *, batch: int = PURGE_BATCH) -> int:
    """Delete the stored requests (of every source) received before
    ``received_before_ms``, oldest first, ``batch`` rows per write
    transaction, so that a large purge never holds SQLite's write lock for
    long; returns how many were deleted. Dedupe entries are left alone (see
    the module docstring). On PostgreSQL, rows another purge is deleting are
    skipped, not waited for."""
    _check_batch(batch)
    c = inbound_requests.c
    doomed = db.skip_locked(
        select(c.id).where(c.received_at < received_before_ms).order_by(c.received_at).limit(batch)
    )
    statement = delete(inbound_requests).where(c.id.in_(doomed))
    return await _purge_in_batches(db, statement, batch)


async def purge_expired_dedupe(db: Database, now_ms: int, *, batch: int = PURGE_BATCH) -> int:
    """Delete the dedupe entries expired at ``now_ms`` (``expires_at <=
    now_ms``: their event ids would be accepted again anyway), ``batch``
    per write transaction; returns how many were deleted. An entry taken
    over meanwhile by a new request (a fresh expiry) is kept."""
    _check_batch(batch)
    c = inbound_dedupe.c
    expired = c.expires_at <= now_ms
    doomed = db.skip_locked(select(c.source_id, c.event_id).where(expired).limit(batch))
    statement = delete(inbound_dedupe).where(tuple_(c.source_id, c.event_id).in_(doomed), expired)
    return await _purge_in_batches(db, statement, batch)


def _check_batch(batch: int) -> None:
    if batch < 1:
        raise ValueError(f"batch must be at least 1, not {batch}")


async def _purge_in_batches(db: Database, statement: Any, batch: int) -> int:
    """Run the bounded ``statement`` in its own transaction until a run
    deletes fewer than ``batch`` rows; the total deleted."""
    total = 0
    while True:
        async with db.write() as conn:
            deleted = int((await conn.execute(statement)).rowcount or 0)
        total += deleted
        if deleted < batch:
            return total
        await asyncio.sleep(0)  # let waiting writers in between batches

"""What the dashboard shows about received requests beyond the API's search
(``store.inbound_search``): how many each source received lately, by status,
and which later requests were duplicates of a given one.

Both walk the ``(source_id, status, id)`` index of ``inbound_requests``:
the counts for a page of sources and a recent window only, as an id range
(ids are time-ordered), so counting reads the index alone, not the rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select

from hookgate.core import ids
from hookgate.store.database import Database
from hookgate.store.inbound_requests import DUPLICATE_PREFIX, RequestStatus
from hookgate.store.tables import inbound_requests

#: At most this many duplicates are listed for one request.
DUPLICATES_SHOWN = 20


@dataclass(frozen=True, slots=True)
class RequestRef:
    """A received request, by id and time only (no headers or body read)."""

    id: str
    received_at: int


async def counts_since(
    db: Database, source_ids: Sequence[str], since_ms: int
) -> dict[str, dict[str, int]]:
    """For each of ``source_ids``, how many requests it received from
    ``since_ms`` (epoch ms) on, by status (``accepted``, ``rejected``,
    ``duplicate``); sources with none are absent."""
    if not source_ids:
        return {}
    since = datetime.fromtimestamp(since_ms / 1000, UTC)
    c = inbound_requests.c
    query = (
        select(c.source_id, c.status, func.count())
        .where(
            c.source_id.in_(list(source_ids)),
            c.id >= ids.min_id_for_time(ids.INBOUND_REQUEST, since),
        )
        .group_by(c.source_id, c.status)
    )
    counts: dict[str, dict[str, int]] = {}
    async with db.read() as conn:
        for source_id, status, count in (await conn.execute(query)).all():
            counts.setdefault(source_id, {})[status] = int(count)
    return counts


async def duplicates_of(
    db: Database, source_id: str, request_id: str, *, limit: int = DUPLICATES_SHOWN
) -> list[RequestRef]:
    """The requests of ``source_id`` stored as duplicates of ``request_id``,
    newest first, at most ``limit``."""
    c = inbound_requests.c
    query = (
        select(c.id, c.received_at)
        .where(
            c.source_id == source_id,
            c.status == RequestStatus.DUPLICATE.value,
            c.rejection == f"{DUPLICATE_PREFIX}{request_id}",
        )
        .order_by(c.id.desc())
        .limit(limit)
    )
    async with db.read() as conn:
        rows = (await conn.execute(query)).all()
    return [RequestRef(id=row[0], received_at=row[1]) for row in rows]

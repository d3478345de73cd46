"""Reading a source's requests forwards, for the request stream that
``hookgate listen`` follows (``api/routes/request_stream.py``), and keeping
what the listener's local server answered.

Requests are read in id order (ids are time-ordered, ``core.ids``). The
stream reads ids first (``ids_after``: the ``(source_id, id)`` index alone)
and whole rows only for the ids it has not sent (``requests_with_ids``), so
looking again at the last few seconds, which catches requests committed out
of id order, costs an index range scan and no bodies.

A local response (``LocalResponse``) is what the listener's local server
answered to one forwarded request: kept once per request (the latest report
replaces an earlier one) and deleted with the request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, insert, select

from hookgate.store.database import Database
from hookgate.store.errors import NotFound
from hookgate.store.inbound_requests import InboundRequest, request_from_row
from hookgate.store.sources import Source, find
from hookgate.store.tables import inbound_requests, local_responses


async def source_of(db: Database, source_ref: str) -> Source:
    """The source whose id or uid is ``source_ref``; raises ``NotFound``."""
    async with db.read() as conn:
        return await find(conn, source_ref)


async def newest_id(db: Database, source_id: str) -> str | None:
    """The id of ``source_id``'s newest request (None: it has none)."""
    c = inbound_requests.c
    query = select(c.id).where(c.source_id == source_id).order_by(c.id.desc()).limit(1)
    async with db.read() as conn:
        return (await conn.execute(query)).scalar_one_or_none()


async def ids_after(db: Database, source_id: str, after: str, limit: int) -> list[str]:
    """Up to ``limit`` ids of ``source_id``'s requests greater than
    ``after``, ascending."""
    c = inbound_requests.c
    query = (
        select(c.id).where(c.source_id == source_id, c.id > after).order_by(c.id.asc()).limit(limit)
    )
    async with db.read() as conn:
        return list((await conn.execute(query)).scalars())


async def requests_with_ids(
    db: Database, source_id: str, request_ids: Sequence[str]
) -> list[InboundRequest]:
    """The requests of ``source_id`` among ``request_ids``, in id order
    (ids purged meanwhile are left out)."""
    if not request_ids:
        return []
    c = inbound_requests.c
    query = (
        select(inbound_requests)
        .where(c.source_id == source_id, c.id.in_(list(request_ids)))
        .order_by(c.id.asc())
    )
    async with db.read() as conn:
        return [request_from_row(row) for row in (await conn.execute(query)).all()]


@dataclass(frozen=True, slots=True)
class LocalResponse:
    """What a listener's local server answered to a forwarded request:
    ``status`` and ``headers`` (None with ``error`` when no response came),
    the first bytes of the body, the latency, who reported it and when."""

    request_id: str
    status: int | None
    headers: list[tuple[str, str]]
    body: bytes
    latency_ms: int
    error: str | None
    forwarded_to: str
    reported_at: int


async def save_local_response(db: Database, source_ref: str, response: LocalResponse) -> None:
    """Keep ``response`` for its request (replacing an earlier report);
    raises ``NotFound`` for no such source or no such request of it."""
    async with db.write() as conn:
        source = await find(conn, source_ref)
        c = inbound_requests.c
        exists = await conn.execute(
            select(c.id).where(c.source_id == source.id, c.id == response.request_id)
        )
        if exists.first() is None:
            raise NotFound("Request")
        values = {
            "request_id": response.request_id,
            "status": response.status,
            "headers": [list(pair) for pair in response.headers],
            "body": response.body,
            "latency_ms": response.latency_ms,
            "error": response.error,
            "forwarded_to": response.forwarded_to,
            "reported_at": response.reported_at,
        }
        # Delete then insert: one portable statement pair replaces an earlier report.
        await conn.execute(
            delete(local_responses).where(local_responses.c.request_id == response.request_id)
        )
        await conn.execute(insert(local_responses).values(values))


async def local_response(db: Database, request_id: str) -> LocalResponse | None:
    """The local response reported for ``request_id`` (None: none yet)."""
    query = select(local_responses).where(local_responses.c.request_id == request_id)
    async with db.read() as conn:
        row = (await conn.execute(query)).first()
    if row is None:
        return None
    m = row._mapping
    return LocalResponse(
        request_id=m["request_id"],
        status=m["status"],
        headers=[(str(k), str(v)) for k, v in m["headers"]],
        body=bytes(m["body"]),
        latency_ms=m["latency_ms"],
        error=m["error"],
        forwarded_to=m["forwarded_to"],
        reported_at=m["reported_at"],
    )

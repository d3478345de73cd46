"""Searching the requests sources received: by time, event id and type,
verification and status, newest first, a page at a time; and one request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select

from hookgate.store.database import Database
from hookgate.store.errors import NotFound
from hookgate.store.inbound_requests import InboundRequest, RequestStatus, request_from_row
from hookgate.store.pagination import Page, paginate
from hookgate.store.sources import find
from hookgate.store.tables import inbound_requests


@dataclass(frozen=True, slots=True)
class RequestFilter:
    """Search criteria of ``list_requests``; None means any. Times are epoch
    ms and exclusive, as in the message list: ``after`` < received_at <
    ``before``."""

    verified: bool | None = None
    after: int | None = None
    before: int | None = None
    event_id: str | None = None
    event_type: str | None = None
    status: RequestStatus | None = None

    def matches(self, request: InboundRequest) -> bool:
        """Whether ``request`` meets every criterion set (as ``_filtered``
        selects in SQL)."""
        return (
            (self.verified is None or request.verified == self.verified)
            and (self.after is None or request.received_at > self.after)
            and (self.before is None or request.received_at < self.before)
            and (self.event_id is None or request.event_id == self.event_id)
            and (self.event_type is None or request.event_type == self.event_type)
            and (self.status is None or request.status is self.status)
        )


ANY = RequestFilter()


def _filtered(query: Select[Any], f: RequestFilter) -> Select[Any]:
    c = inbound_requests.c
    if f.verified is not None:
        query = query.where(c.verified == f.verified)
    if f.after is not None:
        query = query.where(c.received_at > f.after)
    if f.before is not None:
        query = query.where(c.received_at < f.before)
    if f.event_id is not None:
        query = query.where(c.event_id == f.event_id)
    if f.event_type is not None:
        query = query.where(c.event_type == f.event_type)
    if f.status is not None:
        query = query.where(c.status == f.status.value)
    return query


async def list_requests(
    db: Database,
    source_ref: str,
    f: RequestFilter = ANY,
    *,
    iterator: str | None,
    limit: int | None,
) -> Page[InboundRequest]:
    """The requests of ``source_ref`` (id or uid) that match ``f``, newest
    first, one page (``store.pagination``; the iterator is a request id, so
    pass the same filter for every page). Raises ``NotFound`` for no source."""
    async with db.read() as conn:
        source = await find(conn, source_ref)
        query = select(inbound_requests).where(inbound_requests.c.source_id == source.id)
        return await paginate(
            conn,
            _filtered(query, f),
            inbound_requests.c.id,
            request_from_row,
            iterator=iterator,
            limit=limit,
            descending=True,
        )


async def get_request(db: Database, source_ref: str, request_id: str) -> InboundRequest:
    """The request ``request_id`` received by ``source_ref``; raises
    ``NotFound`` for no such source or no such request of it."""
    async with db.read() as conn:
        source = await find(conn, source_ref)
        query = select(inbound_requests).where(
            inbound_requests.c.source_id == source.id, inbound_requests.c.id == request_id
        )
        row = (await conn.execute(query)).first()
    if row is None:
        raise NotFound("Request")
    return request_from_row(row)

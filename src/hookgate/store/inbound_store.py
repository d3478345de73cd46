"""``store.contract.InboundRequests`` on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence

from hookgate.store.database import Database
from hookgate.store.inbound_direct import InboundStatements, record_directly
from hookgate.store.inbound_requests import (
    PURGE_BATCH,
    InboundRequest,
    Received,
    Recorded,
    purge_expired_dedupe,
    purge_requests,
    record_batch,
)
from hookgate.store.inbound_search import ANY, RequestFilter, get_request, list_requests
from hookgate.store.pagination import Page


class SqlInboundRequests:
    """``store.contract.InboundRequests`` on SQLite and PostgreSQL: the
    functions of ``store.inbound_requests`` and ``store.inbound_search`` on one
    ``Database`` (on the embedded one, ``store.inbound_direct`` first)."""

    __slots__ = ("_direct", "db")

    def __init__(self, db: Database) -> None:
        self.db = db
        self._direct = InboundStatements(db.engine.dialect) if db.has_driver_writes else None

    async def record_batch(
        self,
        items: Sequence[Received],
        *,
        now_ms: int | None = None,
        lease_until_ms: int = 0,
        notify_workers: bool = False,
    ) -> list[Recorded]:
        if self._direct is not None:
            recorded = await record_directly(self.db, self._direct, items, now_ms, lease_until_ms)
            if recorded is not None:
                return recorded
        return await record_batch(
            self.db,
            items,
            now_ms=now_ms,
            lease_until_ms=lease_until_ms,
            notify_workers=notify_workers,
        )

    async def list_requests(
        self,
        source_ref: str,
        f: RequestFilter = ANY,
        *,
        iterator: str | None,
        limit: int | None,
    ) -> Page[InboundRequest]:
        return await list_requests(self.db, source_ref, f, iterator=iterator, limit=limit)

    async def get_request(self, source_ref: str, request_id: str) -> InboundRequest:
        return await get_request(self.db, source_ref, request_id)

    async def purge_requests(self, received_before_ms: int, *, batch: int = PURGE_BATCH) -> int:
        return await purge_requests(self.db, received_before_ms, batch=batch)

    async def purge_expired_dedupe(self, now_ms: int, *, batch: int = PURGE_BATCH) -> int:
        return await purge_expired_dedupe(self.db, now_ms, batch=batch)

"""Group commit for received requests: every ``/in`` request being answered
at the same moment is stored in one transaction (``record_batch``), so a
burst costs one commit, not one per request.

A batch the database refuses as a whole is retried one request at a time,
so that a request the database cannot take fails alone and the others are
stored.
"""

from __future__ import annotations

from collections.abc import Sequence

from hookgate.delivery.batcher import GroupCommitter, isolating_failures
from hookgate.store import inbound_requests
from hookgate.store.database import Database
from hookgate.store.inbound_requests import InboundRequest

#: At most this many requests per transaction (5 dedupe parameters each stay
#: well inside SQLite's and PostgreSQL's bound-parameter limits).
MAX_BATCH = 500

_Item = tuple[InboundRequest, int]


class Recorder:
    """Stores received requests for ``hookgate.inbound.accept``."""

    def __init__(self, db: Database, max_batch: int = MAX_BATCH):
        self.db = db
        self._committer: GroupCommitter[_Item, InboundRequest] = GroupCommitter(
            self._flush, max_batch
        )

    async def record(self, request: InboundRequest, *, dedupe_window_ms: int) -> InboundRequest:
        """Store ``request`` (see ``inbound_requests.record_batch`` for the
        deduplication) and return it as stored, once it is committed."""
        return await self._committer.submit((request, dedupe_window_ms))

    async def release_event_id(self, request: InboundRequest) -> None:
        """``inbound_requests.release_event_id``."""
        await inbound_requests.release_event_id(self.db, request)

    async def _flush(self, items: Sequence[_Item]) -> Sequence[InboundRequest | BaseException]:
        return await isolating_failures(self._record, items, Exception)

    async def _record(self, items: Sequence[_Item]) -> list[InboundRequest]:
        return await inbound_requests.record_batch(self.db, items)

"""Group commit for received requests: every ``/in`` request being answered
at the same moment is stored in one transaction (``record_batch``), together
with the messages forwarding the accepted ones, so a burst costs one commit,
not one per request, and a crash never separates a request from its forward.

The forwarded messages' deliveries are handed to this process's dispatcher
after commit, exactly as ``Engine.accept`` hands over message deliveries
(leased to it, or left to the workers, woken on PostgreSQL).

A batch the database refuses as a whole is retried one request at a time,
so that a request the database cannot take fails alone and the others are
stored.
"""

from __future__ import annotations

from collections.abc import Sequence

from hookgate.delivery.batcher import GroupCommitter, isolating_failures
from hookgate.delivery.engine import Engine, Handoff, now_ms
from hookgate.metrics import Metrics
from hookgate.store.accept_messages import AcceptItem
from hookgate.store.contract import InboundRequests
from hookgate.store.database import Database
from hookgate.store.inbound_requests import InboundRequest, Received, Recorded
from hookgate.store.inbound_store import SqlInboundRequests

#: At most this many requests per transaction (5 dedupe parameters each stay
#: well inside SQLite's and PostgreSQL's bound-parameter limits).
MAX_BATCH = 500


class Recorder:
    """Stores received requests for ``hookgate.inbound.handle_request``, forwarding
    accepted ones through ``engine``'s dispatcher (without an engine,
    forwarded deliveries are left to the workers). ``requests`` stores them;
    a ``Database`` stands for the SQL store on it. ``metrics``, if given,
    counts the stored requests by verdict."""

    def __init__(
        self,
        requests: InboundRequests | Database,
        engine: Engine | None = None,
        max_batch: int = MAX_BATCH,
        metrics: Metrics | None = None,
    ):
        if isinstance(requests, Database):
            requests = SqlInboundRequests(requests)
        self.requests: InboundRequests = requests
        self._engine = engine
        self._metrics = metrics
        self._committer: GroupCommitter[Received, Recorded] = GroupCommitter(self._flush, max_batch)

    async def record(
        self,
        request: InboundRequest,
        *,
        dedupe_window_ms: int,
        forward: AcceptItem | None = None,
        dedupe_key: str | None = None,
    ) -> Recorded:
        """Store ``request``, and the message ``forward`` if the request is
        accepted, deduplicated on ``dedupe_key`` if given, else on its event
        id (see ``InboundRequests.record_batch``); return it as stored, once
        it is committed."""
        return await self._committer.submit(
            Received(request, dedupe_window_ms, forward, dedupe_key)
        )

    async def drain(self) -> None:
        """Wait until everything submitted so far is committed."""
        await self._committer.drain()

    async def _flush(self, items: Sequence[Received]) -> Sequence[Recorded | BaseException]:
        return await isolating_failures(self._record, items, Exception)

    async def _record(self, items: Sequence[Received]) -> list[Recorded]:
        engine = self._engine
        handoff = engine.plan_handoff() if engine is not None else Handoff(now_ms(), 0)
        recorded = await self.requests.record_batch(
            items,
            now_ms=handoff.now_ms,
            lease_until_ms=handoff.lease_until_ms,
            notify_workers=handoff.notify_workers,
        )
        if engine is not None:
            engine.hand_over(
                handoff, (job for r in recorded if r.forwarded for job in r.forwarded.jobs)
            )
        if self._metrics is not None:
            self._metrics.inbound_recorded(r.request.status.value for r in recorded)
        return recorded

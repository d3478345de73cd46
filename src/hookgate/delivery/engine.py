"""The delivery engine: accept (group commit + fan-out) wired to the dispatcher."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from hookgate.config import Settings
from hookgate.core.clock import DAY_MS

# Re-exported for callers that still import it from here; new code imports
# it from ``core.clock``.
from hookgate.core.clock import now_ms as now_ms
from hookgate.core.netpolicy import AddressPolicy
from hookgate.delivery.batcher import GroupCommitter, isolating_failures
from hookgate.delivery.dispatcher import Dispatcher, DispatchSettings
from hookgate.delivery.sender import Sender
from hookgate.delivery.sender_process import ProcessSender
from hookgate.delivery.senders import open_sender
from hookgate.metrics import Metrics
from hookgate.store.accept_messages import AcceptItem, AcceptOutcome, AcceptStatus
from hookgate.store.contract import MessageAccept
from hookgate.store.database import Database
from hookgate.store.errors import StoreRejected
from hookgate.store.message_accept import SqlMessageAccept
from hookgate.store.queue import SqlDeliveryQueue
from hookgate.store.records import Job
from hookgate.store.throttle import ThrottledApps

log = logging.getLogger(__name__)


def dispatch_settings(settings: Settings) -> DispatchSettings:
    return DispatchSettings(
        retry_policy=settings.retry_policy,
        endpoint_concurrency=settings.endpoint_concurrency,
        endpoint_hold=2 * settings.endpoint_concurrency,
        max_in_flight=settings.max_in_flight,
        max_held=max(settings.max_in_flight * 5, settings.claim_batch_size * 2),
        lease_seconds=settings.lease_seconds,
        poll_interval=settings.poll_interval,
        claim_batch_size=settings.claim_batch_size,
        request_timeout=settings.request_timeout,
        slow_down_seconds=settings.slow_down_seconds,
    )


def endpoint_lease_cap(settings: Settings, *, single_process: bool) -> int:
    """The most deliveries of one endpoint that claims leave leased at once.

    Where several processes deliver (PostgreSQL workers) the leases are what
    holds an endpoint to ``endpoint_concurrency`` requests across all of them.
    In the embedded mode the only dispatcher's lanes hold it to that, so
    claims may lease up to a lane's hold: the next requests are then ready
    while the results of the last ones are being written, instead of waiting
    for those writes to free leases.
    """
    if single_process:
        return dispatch_settings(settings).endpoint_hold
    return settings.endpoint_concurrency


@dataclass(frozen=True, slots=True)
class Handoff:
    """How the deliveries a write transaction creates reach a dispatcher,
    decided before it starts (``Engine.plan_handoff``)."""

    #: The time the transaction stores (epoch ms).
    now_ms: int
    #: Create the deliveries leased to this process's dispatcher until then
    #: and hand them over after commit; 0: not leased, workers claim them.
    lease_until_ms: int

    @property
    def notify_workers(self) -> bool:
        """Whether the transaction must wake the (PostgreSQL) workers."""
        return self.lease_until_ms == 0


class Engine:
    """Accepts messages durably and, when ``run_worker``, delivers them.

    ``accept`` returns only after the message and its deliveries are
    committed; the new deliveries then go straight to this process's
    dispatcher (leased to it), with the database row as the truth.
    """

    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        run_worker: bool = True,
        sender: Sender | None = None,
        message_accept: MessageAccept | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        """``message_accept`` stores accepted batches (default: the SQL store
        on ``db``); ``metrics`` counts accepted messages and attempts (default:
        a new ``Metrics``)."""
        self.settings = settings
        self.db = db
        self.metrics = metrics or Metrics()
        self.message_accept: MessageAccept = message_accept or SqlMessageAccept(db)
        self.queue = SqlDeliveryQueue(
            db,
            endpoint_cap=endpoint_lease_cap(settings, single_process=db.single_process),
            disable_after_ms=int(settings.disable_after_days * DAY_MS),
        )
        self.sender: Sender = sender or open_sender(
            settings.http_client,
            AddressPolicy(settings.allowed_networks),
            max_response_bytes=settings.max_response_bytes,
            pool_limit=settings.max_in_flight,
            in_child_process=settings.sends_in_child_process,
        )
        self.dispatcher = (
            Dispatcher(
                self.queue,
                self.sender,
                dispatch_settings(settings),
                on_written=self.metrics.results_written,
            )
            if run_worker
            else None
        )
        self._committer: GroupCommitter[AcceptItem, AcceptOutcome] = GroupCommitter(
            self._flush, settings.accept_batch_size
        )
        self._wakeup = (
            db.delivery_listener(self.dispatcher.wake) if self.dispatcher is not None else None
        )
        self._throttled_apps = ThrottledApps(db)
        self._lookups: set[asyncio.Task[None]] = set()

    async def start(self, *, sole_process: bool) -> None:
        """Start delivering. ``sole_process`` (embedded SQLite) means no other
        process can hold leases, so leases left by a crash are taken back now."""
        if sole_process:
            await self.queue.release_all()
        if self.dispatcher is not None:
            if isinstance(self.sender, ProcessSender):
                self.sender.start_soon()
            await self.dispatcher.start()
        if self._wakeup is not None:
            self._wakeup.start()

    async def stop(self) -> None:
        """Finish accepting, stop delivering (in-flight sends finish, queued
        deliveries are handed back) and close connections."""
        if self._wakeup is not None:
            await self._wakeup.stop()
        await self._committer.drain()
        for lookup in self._lookups:
            lookup.cancel()
        await asyncio.gather(*self._lookups, return_exceptions=True)
        if self.dispatcher is not None:
            await self.dispatcher.stop()
        await self.sender.close()

    async def accept(self, item: AcceptItem) -> AcceptOutcome:
        return await self._committer.submit(item)

    async def wake(self) -> None:
        """Deliveries became due (resend, recover): wake this process's
        dispatcher, or the workers listening on PostgreSQL."""
        if self.dispatcher is not None:
            self.dispatcher.wake()
        else:
            await self.db.wake_workers()

    async def _flush(self, items: Sequence[AcceptItem]) -> list[AcceptOutcome | BaseException]:
        """Accept a batch in one transaction. If the database refuses a value,
        the items are retried one by one, so only the bad one fails."""
        return await isolating_failures(self._accept, items, StoreRejected)

    def plan_handoff(self) -> Handoff:
        """The hand-over for a transaction about to create deliveries: leased
        to this process's dispatcher if it has room, else left to workers."""
        dispatcher = self.dispatcher
        now = now_ms()
        if dispatcher is not None and dispatcher.has_room():
            return Handoff(now, now + dispatcher.lease_ms)
        return Handoff(now, 0)

    def hand_over(self, handoff: Handoff, jobs: Iterable[Job]) -> None:
        """After commit: give the deliveries a transaction created under
        ``handoff`` to this process's dispatcher (or wake it to claim them)."""
        dispatcher = self.dispatcher
        if dispatcher is None:
            return
        if handoff.notify_workers:
            dispatcher.wake()
            return
        direct: list[Job] = []
        paced: list[Job] = []
        for job in jobs:
            (paced if self._maybe_throttled(job) else direct).append(job)
        if paced:
            # Throttled endpoints share their budget through claims only.
            dispatcher.defer_to_claim(paced)
            self._look_up_apps({job.app_id for job in paced})
        dispatcher.submit(direct)

    def _maybe_throttled(self, job: Job) -> bool:
        """Whether ``job``'s endpoint has (or may have) a ``throttleRate``."""
        return job.endpoint.throttle_rate is not None or (
            self._throttled_apps.rated(job.app_id) is not False
        )

    def _look_up_apps(self, app_ids: set[str]) -> None:
        """Learn in the background which of ``app_ids`` are throttled."""
        unknown = {a for a in app_ids if self._throttled_apps.rated(a) is None}
        if not unknown:
            return
        task = asyncio.create_task(self._throttled_apps.load(unknown))
        self._lookups.add(task)
        task.add_done_callback(self._lookup_done)

    def _lookup_done(self, task: asyncio.Task[None]) -> None:
        self._lookups.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # Harmless: the applications stay unknown, their deliveries paced.
            log.warning("looking up application throttle rates failed: %s", task.exception())

    async def _accept(self, items: Sequence[AcceptItem]) -> list[AcceptOutcome]:
        handoff = self.plan_handoff()
        outcomes = await self.message_accept.accept_batch(
            items,
            handoff.now_ms,
            handoff.lease_until_ms,
            notify_workers=handoff.notify_workers,
        )
        self.hand_over(handoff, (job for outcome in outcomes for job in outcome.jobs))
        self.metrics.messages_accepted(
            sum(1 for outcome in outcomes if outcome.status is AcceptStatus.CREATED)
        )
        return outcomes

"""The dispatcher: claims due deliveries, sends them fairly, records results.

Jobs arrive two ways: handed over by the accept path right after commit (no
poll delay), or claimed from the store by the poll loop (retries, backlog,
work left by a dead process). They go into their endpoint's lane; lanes take
turns (``delivery/lanes.py``), so one slow endpoint never holds up the
others, and what each endpoint may take — its concurrency window, its turns
while in trouble, the circuit breaker — follows from its recent attempts
(``delivery/health.py``). An endpoint the breaker pauses, or one that asks to
slow down (429, 502, 504), gets nothing for the pause; an endpoint that
answers with an error status keeps to the retry schedule. A pause is written
to the store with the result, so that no worker's claims take the endpoint's
deliveries until it ends. A lane holds at most ``endpoint_hold`` jobs (queued
and in flight); jobs handed over beyond that go back to the store, so a stuck
endpoint cannot fill this process's room for held jobs and starve the others.

A job carrying a send slot (``Job.not_before``, from a throttled endpoint's
claim) waits for it before it joins its lane's queue. Jobs for throttled
endpoints that did not come through a claim (``defer_to_claim``) go back to
the store, due now, for a claim to pace them.

Every job this process holds keeps its lease renewed until its result is
durably written. Each job in flight runs in a worker task, which goes on to
the next job allowed to start rather than ending, so a busy dispatcher does
not create a task per delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Iterable, Sequence

from hookgate.core import ids
from hookgate.core.outcome import Verdict, classify
from hookgate.core.polling import is_poller_url
from hookgate.delivery.forwarding import outbound_headers
from hookgate.delivery.health import HealthBook
from hookgate.delivery.lanes import Lane, Lanes
from hookgate.delivery.results import ResultWriter
from hookgate.delivery.sender import OutboundRequest, Sender
from hookgate.delivery.settings import DispatchSettings
from hookgate.delivery.signer import Signer
from hookgate.store.contract import DeliveryQueue
from hookgate.store.errors import StoreUnavailable
from hookgate.store.records import AttemptRow, DeliveryResult, DeliveryStatus, Job

__all__ = ["DispatchSettings", "Dispatcher"]

log = logging.getLogger(__name__)


class Dispatcher:
    """Sends jobs with per-endpoint caps and writes the outcomes back."""

    def __init__(
        self,
        queue: DeliveryQueue,
        sender: Sender,
        settings: DispatchSettings,
        *,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        on_written: Callable[[Sequence[DeliveryResult]], None] | None = None,
    ) -> None:
        """``on_written`` is told each batch of results once it is durably
        written (the process's metrics count the attempts in it)."""
        self._queue = queue
        self._sender = sender
        self._settings = settings
        self._clock = clock
        self._rng = rng or random.Random()
        self._signer = Signer()
        self._held: dict[str, Job] = {}
        self._health = HealthBook(settings, clock)
        self._lanes = Lanes(self._health, settings, clock, self._pump)
        self._tasks: set[asyncio.Task[None]] = set()
        self._on_written = on_written
        self._results = ResultWriter(queue, self._forget, self._now_ms)
        self._wake = asyncio.Event()
        self._loops: list[asyncio.Task[None]] = []

    # -- public surface --------------------------------------------------------

    @property
    def lease_ms(self) -> int:
        return int(self._settings.lease_seconds * 1000)

    @property
    def held(self) -> int:
        """Jobs this process is responsible for (queued, sending or recording)."""
        return len(self._held)

    def has_room(self) -> bool:
        return not self._lanes.closed and len(self._held) < self._settings.max_held

    def submit(self, jobs: Iterable[Job]) -> None:
        """Take over leased jobs; duplicates of held jobs are ignored."""
        for job in jobs:
            if job.delivery_id in self._held:
                continue
            self._held[job.delivery_id] = job
            lane = self._lanes.by_endpoint.get(job.endpoint.id)
            if lane is None:
                lane = self._lanes.by_endpoint[job.endpoint.id] = Lane()
            if lane.paused_until > self._clock():
                self._postpone(job, lane)
                continue
            if lane.in_flight + len(lane.queue) + lane.waiting >= self._settings.endpoint_hold:
                self._give_back(job)
                continue
            wait = job.not_before / 1000 - self._clock()
            if wait > 0:
                lane.waiting += 1
                asyncio.get_running_loop().call_later(wait, self._slot_reached, job)
                continue
            lane.queue.append(job)
            self._lanes.schedule(job.endpoint.id, lane)
        self._pump()

    def defer_to_claim(self, jobs: Iterable[Job]) -> None:
        """Take over leased jobs only to hand them back to the store at once,
        due now, so that a claim paces them (throttled endpoints)."""
        for job in jobs:
            if job.delivery_id not in self._held:
                self._held[job.delivery_id] = job
                self._give_back(job)

    def wake(self) -> None:
        """Ask the poll loop to look for due work now."""
        self._wake.set()

    async def start(self) -> None:
        self._loops = [
            asyncio.create_task(self._poll_loop(), name="hookgate-poll"),
            asyncio.create_task(self._renew_loop(), name="hookgate-renew"),
        ]

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Stop claiming, let in-flight sends finish (up to ``grace_seconds``), record
        their results and give queued jobs back to the store."""
        self._lanes.close()
        for loop in self._loops:
            loop.cancel()
        for loop in self._loops:
            with contextlib.suppress(asyncio.CancelledError):
                await loop
        self._lanes.drop_queued()
        if self._tasks:
            _, late = await asyncio.wait(set(self._tasks), timeout=grace_seconds)
            for task in late:
                task.cancel()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._results.drain(), grace_seconds)
        # Whatever is still held (queued, cancelled, or its result unwritten)
        # goes back to the store; if that fails too, the leases run out.
        if self._held:
            with contextlib.suppress(Exception):
                await self._queue.release(list(self._held))
        self._held.clear()

    # -- hand-over --------------------------------------------------------------

    def _pump(self) -> None:
        """Start a worker for every job the lanes let start now."""
        while (taken := self._lanes.take()) is not None:
            task = asyncio.create_task(self._work(*taken))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _slot_reached(self, job: Job) -> None:
        """``job``'s send slot has come: queue it in its lane."""
        lane = self._lanes.by_endpoint.get(job.endpoint.id)
        if lane is None or self._lanes.closed:
            return  # stop() hands every held job back
        remaining = job.not_before / 1000 - self._clock()
        if remaining > 0:  # the loop's timer ran ahead of our clock
            asyncio.get_running_loop().call_later(remaining, self._slot_reached, job)
            return
        lane.waiting -= 1
        if lane.gone:
            self._results.add(DeliveryResult(job, DeliveryStatus.FAIL, self._now_ms()))
            return
        if lane.paused_until > self._clock():
            self._postpone(job, lane)
            return
        lane.queue.append(job)
        self._lanes.schedule(job.endpoint.id, lane)
        self._pump()

    def _pause(self, endpoint_id: str, lane: Lane, seconds: float) -> None:
        """Send nothing to this endpoint for ``seconds``; what is queued for it
        goes back to the store, due when the pause ends, so that it does not
        take room other endpoints could use."""
        lane.paused_until = max(lane.paused_until, self._clock() + seconds)
        while lane.queue:
            self._postpone(lane.queue.popleft(), lane)
        asyncio.get_running_loop().call_later(seconds, self._lanes.resume, endpoint_id)

    def _give_back(self, job: Job) -> None:
        """Hand ``job`` back to the store, due now, without an attempt: another
        claim takes it when its endpoint has room."""
        self._results.add(DeliveryResult(job, DeliveryStatus.PENDING, self._now_ms()))

    def _postpone(self, job: Job, lane: Lane) -> None:
        """Hand ``job`` back, due when the lane's pause ends (no attempt made)."""
        paused_until_ms = int(lane.paused_until * 1000)
        self._results.add(DeliveryResult(job, DeliveryStatus.PENDING, paused_until_ms))

    def _forget(self, results: Sequence[DeliveryResult]) -> None:
        if self._on_written is not None:
            self._on_written(results)
        for result in results:
            self._held.pop(result.job.delivery_id, None)
        if len(self._held) < self._settings.max_held:
            self._wake.set()

    # -- sending ------------------------------------------------------------------

    async def _work(self, job: Job, lane: Lane) -> None:
        """Deliver ``job``, then go on with the next job the lanes give, until it
        gives none: a worker runs while there is work it may start, so a busy
        dispatcher reuses its tasks instead of creating one per delivery. The
        jobs started are exactly those a ``_pump`` after each delivery would
        start, in the same order."""
        while True:
            await self._deliver(job, lane)
            taken = self._lanes.take()
            if taken is None:
                return
            job, lane = taken
            self._pump()  # more may start than this worker can take (rare)

    async def _deliver(self, job: Job, lane: Lane) -> None:
        try:
            self._results.add(await self._attempt(job, lane))
        except Exception:
            log.exception("delivery %s crashed; it will be retried", job.delivery_id)
            self._results.add(self._retry_later(job))
        finally:
            self._lanes.finished(job.endpoint.id, lane)

    async def _attempt(self, job: Job, lane: Lane) -> DeliveryResult:
        endpoint = job.endpoint
        if is_poller_url(endpoint.url):
            # A polling endpoint (made one after this was queued, or a
            # resend) is read by its consumer: there is nothing to send.
            return DeliveryResult(job, DeliveryStatus.SUCCESS, self._now_ms())
        started = self._clock()
        started_ms = int(started * 1000)
        headers = self._signer.headers(
            job.msg_id, int(started), job.payload, endpoint.active_secrets(started_ms)
        )
        if job.headers is not None:  # a forwarded inbound request
            headers = outbound_headers(job.headers, endpoint.headers, headers)
        elif endpoint.headers:  # custom headers go first; they cannot replace the signature
            headers = {**endpoint.headers, **headers}
        result = await self._sender.send(
            OutboundRequest(endpoint.url, headers, job.payload, self._settings.request_timeout)
        )
        job.attempt_count += 1
        breaker_pause = self._health.learn(endpoint.id, result)
        now_ms = self._now_ms()
        attempt = AttemptRow(
            id=ids.new_id(ids.ATTEMPT),
            url=endpoint.url,
            status=DeliveryStatus.SUCCESS if result.succeeded else DeliveryStatus.FAIL,
            response_status_code=result.status_code or 0,
            response=result.body,
            response_headers=result.headers,
            response_duration_ms=result.duration_ms,
            error_kind=result.error_kind.value if result.error_kind else None,
            error_message=result.error_message,
            created_at=started_ms,
        )
        outcome = classify(result)
        if outcome.verdict is Verdict.SUCCESS:
            return DeliveryResult(job, DeliveryStatus.SUCCESS, now_ms, attempt)
        if outcome.verdict is Verdict.DISABLE_ENDPOINT:
            self._fail_queued(lane)
            return DeliveryResult(job, DeliveryStatus.FAIL, now_ms, attempt, disable_endpoint=True)
        policy = self._settings.retry_policy
        pause = breaker_pause
        if outcome.slow_down:
            asked = outcome.retry_after or self._settings.slow_down_seconds
            pause = max(pause, min(asked, policy.max_retry_after))
        paused_until_ms = 0
        if pause > 0:
            self._pause(endpoint.id, lane, pause)
            paused_until_ms = int(lane.paused_until * 1000)
        delay = policy.next_delay(job.attempt_count, retry_after=outcome.retry_after, rng=self._rng)
        if delay is None:
            return DeliveryResult(
                job, DeliveryStatus.FAIL, now_ms, attempt, pause_endpoint_until=paused_until_ms
            )
        next_at = now_ms + int(delay * 1000)
        return DeliveryResult(
            job, DeliveryStatus.PENDING, next_at, attempt, pause_endpoint_until=paused_until_ms
        )

    def _fail_queued(self, lane: Lane) -> None:
        """The endpoint asked to be disabled (410): fail what is queued for it,
        and what waits for a send slot when its slot comes."""
        lane.gone = True
        now_ms = self._now_ms()
        while lane.queue:
            self._results.add(DeliveryResult(lane.queue.popleft(), DeliveryStatus.FAIL, now_ms))

    def _retry_later(self, job: Job) -> DeliveryResult:
        """The result for a job whose attempt crashed: it counts as an attempt,
        so a job that always crashes still ends failed after the schedule."""
        job.attempt_count += 1
        delay = self._settings.retry_policy.next_delay(job.attempt_count, rng=self._rng)
        status = DeliveryStatus.FAIL if delay is None else DeliveryStatus.PENDING
        return DeliveryResult(job, status, self._now_ms() + int((delay or 0) * 1000))

    # -- background loops --------------------------------------------------------

    async def _poll_loop(self) -> None:
        backoff = self._settings.poll_interval
        while True:
            # Cleared before the claim, not after: results written while it
            # runs free leases it may not have seen, and their wake-up must
            # start the next claim at once rather than be lost.
            self._wake.clear()
            room = self._settings.max_held - len(self._held)
            limit = min(self._settings.claim_batch_size, room)
            if limit > 0:
                now_ms = self._now_ms()
                try:
                    jobs = await self._queue.claim_due(now_ms, limit, now_ms + self.lease_ms)
                except Exception as exc:
                    _log_store_failure("claiming deliveries", exc, backoff)
                    # A wake-up (the database is back) ends the wait early.
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), backoff)
                    backoff = min(backoff * 2, 30.0)
                    continue
                backoff = self._settings.poll_interval
                self.submit(jobs)
                if len(jobs) == limit:
                    await asyncio.sleep(0)
                    continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._settings.poll_interval)

    async def _renew_loop(self) -> None:
        interval = self._settings.lease_seconds / 3
        while True:
            await asyncio.sleep(interval)
            if not self._held:
                continue
            try:
                await self._queue.renew_leases(list(self._held), self._now_ms() + self.lease_ms)
            except Exception as exc:
                _log_store_failure(f"renewing {len(self._held)} leases", exc, interval)

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)


def _log_store_failure(what: str, exc: Exception, retry_in: float) -> None:
    """One line for an unreachable database (routine during an outage), a
    traceback for anything else."""
    if isinstance(exc, StoreUnavailable):
        log.error("%s failed: database unreachable (%s); retrying in %.1f s", what, exc, retry_in)
    else:
        log.exception("%s failed; retrying in %.1f s", what, retry_in)

"""The dispatcher: claims due deliveries, sends them fairly, records results.

Jobs arrive two ways: handed over by the accept path right after commit (no
poll delay), or claimed from the store by the poll loop (retries, backlog,
work left by a dead process). Each endpoint has its own lane with a
concurrency cap; lanes take turns, so one slow endpoint never holds up the
others. A lane's concurrency starts at ``endpoint_start_concurrency`` and grows
by one with each clean success up to the cap; any failure (timeout, refused,
reset, error status, a body cut off by the deadline) drops it back to the
start, so an endpoint that hangs or fails ties up one request slot, not its
whole cap. After ``breaker_failures`` attempts in a row that got no HTTP
answer (timeout, refused, reset, DNS or TLS failure) the endpoint is paused
(circuit breaker): ``breaker_pause_seconds``, doubled at each further such
failure, up to ``breaker_max_pause_seconds``; so is one that asks to slow down
(429, 502, 504). An endpoint that answers with an error status keeps to the
retry schedule. A pause is written to the store with the result, so that no
worker's claims take the endpoint's deliveries until it ends.

An endpoint in trouble (its last attempt was not a clean success: it failed,
answered an error status, or its response was cut off at the size cap or the
deadline) yields to healthy ones: while healthy endpoints are being sent to
(one started a request within the last ``troubled_max_wait`` seconds), a
troubled one starts a request only after ``troubled_turn_every`` healthy
requests have started since its last, or ``troubled_max_wait`` seconds have
passed, whichever comes first (weighted turns; it is never starved). The
first unclean attempt makes it wait 1/64 of that, each further one in a row
doubles the wait up to the full one, so an endpoint that fails now and then
loses little while one that keeps failing soon gets a tiny share. Every
attempt takes this process's CPU, so an endpoint that answers errors or floods
quickly would otherwise slow the healthy ones down by as much as it is tried.
One clean success makes it healthy again. A lane
holds at most ``endpoint_hold`` jobs (queued and in flight);
jobs handed over beyond that go back to the store, so a stuck endpoint cannot
fill this process's room for held jobs and starve the others.

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
import math
import random
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from hookgate.core import ids
from hookgate.core.outcome import SendResult, Verdict, classify
from hookgate.core.retry import RetryPolicy
from hookgate.delivery.forwarding import outbound_headers
from hookgate.delivery.results import ResultWriter
from hookgate.delivery.sender import OutboundRequest, Sender
from hookgate.delivery.signer import Signer
from hookgate.store.contract import DeliveryQueue
from hookgate.store.errors import StoreUnavailable
from hookgate.store.records import AttemptRow, DeliveryResult, DeliveryStatus, Job

log = logging.getLogger(__name__)

#: Endpoints whose health a dispatcher remembers (see ``Dispatcher._health``).
_HEALTH_KEPT = 10_000
#: A troubled endpoint's first wait is 1/2**this of the full one.
_WAIT_DOUBLINGS = 6


@dataclass(frozen=True, slots=True)
class DispatchSettings:
    retry_policy: RetryPolicy = field(default_factory=RetryPolicy)
    endpoint_concurrency: int = 32
    endpoint_start_concurrency: int = 1
    max_in_flight: int = 1000
    max_held: int = 5000
    lease_seconds: float = 60.0
    poll_interval: float = 1.0
    claim_batch_size: int = 500
    request_timeout: float = 15.0
    slow_down_seconds: float = 5.0
    #: Most jobs one endpoint's lane holds (queued plus in flight) in this process.
    endpoint_hold: int = 64
    #: Attempts in a row without an HTTP answer that pause an endpoint (the
    #: circuit breaker).
    breaker_failures: int = 5
    #: The breaker's first pause; each further failure in a row doubles it...
    breaker_pause_seconds: float = 5.0
    #: ...up to this.
    breaker_max_pause_seconds: float = 300.0
    #: Healthy requests started between two of a troubled endpoint's (while
    #: healthy endpoints are being sent to)...
    troubled_turn_every: int = 1000
    #: ...or this many seconds, whichever comes first.
    troubled_max_wait: float = 1.0


@dataclass(slots=True)
class _Health:
    """What this process learned about an endpoint from its recent attempts."""

    #: Requests it may have in flight now (see the module docstring).
    window: int
    #: Attempts without an HTTP answer since its last answer.
    failures: int = 0
    #: Times those failures paused it.
    trips: int = 0
    #: Attempts in a row that were not a clean success (see the module
    #: docstring); it is troubled while this is above 0.
    unclean: int = 0
    #: While troubled, its next request waits until the dispatcher's count of
    #: healthy requests started reaches this...
    next_turn: int = 0
    #: ...or the clock reaches this.
    turn_due: float = 0.0


@dataclass(slots=True)
class _Lane:
    """One endpoint's queue and its state in this process."""

    queue: deque[Job] = field(default_factory=deque)
    in_flight: int = 0
    #: Jobs held for this endpoint that wait for their send slot.
    waiting: int = 0
    #: The endpoint answered 410: what reaches the lane now fails unsent.
    gone: bool = False
    paused_until: float = 0.0
    in_ring: bool = False
    #: Waits in ``Dispatcher._bench`` for its endpoint's next troubled turn...
    benched: bool = False
    #: ...under this ticket (older entries of the lane there are void).
    bench_ticket: int = 0


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
    ) -> None:
        self._queue = queue
        self._sender = sender
        self._settings = settings
        self._clock = clock
        self._rng = rng or random.Random()
        self._signer = Signer()
        self._held: dict[str, Job] = {}
        self._lanes: dict[str, _Lane] = {}
        self._ring: deque[str] = deque()
        # Lanes of troubled endpoints waiting for their turn, oldest first,
        # with their bench tickets.
        self._bench: deque[tuple[str, _Lane, int]] = deque()
        self._in_flight = 0
        # Requests started for healthy endpoints: the clock of troubled turns.
        self._healthy_starts = 0
        # When the endpoint that last started a healthy request did so, and
        # when any other endpoint last did: together they tell, for any
        # endpoint, when some other healthy endpoint last started one.
        self._last_healthy_start = -math.inf
        self._last_healthy_endpoint = ""
        self._others_last_healthy_start = -math.inf
        # Kept when an endpoint's lane goes idle, so that a failing endpoint
        # does not start afresh. Emptied when it grows past _HEALTH_KEPT entries.
        self._health: dict[str, _Health] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._results = ResultWriter(queue, self._forget, self._now_ms)
        self._wake = asyncio.Event()
        self._stopping = False
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
        return not self._stopping and len(self._held) < self._settings.max_held

    def submit(self, jobs: Iterable[Job]) -> None:
        """Take over leased jobs; duplicates of held jobs are ignored."""
        for job in jobs:
            if job.delivery_id in self._held:
                continue
            self._held[job.delivery_id] = job
            lane = self._lanes.get(job.endpoint.id)
            if lane is None:
                lane = self._lanes[job.endpoint.id] = _Lane()
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
            self._schedule(job.endpoint.id, lane)
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
        self._stopping = True
        for loop in self._loops:
            loop.cancel()
        for loop in self._loops:
            with contextlib.suppress(asyncio.CancelledError):
                await loop
        for lane in self._lanes.values():
            lane.queue.clear()
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

    # -- scheduling -------------------------------------------------------------

    def _schedule(self, endpoint_id: str, lane: _Lane) -> None:
        """Give the lane a turn in the ring, or bench it until its endpoint's
        next troubled turn."""
        if lane.in_ring or lane.benched or not lane.queue:
            return
        health = self._health.get(endpoint_id)
        if health is not None and not self._turn_come(endpoint_id, health):
            self._bench_lane(endpoint_id, lane, health)
            return
        lane.in_ring = True
        self._ring.append(endpoint_id)

    def _turn_come(self, endpoint_id: str, health: _Health) -> bool:
        """Whether an endpoint with ``health`` may start a request now: it is
        healthy, or its troubled turn has come, or no other healthy endpoint
        started a request for ``troubled_max_wait`` (it has no one to yield
        to; a shorter lull, such as healthy lanes waiting for the next claim,
        does not count)."""
        if not health.unclean or self._healthy_starts >= health.next_turn:
            return True
        now = self._clock()
        if endpoint_id == self._last_healthy_endpoint:
            others_last = self._others_last_healthy_start
        else:
            others_last = self._last_healthy_start
        return now >= health.turn_due or now - others_last >= self._settings.troubled_max_wait

    def _bench_lane(self, endpoint_id: str, lane: _Lane, health: _Health) -> None:
        """Keep a troubled endpoint's lane out of the ring until its turn: the
        next ``_take`` after healthy starts make it due lets it in, and so does
        a timer at ``turn_due`` (in case nothing else happens before)."""
        lane.benched = True
        lane.bench_ticket += 1
        self._bench.append((endpoint_id, lane, lane.bench_ticket))
        wait = max(health.turn_due - self._clock(), 0.0)
        asyncio.get_running_loop().call_later(
            wait, self._bench_timer, endpoint_id, lane, lane.bench_ticket
        )

    def _bench_timer(self, endpoint_id: str, lane: _Lane, ticket: int) -> None:
        if not lane.benched or lane.bench_ticket != ticket or self._stopping:
            return
        health = self._health.get(endpoint_id)
        if health is not None and not self._turn_come(endpoint_id, health):
            # The loop's timer ran ahead of our clock.
            wait = max(health.turn_due - self._clock(), 0.0)
            asyncio.get_running_loop().call_later(
                wait, self._bench_timer, endpoint_id, lane, ticket
            )
            return
        self._unbench_lane(endpoint_id, lane)
        self._pump()

    def _unbench_lane(self, endpoint_id: str, lane: _Lane) -> None:
        """Let a benched lane into the ring (its entry on the bench goes void)."""
        lane.benched = False
        if self._lanes.get(endpoint_id) is lane:
            self._schedule(endpoint_id, lane)

    def _unbench(self) -> None:
        """Move benched lanes whose turn has come into the ring, oldest first.
        A lane's turn comes at most ``troubled_turn_every`` healthy starts or
        ``troubled_max_wait`` seconds after its last request, so one not yet
        due ahead of due ones holds them back no longer than that."""
        while self._bench:
            endpoint_id, lane, ticket = self._bench[0]
            live = lane.benched and lane.bench_ticket == ticket
            health = self._health.get(endpoint_id)
            if live and health is not None and not self._turn_come(endpoint_id, health):
                return
            self._bench.popleft()
            if live:
                self._unbench_lane(endpoint_id, lane)

    def _pump(self) -> None:
        """Start a worker for every job the caps let start now."""
        while (taken := self._take()) is not None:
            task = asyncio.create_task(self._work(*taken))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _take(self) -> tuple[Job, _Lane] | None:
        """The next job, in turn between endpoints, that may start now (lane not
        paused and under its cap, ``max_in_flight`` not reached, not stopping),
        already counted as in flight; None if there is none."""
        if self._bench:
            self._unbench()
        while self._in_flight < self._settings.max_in_flight and self._ring and not self._stopping:
            endpoint_id = self._ring.popleft()
            lane = self._lanes.get(endpoint_id)
            if lane is None:  # forgotten since it joined the ring
                continue
            lane.in_ring = False
            cap = self._window(endpoint_id)
            if not lane.queue or lane.in_flight >= cap or lane.paused_until > self._clock():
                continue
            health = self._health.get(endpoint_id)
            if health is not None and not self._turn_come(endpoint_id, health):
                # Healthy work came after it joined the ring.
                self._bench_lane(endpoint_id, lane, health)
                continue
            job = lane.queue.popleft()
            lane.in_flight += 1
            self._in_flight += 1
            self._count_start(endpoint_id, lane)
            if lane.in_flight < cap:
                self._schedule(endpoint_id, lane)
            return job, lane
        return None

    def _count_start(self, endpoint_id: str, lane: _Lane) -> None:
        """Count a request ``lane`` starts now: a healthy endpoint's advances
        the troubled turns; a troubled endpoint's sets its next turn."""
        health = self._health.get(endpoint_id)
        if health is None or not health.unclean:
            self._healthy_starts += 1
            if endpoint_id != self._last_healthy_endpoint:
                self._others_last_healthy_start = self._last_healthy_start
                self._last_healthy_endpoint = endpoint_id
            self._last_healthy_start = self._clock()
            return
        share = 2.0 ** (min(health.unclean - 1, _WAIT_DOUBLINGS) - _WAIT_DOUBLINGS)
        turns = math.ceil(self._settings.troubled_turn_every * share)
        health.next_turn = self._healthy_starts + turns
        health.turn_due = self._clock() + self._settings.troubled_max_wait * share

    def _slot_reached(self, job: Job) -> None:
        """``job``'s send slot has come: queue it in its lane."""
        lane = self._lanes.get(job.endpoint.id)
        if lane is None or self._stopping:
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
        self._schedule(job.endpoint.id, lane)
        self._pump()

    def _window(self, endpoint_id: str) -> int:
        """How many requests ``endpoint_id`` may have in flight now."""
        health = self._health.get(endpoint_id)
        return self._settings.endpoint_start_concurrency if health is None else health.window

    def _learn(self, endpoint_id: str, result: SendResult) -> float:
        """Update the endpoint's health after an attempt: its concurrency grows
        by one after a clean success (a 2xx read in full) up to the cap and
        drops back to the start after anything else; a streak of
        ``breaker_failures`` attempts without an HTTP answer trips the breaker.
        Anything but a clean success leaves the endpoint troubled.
        Returns how long to pause the endpoint in seconds (0: no pause)."""
        settings = self._settings
        health = self._health.get(endpoint_id)
        if health is None:
            if len(self._health) >= _HEALTH_KEPT:
                self._health.clear()
            health = self._health[endpoint_id] = _Health(settings.endpoint_start_concurrency)
        if result.succeeded and result.error_message is None:
            health.window = min(health.window + 1, settings.endpoint_concurrency)
            health.unclean = 0
        else:
            health.window = settings.endpoint_start_concurrency
            health.unclean += 1
        if result.status_code is not None:
            health.failures = health.trips = 0
            return 0.0
        health.failures += 1
        if health.failures < settings.breaker_failures:
            return 0.0
        health.trips += 1
        pause = settings.breaker_pause_seconds * 2.0 ** min(health.trips - 1, 30)
        return min(pause, settings.breaker_max_pause_seconds)

    def _finished(self, endpoint_id: str, lane: _Lane) -> None:
        """Bookkeeping after a job of ``lane`` stopped being in flight; whoever
        calls this must then take or pump (``_work`` does)."""
        lane.in_flight -= 1
        self._in_flight -= 1
        if lane.queue:
            self._schedule(endpoint_id, lane)
        elif lane.in_flight == 0 and lane.waiting == 0 and lane.paused_until <= self._clock():
            self._lanes.pop(endpoint_id, None)

    def _pause(self, endpoint_id: str, lane: _Lane, seconds: float) -> None:
        """Send nothing to this endpoint for ``seconds``; what is queued for it
        goes back to the store, due when the pause ends, so that it does not
        take room other endpoints could use."""
        lane.paused_until = max(lane.paused_until, self._clock() + seconds)
        while lane.queue:
            self._postpone(lane.queue.popleft(), lane)
        asyncio.get_running_loop().call_later(seconds, self._resume, endpoint_id)

    def _give_back(self, job: Job) -> None:
        """Hand ``job`` back to the store, due now, without an attempt: another
        claim takes it when its endpoint has room."""
        self._results.add(DeliveryResult(job, DeliveryStatus.PENDING, self._now_ms()))

    def _postpone(self, job: Job, lane: _Lane) -> None:
        """Hand ``job`` back, due when the lane's pause ends (no attempt made)."""
        paused_until_ms = int(lane.paused_until * 1000)
        self._results.add(DeliveryResult(job, DeliveryStatus.PENDING, paused_until_ms))

    def _resume(self, endpoint_id: str) -> None:
        lane = self._lanes.get(endpoint_id)
        if lane is None:
            return
        remaining = lane.paused_until - self._clock()
        if remaining > 0:  # the loop's timer ran ahead of our clock
            asyncio.get_running_loop().call_later(remaining, self._resume, endpoint_id)
            return
        if not lane.queue and lane.in_flight == 0 and lane.waiting == 0:
            self._lanes.pop(endpoint_id, None)
            return
        self._schedule(endpoint_id, lane)
        self._pump()

    def _forget(self, results: Sequence[DeliveryResult]) -> None:
        for result in results:
            self._held.pop(result.job.delivery_id, None)
        if len(self._held) < self._settings.max_held:
            self._wake.set()

    # -- sending ------------------------------------------------------------------

    async def _work(self, job: Job, lane: _Lane) -> None:
        """Deliver ``job``, then go on with the next job ``_take`` gives, until it
        gives none: a worker runs while there is work it may start, so a busy
        dispatcher reuses its tasks instead of creating one per delivery. The
        jobs started are exactly those a ``_pump`` after each delivery would
        start, in the same order."""
        while True:
            await self._deliver(job, lane)
            taken = self._take()
            if taken is None:
                return
            job, lane = taken
            self._pump()  # more may start than this worker can take (rare)

    async def _deliver(self, job: Job, lane: _Lane) -> None:
        try:
            self._results.add(await self._attempt(job, lane))
        except Exception:
            log.exception("delivery %s crashed; it will be retried", job.delivery_id)
            self._results.add(self._retry_later(job))
        finally:
            self._finished(job.endpoint.id, lane)

    async def _attempt(self, job: Job, lane: _Lane) -> DeliveryResult:
        started = self._clock()
        started_ms = int(started * 1000)
        endpoint = job.endpoint
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
        breaker_pause = self._learn(endpoint.id, result)
        now_ms = self._now_ms()
        attempt = AttemptRow(
            id=ids.new_id(ids.ATTEMPT),
            url=endpoint.url,
            status=DeliveryStatus.SUCCESS if result.succeeded else DeliveryStatus.FAIL,
            response_status_code=result.status_code or 0,
            response=result.body,
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

    def _fail_queued(self, lane: _Lane) -> None:
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
            self._wake.clear()
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

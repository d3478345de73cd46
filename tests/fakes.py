"""In-memory fakes for the delivery engine's two seams, plus small test helpers.

- ``FakeQueue`` implements the dispatcher's ``DeliveryQueue`` protocol with the
  same rules as ``SqlDeliveryQueue``: a delivery is due when it is pending,
  ``next_attempt_at <= now`` and ``lease_until < now``; claiming leases it;
  recording a result clears the lease; deliveries to a disabled endpoint are
  failed when claimed. It counts every call so tests can assert on batching,
  renewals and releases.
- ``FakeSender`` implements ``Sender``: scriptable per URL (a sequence of
  ``SendResult`` answers, then a default), with an optional gate per URL that
  holds requests in flight until opened. It records every ``OutboundRequest``
  and the highest number of concurrent requests seen per URL.
- ``FakeClock`` is a controllable clock (seconds, like ``time.time``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import Counter, deque
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

from hookgate.core.outcome import ErrorKind, SendResult
from hookgate.core.signing import generate_secret
from hookgate.delivery.sender import OutboundRequest
from hookgate.store.records import (
    AttemptRow,
    DeliveryResult,
    DeliveryStatus,
    Endpoint,
    EndpointSecret,
    Job,
)

# -- clock and waiting ------------------------------------------------------------


class FakeClock:
    """A clock that only moves when told to; call it like ``time.time``."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    @property
    def ms(self) -> int:
        return int(self.now * 1000)


async def wait_until(
    predicate: Callable[[], bool], *, timeout: float = 5.0, what: str = "condition"
) -> None:
    """Poll ``predicate`` until it holds; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.002)


# -- records ------------------------------------------------------------------------

_counter = 0


def make_endpoint(
    endpoint_id: str | None = None,
    *,
    url: str | None = None,
    secrets: Sequence[EndpointSecret] | None = None,
    headers: dict[str, str] | None = None,
    disabled: bool = False,
) -> Endpoint:
    """An endpoint record with one fresh secret unless ``secrets`` are given."""
    global _counter
    _counter += 1
    endpoint_id = endpoint_id or f"ep_{_counter}"
    return Endpoint(
        id=endpoint_id,
        app_id="app_test",
        uid=None,
        url=url or f"https://{endpoint_id}.example.com/hook",
        description="",
        throttle_rate=None,
        disabled=disabled,
        event_types=None,
        channels=None,
        metadata={},
        headers=headers or {},
        secrets=tuple(secrets) if secrets is not None else (EndpointSecret(generate_secret()),),
        created_at=0,
        updated_at=0,
    )


def make_job(endpoint: Endpoint, *, payload: bytes | None = None, attempt_count: int = 0) -> Job:
    """A job for ``endpoint`` with unique delivery and message ids."""
    global _counter
    _counter += 1
    return Job(
        delivery_id=f"dlv_{_counter}",
        msg_id=f"msg_{_counter}",
        app_id=endpoint.app_id,
        endpoint=endpoint,
        payload=payload if payload is not None else b'{"n": %d}' % _counter,
        attempt_count=attempt_count,
    )


def ok(status: int = 200) -> SendResult:
    return SendResult(status, b"ok", 1)


def http_error(status: int, *, retry_after: float | None = None) -> SendResult:
    return SendResult(status, b"no", 1, ErrorKind.HTTP_STATUS, f"HTTP {status}", retry_after)


# -- queue --------------------------------------------------------------------------


@dataclass(slots=True)
class FakeDelivery:
    """One row of the fake ``deliveries`` table."""

    job: Job
    status: DeliveryStatus = DeliveryStatus.PENDING
    next_attempt_at: int = 0
    lease_until: int = 0
    attempt_count: int = 0


@dataclass
class FakeQueue:
    """An in-memory ``DeliveryQueue`` following ``SqlDeliveryQueue``'s rules.

    ``record_gate``, when set, makes ``record_results`` wait for it (results stay
    unwritten); ``fail_records`` makes that many next writes raise; a batch with
    a delivery id in ``reject`` always raises (like a foreign key violation).
    """

    deliveries: dict[str, FakeDelivery] = field(default_factory=dict)
    disabled_endpoints: set[str] = field(default_factory=set)
    attempts: list[tuple[str, AttemptRow]] = field(default_factory=list)
    results: list[DeliveryResult] = field(default_factory=list)
    #: Size of each successful ``record_results`` call, in order.
    record_calls: list[int] = field(default_factory=list)
    claim_calls: int = 0
    #: The ids passed to each ``renew_leases`` call, with the new lease.
    renewals: list[tuple[frozenset[str], int]] = field(default_factory=list)
    released: list[str] = field(default_factory=list)
    record_gate: asyncio.Event | None = None
    fail_records: int = 0
    reject: set[str] = field(default_factory=set)

    def add(self, job: Job, *, next_attempt_at: int = 0, lease_until: int = 0) -> Job:
        """Insert a pending delivery for ``job`` (leased until ``lease_until``)."""
        self.deliveries[job.delivery_id] = FakeDelivery(
            job, DeliveryStatus.PENDING, next_attempt_at, lease_until, job.attempt_count
        )
        return job

    def status(self, delivery_id: str) -> DeliveryStatus:
        return self.deliveries[delivery_id].status

    def results_for(self, delivery_id: str) -> list[DeliveryResult]:
        return [r for r in self.results if r.job.delivery_id == delivery_id]

    async def claim_due(self, now_ms: int, limit: int, lease_until_ms: int) -> list[Job]:
        self.claim_calls += 1
        await asyncio.sleep(0)
        due = sorted(
            (
                d
                for d in self.deliveries.values()
                if d.status is DeliveryStatus.PENDING
                and d.next_attempt_at <= now_ms
                and d.lease_until < now_ms
            ),
            key=lambda d: d.next_attempt_at,
        )[:limit]
        jobs = []
        for d in due:
            if d.job.endpoint.id in self.disabled_endpoints:
                d.status, d.lease_until = DeliveryStatus.FAIL, 0
                continue
            d.lease_until = lease_until_ms
            # A fresh Job, as the SQL queue builds one from the row.
            jobs.append(dataclasses.replace(d.job, attempt_count=d.attempt_count))
        return jobs

    async def record_results(self, results: Sequence[DeliveryResult], now_ms: int) -> None:
        if self.record_gate is not None:
            await self.record_gate.wait()
        await asyncio.sleep(0)
        if self.fail_records > 0:
            self.fail_records -= 1
            raise ConnectionError("fake database is down")
        if self.reject.intersection(r.job.delivery_id for r in results):
            raise ValueError("fake constraint violation")
        self.record_calls.append(len(results))
        for r in results:
            self.results.append(r)
            d = self.deliveries.get(r.job.delivery_id)
            if d is None:
                d = self.deliveries[r.job.delivery_id] = FakeDelivery(r.job)
            d.status, d.next_attempt_at = r.status, r.next_attempt_at
            d.attempt_count, d.lease_until = r.job.attempt_count, 0
            if r.attempt is not None:
                self.attempts.append((r.job.delivery_id, r.attempt))
            if r.disable_endpoint:
                self.disabled_endpoints.add(r.job.endpoint.id)

    async def renew_leases(self, delivery_ids: Collection[str], lease_until_ms: int) -> None:
        self.renewals.append((frozenset(delivery_ids), lease_until_ms))
        self._set_lease(delivery_ids, lease_until_ms)

    async def release(self, delivery_ids: Collection[str]) -> None:
        self.released.extend(delivery_ids)
        self._set_lease(delivery_ids, 0)

    def _set_lease(self, delivery_ids: Collection[str], lease_until_ms: int) -> None:
        for delivery_id in delivery_ids:
            d = self.deliveries.get(delivery_id)
            if d is not None and d.status is DeliveryStatus.PENDING:
                d.lease_until = lease_until_ms


# -- sender -------------------------------------------------------------------------


class FakeSender:
    """A scriptable ``Sender``.

    ``script(url, *answers)`` queues answers (a ``SendResult``, or an exception
    to raise) for the next requests to ``url``; afterwards ``default`` is
    answered. ``hold(url)`` makes requests to ``url`` wait in flight until
    ``release(url)`` (or ``open_all()``).
    """

    def __init__(self, default: SendResult | None = None) -> None:
        self.default = default or ok()
        self.requests: list[OutboundRequest] = []
        self.in_flight: Counter[str] = Counter()
        self.max_in_flight: Counter[str] = Counter()
        self.max_total_in_flight = 0
        self.closed = False
        self._scripts: dict[str, deque[SendResult | BaseException]] = {}
        self._gates: dict[str, asyncio.Event] = {}

    def script(self, url: str, *answers: SendResult | BaseException) -> None:
        self._scripts.setdefault(url, deque()).extend(answers)

    def hold(self, url: str) -> None:
        self._gates[url] = asyncio.Event()

    def release(self, url: str) -> None:
        self._gates.pop(url).set()

    def open_all(self) -> None:
        for url in list(self._gates):
            self.release(url)

    def sent_to(self, url: str) -> list[OutboundRequest]:
        return [r for r in self.requests if r.url == url]

    async def send(self, request: OutboundRequest) -> SendResult:
        url = request.url
        self.requests.append(request)
        self.in_flight[url] += 1
        self.max_in_flight[url] = max(self.max_in_flight[url], self.in_flight[url])
        self.max_total_in_flight = max(self.max_total_in_flight, self.in_flight.total())
        try:
            gate = self._gates.get(url)
            if gate is not None:
                await gate.wait()
            await asyncio.sleep(0)
            script = self._scripts.get(url)
            answer = script.popleft() if script else self.default
            if isinstance(answer, BaseException):
                raise answer
            return answer
        finally:
            self.in_flight[url] -= 1

    async def close(self) -> None:
        self.closed = True

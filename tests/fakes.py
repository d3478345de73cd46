"""In-memory fakes for the delivery engine's two seams, plus small test helpers.

- ``FakeQueue`` is the package's in-memory queue (``hookgate.testing``, which
  keeps the store contract and is tested like the SQL queue) plus
  instrumentation: it counts every call so tests can assert on batching,
  renewals and releases, and can be made to fail.
- ``FakeSender`` implements ``Sender``: scriptable per URL (a sequence of
  ``SendResult`` answers, then a default), with an optional gate per URL that
  holds requests in flight until opened. It records every ``OutboundRequest``
  and the highest number of concurrent requests seen per URL.
- ``FakeClock`` is a controllable clock (seconds, like ``time.time``).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from collections.abc import Callable, Collection, Sequence

from hookgate.core.outcome import ErrorKind, SendResult
from hookgate.core.signing import generate_secret
from hookgate.delivery.sender import OutboundRequest
from hookgate.store.errors import StoreRejected, StoreUnavailable
from hookgate.store.records import DeliveryResult, Endpoint, EndpointSecret, Job
from hookgate.testing import InMemoryDeliveryQueue

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


class FakeQueue(InMemoryDeliveryQueue):
    """``hookgate.testing.InMemoryDeliveryQueue`` with what dispatcher tests
    watch and break: every call is counted, each call yields to the event loop
    as real I/O would, and failures can be injected.

    ``record_gate``, when set, makes ``record_results`` wait for it (results stay
    unwritten); ``fail_records`` makes that many next writes raise
    ``StoreUnavailable``; a batch with a delivery id in ``reject`` raises
    ``StoreRejected`` (like a foreign key violation).
    """

    def __init__(self) -> None:
        super().__init__()
        #: Every result written, in order.
        self.results: list[DeliveryResult] = []
        #: Size of each successful ``record_results`` call, in order.
        self.record_calls: list[int] = []
        self.claim_calls = 0
        #: The ids passed to each ``renew_leases`` call, with the new lease.
        self.renewals: list[tuple[frozenset[str], int]] = []
        self.released: list[str] = []
        self.record_gate: asyncio.Event | None = None
        self.fail_records = 0
        self.reject: set[str] = set()

    def add(self, job: Job, *, next_attempt_at: int = 0, lease_until: int = 0) -> Job:
        """Insert a pending delivery for ``job`` (leased until ``lease_until``)."""
        return self.enqueue(job, next_attempt_at=next_attempt_at, lease_until=lease_until)

    def results_for(self, delivery_id: str) -> list[DeliveryResult]:
        return [r for r in self.results if r.job.delivery_id == delivery_id]

    async def claim_due(self, now_ms: int, limit: int, lease_until_ms: int) -> list[Job]:
        self.claim_calls += 1
        await asyncio.sleep(0)
        return await super().claim_due(now_ms, limit, lease_until_ms)

    async def record_results(self, results: Sequence[DeliveryResult], now_ms: int) -> None:
        if self.record_gate is not None:
            await self.record_gate.wait()
        await asyncio.sleep(0)
        if self.fail_records > 0:
            self.fail_records -= 1
            raise StoreUnavailable("fake database is down")
        if self.reject.intersection(r.job.delivery_id for r in results):
            raise StoreRejected("fake constraint violation")
        await super().record_results(results, now_ms)
        self.record_calls.append(len(results))
        self.results.extend(results)

    async def renew_leases(self, delivery_ids: Collection[str], lease_until_ms: int) -> None:
        self.renewals.append((frozenset(delivery_ids), lease_until_ms))
        await super().renew_leases(delivery_ids, lease_until_ms)

    async def release(self, delivery_ids: Collection[str]) -> None:
        self.released.extend(delivery_ids)
        await super().release(delivery_ids)


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

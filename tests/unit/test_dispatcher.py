"""The dispatcher on in-memory fakes: scheduling, outcomes, fairness, leases."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from hookgate.core.outcome import ErrorKind, SendResult
from hookgate.core.retry import RetryPolicy
from hookgate.core.signing import generate_secret
from hookgate.delivery.dispatcher import Dispatcher, DispatchSettings
from hookgate.delivery.sender import OutboundRequest
from hookgate.store.records import DeliveryStatus, EndpointSecret, Job
from tests.fakes import (
    FakeClock,
    FakeQueue,
    FakeSender,
    http_error,
    make_endpoint,
    make_job,
    ok,
    wait_until,
)

SCHEDULE = (5.0, 300.0)
POLICY = RetryPolicy(schedule=SCHEDULE, jitter=0.2)
SEED = 1234

MakeDispatcher = Callable[..., Dispatcher]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def queue() -> FakeQueue:
    return FakeQueue()


@pytest.fixture
def sender() -> FakeSender:
    return FakeSender()


@pytest.fixture
async def make_dispatcher(
    queue: FakeQueue, sender: FakeSender, clock: FakeClock
) -> AsyncIterator[MakeDispatcher]:
    """Builds dispatchers on the fakes (seeded RNG, fast polling); stops them
    at teardown after opening every gate."""
    made: list[Dispatcher] = []

    def make(*, clock: Callable[[], float] = clock, **overrides: Any) -> Dispatcher:
        options: dict[str, Any] = {"retry_policy": POLICY, "poll_interval": 0.01, **overrides}
        dispatcher = Dispatcher(
            queue, sender, DispatchSettings(**options), clock=clock, rng=random.Random(SEED)
        )
        made.append(dispatcher)
        return dispatcher

    yield make
    sender.open_all()
    if queue.record_gate is not None:
        queue.record_gate.set()
    queue.reject.clear()
    for dispatcher in made:
        await asyncio.wait_for(dispatcher.stop(grace_seconds=1.0), 5.0)


def unreachable() -> SendResult:
    return SendResult(None, b"", 1, ErrorKind.CONNECTION_REFUSED, "connection refused")


def hand_over(dispatcher: Dispatcher, queue: FakeQueue, now_ms: int, jobs: Sequence[Job]) -> None:
    """What the accept path does: store the jobs leased to us, then submit them."""
    for job in jobs:
        queue.add(job, next_attempt_at=now_ms, lease_until=now_ms + dispatcher.lease_ms)
    dispatcher.submit(jobs)


async def spin(turns: int = 20) -> None:
    """Let every ready task run a few steps (no wall-clock waiting)."""
    for _ in range(turns):
        await asyncio.sleep(0)


# -- outcomes ----------------------------------------------------------------------------


async def test_success_records_one_attempt_and_status_success(
    make_dispatcher: MakeDispatcher, queue: FakeQueue, sender: FakeSender, clock: FakeClock
) -> None:
    dispatcher = make_dispatcher()
    endpoint = make_endpoint()
    job = make_job(endpoint, payload=b'{"exact": "bytes"}')

    hand_over(dispatcher, queue, clock.ms, [job])
    await wait_until(lambda: dispatcher.held == 0, what="the result to be written")

    assert [r.url for r in sender.requests] == [endpoint.url]
    assert sender.requests[0].body == b'{"exact": "bytes"}'
    [result] = queue.results
    assert result.status is DeliveryStatus.SUCCESS
    assert result.job.attempt_count == 1
    assert not result.disable_endpoint
    [(delivery_id, attempt)] = queue.attempts
    assert delivery_id == job.delivery_id
    assert attempt.status == DeliveryStatus.SUCCESS
    assert attempt.response_status_code == 200
    assert attempt.error_kind is None
    assert attempt.url == endpoint.url
    assert attempt.created_at == clock.ms
    delivery = queue.deliveries[job.delivery_id]
    assert delivery.status is DeliveryStatus.SUCCESS
    assert delivery.lease_until == 0


@pytest.mark.parametrize("attempts_before", [0, 1])
async def test_server_error_schedules_a_retry_in_the_jittered_window(
    make_dispatcher: MakeDispatcher,
    queue: FakeQueue,
    sender: FakeSender,
    clock: FakeClock,
    attempts_before: int,
) -> None:
    dispatcher = make_dispatcher()
    endpoint = make_endpoint()
    sender.script(endpoint.url, http_error(500))
    job = make_job(endpoint, attempt_count=attempts_before)

    hand_over(dispatcher, queue, clock.ms, [job])
    await wait_until(lambda: dispatcher.held == 0, what="the result to be written")

    [result] = queue.results
    assert result.status is DeliveryStatus.PENDING
    assert result.job.attempt_count == attempts_before + 1
    base_ms = SCHEDULE[attempts_before] * 1000
    assert clock.ms + 0.8 * base_ms <= result.next_attempt_at <= clock.ms + 1.2 * base_ms
    # The injected, seeded RNG drew the jitter.
    expected = POLICY.next_delay(attempts_before + 1, rng=random.Random(SEED))
    assert expected is not None
    assert result.next_attempt_at == clock.ms + int(expected * 1000)
    [(_, attempt)] = queue.attempts
    assert attempt.status == DeliveryStatus.FAIL
    assert attempt.response_status_code == 500
    assert attempt.error_kind == "http_status"


async def test_retries_are_jittered_apart(
    make_dispatcher: MakeDispatcher, queue: FakeQueue, sender: FakeSender, clock: FakeClock
) -> None:
    dispatcher = make_dispatcher()
    sender.default = http_error(503)
    # One job per endpoint: no endpoint fails often enough to be paused.
    jobs = [make_job(make_endpoint()) for _ in range(20)]

    hand_over(dispatcher, queue, clock.ms, jobs)
    await wait_until(lambda: dispatcher.held == 0, what="20 results")

    due = {r.next_attempt_at for r in queue.results}
    assert len(due) > 10
    assert all(clock.ms + 4000 <= t <= clock.ms + 6000 for t in due)


async def test_exhausting_the_schedule_fails_the_delivery(
    make_dispatcher: MakeDispatcher, queue: FakeQueue, sender: FakeSender, clock: FakeClock
) -> None:
    """Three attempts (first + len(SCHEDULE) retries) through the poll loop."""
    dispatcher = make_dispatcher()
    endpoint = make_endpoint()
    sender.default = http_error(500)
    job = queue.add(make_job(endpoint), next_attempt_at=clock.ms)
    await dispatcher.start()

    statuses = []
    for attempt in range(1, 4):
        await wait_until(lambda n=attempt: len(queue.results) == n, what=f"attempt {attempt}")
        await wait_until(lambda: dispatcher.held == 0, what="the job to be forgotten")
        statuses.append(queue.results[-1].status)
        clock.advance(1000)  # past any jittered delay of the schedule
        dispatcher.wake()

    assert statuses == [DeliveryStatus.PENDING, DeliveryStatus.PENDING, DeliveryStatus.FAIL]
    assert queue.deliveries[job.delivery_id].attempt_count == 3
    # Nothing more is claimed or sent once failed.
    clock.advance(10**6)
    dispatcher.wake()
    claims = queue.claim_calls
    await wait_until(lambda: queue.claim_calls > claims + 1, what="more polls")
    assert len(sender.requests) == 3
    assert len(queue.attempts) == 3


async def test_gone_disables_the_endpoint_and_fails_its_queued_jobs_unsent(
    make_dispatcher: MakeDispatcher, queue: FakeQueue, sender: FakeSender, clock: FakeClock
) -> None:
    dispatcher = make_dispatcher(endpoint_concurrency=1)
    gone, other = make_endpoint(), make_endpoint()
    sender.script(gone.url, http_error(410))
    gone_jobs = [make_job(gone) for _ in range(3)]
    other_job = make_job(other)

    hand_over(dispatcher, queue, clock.ms, [*gone_jobs, other_job])
    await wait_until(lambda: dispatcher.held == 0, what="all results")

    assert len(sender.sent_to(gone.url)) == 1
    first, *queued = gone_jobs
    [first_result] = queue.results_for(first.delivery_id)
    assert first_result.status is DeliveryStatus.FAIL
    assert first_result.disable_endpoint
    assert first_result.attempt is not None
    assert first_result.attempt.response_status_code == 410
    for job in queued:
        [result] = queue.results_for(job.delivery_id)
        assert result.status is DeliveryStatus.FAIL
        assert result.attempt is None
        assert job.attempt_count == 0
    assert queue.disabled_endpoints == {gone.id}
    assert queue.status(other_job.delivery_id) is DeliveryStatus.SUCCESS


async def test_too_many_requests_pauses_only_that_endpoint(
    make_dispatcher: MakeDispatcher, queue: FakeQueue, sender: FakeSender, clock: FakeClock
) -> None:
    dispatcher = make_dispatcher(endpoint_concurrency=1)
    throttled, healthy = make_endpoint(), make_endpoint()
    sender.script(throttled.url, http_error(429, retry_after=3600))
    throttled_jobs = [make_job(throttled) for _ in range(3)]
    healthy_jobs = [make_job(healthy) for _ in range(5)]

    hand_over(dispatcher, queue, clock.ms, [*throttled_jobs, *healthy_jobs])
    await wait_until(
        lambda: all(queue.results_for(j.delivery_id) for j in healthy_jobs),
        what="the healthy endpoint's results",
    )
    await wait_until(
        lambda: bool(queue.results_for(throttled_jobs[0].delivery_id)), what="the 429 result"
    )
    await spin()

    # The healthy endpoint kept going; the throttled one got exactly one request.
    assert len(sender.sent_to(healthy.url)) == 5
    assert len(sender.sent_to(throttled.url)) == 1
    [result] = queue.results_for(throttled_jobs[0].delivery_id)
    assert result.status is DeliveryStatus.PENDING
    assert result.next_attempt_at >= clock.ms + 3600 * 1000
    # The other two wait: still held, or handed back for after the pause unsent.
    for job in throttled_jobs[1:]:
        for later in queue.results_for(job.delivery_id):
            assert later.attempt is None
            assert later.status is DeliveryStatus.PENDING
            assert later.next_attempt_at >= clock.ms + 3600 * 1000


async def test_throttled_endpoint_resumes_after_retry_after(
    make_dispatcher: MakeDispatcher, queue: FakeQueue, sender: FakeSender
) -> None:
    dispatcher = make_dispatcher(endpoint_concurrency=1, clock=time.time)
    throttled = make_endpoint()
    sender.script(throttled.url, http_error(429, retry_after=0.05))
    first, *rest = jobs = [make_job(throttled) for _ in range(3)]

    hand_over(dispatcher, queue, int(time.time() * 1000), jobs)
    await dispatcher.start()
    await wait_until(
        lambda: all(queue.status(j.delivery_id) is DeliveryStatus.SUCCESS for j in rest),
        what="the other two deliveries after the pause",
    )

    assert len(sender.sent_to(throttled.url)) == 3
    assert queue.status(first.delivery_id) is DeliveryStatus.PENDING


async def test_pause_ends_when_the_dispatcher_clock_passes_it(
    make_dispatcher: MakeDispatcher, queue: FakeQueue, sender: FakeSender, clock: FakeClock
) -> None:
    """Models the wall clock stepping back during a pause: when the resume timer
    fires, ``clock()`` is still before ``paused_until``."""
    dispatcher = make_dispatcher(endpoint_concurrency=1)
    throttled = make_endpoint()
    sender.script(throttled.url, http_error(429, retry_after=0.05))
    jobs = [make_job(throttled) for _ in range(3)]

    hand_over(dispatcher, queue, clock.ms, jobs)
    await dispatcher.start()
    await wait_until(lambda: len(sender.requests) == 1, what="the 429")
    # The 0.05 s resume timer was armed before this sleep, so it has fired by now.
    await asyncio.sleep(0.1)
    clock.advance(1.0)  # now the pause is over by the dispatcher's own clock
    dispatcher.wake()

    await wait_until(
        lambda: len(sender.sent_to(throttled.url)) == 3, timeout=0.5, what="the lane to resume"
    )


async def test_pause_is_capped_like_the_retry_delay(
    make_dispatcher: MakeDispatcher, queue: FakeQueue, sender: FakeSender, clock: FakeClock
) -> None:
    dispatcher = make_dispatcher()
    endpoint = make_endpoint()
    sender.script(endpoint.url, http_error(429, retry_after=10**7))  # ~115 days
    job = queue.add(make_job(endpoint), next_attempt_at=clock.ms)
    await dispatcher.start()

    await wait_until(lambda: len(queue.results) == 1, what="the 429 result")
    await wait_until(lambda: dispatcher.held == 0, what="the job to be forgotten")
    [result] = queue.results
    assert result.next_attempt_at == clock.ms + int(POLICY.max_retry_after * 1000)

    clock.advance(POLICY.max_retry_after + 1)
    dispatcher.wake()
    # Today the retry is claimed (and kept leased) but not sent: the lane stays
    # paused for ~115 days.
    await wait_until(
        lambda: queue.status(job.delivery_id) is DeliveryStatus.SUCCESS,
        timeout=0.5,
        what="the retry to be sent",
    )


async def test_paused_endpoint_backlog_does_not_starve_other_endpoints(
    make_dispatcher: MakeDispatcher, queue: FakeQueue, sender: FakeSender, clock: FakeClock
) -> None:
    dispatcher = make_dispatcher(endpoint_concurrency=1, max_held=3)
    throttled, healthy = make_endpoint(), make_endpoint()
    sender.script(throttled.url, http_error(429, retry_after=3600))
    for i in range(6):  # an older backlog for the throttled endpoint
        queue.add(make_job(throttled), next_attempt_at=clock.ms - 10_000 + i)
    healthy_job = queue.add(make_job(healthy), next_attempt_at=clock.ms - 1)
    await dispatcher.start()

    await wait_until(
        lambda: queue.status(healthy_job.delivery_id) is DeliveryStatus.SUCCESS,
        timeout=0.5,
        what="the healthy endpoint's delivery",
    )


async def test_a_crashing_send_is_retried_and_the_lane_keeps_going(
    make_dispatcher: MakeDispatcher, queue: FakeQueue, sender: FakeSender, clock: FakeClock
) -> None:
    dispatcher = make_dispatcher(endpoint_concurrency=1)
    endpoint = make_endpoint()
    sender.script(endpoint.url, RuntimeError("sender bug"))
    crashed, fine = make_job(endpoint), make_job(endpoint)

    hand_over(dispatcher, queue, clock.ms, [crashed, fine])
    await wait_until(lambda: dispatcher.held == 0, what="both results")

    [result] = queue.results_for(crashed.delivery_id)
    assert result.status is DeliveryStatus.PENDING
    assert clock.ms + 4000 <= result.next_attempt_at <= clock.ms + 6000
    assert queue.status(fine.delivery_id) is DeliveryStatus.SUCCESS


async def test_a_send_that_always_crashes_ends_failed_after_the_schedule(
    make_dispatcher: MakeDispatcher, queue: FakeQueue, sender: FakeSender, clock: FakeClock
) -> None:
    dispatcher = make_dispatcher()
    endpoint = make_endpoint()
    sender.script(endpoint.url, *(RuntimeError("sender bug") for _ in range(10)))
    job = queue.add(make_job(endpoint), next_attempt_at=clock.ms)
    await dispatcher.start()

    for attempt in range(1, 4):
        await wait_until(lambda n=attempt: len(queue.results) == n, what=f"attempt {attempt}")
        await wait_until(lambda: dispatcher.held == 0, what="the job to be forgotten")
        clock.advance(1000)
        dispatcher.wake()

    assert queue.status(job.delivery_id) is DeliveryStatus.FAIL


# -- concurrency and fairness -------------------------------------------------------------


async def test_per_endpoint_concurrency_cap_holds(
    make_dispatcher: MakeDispatcher, queue: FakeQueue, sender: FakeSender, clock: FakeClock
) -> None:
    dispatcher = make_dispatcher(endpoint_concurrency=3, endpoint_start_concurrency=3)
    endpoint = make_endpoint()
    sender.hold(endpoint.url)
    jobs = [make_job(endpoint) for _ in range(10)]

    hand_over(dispatcher, queue, clock.ms, jobs)
    await wait_until(lambda: sender.in_flight[endpoint.url] == 3, what="3 requests in flight")
    await spin()
    assert len(sender.sent_to(endpoint.url)) == 3

    sender.release(endpoint.url)
    await wait_until(lambda: dispatcher.held == 0, what="all results")
    assert len(sender.sent_to(endpoint.url)) == 10
    assert sender.max_in_flight[endpoint.url] == 3


async def test_slow_endpoint_does_not_block_a_fast_one(
    make_dispatcher: MakeDispatcher, queue: FakeQueue, sender: FakeSender, clock: FakeClock
) -> None:
    dispatcher = make_dispatcher(endpoint_concurrency=2, endpoint_start_concurrency=2)
    slow, fast = make_endpoint(), make_endpoint()
    sender.hold(slow.url)
    slow_jobs = [make_job(slow) for _ in range(10)]
    fast_jobs = [make_job(fast) for _ in range(5)]

    # The slow endpoint's jobs are queued first.
    hand_over(dispatcher, queue, clock.ms, [*slow_jobs, *fast_jobs])
    await wait_until(
        lambda: all(queue.status(j.delivery_id) is DeliveryStatus.SUCCESS for j in fast_jobs),
        what="the fast endpoint's deliveries",
    )
    assert sender.in_flight[slow.url] == 2
    assert not any(queue.results_for(j.delivery_id) for j in slow_jobs)

    sender.release(slow.url)
    await wait_until(lambda: dispatcher.held == 0, what="all results")
    assert sender.max_in_flight[slow.url] == 2
    assert all(queue.status(j.delivery_id) is DeliveryStatus.SUCCESS for j in slow_jobs)


async def test_a_hanging_endpoint_ties_up_one_request_slot_not_its_whole_cap(
    make_dispatcher: MakeDispatcher, queue: FakeQueue, sender: FakeSender, clock: FakeClock
) -> None:
    # Two hanging endpoints at full concurrency would take every slot.
    dispatcher = make_dispatcher(endpoint_concurrency=4, max_in_flight=8)
    hanging = [make_endpoint(), make_endpoint()]
    healthy = make_endpoint()
    for endpoint in hanging:
        sender.hold(endpoint.url)
    stuck = [make_job(ep) for ep in hanging for _ in range(10)]
    healthy_jobs = [make_job(healthy) for _ in range(30)]

    hand_over(dispatcher, queue, clock.ms, [*stuck, *healthy_jobs])
    await wait_until(
        lambda: all(queue.status(j.delivery_id) is DeliveryStatus.SUCCESS for j in healthy_jobs),
        what="the healthy endpoint's deliveries",
    )

    assert [sender.in_flight[ep.url] for ep in hanging] == [1, 1]
    # The healthy endpoint's concurrency grew with its successes, up to the cap.
    assert sender.max_in_flight[healthy.url] == 4


async def test_a_failure_drops_the_endpoint_back_to_one_request_at_a_time(
    make_dispatcher: MakeDispatcher, queue: FakeQueue, sender: FakeSender, clock: FakeClock
) -> None:
    dispatcher = make_dispatcher(endpoint_concurrency=4)
    endpoint = make_endpoint()
    warm_up = [make_job(endpoint) for _ in range(20)]
    hand_over(dispatcher, queue, clock.ms, warm_up)
    await wait_until(lambda: dispatcher.held == 0, what="the warm-up deliveries")
    assert sender.max_in_flight[endpoint.url] == 4

    sender.script(endpoint.url, http_error(500))
    failing = make_job(endpoint)
    hand_over(dispatcher, queue, clock.ms, [failing])
    await wait_until(lambda: dispatcher.held == 0, what="the failed attempt")
    sender.hold(endpoint.url)
    sender.max_in_flight.clear()
    hand_over(dispatcher, queue, clock.ms, [make_job(endpoint) for _ in range(4)])
    await wait_until(lambda: sender.in_flight[endpoint.url] == 1, what="one request")
    await spin()

    assert sender.max_in_flight[endpoint.url] == 1


async def test_jobs_beyond_the_endpoint_hold_go_back_to_the_store_unsent(
    make_dispatcher: MakeDispatcher, queue: FakeQueue, sender: FakeSender, clock: FakeClock
) -> None:
    dispatcher = make_dispatcher(endpoint_concurrency=2, endpoint_hold=3)
    stuck, other = make_endpoint(), make_endpoint()
    sender.hold(stuck.url)
    stuck_jobs = [make_job(stuck) for _ in range(10)]
    other_job = make_job(other)

    hand_over(dispatcher, queue, clock.ms, [*stuck_jobs, other_job])
    await wait_until(
        lambda: queue.status(other_job.delivery_id) is DeliveryStatus.SUCCESS,
        what="the other endpoint's delivery",
    )
    await wait_until(lambda: dispatcher.held == 3, what="the extra jobs to be handed back")

    handed_back = [j for j in stuck_jobs if queue.results_for(j.delivery_id)]
    assert len(handed_back) == 7
    for job in handed_back:
        [result] = queue.results_for(job.delivery_id)
        assert (result.status, result.attempt) == (DeliveryStatus.PENDING, None)
        assert result.next_attempt_at == clock.ms  # due again now, for a later claim
        assert queue.deliveries[job.delivery_id].lease_until == 0
    assert len(sender.sent_to(stuck.url)) == 1


async def test_a_job_with_a_send_slot_waits_for_it(
    make_dispatcher: MakeDispatcher, queue: FakeQueue, sender: FakeSender, clock: FakeClock
) -> None:
    dispatcher = make_dispatcher()
    endpoint = make_endpoint()
    now_job, later_job = make_job(endpoint), make_job(endpoint)
    later_job.not_before = clock.ms + 50

    hand_over(dispatcher, queue, clock.ms, [now_job, later_job])
    await wait_until(lambda: len(sender.requests) == 1, what="the job due now")
    await asyncio.sleep(0.1)  # the slot's timer fires, but our clock has not moved
    assert [r.body for r in sender.requests] == [now_job.payload]

    clock.advance(0.05)
    await wait_until(lambda: dispatcher.held == 0, what="the job at its slot")
    assert [r.body for r in sender.requests] == [now_job.payload, later_job.payload]


async def test_a_job_waiting_for_its_slot_fails_unsent_once_the_endpoint_is_gone(
    make_dispatcher: MakeDispatcher, queue: FakeQueue, sender: FakeSender, clock: FakeClock
) -> None:
    dispatcher = make_dispatcher()
    endpoint = make_endpoint()
    sender.script(endpoint.url, http_error(410))
    first, waiting = make_job(endpoint), make_job(endpoint)
    waiting.not_before = clock.ms + 50

    hand_over(dispatcher, queue, clock.ms, [first, waiting])
    await wait_until(lambda: bool(queue.results_for(first.delivery_id)), what="the 410")
    clock.advance(0.05)
    await wait_until(lambda: dispatcher.held == 0, what="the waiting job's result")

    assert len(sender.requests) == 1
    [result] = queue.results_for(waiting.delivery_id)
    assert (result.status, result.attempt) == (DeliveryStatus.FAIL, None)


async def test_deferred_jobs_go_back_to_the_store_unsent_and_due_now(
    make_dispatcher: MakeDispatcher, queue: FakeQueue, sender: FakeSender, clock: FakeClock
) -> None:
    dispatcher = make_dispatcher()
    jobs = [make_job(make_endpoint()) for _ in range(3)]
    for job in jobs:
        queue.add(job, next_attempt_at=clock.ms, lease_until=clock.ms + dispatcher.lease_ms)

    dispatcher.defer_to_claim(jobs)
    await wait_until(lambda: dispatcher.held == 0, what="the jobs to be handed back")

    assert sender.requests == []
    for job in jobs:
        [result] = queue.results_for(job.delivery_id)
        assert (result.status, result.attempt, result.next_attempt_at) == (
            DeliveryStatus.PENDING,
            None,
            clock.ms,
        )
        assert queue.deliveries[job.delivery_id].lease_until == 0


async def test_an_endpoint_unreachable_again_and_again_is_paused_for_every_worker(
    make_dispatcher: MakeDispatcher, queue: FakeQueue, sender: FakeSender, clock: FakeClock
) -> None:
    # Troubled turns after every healthy request, so that the failing endpoint
    # reaches its third failure while the healthy one still has work.
    dispatcher = make_dispatcher(
        breaker_failures=3, breaker_pause_seconds=60, troubled_turn_every=1
    )
    failing, healthy = make_endpoint(), make_endpoint()
    sender.script(failing.url, *[unreachable()] * 3)
    failing_jobs = [make_job(failing) for _ in range(10)]
    healthy_jobs = [make_job(healthy) for _ in range(10)]

    hand_over(dispatcher, queue, clock.ms, [*failing_jobs, *healthy_jobs])
    await wait_until(lambda: dispatcher.held == 0, what="all results")

    # Three attempts, then nothing: the rest waits for the pause to end.
    assert len(sender.sent_to(failing.url)) == 3
    assert len(sender.sent_to(healthy.url)) == 10
    attempted = [r for r in queue.results if r.attempt is not None and r.job.endpoint == failing]
    assert [r.pause_endpoint_until for r in attempted] == [0, 0, clock.ms + 60_000]
    for job in failing_jobs[3:]:
        [result] = queue.results_for(job.delivery_id)
        assert result.attempt is None
        assert result.next_attempt_at == clock.ms + 60_000


async def test_the_breaker_pause_doubles_until_a_success(
    make_dispatcher: MakeDispatcher, queue: FakeQueue, sender: FakeSender, clock: FakeClock
) -> None:
    dispatcher = make_dispatcher(
        breaker_failures=1, breaker_pause_seconds=10, breaker_max_pause_seconds=30
    )
    endpoint = make_endpoint()
    down = unreachable()
    sender.script(endpoint.url, down, down, down, http_error(500), down)
    pauses = []
    for _ in range(5):
        job = make_job(endpoint)
        hand_over(dispatcher, queue, clock.ms, [job])
        await wait_until(lambda: dispatcher.held == 0, what="the result")
        [result] = queue.results_for(job.delivery_id)
        pauses.append(result.pause_endpoint_until and result.pause_endpoint_until - clock.ms)
        clock.advance(3600)  # past any pause
    # Doubled up to the longest pause; any HTTP answer (even a 500) resets it.
    assert pauses == [10_000, 20_000, 30_000, 0, 10_000]


async def test_error_statuses_do_not_trip_the_breaker(
    make_dispatcher: MakeDispatcher, queue: FakeQueue, sender: FakeSender, clock: FakeClock
) -> None:
    dispatcher = make_dispatcher(breaker_failures=2)
    endpoint = make_endpoint()
    sender.default = http_error(500)
    jobs = [make_job(endpoint) for _ in range(6)]

    hand_over(dispatcher, queue, clock.ms, jobs)
    await wait_until(lambda: dispatcher.held == 0, what="all results")

    assert len(sender.requests) == 6
    assert all(r.pause_endpoint_until == 0 for r in queue.results)


async def test_global_in_flight_cap_holds(
    make_dispatcher: MakeDispatcher, queue: FakeQueue, sender: FakeSender, clock: FakeClock
) -> None:
    dispatcher = make_dispatcher(endpoint_concurrency=5, max_in_flight=2)
    endpoints = [make_endpoint() for _ in range(3)]
    for endpoint in endpoints:
        sender.hold(endpoint.url)
    jobs = [make_job(ep) for ep in endpoints for _ in range(2)]

    hand_over(dispatcher, queue, clock.ms, jobs)
    await wait_until(lambda: sender.in_flight.total() == 2, what="2 requests in flight")
    await spin()
    assert len(sender.requests) == 2

    sender.open_all()
    await wait_until(lambda: dispatcher.held == 0, what="all results")
    assert len(sender.requests) == 6
    assert sender.max_total_in_flight == 2


async def test_endpoints_take_turns(
    make_dispatcher: MakeDispatcher, queue: FakeQueue, sender: FakeSender, clock: FakeClock
) -> None:
    dispatcher = make_dispatcher(max_in_flight=1)
    first, second = make_endpoint(), make_endpoint()
    jobs = [*(make_job(first) for _ in range(3)), *(make_job(second) for _ in range(3))]

    hand_over(dispatcher, queue, clock.ms, jobs)
    await wait_until(lambda: dispatcher.held == 0, what="all results")

    assert [r.url for r in sender.requests] == [first.url, second.url] * 3


def cut_off_at_the_cap() -> SendResult:
    """A 2xx whose body went on beyond the sender's cap (what the sender reports)."""
    note = "response body over the 16384-byte cap; the rest was not read"
    return SendResult(200, b"x" * 16384, 1, None, note)


@pytest.mark.parametrize(
    "troubled_answer", [http_error(500), cut_off_at_the_cap()], ids=["500", "cut-off-2xx"]
)
async def test_an_endpoint_in_trouble_yields_turns_to_healthy_ones_without_starving(
    make_dispatcher: MakeDispatcher,
    queue: FakeQueue,
    sender: FakeSender,
    clock: FakeClock,
    troubled_answer: SendResult,
) -> None:
    # One request at a time, so that the order of requests is the order of turns.
    dispatcher = make_dispatcher(max_in_flight=1, troubled_turn_every=64)
    troubled, healthy = make_endpoint(), make_endpoint()
    sender.script(troubled.url, *[troubled_answer] * 50)
    troubled_jobs = [make_job(troubled) for _ in range(50)]
    healthy_jobs = [make_job(healthy) for _ in range(200)]

    hand_over(dispatcher, queue, clock.ms, [*troubled_jobs, *healthy_jobs])
    await wait_until(
        lambda: all(queue.results_for(j.delivery_id) for j in healthy_jobs),
        what="the healthy endpoint's results",
    )
    # Taking turns one for one, it would have had 50 of the first 100 requests.
    # In trouble, it waits 1, 2, 4, ... 32 healthy requests for its turn, then
    # 64 each time.
    assert len(sender.sent_to(troubled.url)) <= 2 + 6 + 200 // 64

    # With no healthy endpoint left to yield to, it is not held back for longer
    # than troubled_max_wait: every one of its jobs is attempted.
    clock.advance(1.0)
    await wait_until(lambda: dispatcher.held == 0, what="all results")
    assert len(sender.sent_to(troubled.url)) == 50
    assert all(queue.results_for(j.delivery_id) for j in troubled_jobs)


async def test_an_endpoint_that_fails_now_and_then_loses_few_turns(
    make_dispatcher: MakeDispatcher, queue: FakeQueue, sender: FakeSender, clock: FakeClock
) -> None:
    """One failure costs a wait of 1/64 of the full one (here 1 healthy request)."""
    dispatcher = make_dispatcher(max_in_flight=1, troubled_turn_every=64)
    flaky, healthy = make_endpoint(), make_endpoint()
    # Fails every fourth attempt.
    sender.script(flaky.url, *[http_error(500), ok(), ok(), ok()] * 10)
    flaky_jobs = [make_job(flaky) for _ in range(40)]
    healthy_jobs = [make_job(healthy) for _ in range(80)]

    hand_over(dispatcher, queue, clock.ms, [*flaky_jobs, *healthy_jobs])
    await wait_until(lambda: dispatcher.held == 0, what="all results")

    urls = [r.url for r in sender.requests]
    # It kept close to its turns one for one: its 40 requests were all sent
    # before the healthy endpoint's 80 ended.
    assert max(i for i, url in enumerate(urls) if url == flaky.url) < len(urls) - 1 - 20


async def test_an_endpoint_in_trouble_waits_no_longer_than_its_longest_wait(
    make_dispatcher: MakeDispatcher, queue: FakeQueue, sender: FakeSender, clock: FakeClock
) -> None:
    """Even while healthy requests hang (no healthy request starts, so the
    turns it waits for never come), a troubled endpoint gets a turn once
    ``troubled_max_wait`` has passed."""
    dispatcher = make_dispatcher(troubled_turn_every=1000, troubled_max_wait=0.05)
    troubled, healthy = make_endpoint(), make_endpoint()
    sender.script(troubled.url, *[http_error(500)] * 5)
    sender.hold(healthy.url)

    hand_over(
        dispatcher,
        queue,
        clock.ms,
        [*(make_job(troubled) for _ in range(5)), *(make_job(healthy) for _ in range(5))],
    )
    # Its first failure makes it troubled; its first troubled turn is at once.
    await wait_until(lambda: len(sender.sent_to(troubled.url)) == 2, what="two attempts")
    await wait_until(lambda: len(queue.results) == 2, what="their results")
    await spin()
    assert len(sender.sent_to(troubled.url)) == 2

    clock.advance(0.05)
    await wait_until(lambda: len(sender.sent_to(troubled.url)) == 3, what="a third attempt")
    assert sender.in_flight[healthy.url] == 1


async def test_busy_workers_are_reused_instead_of_one_task_per_delivery(
    make_dispatcher: MakeDispatcher, queue: FakeQueue, sender: FakeSender, clock: FakeClock
) -> None:
    workers: list[str] = []
    loop = asyncio.get_running_loop()

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        if getattr(coro, "__qualname__", "") == "Dispatcher._work":
            workers.append(coro.__qualname__)
        return asyncio.Task(coro, loop=loop, **kwargs)

    dispatcher = make_dispatcher(endpoint_concurrency=2, endpoint_start_concurrency=2)
    endpoint = make_endpoint()
    jobs = [make_job(endpoint) for _ in range(20)]
    loop.set_task_factory(factory)
    try:
        hand_over(dispatcher, queue, clock.ms, jobs)
        await wait_until(lambda: dispatcher.held == 0, what="all results")
    finally:
        loop.set_task_factory(None)

    assert len(sender.requests) == 20
    assert sender.max_in_flight[endpoint.url] == 2
    assert len(workers) == 2
    await wait_until(lambda: not dispatcher._tasks, what="idle workers to end")


# -- signing and headers -----------------------------------------------------------------


async def test_requests_are_signed_with_every_active_secret(
    make_dispatcher: MakeDispatcher, queue: FakeQueue, sender: FakeSender
) -> None:
    clock = FakeClock(time.time())  # receivers check the timestamp against real time
    dispatcher = make_dispatcher(clock=clock)
    current, rotated, expired = generate_secret(), generate_secret(), generate_secret()
    endpoint = make_endpoint(
        secrets=[
            EndpointSecret(current),
            EndpointSecret(rotated, expires_at=clock.ms + 60_000),
            EndpointSecret(expired, expires_at=clock.ms - 1),
        ]
    )
    job = make_job(endpoint, payload=b'{"amount": 1.50, "note": "caf\xc3\xa9"}')

    hand_over(dispatcher, queue, clock.ms, [job])
    await wait_until(lambda: dispatcher.held == 0, what="the result")

    [request] = sender.requests
    headers = dict(request.headers)
    assert headers["webhook-id"] == job.msg_id
    assert headers["svix-id"] == job.msg_id
    assert headers["webhook-timestamp"] == str(int(clock.now))
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert headers["svix-signature"] == headers["webhook-signature"]
    for secret in (current, rotated):
        Webhook(secret).verify(request.body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(expired).verify(request.body, headers)


async def test_custom_headers_are_sent_but_cannot_override_the_signature(
    make_dispatcher: MakeDispatcher, queue: FakeQueue, sender: FakeSender
) -> None:
    clock = FakeClock(time.time())
    dispatcher = make_dispatcher(clock=clock)
    secret = generate_secret()
    endpoint = make_endpoint(
        secrets=[EndpointSecret(secret)],
        headers={
            "X-Tenant": "acme",
            "webhook-signature": "v1,forged",
            "webhook-id": "msg_forged",
        },
    )
    job = make_job(endpoint)

    hand_over(dispatcher, queue, clock.ms, [job])
    await wait_until(lambda: dispatcher.held == 0, what="the result")

    [request] = sender.requests
    headers = dict(request.headers)
    assert headers["X-Tenant"] == "acme"
    assert headers["webhook-id"] == job.msg_id
    assert "forged" not in headers["webhook-signature"]
    Webhook(secret).verify(request.body, headers)


# -- submit, polling, stopping --------------------------------------------------------------


async def test_submit_ignores_duplicates_of_held_jobs(
    make_dispatcher: MakeDispatcher, queue: FakeQueue, sender: FakeSender, clock: FakeClock
) -> None:
    dispatcher = make_dispatcher()
    endpoint = make_endpoint()
    sender.hold(endpoint.url)
    job = make_job(endpoint)

    hand_over(dispatcher, queue, clock.ms, [job])
    await wait_until(lambda: sender.in_flight[endpoint.url] == 1, what="the request")
    duplicate = Job(job.delivery_id, job.msg_id, job.app_id, endpoint, job.payload, 0)
    dispatcher.submit([job, duplicate])
    assert dispatcher.held == 1

    sender.release(endpoint.url)
    await wait_until(lambda: dispatcher.held == 0, what="the result")
    await spin()
    assert len(sender.requests) == 1
    assert len(queue.results) == 1


async def test_poll_loop_claims_due_work_only(
    make_dispatcher: MakeDispatcher, queue: FakeQueue, sender: FakeSender, clock: FakeClock
) -> None:
    dispatcher = make_dispatcher(lease_seconds=60)
    endpoint, disabled = make_endpoint(), make_endpoint()
    due = queue.add(make_job(endpoint), next_attempt_at=clock.ms - 1000)
    later = queue.add(make_job(endpoint), next_attempt_at=clock.ms + 10_000)
    leased = queue.add(make_job(endpoint), lease_until=clock.ms + 30_000)
    failed = queue.add(make_job(endpoint))
    queue.deliveries[failed.delivery_id].status = DeliveryStatus.FAIL
    unsendable = queue.add(make_job(disabled))
    queue.disable_endpoint(disabled.id)

    def sent() -> list[str]:
        return [r.headers["webhook-id"] for r in sender.requests]

    await dispatcher.start()
    await wait_until(lambda: queue.status(due.delivery_id) is DeliveryStatus.SUCCESS)
    await wait_until(lambda: dispatcher.held == 0)
    assert sent() == [due.msg_id]
    assert queue.status(unsendable.delivery_id) is DeliveryStatus.FAIL

    clock.advance(11)  # `later` becomes due
    dispatcher.wake()
    await wait_until(lambda: queue.status(later.delivery_id) is DeliveryStatus.SUCCESS)
    assert sent() == [due.msg_id, later.msg_id]

    clock.advance(30)  # the lease of `leased` (held by a dead process) runs out
    dispatcher.wake()
    await wait_until(lambda: queue.status(leased.delivery_id) is DeliveryStatus.SUCCESS)
    assert sent() == [due.msg_id, later.msg_id, leased.msg_id]
    assert queue.status(failed.delivery_id) is DeliveryStatus.FAIL


async def test_poll_loop_leases_what_it_claims(
    make_dispatcher: MakeDispatcher, queue: FakeQueue, sender: FakeSender, clock: FakeClock
) -> None:
    dispatcher = make_dispatcher(lease_seconds=60)
    endpoint = make_endpoint()
    sender.hold(endpoint.url)
    job = queue.add(make_job(endpoint), next_attempt_at=clock.ms)

    await dispatcher.start()
    await wait_until(lambda: sender.in_flight[endpoint.url] == 1, what="the request")
    assert queue.deliveries[job.delivery_id].lease_until == clock.ms + 60_000


async def test_stop_releases_queued_jobs_and_waits_for_in_flight_ones(
    make_dispatcher: MakeDispatcher, queue: FakeQueue, sender: FakeSender, clock: FakeClock
) -> None:
    dispatcher = make_dispatcher(endpoint_concurrency=1)
    endpoint = make_endpoint()
    sender.hold(endpoint.url)
    first, *queued = jobs = [make_job(endpoint) for _ in range(3)]
    hand_over(dispatcher, queue, clock.ms, jobs)
    await dispatcher.start()
    await wait_until(lambda: sender.in_flight[endpoint.url] == 1, what="the first request")

    stopping = asyncio.create_task(dispatcher.stop(grace_seconds=5.0))
    await spin()
    assert not stopping.done()  # the in-flight request is still running

    sender.release(endpoint.url)
    await asyncio.wait_for(stopping, 5.0)

    assert len(sender.requests) == 1
    assert queue.status(first.delivery_id) is DeliveryStatus.SUCCESS
    assert sorted(queue.released) == sorted(j.delivery_id for j in queued)
    for job in queued:
        delivery = queue.deliveries[job.delivery_id]
        assert (delivery.status, delivery.lease_until) == (DeliveryStatus.PENDING, 0)
    assert dispatcher.held == 0
    assert not dispatcher.has_room()


# -- result batching and leases ----------------------------------------------------------------


async def test_results_are_written_in_batches(
    make_dispatcher: MakeDispatcher, queue: FakeQueue, sender: FakeSender, clock: FakeClock
) -> None:
    dispatcher = make_dispatcher()
    jobs = [make_job(ep) for ep in [make_endpoint() for _ in range(5)] for _ in range(10)]

    hand_over(dispatcher, queue, clock.ms, jobs)
    await wait_until(lambda: dispatcher.held == 0, what="50 results")

    assert sum(queue.record_calls) == 50
    assert len(queue.record_calls) < 50
    assert {r.job.delivery_id for r in queue.results} == {j.delivery_id for j in jobs}


async def test_a_failed_result_write_is_retried(
    make_dispatcher: MakeDispatcher, queue: FakeQueue, sender: FakeSender, clock: FakeClock
) -> None:
    dispatcher = make_dispatcher()
    queue.fail_records = 1
    job = make_job(make_endpoint())

    hand_over(dispatcher, queue, clock.ms, [job])
    await wait_until(lambda: dispatcher.held == 0, what="the result to be written")

    assert queue.record_calls == [1]
    assert queue.status(job.delivery_id) is DeliveryStatus.SUCCESS


async def test_a_result_the_store_rejects_does_not_block_the_others(
    make_dispatcher: MakeDispatcher, queue: FakeQueue, sender: FakeSender, clock: FakeClock
) -> None:
    dispatcher = make_dispatcher()
    doomed, *others = jobs = [make_job(make_endpoint()) for _ in range(4)]
    queue.reject.add(doomed.delivery_id)  # e.g. its endpoint was deleted meanwhile

    hand_over(dispatcher, queue, clock.ms, jobs)
    await wait_until(
        lambda: all(queue.status(j.delivery_id) is DeliveryStatus.SUCCESS for j in others),
        timeout=0.5,
        what="the other results",
    )


async def test_leases_are_renewed_for_every_held_job(
    make_dispatcher: MakeDispatcher, queue: FakeQueue, sender: FakeSender, clock: FakeClock
) -> None:
    dispatcher = make_dispatcher(endpoint_concurrency=1, lease_seconds=0.03)
    slow, fast = make_endpoint(), make_endpoint()
    sender.hold(slow.url)
    queue.record_gate = asyncio.Event()
    slow_jobs = [make_job(slow) for _ in range(3)]  # one in flight, two queued
    fast_job = make_job(fast)  # sent; its result waits to be written
    jobs = [*slow_jobs, fast_job]
    for job in jobs:
        queue.add(job, next_attempt_at=clock.ms, lease_until=clock.ms + 3_600_000)
    dispatcher.submit(jobs)
    await wait_until(lambda: len(sender.sent_to(fast.url)) == 1, what="the fast request")

    await dispatcher.start()
    held = frozenset(j.delivery_id for j in jobs)
    await wait_until(lambda: any(ids == held for ids, _ in queue.renewals), what="a renewal")
    assert all(until == clock.ms + 30 for _, until in queue.renewals)
    assert all(queue.deliveries[d].lease_until == clock.ms + 30 for d in held)

    queue.record_gate.set()
    sender.release(slow.url)
    await wait_until(lambda: dispatcher.held == 0, what="all results")
    renewals = len(queue.renewals)
    await asyncio.sleep(0.05)  # a few renewal intervals: nothing is left to renew
    assert queue.renewals[renewals:] == []
    assert all(queue.status(j.delivery_id) is DeliveryStatus.SUCCESS for j in jobs)


async def test_fake_sender_answers_its_script_then_the_default(sender: FakeSender) -> None:
    sender.script("https://x.example/", http_error(500), ok(201))
    request = OutboundRequest("https://x.example/", {}, b"{}", 1.0)
    codes = [(await sender.send(request)).status_code for _ in range(3)]
    assert codes == [500, 201, 200]

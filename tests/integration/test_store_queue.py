"""The delivery queue's contract (``store.contract.DeliveryQueue``): claiming,
leases, results, release. The contract tests run on the in-memory fake, SQLite
and PostgreSQL (the ``queue_store`` fixture); those that need a real database
(two connection pools, management reads) run on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from hookgate.core import ids
from hookgate.core.clock import DAY_MS
from hookgate.store import applications
from hookgate.store import endpoints as endpoint_store
from hookgate.store.accept_messages import AcceptItem, accept_batch
from hookgate.store.database import Database
from hookgate.store.queue import SqlDeliveryQueue
from hookgate.store.records import (
    AttemptRow,
    DeliveryResult,
    DeliveryStatus,
    Endpoint,
    Job,
)
from tests.integration.conftest import NOW, all_deliveries, make_app, make_endpoint
from tests.integration.queue_backends import QueueStore

LEASE = 60_000


async def seed(
    db: Database, count: int, *, endpoint: Endpoint | None = None, now_ms: int = NOW
) -> tuple[Endpoint, list[Job]]:
    """``count`` unleased deliveries (one message each) to one endpoint."""
    if endpoint is None:
        app = await make_app(db)
        endpoint = await make_endpoint(db, app.id, url="https://receiver.example.com/hook")
    items = [AcceptItem(endpoint.app_id, "invoice.paid", b'{"n": %d}' % i) for i in range(count)]
    outcomes = await accept_batch(db, items, now_ms, 0)
    return endpoint, [job for o in outcomes for job in o.jobs]


def result(
    job: Job,
    status: DeliveryStatus,
    next_at: int,
    *,
    code: int = 200,
    disable: bool = False,
    at: int = NOW + 5,
) -> DeliveryResult:
    """The result of one attempt at ``job`` started at ``at``, answered ``code``."""
    job.attempt_count += 1
    attempt = AttemptRow(
        id=ids.new_id(ids.ATTEMPT),
        url=job.endpoint.url,
        status=DeliveryStatus.SUCCESS if 200 <= code < 300 else DeliveryStatus.FAIL,
        response_status_code=code,
        response=b"response body",
        response_duration_ms=12,
        error_kind=None if 200 <= code < 300 else "http_status",
        error_message=None if 200 <= code < 300 else f"HTTP {code}",
        created_at=at,
    )
    return DeliveryResult(job, status, next_at, attempt, disable_endpoint=disable)


# -- the contract, on the fake, SQLite and PostgreSQL ---------------------------------------


async def test_claim_due_returns_due_unleased_jobs_with_payload_and_endpoint(
    queue_store: QueueStore,
) -> None:
    queue = queue_store.queue()
    endpoint, jobs = await queue_store.seed(5)
    due, later, leased, failed, succeeded = (job.delivery_id for job in jobs)
    await queue_store.set_delivery(later, next_attempt_at=NOW + 10_000)
    await queue_store.set_delivery(leased, lease_until=NOW + 10_000)
    await queue_store.set_delivery(failed, status=DeliveryStatus.FAIL)
    await queue_store.set_delivery(succeeded, status=DeliveryStatus.SUCCESS)

    [job] = await queue.claim_due(NOW, 10, NOW + LEASE)

    assert job.delivery_id == due
    assert job.msg_id == jobs[0].msg_id
    assert job.app_id == endpoint.app_id
    assert job.payload == b'{"n": 0}'
    assert job.attempt_count == 0
    assert job.endpoint.id == endpoint.id
    assert job.endpoint.url == "https://receiver.example.com/hook"
    assert job.endpoint.secrets == endpoint.secrets
    assert (await queue_store.deliveries())[due].lease_until == NOW + LEASE
    assert await queue.claim_due(NOW + 1, 10, NOW + LEASE) == []
    # `later` becomes due at its time.
    [job] = await queue.claim_due(NOW + 10_000, 10, NOW + 10_000 + LEASE)
    assert job.delivery_id == later


async def test_claim_due_honours_the_limit_oldest_first(queue_store: QueueStore) -> None:
    queue = queue_store.queue()
    _, jobs = await queue_store.seed(12)
    for offset, job in enumerate(reversed(jobs)):
        await queue_store.set_delivery(job.delivery_id, next_attempt_at=NOW - 1000 + offset)

    claimed = await queue.claim_due(NOW, 5, NOW + LEASE)

    assert [j.delivery_id for j in claimed] == [j.delivery_id for j in reversed(jobs[-5:])]
    rest = await queue.claim_due(NOW, 100, NOW + LEASE)
    assert len(rest) == 7


async def test_a_claimed_job_comes_back_when_its_lease_expires(queue_store: QueueStore) -> None:
    queue = queue_store.queue()
    _, [job] = await queue_store.seed(1)

    [first] = await queue.claim_due(NOW, 10, NOW + 1000)
    assert await queue.claim_due(NOW + 500, 10, NOW + 500 + LEASE) == []
    assert await queue.claim_due(NOW + 1000, 10, NOW + 1000 + LEASE) == []
    # The holder died without recording anything: another worker takes it over.
    [again] = await queue.claim_due(NOW + 1001, 10, NOW + 1001 + LEASE)

    assert first.delivery_id == again.delivery_id == job.delivery_id
    assert (await queue_store.deliveries())[job.delivery_id].lease_until == NOW + 1001 + LEASE


async def test_record_results_writes_attempts_and_new_states(queue_store: QueueStore) -> None:
    queue = queue_store.queue()
    endpoint, _ = await queue_store.seed(3)
    ok_job, retry_job, failed_job = await queue.claim_due(NOW, 10, NOW + LEASE)

    await queue.record_results(
        [
            result(ok_job, DeliveryStatus.SUCCESS, NOW + 10),
            result(retry_job, DeliveryStatus.PENDING, NOW + 5000, code=500),
            result(failed_job, DeliveryStatus.FAIL, NOW + 10, code=500),
        ],
        NOW + 10,
    )

    stored = await queue_store.deliveries()
    assert [
        (stored[j.delivery_id].status, stored[j.delivery_id].attempt_count)
        for j in (ok_job, retry_job, failed_job)
    ] == [(DeliveryStatus.SUCCESS, 1), (DeliveryStatus.PENDING, 1), (DeliveryStatus.FAIL, 1)]
    assert all(d.lease_until == 0 and d.updated_at == NOW + 10 for d in stored.values())
    assert stored[retry_job.delivery_id].next_attempt_at == NOW + 5000

    [attempt] = [a for a in await queue_store.attempts() if a.delivery_id == retry_job.delivery_id]
    assert (attempt.endpoint_id, attempt.url) == (endpoint.id, endpoint.url)
    assert (attempt.status, attempt.response_status_code) == (DeliveryStatus.FAIL, 500)
    assert (attempt.response, attempt.error_kind) == (b"response body", "http_status")
    assert attempt.created_at == NOW + 5

    # The retry is due again at its time, with its attempt count.
    assert await queue.claim_due(NOW + 4999, 10, NOW + LEASE) == []
    [retry] = await queue.claim_due(NOW + 5000, 10, NOW + 5000 + LEASE)
    assert (retry.delivery_id, retry.attempt_count) == (retry_job.delivery_id, 1)


async def test_record_results_disables_endpoints(queue_store: QueueStore) -> None:
    queue = queue_store.queue()
    endpoint, _ = await queue_store.seed(2)
    gone_job, queued_job = await queue.claim_due(NOW, 10, NOW + LEASE)

    await queue.record_results(
        [
            result(gone_job, DeliveryStatus.FAIL, NOW, code=410, disable=True),
            DeliveryResult(queued_job, DeliveryStatus.FAIL, NOW),
        ],
        NOW,
    )

    assert await queue_store.endpoint_disabled(endpoint)
    stored = await queue_store.deliveries()
    assert stored[queued_job.delivery_id].status == DeliveryStatus.FAIL
    assert stored[queued_job.delivery_id].attempt_count == 0
    assert [a.delivery_id for a in await queue_store.attempts()] == [gone_job.delivery_id]


async def test_an_endpoint_failing_for_the_whole_period_is_disabled(
    queue_store: QueueStore,
) -> None:
    """Only nothing but failures for ``disable_after_ms`` disables an
    endpoint; a success in between starts the count again."""
    queue = queue_store.queue(disable_after_ms=5 * DAY_MS)
    endpoint = await queue_store.new_endpoint()

    async def attempt(at: int, code: int) -> None:
        await queue_store.seed(1, endpoint=endpoint, now_ms=at)
        [job] = await queue.claim_due(at, 10, at + LEASE)
        status = DeliveryStatus.SUCCESS if code == 200 else DeliveryStatus.FAIL
        await queue.record_results([result(job, status, at, code=code, at=at)], at)

    await attempt(NOW, 500)
    await attempt(NOW + 3 * DAY_MS, 200)
    await attempt(NOW + 4 * DAY_MS, 500)
    await attempt(NOW + 8 * DAY_MS, 500)
    assert not await queue_store.endpoint_disabled(endpoint)

    await attempt(NOW + 9 * DAY_MS, 500)
    assert await queue_store.endpoint_disabled(endpoint)


async def test_a_late_410_for_a_finished_delivery_disables_nothing(
    queue_store: QueueStore,
) -> None:
    queue = queue_store.queue()
    endpoint, _ = await queue_store.seed(1)
    (stalled,) = await queue.claim_due(NOW + 1, 1, NOW + 10)
    (retaken,) = await queue.claim_due(NOW + 20, 1, NOW + 20 + LEASE)
    await queue.record_results([result(retaken, DeliveryStatus.SUCCESS, NOW + 30)], NOW + 30)

    await queue.record_results(
        [result(stalled, DeliveryStatus.FAIL, NOW + 40, code=410, disable=True)], NOW + 40
    )

    assert not await queue_store.endpoint_disabled(endpoint)


async def test_results_for_deliveries_that_no_longer_exist_are_dropped(
    queue_store: QueueStore,
) -> None:
    """The user deletes an endpoint while a request to it is in flight: its
    result is dropped (not resurrected), the other results are written."""
    queue = queue_store.queue()
    endpoint, _ = await queue_store.seed(1)
    await queue_store.seed(1, endpoint=await queue_store.new_endpoint())
    gone_job, kept_job = sorted(
        await queue.claim_due(NOW, 10, NOW + LEASE),
        key=lambda j: j.endpoint.id != endpoint.id,
    )
    await queue_store.delete_endpoint(endpoint)

    await queue.record_results(
        [
            result(gone_job, DeliveryStatus.SUCCESS, NOW),
            result(kept_job, DeliveryStatus.SUCCESS, NOW),
        ],
        NOW,
    )

    stored = await queue_store.deliveries()
    assert gone_job.delivery_id not in stored
    assert stored[kept_job.delivery_id].status == DeliveryStatus.SUCCESS
    assert [a.delivery_id for a in await queue_store.attempts()] == [kept_job.delivery_id]


async def test_renew_leases_extends_pending_leases_only(queue_store: QueueStore) -> None:
    queue = queue_store.queue()
    await queue_store.seed(2)
    held, done = await queue.claim_due(NOW, 10, NOW + 1000)
    await queue.record_results([result(done, DeliveryStatus.SUCCESS, NOW)], NOW)

    await queue.renew_leases([held.delivery_id, done.delivery_id], NOW + 5000)

    stored = await queue_store.deliveries()
    assert stored[held.delivery_id].lease_until == NOW + 5000
    assert stored[done.delivery_id].lease_until == 0
    assert await queue.claim_due(NOW + 2000, 10, NOW + LEASE) == []
    assert len(await queue.claim_due(NOW + 5001, 10, NOW + LEASE)) == 1


async def test_renew_and_release_handle_many_ids(queue_store: QueueStore) -> None:
    """More ids than SQLite allows bound values in one statement."""
    queue = queue_store.queue()
    await queue_store.seed(1000)
    claimed = await queue.claim_due(NOW, 1000, NOW + 1000)
    assert len(claimed) == 1000
    ids_ = [j.delivery_id for j in claimed]

    await queue.renew_leases(ids_, NOW + 9000)
    assert {d.lease_until for d in (await queue_store.deliveries()).values()} == {NOW + 9000}
    await queue.release(ids_)
    assert {d.lease_until for d in (await queue_store.deliveries()).values()} == {0}


async def test_release_gives_jobs_back_and_release_all_clears_every_lease(
    queue_store: QueueStore,
) -> None:
    queue = queue_store.queue()
    await queue_store.seed(3)
    first, second, third = await queue.claim_due(NOW, 10, NOW + LEASE)

    await queue.release([first.delivery_id])
    [again] = await queue.claim_due(NOW + 1, 10, NOW + 1 + LEASE)
    assert again.delivery_id == first.delivery_id

    await queue.release_all()
    assert {d.lease_until for d in (await queue_store.deliveries()).values()} == {0}
    reclaimed = await queue.claim_due(NOW + 2, 10, NOW + 2 + LEASE)
    assert {j.delivery_id for j in reclaimed} == {
        first.delivery_id,
        second.delivery_id,
        third.delivery_id,
    }


async def test_release_leaves_finished_deliveries_alone(queue_store: QueueStore) -> None:
    queue = queue_store.queue()
    await queue_store.seed(1)
    [job] = await queue.claim_due(NOW, 10, NOW + LEASE)
    await queue.record_results([result(job, DeliveryStatus.SUCCESS, NOW)], NOW)

    await queue.release([job.delivery_id])

    assert (await queue_store.deliveries())[job.delivery_id].status == DeliveryStatus.SUCCESS
    assert await queue.claim_due(NOW + 1, 10, NOW + LEASE) == []


async def test_deliveries_to_a_disabled_endpoint_are_failed_on_claim(
    queue_store: QueueStore,
) -> None:
    queue = queue_store.queue()
    endpoint, [job] = await queue_store.seed(1)
    _, [other_job] = await queue_store.seed(1, endpoint=await queue_store.new_endpoint())
    await queue_store.disable_endpoint(endpoint)

    claimed = await queue.claim_due(NOW, 10, NOW + LEASE)

    assert [j.delivery_id for j in claimed] == [other_job.delivery_id]
    failed = (await queue_store.deliveries())[job.delivery_id]
    assert (failed.status, failed.lease_until) == (DeliveryStatus.FAIL, 0)


async def test_deliveries_of_an_expunged_message_are_failed_on_claim(
    queue_store: QueueStore,
) -> None:
    queue = queue_store.queue()
    _, [job] = await queue_store.seed(1)
    await queue_store.expunge_message(job)

    assert await queue.claim_due(NOW, 10, NOW + LEASE) == []
    assert (await queue_store.deliveries())[job.delivery_id].status == DeliveryStatus.FAIL


# -- SQLite and PostgreSQL only ------------------------------------------------------------


async def test_results_survive_the_deletion_of_the_application(db: Database) -> None:
    queue = SqlDeliveryQueue(db)
    endpoint, _ = await seed(db, 1)
    other_app = await make_app(db, uid="other")
    other = await make_endpoint(db, other_app.id)
    await seed(db, 1, endpoint=other)
    gone_job, kept_job = sorted(
        await queue.claim_due(NOW, 10, NOW + LEASE),
        key=lambda j: j.endpoint.id != endpoint.id,
    )
    await applications.delete_app(db, endpoint.app_id)

    await queue.record_results(
        [
            result(gone_job, DeliveryStatus.SUCCESS, NOW),
            result(kept_job, DeliveryStatus.SUCCESS, NOW),
        ],
        NOW,
    )

    stored = await all_deliveries(db)
    assert gone_job.delivery_id not in stored
    assert stored[kept_job.delivery_id].status == DeliveryStatus.SUCCESS


async def test_concurrent_claims_never_return_the_same_job(
    db: Database, db_factory: Callable[[], Database]
) -> None:
    """Two connection pools (as two worker processes would have) claim at once."""
    _, jobs = await seed(db, 60)
    other = db_factory()
    queues = [SqlDeliveryQueue(db), SqlDeliveryQueue(other)]

    claimed: list[str] = []
    for round_ in range(4):
        batches = await asyncio.gather(
            *(queues[i % 2].claim_due(NOW + round_, 10, NOW + LEASE) for i in range(4))
        )
        for batch in batches:
            assert len(batch) <= 10
            claimed.extend(j.delivery_id for j in batch)

    assert len(claimed) == len(set(claimed)) == 60
    assert set(claimed) == {j.delivery_id for j in jobs}


async def test_claimed_state_is_visible_through_endpoint_stats(db: Database) -> None:
    queue = SqlDeliveryQueue(db)
    endpoint, _ = await seed(db, 4)
    sending, *_ = await queue.claim_due(NOW, 1, NOW + LEASE)

    stats = await endpoint_store.stats(db, endpoint.app_id, endpoint.id, None, None, NOW)

    assert stats == {"success": 0, "pending": 3, "sending": 1, "fail": 0, "canceled": 0}
    await queue.release([sending.delivery_id])
    stats = await endpoint_store.stats(db, endpoint.app_id, endpoint.id, None, None, NOW)
    assert stats["pending"] == 4

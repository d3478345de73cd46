"""Claiming: per-endpoint caps and a fair share for every endpoint, on the
in-memory fake, SQLite and PostgreSQL; across workers with their own
connection pools on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

from hookgate.store.database import Database
from hookgate.store.queue import SqlDeliveryQueue
from hookgate.store.records import DeliveryStatus
from tests.integration.conftest import NOW
from tests.integration.queue_backends import QueueStore
from tests.integration.test_store_queue import LEASE, result, seed


async def test_a_backlog_on_one_endpoint_does_not_starve_another(
    queue_store: QueueStore,
) -> None:
    busy, _ = await queue_store.seed(200, now_ms=NOW - 10_000)  # older: first in line by age
    quiet = await queue_store.new_endpoint("https://quiet.example.com/in")
    await queue_store.seed(3, endpoint=quiet, now_ms=NOW)

    jobs = await queue_store.queue().claim_due(NOW + 1, 20, NOW + LEASE)

    by_endpoint = Counter(job.endpoint.id for job in jobs)
    assert len(jobs) == 20
    assert by_endpoint[quiet.id] == 3
    assert by_endpoint[busy.id] == 17


async def test_endpoints_take_turns_within_one_claim(queue_store: QueueStore) -> None:
    """The first of every endpoint, then the second of every endpoint..."""
    endpoints = [await queue_store.new_endpoint() for _ in range(3)]
    for endpoint in endpoints:
        await queue_store.seed(5, endpoint=endpoint)

    jobs = await queue_store.queue().claim_due(NOW + 1, 7, NOW + LEASE)

    rounds = [{job.endpoint.id for job in jobs[i : i + 3]} for i in (0, 3)]
    assert rounds == [{ep.id for ep in endpoints}] * 2
    assert Counter(job.endpoint.id for job in jobs).most_common(1)[0][1] == 3


async def test_no_endpoint_gets_more_leased_deliveries_than_its_cap(
    queue_store: QueueStore,
) -> None:
    endpoint, _ = await queue_store.seed(50)
    queue = queue_store.queue(endpoint_cap=10)

    first = await queue.claim_due(NOW + 1, 100, NOW + LEASE)
    second = await queue.claim_due(NOW + 2, 100, NOW + LEASE)
    assert len(first) == 10
    assert second == []

    # Three results written: three slots free up.
    await queue.record_results(
        [result(job, DeliveryStatus.SUCCESS, NOW + 3) for job in first[:3]], NOW + 3
    )
    third = await queue.claim_due(NOW + 4, 100, NOW + LEASE)
    assert len(third) == 3
    assert {job.endpoint.id for job in third} == {endpoint.id}


async def test_the_cap_of_one_endpoint_leaves_room_for_the_others(
    queue_store: QueueStore,
) -> None:
    capped, _ = await queue_store.seed(20)
    other = await queue_store.new_endpoint("https://other.example.com/in")
    await queue_store.seed(20, endpoint=other)
    queue = queue_store.queue(endpoint_cap=4)

    jobs = await queue.claim_due(NOW + 1, 100, NOW + LEASE)

    assert Counter(job.endpoint.id for job in jobs) == {capped.id: 4, other.id: 4}


async def test_expired_leases_free_their_slots(queue_store: QueueStore) -> None:
    await queue_store.seed(20)
    queue = queue_store.queue(endpoint_cap=5)
    assert len(await queue.claim_due(NOW + 1, 100, NOW + 1_000)) == 5
    # The worker holding them died: after the lease, another takes five.
    assert len(await queue.claim_due(NOW + 2_000, 100, NOW + 2_000 + LEASE)) == 5


async def test_retries_not_yet_due_are_not_claimed(queue_store: QueueStore) -> None:
    await queue_store.seed(5, now_ms=NOW + 60_000)
    assert await queue_store.queue().claim_due(NOW, 100, NOW + LEASE) == []


async def test_a_late_result_does_not_undo_a_finished_delivery(queue_store: QueueStore) -> None:
    """A worker that stalled past its lease reports a failure after another
    worker delivered: the attempt is logged, the delivery stays a success."""
    await queue_store.seed(1)
    queue = queue_store.queue()
    (stalled,) = await queue.claim_due(NOW + 1, 1, NOW + 10)
    (retaken,) = await queue.claim_due(NOW + 20, 1, NOW + 20 + LEASE)
    await queue.record_results([result(retaken, DeliveryStatus.SUCCESS, NOW + 30)], NOW + 30)

    await queue.record_results(
        [result(stalled, DeliveryStatus.PENDING, NOW + 5_000, code=500)], NOW + 40
    )

    (delivery,) = (await queue_store.deliveries()).values()
    assert (delivery.status, delivery.attempt_count) == (DeliveryStatus.SUCCESS, 1)
    assert len(await queue_store.attempts()) == 2
    assert await queue.claim_due(NOW + 5_000, 1, NOW + 5_000 + LEASE) == []


async def test_concurrent_workers_share_the_cap(db_factory: Callable[[], Database]) -> None:
    """Workers claiming at the same moment never lease more than the cap in
    total for one endpoint, and never the same delivery twice."""
    first_db = db_factory()
    await first_db.create_schema()
    await seed(first_db, 100)
    workers = [SqlDeliveryQueue(first_db, endpoint_cap=12)] + [
        SqlDeliveryQueue(db_factory(), endpoint_cap=12) for _ in range(3)
    ]

    claims = await asyncio.gather(
        *(worker.claim_due(NOW + 1, 10, NOW + LEASE) for worker in workers)
    )

    claimed = [job.delivery_id for jobs in claims for job in jobs]
    assert len(claimed) == len(set(claimed))
    assert len(claimed) == 12

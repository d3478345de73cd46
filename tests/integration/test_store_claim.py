"""Claiming across workers: per-endpoint caps and a fair share for every endpoint."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

from sqlalchemy import func, select

from hookgate.store.database import Database
from hookgate.store.queue import SqlDeliveryQueue
from hookgate.store.records import DeliveryStatus
from hookgate.store.tables import attempts
from tests.integration.conftest import NOW, all_deliveries, make_app, make_endpoint
from tests.integration.test_store_queue import LEASE, result, seed


async def test_a_backlog_on_one_endpoint_does_not_starve_another(db: Database) -> None:
    busy, _ = await seed(db, 200, now_ms=NOW - 10_000)  # older: first in line by age
    quiet_app = await make_app(db, uid="quiet")
    quiet = await make_endpoint(db, quiet_app.id, url="https://quiet.example.com/in")
    await seed(db, 3, endpoint=quiet, now_ms=NOW)

    jobs = await SqlDeliveryQueue(db).claim_due(NOW + 1, 20, NOW + LEASE)

    by_endpoint = Counter(job.endpoint.id for job in jobs)
    assert len(jobs) == 20
    assert by_endpoint[quiet.id] == 3
    assert by_endpoint[busy.id] == 17


async def test_no_endpoint_gets_more_leased_deliveries_than_its_cap(db: Database) -> None:
    endpoint, _ = await seed(db, 50)
    queue = SqlDeliveryQueue(db, endpoint_cap=10)

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


async def test_expired_leases_free_their_slots(db: Database) -> None:
    await seed(db, 20)
    queue = SqlDeliveryQueue(db, endpoint_cap=5)
    assert len(await queue.claim_due(NOW + 1, 100, NOW + 1_000)) == 5
    # The worker holding them died: after the lease, another takes five.
    assert len(await queue.claim_due(NOW + 2_000, 100, NOW + 2_000 + LEASE)) == 5


async def test_retries_not_yet_due_are_not_claimed(db: Database) -> None:
    await seed(db, 5, now_ms=NOW + 60_000)
    assert await SqlDeliveryQueue(db).claim_due(NOW, 100, NOW + LEASE) == []


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


async def test_a_late_result_does_not_undo_a_finished_delivery(db: Database) -> None:
    """A worker that stalled past its lease reports a failure after another
    worker delivered: the attempt is logged, the delivery stays a success."""
    await seed(db, 1)
    queue = SqlDeliveryQueue(db)
    (stalled,) = await queue.claim_due(NOW + 1, 1, NOW + 10)
    (retaken,) = await queue.claim_due(NOW + 20, 1, NOW + 20 + LEASE)
    await queue.record_results([result(retaken, DeliveryStatus.SUCCESS, NOW + 30)], NOW + 30)

    await queue.record_results(
        [result(stalled, DeliveryStatus.PENDING, NOW + 5_000, code=500)], NOW + 40
    )

    (delivery,) = (await all_deliveries(db)).values()
    assert delivery.status == DeliveryStatus.SUCCESS
    async with db.read() as conn:
        logged = (await conn.execute(select(func.count()).select_from(attempts))).scalar_one()
    assert logged == 2

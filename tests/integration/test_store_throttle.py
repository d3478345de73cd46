"""throttleRate and pauses: claims pace deliveries to a throttled endpoint
through a send budget shared in the store, and skip a paused endpoint. The
behaviour suite runs on the in-memory fake, SQLite and PostgreSQL, with an
injected clock (``now_ms`` passed to every call), never wall time."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from sqlalchemy import select

from hookgate.store import applications
from hookgate.store.contract import DeliveryQueue
from hookgate.store.database import Database
from hookgate.store.queue import SqlDeliveryQueue
from hookgate.store.records import DeliveryStatus, Job
from hookgate.store.tables import endpoint_throttles
from tests.integration.conftest import NOW, make_endpoint
from tests.integration.queue_backends import QueueStore
from tests.integration.test_store_queue import LEASE, result, seed

STEP_MS = 100


async def drain(
    queues: Sequence[DeliveryQueue], start_ms: int, duration_ms: int
) -> tuple[list[tuple[int, Job]], list[int]]:
    """Claim every ``STEP_MS`` from ``start_ms`` for ``duration_ms``, the
    queues taking turns, each claim's jobs succeeding at once; returns
    (claim time, job) for every job claimed, and how many each queue claimed."""
    claimed: list[tuple[int, Job]] = []
    per_queue = [0] * len(queues)
    for step, now in enumerate(range(start_ms, start_ms + duration_ms, STEP_MS)):
        queue = queues[step % len(queues)]
        jobs = await queue.claim_due(now, 500, now + LEASE)
        claimed += [(now, job) for job in jobs]
        per_queue[step % len(queues)] += len(jobs)
        if jobs:
            await queue.record_results(
                [result(job, DeliveryStatus.SUCCESS, now) for job in jobs], now
            )
    return claimed, per_queue


def most_in_any_second(slots: Sequence[int]) -> int:
    ordered = sorted(slots)
    return max(
        (sum(1 for s in ordered[i:] if s < start + 1000) for i, start in enumerate(ordered)),
        default=0,
    )


async def test_claims_never_exceed_the_rate_over_any_second(queue_store: QueueStore) -> None:
    endpoint = await queue_store.new_endpoint(throttle_rate=5)
    await queue_store.seed(60, endpoint=endpoint)

    claimed, _ = await drain([queue_store.queue()], NOW + 1, 10_000)

    slots = [job.not_before for _, job in claimed]
    assert most_in_any_second(slots) == 5
    # Never before the claim, never later than the horizon ahead.
    assert all(now <= job.not_before < now + 2_000 for now, job in claimed)
    # The budget is used, not just respected: 10 s at 5/s, plus the slots
    # reserved ahead at the end.
    assert 50 <= len(claimed) <= 60


async def test_an_application_rate_applies_to_each_endpoint_without_its_own(
    queue_store: QueueStore,
) -> None:
    inherits = await queue_store.new_endpoint(app_throttle_rate=2)
    own = await queue_store.new_endpoint(throttle_rate=4, same_app_as=inherits)
    sibling = await queue_store.new_endpoint(same_app_as=inherits)
    free = await queue_store.new_endpoint()
    for endpoint in (inherits, own, sibling, free):
        await queue_store.seed(30, endpoint=endpoint)

    jobs = await queue_store.queue().claim_due(NOW + 1, 500, NOW + LEASE)

    def count(endpoint_id: str) -> int:
        return sum(1 for j in jobs if j.endpoint.id == endpoint_id)

    # The claim reserves 2 s ahead: 2/s for each of the application's
    # endpoints, 4/s for the one with its own rate; the unthrottled one gets all.
    assert [count(ep.id) for ep in (inherits, own, sibling, free)] == [4, 8, 4, 30]
    assert all(j.not_before == 0 for j in jobs if j.endpoint.id == free.id)


async def test_a_paused_endpoint_gets_nothing_until_the_pause_ends(
    queue_store: QueueStore,
) -> None:
    paused = await queue_store.new_endpoint()
    other = await queue_store.new_endpoint()
    await queue_store.seed(10, endpoint=paused)
    await queue_store.seed(10, endpoint=other)
    queue = queue_store.queue()
    [job] = [j for j in await queue.claim_due(NOW + 1, 2, NOW + LEASE) if j.endpoint == paused]

    failed = result(job, DeliveryStatus.PENDING, NOW + 60_000, code=500)
    await queue.record_results(
        [dataclasses.replace(failed, pause_endpoint_until=NOW + 30_000)], NOW + 2
    )

    during = await queue.claim_due(NOW + 3, 100, NOW + 3 + LEASE)
    assert {j.endpoint.id for j in during} == {other.id}
    after = await queue.claim_due(NOW + 30_000, 100, NOW + 30_000 + LEASE)
    assert sum(1 for j in after if j.endpoint.id == paused.id) == 9


async def test_a_shorter_pause_never_cuts_a_longer_one(queue_store: QueueStore) -> None:
    await queue_store.seed(3)
    queue = queue_store.queue()
    claimed = await queue.claim_due(NOW + 1, 2, NOW + LEASE)  # the third stays due
    long, short = (
        dataclasses.replace(
            result(job, DeliveryStatus.PENDING, NOW + 90_000, code=503), pause_endpoint_until=until
        )
        for job, until in zip(claimed, (NOW + 50_000, NOW + 10_000), strict=True)
    )
    await queue.record_results([long], NOW + 2)
    await queue.record_results([short], NOW + 3)

    assert await queue.claim_due(NOW + 20_000, 10, NOW + 20_000 + LEASE) == []
    assert len(await queue.claim_due(NOW + 50_000, 10, NOW + 50_000 + LEASE)) == 1


# -- across worker processes (two connection pools on one database) --------------------


async def throttled_endpoint(db: Database, *, own_rate: int | None, uid: str) -> str:
    app, _ = await applications.create(db, {"name": uid, "uid": uid}, NOW)
    endpoint = await make_endpoint(
        db, app.id, url=f"https://{uid}.example.com/hook", throttle_rate=own_rate
    )
    await seed(db, 60, endpoint=endpoint)
    return endpoint.id


async def test_two_workers_share_one_budget(db_factory: Callable[[], Database]) -> None:
    first = db_factory()
    await first.create_schema()
    await throttled_endpoint(first, own_rate=4, uid="slow")
    workers = [SqlDeliveryQueue(first), SqlDeliveryQueue(db_factory())]

    claimed, per_worker = await drain(workers, NOW + 1, 5_000)

    assert all(n > 0 for n in per_worker), per_worker
    assert most_in_any_second([job.not_before for _, job in claimed]) == 4
    assert 20 <= len(claimed) <= 28


async def test_unthrottled_endpoints_keep_no_budget_row(db: Database) -> None:
    await throttled_endpoint(db, own_rate=None, uid="free")
    throttled = await throttled_endpoint(db, own_rate=1, uid="slow")

    await drain([SqlDeliveryQueue(db)], NOW + 1, 1_000)

    async with db.read() as conn:
        stored = (await conn.execute(select(endpoint_throttles.c.endpoint_id))).scalars().all()
    assert stored == [throttled]

"""Endpoints whose attempts keep failing are disabled by the result writer
(``SqlDeliveryQueue.record_results``), on SQLite and PostgreSQL."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select, update

from hookgate.core import ids
from hookgate.core.clock import DAY_MS
from hookgate.store import endpoints as endpoint_store
from hookgate.store.accept_messages import AcceptItem, accept_batch
from hookgate.store.database import Database
from hookgate.store.queue import SqlDeliveryQueue
from hookgate.store.records import AttemptRow, DeliveryResult, DeliveryStatus, Endpoint, Job
from hookgate.store.tables import endpoints
from tests.integration.conftest import NOW, all_deliveries, execute, make_app, make_endpoint

LEASE = 60_000
PERIOD = 5 * DAY_MS


async def seed(db: Database, endpoint: Endpoint, count: int, now_ms: int) -> None:
    items = [AcceptItem(endpoint.app_id, "invoice.paid", b"{}") for _ in range(count)]
    await accept_batch(db, items, now_ms, 0)


async def claim(queue: SqlDeliveryQueue, now_ms: int, limit: int = 10) -> list[Job]:
    return await queue.claim_due(now_ms, limit, now_ms + LEASE)


def attempt_result(job: Job, at: int, *, succeeded: bool, retry: bool = False) -> DeliveryResult:
    """The result of one attempt started at ``at``: a success, or a 500 that
    ends the delivery failed (or, with ``retry``, leaves it pending)."""
    job.attempt_count += 1
    attempt = AttemptRow(
        id=ids.new_id(ids.ATTEMPT),
        url=job.endpoint.url,
        status=DeliveryStatus.SUCCESS if succeeded else DeliveryStatus.FAIL,
        response_status_code=200 if succeeded else 500,
        response=b"",
        response_duration_ms=3,
        error_kind=None if succeeded else "http_status",
        error_message=None if succeeded else "HTTP 500",
        created_at=at,
    )
    if succeeded:
        status = DeliveryStatus.SUCCESS
    else:
        status = DeliveryStatus.PENDING if retry else DeliveryStatus.FAIL
    return DeliveryResult(job, status, at + 1000, attempt)


async def failing_since(db: Database, endpoint_id: str) -> int | None:
    async with db.read() as conn:
        query = select(endpoints.c.failing_since).where(endpoints.c.id == endpoint_id)
        value: int | None = (await conn.execute(query)).scalar_one()
        return value


async def setup(db: Database) -> tuple[SqlDeliveryQueue, Endpoint]:
    app = await make_app(db)
    endpoint = await make_endpoint(db, app.id)
    return SqlDeliveryQueue(db, disable_after_ms=PERIOD), endpoint


async def record_one(
    db: Database, queue: SqlDeliveryQueue, endpoint: Endpoint, at: int, *, succeeded: bool
) -> None:
    """Send one new message to ``endpoint`` at ``at`` and record its attempt."""
    await seed(db, endpoint, 1, at)
    [job] = [j for j in await claim(queue, at) if j.endpoint.id == endpoint.id]
    await queue.record_results([attempt_result(job, at, succeeded=succeeded)], at)


async def test_failing_since_starts_at_the_first_failure_and_ends_with_a_success(
    db: Database,
) -> None:
    queue, endpoint = await setup(db)
    assert await failing_since(db, endpoint.id) is None

    await record_one(db, queue, endpoint, NOW, succeeded=False)
    assert await failing_since(db, endpoint.id) == NOW
    await record_one(db, queue, endpoint, NOW + DAY_MS, succeeded=False)
    assert await failing_since(db, endpoint.id) == NOW

    await record_one(db, queue, endpoint, NOW + 2 * DAY_MS, succeeded=True)
    assert await failing_since(db, endpoint.id) is None
    await record_one(db, queue, endpoint, NOW + 3 * DAY_MS, succeeded=False)
    assert await failing_since(db, endpoint.id) == NOW + 3 * DAY_MS
    assert not (await endpoint_store.get(db, endpoint.app_id, endpoint.id)).disabled


async def test_an_endpoint_failing_for_the_period_is_disabled_like_a_410(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    queue, endpoint = await setup(db)
    await record_one(db, queue, endpoint, NOW, succeeded=False)
    await record_one(db, queue, endpoint, NOW + PERIOD - 1, succeeded=False)
    assert not (await endpoint_store.get(db, endpoint.app_id, endpoint.id)).disabled

    later = NOW + PERIOD
    await seed(db, endpoint, 3, later)
    trigger, *queued = await claim(queue, later)
    await queue.release([job.delivery_id for job in queued])
    with caplog.at_level(logging.WARNING, logger="hookgate.store.queue"):
        await queue.record_results(
            [attempt_result(trigger, later, succeeded=False, retry=True)], later
        )

    disabled = await endpoint_store.get(db, endpoint.app_id, endpoint.id)
    assert disabled.disabled
    assert disabled.updated_at == later
    assert f"endpoint {endpoint.id} disabled: failing for 5 days" in caplog.text
    # As after a 410: what is still pending for it fails when next claimed,
    # and new messages are no longer routed to it.
    assert await claim(queue, later + 2000) == []
    stored = await all_deliveries(db)
    assert {stored[j.delivery_id].status for j in [trigger, *queued]} == {DeliveryStatus.FAIL}
    await seed(db, endpoint, 1, later + 3000)
    assert len(await all_deliveries(db)) == len(stored)


async def test_a_success_in_the_same_batch_prevents_disabling(db: Database) -> None:
    queue, endpoint = await setup(db)
    await record_one(db, queue, endpoint, NOW, succeeded=False)
    later = NOW + PERIOD + 10
    await seed(db, endpoint, 2, later)
    failed, succeeded = await claim(queue, later)

    await queue.record_results(
        [
            attempt_result(failed, later - 5, succeeded=False),
            attempt_result(succeeded, later - 1, succeeded=True),
        ],
        later,
    )

    assert not (await endpoint_store.get(db, endpoint.app_id, endpoint.id)).disabled
    assert await failing_since(db, endpoint.id) is None


async def test_period_zero_never_disables(db: Database) -> None:
    app = await make_app(db)
    endpoint = await make_endpoint(db, app.id)
    queue = SqlDeliveryQueue(db, disable_after_ms=0)
    await record_one(db, queue, endpoint, NOW, succeeded=False)
    await record_one(db, queue, endpoint, NOW + 30 * DAY_MS, succeeded=False)

    assert not (await endpoint_store.get(db, endpoint.app_id, endpoint.id)).disabled
    assert await failing_since(db, endpoint.id) == NOW


async def test_an_old_streak_is_forgiven_instead_of_disabling(db: Database) -> None:
    queue, endpoint = await setup(db)
    await record_one(db, queue, endpoint, NOW, succeeded=False)
    much_later = NOW + 2 * PERIOD + 1
    await record_one(db, queue, endpoint, much_later, succeeded=False)

    assert not (await endpoint_store.get(db, endpoint.app_id, endpoint.id)).disabled
    assert await failing_since(db, endpoint.id) == much_later


async def test_only_the_failing_endpoint_is_disabled(db: Database) -> None:
    queue, failing = await setup(db)
    await record_one(db, queue, failing, NOW, succeeded=False)
    healthy = await make_endpoint(db, failing.app_id, url="https://ok.example.com/in")
    later = NOW + PERIOD
    await seed(db, failing, 1, later)  # routed to both endpoints
    jobs = await claim(queue, later)
    await queue.record_results(
        [attempt_result(j, later, succeeded=j.endpoint.id == healthy.id) for j in jobs], later
    )

    assert (await endpoint_store.get(db, failing.app_id, failing.id)).disabled
    assert not (await endpoint_store.get(db, healthy.app_id, healthy.id)).disabled


async def test_a_success_recorded_elsewhere_meanwhile_prevents_disabling(db: Database) -> None:
    """The disabling re-checks ``failing_since`` in the database: a success
    another process recorded after this batch read it wins."""
    queue, endpoint = await setup(db)
    await record_one(db, queue, endpoint, NOW, succeeded=False)
    later = NOW + PERIOD
    await seed(db, endpoint, 1, later)
    [job] = await claim(queue, later)
    failing = {endpoint.id}

    async with db.write() as conn:
        await conn.execute(
            update(endpoints).where(endpoints.c.id == endpoint.id).values(failing_since=None)
        )
        await conn.run_sync(lambda sync: queue._disable(sync, set(), failing, later))

    assert not (await endpoint_store.get(db, endpoint.app_id, endpoint.id)).disabled
    await queue.record_results([attempt_result(job, later, succeeded=False)], later)
    assert not (await endpoint_store.get(db, endpoint.app_id, endpoint.id)).disabled


async def test_enabling_the_endpoint_again_gives_it_a_full_period(db: Database) -> None:
    queue, endpoint = await setup(db)
    await record_one(db, queue, endpoint, NOW, succeeded=False)
    await record_one(db, queue, endpoint, NOW + PERIOD, succeeded=False)
    assert (await endpoint_store.get(db, endpoint.app_id, endpoint.id)).disabled

    later = NOW + PERIOD + DAY_MS
    await endpoint_store.update_fields(db, endpoint.app_id, endpoint.id, {"disabled": False}, later)
    assert await failing_since(db, endpoint.id) is None
    await record_one(db, queue, endpoint, later + 1, succeeded=False)

    assert not (await endpoint_store.get(db, endpoint.app_id, endpoint.id)).disabled
    assert await failing_since(db, endpoint.id) == later + 1


async def test_other_edits_keep_the_failure_streak(db: Database) -> None:
    queue, endpoint = await setup(db)
    await record_one(db, queue, endpoint, NOW, succeeded=False)

    fields = {"description": "renamed", "disabled": False}
    await endpoint_store.update_fields(db, endpoint.app_id, endpoint.id, fields, NOW + 1)

    assert await failing_since(db, endpoint.id) == NOW


async def test_results_without_an_attempt_leave_the_streak_alone(db: Database) -> None:
    queue, endpoint = await setup(db)
    await record_one(db, queue, endpoint, NOW, succeeded=False)
    later = NOW + PERIOD
    await seed(db, endpoint, 1, later)
    [job] = await claim(queue, later)

    # Postponed (a paused lane) or crashed: no attempt was made.
    await queue.record_results([DeliveryResult(job, DeliveryStatus.PENDING, later + 10)], later)

    assert not (await endpoint_store.get(db, endpoint.app_id, endpoint.id)).disabled
    assert await failing_since(db, endpoint.id) == NOW


async def test_an_endpoint_disabled_already_is_left_as_it_is(db: Database) -> None:
    queue, endpoint = await setup(db)
    await record_one(db, queue, endpoint, NOW, succeeded=False)
    later = NOW + PERIOD
    await seed(db, endpoint, 1, later)
    [job] = await claim(queue, later)
    await execute(
        db,
        update(endpoints)
        .where(endpoints.c.id == endpoint.id)
        .values(disabled=True, updated_at=NOW + 7),
    )

    # The result of a job that was in flight when it was disabled.
    await queue.record_results([attempt_result(job, later, succeeded=False)], later)

    assert (await endpoint_store.get(db, endpoint.app_id, endpoint.id)).updated_at == NOW + 7

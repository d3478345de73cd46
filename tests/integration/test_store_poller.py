"""Polling endpoints (``store.poller``) on SQLite and PostgreSQL: messages in
id order, the endpoint's and the read's filters, iterators that neither skip
nor repeat (also while other connections insert concurrently), consumer
positions kept by the server, and no deliveries for a polling endpoint."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from hookgate.core import ids
from hookgate.store import poller
from hookgate.store.accept_messages import AcceptItem, accept_batch, accept_in_transaction
from hookgate.store.database import Database
from hookgate.store.errors import NotFound
from hookgate.store.fanout import FanoutReads
from hookgate.store.poller import BadIterator, MessageFilter, PollPage
from tests.integration.conftest import (
    NOW,
    _fresh_store,
    all_deliveries,
    make_app,
    make_endpoint,
)

#: Far enough ahead that every message has settled.
LATER = 10**13


def real_now() -> int:
    return time.time_ns() // 1_000_000


async def send(db: Database, app_id: str, event_type: str = "invoice.paid", **fields: Any) -> str:
    fields.setdefault("payload", b'{"n": 1}')
    [outcome] = await accept_batch(
        db, [AcceptItem(app_ref=app_id, event_type=event_type, **fields)], NOW, 0
    )
    return outcome.message.id


async def read(
    db: Database,
    app_id: str,
    sink: str,
    iterator: str | None = None,
    *,
    limit: int | None = None,
    now_ms: int = LATER,
    **filters: Any,
) -> PollPage:
    return await poller.poll(
        db,
        app_id,
        sink,
        iterator=iterator,
        limit=limit,
        after_ms=None,
        filters=MessageFilter(**filters),
        now_ms=now_ms,
    )


def ids_of(page: PollPage) -> list[str]:
    return [m.id for m in page.messages]


async def test_reads_in_order_page_by_page_and_makes_no_deliveries(db: Database) -> None:
    app = await make_app(db)
    sink = await make_endpoint(db, app.id, url="svix-poller://orders")
    pushed = await make_endpoint(db, app.id)
    sent = [await send(db, app.id, payload=b'{"n": %d}' % i) for i in range(5)]

    first = await read(db, app.id, sink.id, limit=2)
    second = await read(db, app.id, sink.id, first.iterator, limit=2)
    third = await read(db, app.id, sink.id, second.iterator, limit=2)
    assert ids_of(first) + ids_of(second) + ids_of(third) == sent
    assert (first.done, third.done) == (False, True)
    assert first.messages[0].payload == b'{"n": 0}'
    # Caught up: the same iterator again gives nothing new, until more is sent.
    assert ids_of(await read(db, app.id, sink.id, third.iterator)) == []
    later = await send(db, app.id)
    assert ids_of(await read(db, app.id, sink.id, third.iterator)) == [later]

    assert {d.endpoint_id for d in (await all_deliveries(db)).values()} == {pushed.id}


async def test_endpoint_filters_and_read_filters_apply(db: Database) -> None:
    app = await make_app(db)
    sink = await make_endpoint(
        db, app.id, url="svix-poller://eu-paid", event_types=["invoice.paid"], channels=["eu"]
    )
    await make_endpoint(db, app.id, url="svix-poller://other")
    eu_paid = await send(db, app.id, channels=["eu", "us"])
    await send(db, app.id, channels=["us"])
    await send(db, app.id, "user.created", channels=["eu"])
    eu_paid_vip = await send(db, app.id, channels=["eu", "vip"])

    assert ids_of(await read(db, app.id, sink.uid or sink.id)) == [eu_paid, eu_paid_vip]
    assert ids_of(await read(db, app.id, sink.id, channel="vip")) == [eu_paid_vip]
    assert ids_of(await read(db, app.id, sink.id, event_type="user.created")) == []


async def test_only_a_polling_endpoint_of_that_application_is_read(db: Database) -> None:
    app = await make_app(db)
    other = await make_app(db, uid="other")
    pushed = await make_endpoint(db, app.id)
    sink = await make_endpoint(db, other.id, url="svix-poller://x")
    with pytest.raises(NotFound):
        await read(db, app.id, pushed.id)
    with pytest.raises(NotFound):
        await read(db, app.id, sink.id)
    with pytest.raises(BadIterator):
        await read(db, other.id, sink.id, "not-an-iterator")


async def test_fresh_messages_wait_for_the_settle_time_on_postgresql_only(db: Database) -> None:
    """SQLite reads as the one writer, so everything committed before the
    current millisecond is final; PostgreSQL waits ``SETTLE_MS``."""
    app = await make_app(db)
    sink = await make_endpoint(db, app.id, url="svix-poller://x")
    msg = await send(db, app.id)
    now = (ids.created_ms(msg) or 0) + 1
    early = await read(db, app.id, sink.id, now_ms=now)
    if db.dialect.name == "sqlite":
        assert ids_of(early) == [msg]
        return
    assert ids_of(early) == []
    settled = await read(db, app.id, sink.id, early.iterator, now_ms=now + poller.SETTLE_MS)
    assert ids_of(settled) == [msg]


async def test_no_gap_and_no_duplicate_while_others_insert(
    db: Database, db_factory: Callable[[], Database]
) -> None:
    """Writers on their own connection pools insert while a reader polls
    with the real clock; every message is read exactly once, in order."""
    app = await make_app(db)
    sink = await make_endpoint(db, app.id, url="svix-poller://all")
    writers = [db_factory() for _ in range(3)]
    sent: list[str] = []
    seen: list[str] = []
    iterator: str | None = None

    async def write(w: Database) -> None:
        for _ in range(15):
            [outcome] = await accept_batch(
                w, [AcceptItem(app_ref=app.id, event_type="e", payload=b"{}")], NOW, 0
            )
            sent.append(outcome.message.id)

    tasks = [asyncio.create_task(write(w)) for w in writers]
    try:
        while not all(t.done() for t in tasks):
            page = await read(db, app.id, sink.id, iterator, limit=7, now_ms=real_now())
            seen.extend(ids_of(page))
            iterator = page.iterator
            await asyncio.sleep(0)
        await asyncio.gather(*tasks)
        while True:
            page = await read(db, app.id, sink.id, iterator, limit=7)
            seen.extend(ids_of(page))
            iterator = page.iterator
            if page.done:
                break
    finally:
        for w in writers:
            await w.dispose()
    assert len(sent) == 45
    assert seen == sorted(sent)


async def test_consumer_position_is_kept_and_seekable(
    db: Database, db_factory: Callable[[], Database]
) -> None:
    app = await make_app(db)
    sink = await make_endpoint(db, app.id, url="svix-poller://x")
    sent = [await send(db, app.id) for _ in range(5)]

    async def consume(d: Database, consumer: str, limit: int = 2) -> list[str]:
        page = await poller.consumer_poll(
            d, app.id, sink.id, consumer, iterator=None, limit=limit, now_ms=LATER
        )
        return ids_of(page)

    assert await consume(db, "a") == sent[:2]
    assert await consume(db, "b", 5) == sent
    # Another pool (as after a restart) reads on where "a" stopped.
    other = db_factory()
    try:
        assert await consume(other, "a") == sent[2:4]
    finally:
        await other.dispose()
    assert await consume(db, "a") == sent[4:]
    assert await consume(db, "a") == []

    iterator = await poller.consumer_seek(
        db, app.id, sink.id, "a", after_ms=NOW - 1000, now_ms=LATER
    )
    assert poller.decode_iterator(iterator)
    assert await consume(db, "a", 10) == sent


async def test_concurrent_reads_of_one_consumer_never_share_a_message(
    db: Database, db_factory: Callable[[], Database]
) -> None:
    app = await make_app(db)
    sink = await make_endpoint(db, app.id, url="svix-poller://x")
    sent = [await send(db, app.id) for _ in range(12)]
    readers = [db_factory() for _ in range(3)]

    async def drain(d: Database) -> list[str]:
        got: list[str] = []
        while True:
            page = await poller.consumer_poll(
                d, app.id, sink.id, "shared", iterator=None, limit=1, now_ms=LATER
            )
            if not page.messages:
                return got
            got.extend(ids_of(page))

    try:
        results = await asyncio.gather(*(drain(r) for r in readers))
    finally:
        for r in readers:
            await r.dispose()
    everything = [m for got in results for m in got]
    assert sorted(everything) == sent
    assert len(set(everything)) == len(everything)


@pytest.fixture
async def pg_factory(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Callable[[], Database]]:
    """Opens ``Database`` objects on one fresh PostgreSQL store."""
    async with _fresh_store("postgresql", request, tmp_path) as factory:
        yield factory


async def test_a_stalled_writer_holds_readers_back_on_postgresql(
    pg_factory: Callable[[], Database],
) -> None:
    """A message whose transaction stays open longer than the settle time is
    not overtaken: reads stop before it and return it once it commits."""
    db, stalled = pg_factory(), pg_factory()
    await db.create_schema()
    release = asyncio.Event()
    inserted = asyncio.Event()
    late: list[str] = []
    task: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    task.set_result(None)
    try:
        app = await make_app(db)
        sink = await make_endpoint(db, app.id, url="svix-poller://x")
        before = await send(db, app.id)

        async def stall() -> None:
            async with stalled.write() as conn:
                [outcome] = await accept_in_transaction(
                    stalled,
                    conn,
                    FanoutReads(stalled),
                    [AcceptItem(app_ref=app.id, event_type="e", payload=b"{}")],
                    NOW,
                    0,
                )
                late.append(outcome.message.id)
                inserted.set()
                await release.wait()

        task = asyncio.create_task(stall())
        await asyncio.wait_for(inserted.wait(), 10)
        after = await send(db, app.id)
        # Long after every id was made, the open transaction still holds reads back.
        # Without the guard this read would hand out ``after`` and its
        # iterator would pass ``late`` for good.
        page = await read(db, app.id, sink.id)
        assert after not in ids_of(page)
        release.set()
        await task
        rest = await read(db, app.id, sink.id, page.iterator)
        assert ids_of(page) + ids_of(rest) == [before, late[0], after]
    finally:
        release.set()
        await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 10)
        await stalled.dispose()
        await db.dispose()


async def test_without_an_iterator_a_read_starts_at_after(db: Database) -> None:
    app = await make_app(db)
    sink = await make_endpoint(db, app.id, url="svix-poller://x")
    sent = [await send(db, app.id) for _ in range(6)]
    made = [ids.created_ms(m) or 0 for m in sent]
    after = made[3]
    page = await poller.poll(
        db,
        app.id,
        sink.id,
        iterator=None,
        limit=None,
        after_ms=after,
        filters=MessageFilter(),
        now_ms=LATER,
    )
    assert ids_of(page) == [m for m, ms in zip(sent, made, strict=True) if ms >= after]
    assert page.done

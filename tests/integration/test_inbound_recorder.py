"""Group-committed recording of received requests (``record_batch`` and the
``Recorder``), on SQLite and PostgreSQL: duplicates inside one batch and
across batches, and a request the database refuses failing alone."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from hookgate.inbound.recorder import Recorder
from hookgate.store import inbound_requests
from hookgate.store.database import Database
from hookgate.store.inbound_requests import DUPLICATE_PREFIX, InboundRequest
from hookgate.store.tables import inbound_requests as inbound_requests_table
from tests.integration.conftest import NOW
from tests.integration.test_store_sources import WINDOW_MS, make_source, request


async def stored_ids(db: Database, source_id: str) -> set[str]:
    page = await inbound_requests.list_requests(
        db, source_id, inbound_requests.ANY, iterator=None, limit=None
    )
    return {item.id for item in page.items}


async def test_repeats_inside_one_batch_are_duplicates_of_the_first(db: Database) -> None:
    source = await make_source(db)
    first = request(source, event_id="e1")
    repeat = request(source, NOW + 1, event_id="e1")
    unclaimed = request(source, NOW + 2, event_id="e1")  # window 0: not deduplicated
    refused = request(source, NOW + 3, event_id="e1", verified=False, rejection="bad signature")
    other = request(source, NOW + 4, event_id="e2")
    items = [(first, WINDOW_MS), (repeat, WINDOW_MS), (unclaimed, 0), (refused, 0)]
    out = await inbound_requests.record_batch(db, [*items, (other, WINDOW_MS)])

    assert [item.rejection for item in out] == [
        None,
        f"{DUPLICATE_PREFIX}{first.id}",
        None,
        "bad signature",
        None,
    ]
    assert await stored_ids(db, source.id) == {item.id for item in out}


async def test_a_batch_repeating_an_earlier_claim_names_the_earlier_request(
    db: Database,
) -> None:
    source = await make_source(db)
    earlier = await inbound_requests.record_request(
        db, request(source, event_id="e1"), dedupe_window_ms=WINDOW_MS
    )
    batch = [(request(source, NOW + i, event_id="e1"), WINDOW_MS) for i in (1, 2)]
    out = await inbound_requests.record_batch(db, batch)
    assert [item.rejection for item in out] == [f"{DUPLICATE_PREFIX}{earlier.id}"] * 2
    # Past the window, the first of a batch takes the claim over.
    late = [(request(source, NOW + WINDOW_MS + i, event_id="e1"), WINDOW_MS) for i in (0, 1)]
    taken = await inbound_requests.record_batch(db, late)
    assert [item.rejection for item in taken] == [None, f"{DUPLICATE_PREFIX}{taken[0].id}"]


async def test_concurrent_requests_share_a_commit_and_a_refused_one_fails_alone(
    db: Database,
) -> None:
    source = await make_source(db)
    recorder = Recorder(db)
    good = [request(source, NOW + i, event_id=f"e{i}") for i in range(5)]
    # The same id twice: the database refuses the second insert.
    clash = request(source, NOW + 9, event_id="e9", id=good[0].id)

    async def record(item: InboundRequest) -> InboundRequest:
        return await recorder.record(item, dedupe_window_ms=WINDOW_MS)

    results = await asyncio.gather(
        *(record(item) for item in [*good, clash]), return_exceptions=True
    )

    assert [r.id for r in results[:5] if isinstance(r, InboundRequest)] == [g.id for g in good]
    assert isinstance(results[5], Exception)
    assert await stored_ids(db, source.id) == {g.id for g in good}
    # Its event id was not left claimed by the failed batch.
    retried = await recorder.record(
        request(source, NOW + 10, event_id="e9"), dedupe_window_ms=WINDOW_MS
    )
    assert retried.rejection is None


@pytest.mark.parametrize("size", [1, 600])
async def test_batches_of_any_size_are_stored(db: Database, size: int) -> None:
    source = await make_source(db)
    recorder = Recorder(db)
    items = [request(source, NOW + i, event_id=f"e{i}") for i in range(size)]
    out = await asyncio.gather(
        *(recorder.record(item, dedupe_window_ms=WINDOW_MS) for item in items)
    )
    assert all(item.rejection is None for item in out)
    async with db.read() as conn:
        count = await conn.scalar(
            select(func.count()).where(inbound_requests_table.c.source_id == source.id)
        )
    assert count == size

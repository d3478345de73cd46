"""``store.inbound_summary`` on SQLite and PostgreSQL: recent requests
counted per source and status, and the duplicates of a request."""

from __future__ import annotations

from hookgate.core.clock import HOUR_MS, now_ms
from hookgate.store import inbound_summary
from hookgate.store.database import Database
from hookgate.store.inbound_requests import Received, record_batch
from tests.integration.test_store_sources import WINDOW_MS, make_source, request


async def test_counts_by_source_and_status_since_a_time(db: Database) -> None:
    github = await make_source(db)
    other = await make_source(db, uid="other")
    quiet = await make_source(db, uid="quiet")
    first = request(github)
    items = [
        Received(first, WINDOW_MS),
        Received(request(github), WINDOW_MS),  # the same event id: a duplicate
        Received(request(github, event_id="evt-2", rejection="bad signature"), WINDOW_MS),
        Received(request(other, event_id="evt-3"), WINDOW_MS),
    ]
    await record_batch(db, items)
    # Ids carry the time they were made: the window is on them, not on received_at.
    now = now_ms()
    ids = [github.id, other.id, quiet.id]

    counts = await inbound_summary.counts_since(db, ids, now - HOUR_MS)
    assert counts == {
        github.id: {"accepted": 1, "duplicate": 1, "rejected": 1},
        other.id: {"accepted": 1},
    }
    assert await inbound_summary.counts_since(db, ids, now + HOUR_MS) == {}
    assert await inbound_summary.counts_since(db, [], now - HOUR_MS) == {}


async def test_duplicates_of_a_request_newest_first(db: Database) -> None:
    source = await make_source(db)
    first = request(source)
    repeats = [request(source) for _ in range(3)]
    await record_batch(db, [Received(first, WINDOW_MS)])
    for repeat in repeats:
        await record_batch(db, [Received(repeat, WINDOW_MS)])

    found = await inbound_summary.duplicates_of(db, source.id, first.id)
    assert [ref.id for ref in found] == [r.id for r in reversed(repeats)]
    assert await inbound_summary.duplicates_of(db, source.id, repeats[0].id) == []
    limited = await inbound_summary.duplicates_of(db, source.id, first.id, limit=2)
    assert len(limited) == 2

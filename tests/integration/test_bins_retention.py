"""``inbound.bins.trim``: a bin keeps its newest requests and the young ones."""

from __future__ import annotations

from hookgate.core.clock import now_ms
from hookgate.inbound import bins
from hookgate.inbound.request import HttpRequest, stored
from hookgate.store import inbound_requests, sources
from hookgate.store.database import Database
from hookgate.store.inbound_search import list_requests


async def test_trim_keeps_the_newest_count_and_drops_the_old(db: Database) -> None:
    scheme, config = bins.parse({})
    fields = {"uid": None, "name": "Bin", "type": bins.BIN_TYPE, "scheme": scheme}
    source = await sources.create(db, {**fields, "config": config, "metadata": {}}, now_ms())
    start = 1_700_000_000.0
    for n in range(5):
        http = HttpRequest("POST", "/in/x", "", [], "http://h/in/x", None, f"r{n}".encode())
        record = stored(source, http, start + n, verified=False, rejection=None)
        await inbound_requests.record_batch(db, [inbound_requests.Received(record, 0)])

    async def bodies() -> list[bytes]:
        page = await list_requests(db, source.id, iterator=None, limit=50)
        return [item.body for item in reversed(page.items)]

    assert await bins.trim(db, source.id, bins.Retention(count=4), 0) == 1
    assert await bodies() == [b"r1", b"r2", b"r3", b"r4"]
    # More than 2 s old at start + 4 s: r1 (received at +1) goes; r2 (+2) stays.
    now = int((start + 4) * 1000)
    assert await bins.trim(db, source.id, bins.Retention(max_age_seconds=2), now) == 1
    assert await bodies() == [b"r2", b"r3", b"r4"]

"""Searching the requests a source received (``inbound_requests.list_requests``),
on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from hookgate.store import inbound_requests
from hookgate.store.database import Database
from hookgate.store.errors import NotFound
from hookgate.store.inbound_requests import InboundRequest, RequestFilter, RequestStatus
from tests.integration.conftest import NOW
from tests.integration.test_store_sources import WINDOW_MS, make_source, request

ACCEPTED, REJECTED, DUPLICATE = RequestStatus


async def ids(db: Database, f: RequestFilter, source: str = "gh") -> list[str]:
    page = await inbound_requests.list_requests(db, source, f, iterator=None, limit=None)
    return [item.id for item in page.items]


async def record(db: Database, item: InboundRequest) -> InboundRequest:
    return await inbound_requests.record_request(db, item, dedupe_window_ms=WINDOW_MS)


@pytest.fixture
async def stored(db: Database) -> list[InboundRequest]:
    """Five requests of source "gh", oldest first, and one of another source."""
    source, other = await make_source(db), await make_source(db, uid="other")
    made = [
        await record(db, request(source, NOW, event_id="a", event_type="push")),
        await record(
            db,
            request(
                source, NOW + 1, event_id=None, event_type=None, verified=False, rejection="bad"
            ),
        ),
        await record(db, request(source, NOW + 2, event_id="a", event_type="push")),
        await record(db, request(source, NOW + 3, event_id="b", event_type="issues")),
        # Not a duplicate: the prefix must match exactly (SQLite's LIKE ignores case).
        await record(
            db, request(source, NOW + 4, event_id="c", event_type="x", rejection="Duplicate of x")
        ),
    ]
    await record(db, request(other, NOW + 2, event_id="a", event_type="push"))
    assert made[2].rejection == f"duplicate of {made[0].id}"
    return made


async def test_each_filter(db: Database, stored: list[InboundRequest]) -> None:
    r0, r1, r2, r3, r4 = (item.id for item in stored)
    assert await ids(db, RequestFilter()) == [r4, r3, r2, r1, r0]
    assert await ids(db, RequestFilter(status=ACCEPTED)) == [r3, r0]
    assert await ids(db, RequestFilter(status=DUPLICATE)) == [r2]
    assert await ids(db, RequestFilter(status=REJECTED)) == [r4, r1]
    assert await ids(db, RequestFilter(verified=False)) == [r1]
    assert await ids(db, RequestFilter(after=NOW + 1)) == [r4, r3, r2]
    assert await ids(db, RequestFilter(before=NOW + 3)) == [r2, r1, r0]
    assert await ids(db, RequestFilter(event_id="a")) == [r2, r0]
    assert await ids(db, RequestFilter(event_id="A")) == []
    assert await ids(db, RequestFilter(event_type="issues")) == [r3]


async def test_filters_combine(db: Database, stored: list[InboundRequest]) -> None:
    r0, _, r2, r3, _ = (item.id for item in stored)
    assert await ids(db, RequestFilter(after=NOW, before=NOW + 4)) == [r3, r2, stored[1].id]
    assert await ids(db, RequestFilter(event_id="a", status=ACCEPTED)) == [r0]
    assert await ids(db, RequestFilter(event_type="push", after=NOW)) == [r2]
    assert await ids(db, RequestFilter(verified=True, status=REJECTED)) == [stored[4].id]
    assert await ids(db, RequestFilter(after=NOW + 4, before=NOW)) == []
    other = await ids(db, RequestFilter(event_id="a"), source="other")
    assert len(other) == 1
    assert other[0] not in {r0, r2}
    with pytest.raises(NotFound):
        await ids(db, RequestFilter(status=ACCEPTED), source="nope")


async def test_pages_of_a_filtered_search(db: Database) -> None:
    source = await make_source(db)
    accepted = []
    for n in range(7):
        accepted.append(await record(db, request(source, NOW + 2 * n, event_id=f"e{n}")))
        await record(db, request(source, NOW + 2 * n + 1, event_id=None, rejection="no"))
    newest_first = [item.id for item in reversed(accepted)]
    search = RequestFilter(status=ACCEPTED, after=NOW)  # leaves out the first one

    seen: list[str] = []
    iterator: str | None = None
    for _ in range(10):
        page = await inbound_requests.list_requests(
            db, source.id, search, iterator=iterator, limit=2
        )
        seen += [item.id for item in page.items]
        if page.done:
            break
        iterator = page.iterator
    assert seen == newest_first[:-1]

    # Backwards from the last page's first item gives the page before it.
    assert page.prev_iterator is not None
    before = await inbound_requests.list_requests(
        db, source.id, search, iterator=page.prev_iterator, limit=2
    )
    assert [item.id for item in before.items] == newest_first[2:4]

"""Searching the requests a source received and getting one
(``store.contract.InboundRequests``), on the in-memory fake, SQLite and
PostgreSQL. Every test here is part of the contract, so all run on the three
stores."""

from __future__ import annotations

import pytest

from hookgate.store.errors import NotFound
from hookgate.store.inbound_requests import InboundRequest, Received, RequestStatus
from hookgate.store.inbound_search import RequestFilter
from tests.integration.conftest import NOW
from tests.integration.store_backends import ContractStore
from tests.integration.test_store_sources import WINDOW_MS, request

ACCEPTED, REJECTED, DUPLICATE = RequestStatus


async def ids(store: ContractStore, f: RequestFilter, source: str = "gh") -> list[str]:
    page = await store.inbound.list_requests(source, f, iterator=None, limit=None)
    return [item.id for item in page.items]


async def record(store: ContractStore, item: InboundRequest) -> InboundRequest:
    [recorded] = await store.inbound.record_batch([Received(item, WINDOW_MS)])
    return recorded.request


@pytest.fixture
async def stored(store: ContractStore) -> list[InboundRequest]:
    """Five requests of source "gh", oldest first, and one of another source."""
    source, other = await store.make_source(), await store.make_source(uid="other")
    made = [
        await record(store, request(source, NOW, event_id="a", event_type="push")),
        await record(
            store,
            request(
                source, NOW + 1, event_id=None, event_type=None, verified=False, rejection="bad"
            ),
        ),
        await record(store, request(source, NOW + 2, event_id="a", event_type="push")),
        await record(store, request(source, NOW + 3, event_id="b", event_type="issues")),
        # Not a duplicate: the prefix must match exactly (SQLite's LIKE ignores case).
        await record(
            store,
            request(source, NOW + 4, event_id="c", event_type="x", rejection="Duplicate of x"),
        ),
    ]
    await record(store, request(other, NOW + 2, event_id="a", event_type="push"))
    assert made[2].rejection == f"duplicate of {made[0].id}"
    return made


async def test_each_filter(store: ContractStore, stored: list[InboundRequest]) -> None:
    r0, r1, r2, r3, r4 = (item.id for item in stored)
    assert await ids(store, RequestFilter()) == [r4, r3, r2, r1, r0]
    assert await ids(store, RequestFilter(status=ACCEPTED)) == [r3, r0]
    assert await ids(store, RequestFilter(status=DUPLICATE)) == [r2]
    assert await ids(store, RequestFilter(status=REJECTED)) == [r4, r1]
    assert await ids(store, RequestFilter(verified=False)) == [r1]
    assert await ids(store, RequestFilter(after=NOW + 1)) == [r4, r3, r2]
    assert await ids(store, RequestFilter(before=NOW + 3)) == [r2, r1, r0]
    assert await ids(store, RequestFilter(event_id="a")) == [r2, r0]
    assert await ids(store, RequestFilter(event_id="A")) == []
    assert await ids(store, RequestFilter(event_type="issues")) == [r3]


async def test_filters_combine(store: ContractStore, stored: list[InboundRequest]) -> None:
    r0, _, r2, r3, _ = (item.id for item in stored)
    assert await ids(store, RequestFilter(after=NOW, before=NOW + 4)) == [r3, r2, stored[1].id]
    assert await ids(store, RequestFilter(event_id="a", status=ACCEPTED)) == [r0]
    assert await ids(store, RequestFilter(event_type="push", after=NOW)) == [r2]
    assert await ids(store, RequestFilter(verified=True, status=REJECTED)) == [stored[4].id]
    assert await ids(store, RequestFilter(after=NOW + 4, before=NOW)) == []
    other = await ids(store, RequestFilter(event_id="a"), source="other")
    assert len(other) == 1
    assert other[0] not in {r0, r2}
    with pytest.raises(NotFound):
        await ids(store, RequestFilter(status=ACCEPTED), source="nope")


async def test_pages_of_a_filtered_search(store: ContractStore) -> None:
    source = await store.make_source()
    accepted = []
    for n in range(7):
        accepted.append(await record(store, request(source, NOW + 2 * n, event_id=f"e{n}")))
        await record(store, request(source, NOW + 2 * n + 1, event_id=None, rejection="no"))
    newest_first = [item.id for item in reversed(accepted)]
    search = RequestFilter(status=ACCEPTED, after=NOW)  # leaves out the first one

    seen: list[str] = []
    iterator: str | None = None
    for _ in range(10):
        page = await store.inbound.list_requests(source.id, search, iterator=iterator, limit=2)
        seen += [item.id for item in page.items]
        if page.done:
            break
        iterator = page.iterator
    assert seen == newest_first[:-1]

    # Backwards from the last page's first item gives the page before it.
    assert page.prev_iterator is not None
    before = await store.inbound.list_requests(
        source.id, search, iterator=page.prev_iterator, limit=2
    )
    assert [item.id for item in before.items] == newest_first[2:4]


async def test_get_one_request_of_a_source(
    store: ContractStore, stored: list[InboundRequest]
) -> None:
    duplicate = stored[2]

    got = await store.inbound.get_request("gh", duplicate.id)

    assert got == duplicate
    assert got.status is DUPLICATE
    assert got.body == b'{"k":"\xc3\xa9"}\x00\xff'
    assert got.headers == [("x-b", "2"), ("X-A", "1"), ("x-b", "3")]
    assert await store.inbound.get_request(duplicate.source_id, duplicate.id) == got
    with pytest.raises(NotFound):
        await store.inbound.get_request("other", duplicate.id)
    with pytest.raises(NotFound):
        await store.inbound.get_request("gh", "inreq_missing")
    with pytest.raises(NotFound):
        await store.inbound.get_request("nope", duplicate.id)

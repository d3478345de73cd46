"""Deduplication and retention of received requests
(``store.contract.InboundRequests``) on the in-memory fake, SQLite and
PostgreSQL: duplicates within the window, body-hash dedupe keys, claims
lasting for the window they were made with, the purges. Every test here is
part of the contract, so all run on the three stores; that a purge works in
one short transaction per batch is the SQL store's own concern and is tested
on the two databases in ``test_store_sources``."""

from __future__ import annotations

import pytest

from hookgate.store.inbound_requests import (
    InboundRequest,
    Received,
    RequestStatus,
)
from hookgate.store.inbound_search import RequestFilter
from tests.integration.conftest import NOW
from tests.integration.store_backends import ContractStore
from tests.integration.test_store_sources import WINDOW_MS, request

DAY, MINUTE = 86_400_000, 60_000


async def record(
    store: ContractStore,
    item: InboundRequest,
    window_ms: int = WINDOW_MS,
    dedupe_key: str | None = None,
) -> InboundRequest:
    [recorded] = await store.inbound.record_batch(
        [Received(item, window_ms, dedupe_key=dedupe_key)]
    )
    return recorded.request


async def listed(
    store: ContractStore, source: str, f: RequestFilter = RequestFilter()
) -> list[str]:
    page = await store.inbound.list_requests(source, f, iterator=None, limit=None)
    return [r.id for r in page.items]


async def test_requests_are_stored_byte_for_byte_newest_first(store: ContractStore) -> None:
    source = await store.make_source()
    first = await record(store, request(source))
    bad = await record(
        store, request(source, verified=False, rejection="bad signature", event_id=None)
    )

    page = await store.inbound.list_requests("gh", iterator=None, limit=None)
    assert [r.id for r in page.items] == [bad.id, first.id]
    assert page.items[1] == first
    assert page.items[1].body == b'{"k":"\xc3\xa9"}\x00\xff'
    assert page.items[1].headers == [("x-b", "2"), ("X-A", "1"), ("x-b", "3")]
    assert page.items[0].status is RequestStatus.REJECTED
    assert await listed(store, "gh", RequestFilter(verified=False)) == [bad.id]


async def test_repeated_event_id_is_a_duplicate_within_the_window(store: ContractStore) -> None:
    source = await store.make_source()
    other = await store.make_source(uid="other")
    first = await record(store, request(source))
    assert first.rejection is None
    again = await record(store, request(source, at=NOW + 1))
    assert again.rejection == f"duplicate of {first.id}"
    assert again.status is RequestStatus.DUPLICATE
    elsewhere = await record(store, request(other))
    assert elsewhere.rejection is None
    # Rejected requests neither claim nor hit the window.
    await record(store, request(source, event_id="evt-2", verified=False, rejection="stale"))
    fresh = await record(store, request(source, event_id="evt-2"))
    assert fresh.rejection is None
    # Once the window has passed, the event id is accepted (and claimed) again.
    later = await record(store, request(source, at=NOW + WINDOW_MS))
    assert later.rejection is None
    after = await record(store, request(source, at=NOW + WINDOW_MS + 1))
    assert after.rejection == f"duplicate of {later.id}"
    # A window of 0 turns deduplication off.
    off = await record(store, request(source), window_ms=0)
    assert off.rejection is None

    assert await listed(store, source.id, RequestFilter(status=RequestStatus.DUPLICATE)) == [
        after.id,
        again.id,
    ]
    # evt-1 on the other source and evt-2 were first seen at NOW: expired.
    assert await store.inbound.purge_expired_dedupe(NOW + WINDOW_MS - 1) == 0
    assert await store.inbound.purge_expired_dedupe(NOW + WINDOW_MS) == 2


async def test_a_dedupe_key_replaces_the_event_id(store: ContractStore) -> None:
    source = await store.make_source()
    first = await record(store, request(source, event_id="a"), dedupe_key="sha256:1")

    replayed = await record(store, request(source, event_id="b"), dedupe_key="sha256:1")
    other_body = await record(store, request(source, event_id="a"), dedupe_key="sha256:2")

    assert replayed.rejection == f"duplicate of {first.id}"
    assert replayed.status is RequestStatus.DUPLICATE
    assert other_body.status is RequestStatus.ACCEPTED


async def test_a_claim_lasts_for_the_window_it_was_made_with(store: ContractStore) -> None:
    source = await store.make_source()
    first = await record(store, request(source), window_ms=DAY)
    await record(store, request(source, event_id="evt-2"), window_ms=MINUTE)
    # The source's window was shortened since: the claim still holds.
    again = await record(store, request(source, at=NOW + 2 * MINUTE), window_ms=MINUTE)
    assert again.rejection == f"duplicate of {first.id}"
    # An expired claim is taken over with the new window.
    retaken = await record(store, request(source, at=NOW + MINUTE, event_id="evt-2"), DAY)
    assert retaken.rejection is None
    repeat = await record(store, request(source, at=NOW + DAY, event_id="evt-2"), MINUTE)
    assert repeat.rejection == f"duplicate of {retaken.id}"

    assert await store.inbound.purge_expired_dedupe(NOW + DAY - 1) == 0
    assert await store.inbound.purge_expired_dedupe(NOW + DAY, batch=1) == 1
    # evt-1's claim is gone, evt-2's (until NOW + MINUTE + DAY) is not.
    assert (await record(store, request(source, at=NOW + DAY))).rejection is None
    taken = await record(store, request(source, at=NOW + DAY, event_id="evt-2"))
    assert taken.rejection == f"duplicate of {retaken.id}"


async def test_purge_expired_dedupe_works_in_batches(store: ContractStore) -> None:
    source = await store.make_source()
    for n in range(5):
        await record(store, request(source, event_id=f"e{n}"), window_ms=n + 1)

    assert await store.inbound.purge_expired_dedupe(NOW + 3, batch=2) == 3

    assert await store.inbound.purge_expired_dedupe(NOW + 5) == 2
    with pytest.raises(ValueError):
        await store.inbound.purge_expired_dedupe(NOW, batch=0)


async def test_purge_requests_keeps_dedupe(store: ContractStore) -> None:
    source, other = await store.make_source(), await store.make_source(uid="other")
    made = [
        await record(store, request(at_source, at=NOW + n, event_id=f"e{n}"))
        for n, at_source in enumerate([source, other, source, other, source, source])
    ]

    assert await store.inbound.purge_requests(NOW + 5, batch=2) == 5

    assert await listed(store, source.id) == [made[5].id]
    assert await listed(store, other.id) == []
    # The claim of a purged request still holds, naming the purged request.
    repeat = await record(store, request(source, at=NOW + 10, event_id="e0"))
    assert repeat.rejection == f"duplicate of {made[0].id}"
    assert await store.inbound.purge_requests(NOW) == 0
    with pytest.raises(ValueError):
        await store.inbound.purge_requests(NOW, batch=0)

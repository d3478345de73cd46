"""Group-committed recording of received requests
(``store.contract.InboundRequests.record_batch`` and the ``Recorder``), on
the in-memory fake, SQLite and PostgreSQL: duplicates inside one batch and
across batches, a request the store refuses failing alone, forwarding in the
same transaction. Every test here is part of the contract, so all run on the
three stores."""

from __future__ import annotations

import asyncio

import pytest

from hookgate.store import inbound_search
from hookgate.store.accept_messages import AcceptItem, AcceptStatus
from hookgate.store.inbound_requests import (
    DUPLICATE_PREFIX,
    InboundRequest,
    Received,
    RequestStatus,
)
from tests.integration.conftest import NOW
from tests.integration.store_backends import ContractStore
from tests.integration.test_store_sources import WINDOW_MS, request


async def stored_ids(store: ContractStore, source_id: str) -> set[str]:
    found: set[str] = set()
    iterator = None
    while True:
        page = await store.inbound.list_requests(
            source_id, inbound_search.ANY, iterator=iterator, limit=250
        )
        found |= {item.id for item in page.items}
        if page.done:
            return found
        iterator = page.iterator


async def test_repeats_inside_one_batch_are_duplicates_of_the_first(store: ContractStore) -> None:
    source = await store.make_source()
    first = request(source, event_id="e1")
    repeat = request(source, NOW + 1, event_id="e1")
    unclaimed = request(source, NOW + 2, event_id="e1")  # window 0: not deduplicated
    refused = request(source, NOW + 3, event_id="e1", verified=False, rejection="bad signature")
    other = request(source, NOW + 4, event_id="e2")
    items = [
        Received(first, WINDOW_MS),
        Received(repeat, WINDOW_MS),
        Received(unclaimed, 0),
        Received(refused, 0),
    ]
    out = [
        r.request for r in await store.inbound.record_batch([*items, Received(other, WINDOW_MS)])
    ]

    assert [item.rejection for item in out] == [
        None,
        f"{DUPLICATE_PREFIX}{first.id}",
        None,
        "bad signature",
        None,
    ]
    assert [item.status for item in out] == [
        RequestStatus.ACCEPTED,
        RequestStatus.DUPLICATE,
        RequestStatus.ACCEPTED,
        RequestStatus.REJECTED,
        RequestStatus.ACCEPTED,
    ]
    assert await stored_ids(store, source.id) == {item.id for item in out}


async def test_a_batch_repeating_an_earlier_claim_names_the_earlier_request(
    store: ContractStore,
) -> None:
    source = await store.make_source()
    [(earlier, _)] = await store.inbound.record_batch(
        [Received(request(source, event_id="e1"), WINDOW_MS)]
    )
    batch = [Received(request(source, NOW + i, event_id="e1"), WINDOW_MS) for i in (1, 2)]
    out = [r.request for r in await store.inbound.record_batch(batch)]
    assert [item.rejection for item in out] == [f"{DUPLICATE_PREFIX}{earlier.id}"] * 2
    # Past the window, the first of a batch takes the claim over.
    late = [
        Received(request(source, NOW + WINDOW_MS + i, event_id="e1"), WINDOW_MS) for i in (0, 1)
    ]
    taken = [r.request for r in await store.inbound.record_batch(late)]
    assert [item.rejection for item in taken] == [None, f"{DUPLICATE_PREFIX}{taken[0].id}"]


async def test_concurrent_requests_share_a_commit_and_a_refused_one_fails_alone(
    store: ContractStore,
) -> None:
    source = await store.make_source()
    recorder = store.recorder()
    good = [request(source, NOW + i, event_id=f"e{i}") for i in range(5)]
    # The same id twice: the database refuses the second insert.
    clash = request(source, NOW + 9, event_id="e9", id=good[0].id)

    async def record(item: InboundRequest) -> InboundRequest:
        return (await recorder.record(item, dedupe_window_ms=WINDOW_MS)).request

    results = await asyncio.gather(
        *(record(item) for item in [*good, clash]), return_exceptions=True
    )

    assert [r.id for r in results[:5] if isinstance(r, InboundRequest)] == [g.id for g in good]
    assert isinstance(results[5], Exception)
    assert await stored_ids(store, source.id) == {g.id for g in good}
    # Its event id was not left claimed by the failed batch.
    retried = await recorder.record(
        request(source, NOW + 10, event_id="e9"), dedupe_window_ms=WINDOW_MS
    )
    assert retried.request.rejection is None


@pytest.mark.parametrize("size", [1, 600])
async def test_batches_of_any_size_are_stored(store: ContractStore, size: int) -> None:
    source = await store.make_source()
    recorder = store.recorder()
    items = [request(source, NOW + i, event_id=f"e{i}") for i in range(size)]
    out = await asyncio.gather(
        *(recorder.record(item, dedupe_window_ms=WINDOW_MS) for item in items)
    )
    assert all(item.request.rejection is None for item in out)
    assert len(await stored_ids(store, source.id)) == size


async def test_an_accepted_request_and_its_forward_commit_together(store: ContractStore) -> None:
    source = await store.make_source()
    app = await store.make_app()
    endpoint = await store.make_endpoint(app.id)
    recorder = store.recorder()
    first = request(source, body=b"first")
    repeat = request(source, NOW + 1, body=b"repeat")

    def forward(req: InboundRequest) -> AcceptItem:
        return AcceptItem(app_ref=app.id, event_type="push", payload=req.body)

    recorded, repeated = await asyncio.gather(
        *(
            recorder.record(r, dedupe_window_ms=WINDOW_MS, forward=forward(r))
            for r in (first, repeat)
        )
    )

    assert recorded.request.rejection is None
    assert recorded.forwarded is not None
    assert recorded.forwarded.status is AcceptStatus.CREATED
    assert [job.endpoint.id for job in recorded.forwarded.jobs] == [endpoint.id]
    # The duplicate is stored but not forwarded.
    assert repeated.request.rejection == f"{DUPLICATE_PREFIX}{first.id}"
    assert repeated.forwarded is None
    # The request remembers its message; the duplicate has none.
    assert recorded.forwarded.message is not None
    assert recorded.request.message_id == recorded.forwarded.message.id
    assert repeated.request.message_id is None
    listed = await store.inbound.list_requests(
        source.id, inbound_search.ANY, iterator=None, limit=10
    )
    by_id = {item.id: item.message_id for item in listed.items}
    assert by_id == {first.id: recorded.forwarded.message.id, repeat.id: None}
    assert await store.payloads(app.id) == [b"first"]
    assert {d.endpoint_id for d in (await store.deliveries()).values()} == {endpoint.id}


async def test_a_request_whose_forward_fails_is_not_stored_and_its_retry_is_forwarded(
    store: ContractStore,
) -> None:
    source = await store.make_source()
    app = await store.make_app()
    await store.make_endpoint(app.id)
    await store.refuse_messages_of_type("poison")
    recorder = store.recorder()
    attempt = request(source, body=b"event")

    with pytest.raises(Exception, match="refused by test trigger"):
        await recorder.record(
            attempt,
            dedupe_window_ms=WINDOW_MS,
            forward=AcceptItem(app_ref=app.id, event_type="poison", payload=b"event"),
        )

    # Neither the request nor its event id claim was kept: the provider's
    # retry of the same event is accepted and forwarded.
    assert await stored_ids(store, source.id) == set()
    retry = request(source, NOW + 1, body=b"event")
    recorded = await recorder.record(
        retry,
        dedupe_window_ms=WINDOW_MS,
        forward=AcceptItem(app_ref=app.id, event_type="push", payload=b"event"),
    )
    assert recorded.request.rejection is None
    assert recorded.forwarded is not None
    assert len(recorded.forwarded.jobs) == 1
    assert await stored_ids(store, source.id) == {retry.id}
    assert await store.payloads(app.id) == [b"event"]

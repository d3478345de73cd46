"""The embedded database's one-step recording (``store.inbound_direct``):
what it stores is what ``record_batch`` would store, and it leaves every
batch it cannot take (a claim already held, a forward to an application the
fan-out cache does not know) untouched for the usual way. The contract
tests (``test_inbound_recorder``) cover the answers on every store; these
show which way a batch went."""

from __future__ import annotations

from hookgate.store import inbound_search, messages
from hookgate.store.accept_messages import AcceptItem, AcceptStatus
from hookgate.store.database import Database
from hookgate.store.inbound_direct import InboundStatements, record_directly
from hookgate.store.inbound_requests import DUPLICATE_PREFIX, Received, RequestStatus, record_batch
from hookgate.store.queue import SqlDeliveryQueue
from tests.integration.conftest import NOW, make_app, make_endpoint
from tests.integration.test_store_sources import WINDOW_MS, make_source, request

LEASE = 60_000


async def test_new_claims_are_stored_in_one_step_byte_for_byte(sqlite_db: Database) -> None:
    source = await make_source(sqlite_db)
    first = request(source, event_id="e1")
    repeat = request(source, NOW + 1, event_id="e1")
    refused = request(source, NOW + 2, verified=False, rejection="bad signature")
    items = [Received(first, WINDOW_MS), Received(repeat, WINDOW_MS), Received(refused, 0)]

    recorded = await record_directly(sqlite_db, InboundStatements(sqlite_db.engine.dialect), items)

    assert recorded is not None
    out = [r.request for r in recorded]
    assert [r.status for r in out] == [
        RequestStatus.ACCEPTED,
        RequestStatus.DUPLICATE,
        RequestStatus.REJECTED,
    ]
    assert out[1].rejection == f"{DUPLICATE_PREFIX}{first.id}"
    for expected in out:
        assert await inbound_search.get_request(sqlite_db, source.id, expected.id) == expected


async def test_a_claim_held_before_leaves_the_batch_to_the_usual_way(sqlite_db: Database) -> None:
    source = await make_source(sqlite_db)
    statements = InboundStatements(sqlite_db.engine.dialect)
    first = request(source, event_id="e1")
    assert await record_directly(sqlite_db, statements, [Received(first, WINDOW_MS)])
    repeat = request(source, NOW + 1, event_id="e1")
    fresh = request(source, NOW + 2, event_id="e2")
    items = [Received(fresh, WINDOW_MS), Received(repeat, WINDOW_MS)]

    assert await record_directly(sqlite_db, statements, items) is None

    # Nothing of it was kept: the usual way stores both, e2 claimed anew.
    recorded = [r.request for r in await record_batch(sqlite_db, items)]
    assert [r.rejection for r in recorded] == [None, f"{DUPLICATE_PREFIX}{first.id}"]


async def test_a_forwarding_batch_is_stored_in_one_step_once_its_fan_out_is_known(
    sqlite_db: Database,
) -> None:
    source = await make_source(sqlite_db)
    app = await make_app(sqlite_db)
    endpoint = await make_endpoint(sqlite_db, app.id)
    forward = AcceptItem(app_ref=app.id, event_type="push", payload=b"{}", headers=[("X-A", "1")])
    statements = InboundStatements(sqlite_db.engine.dialect)
    earlier = [Received(request(source, event_id="e0"), WINDOW_MS, forward)]
    # The application is not known yet; the usual way reads it (and caches it).
    assert await record_directly(sqlite_db, statements, earlier, NOW, NOW) is None
    await record_batch(sqlite_db, earlier, now_ms=NOW, lease_until_ms=NOW)
    first = request(source, NOW + 1, event_id="e1")
    repeat = request(source, NOW + 2, event_id="e1")
    items = [Received(first, WINDOW_MS, forward), Received(repeat, WINDOW_MS, forward)]

    recorded = await record_directly(sqlite_db, statements, items, NOW + 3, NOW + LEASE)

    assert recorded is not None
    forwarded, duplicate = recorded
    assert (duplicate.request.status, duplicate.forwarded) == (RequestStatus.DUPLICATE, None)
    outcome = forwarded.forwarded
    assert outcome is not None
    assert outcome.status is AcceptStatus.CREATED
    assert outcome.message is not None
    assert forwarded.request.message_id == outcome.message.id
    assert [job.endpoint.id for job in outcome.jobs] == [endpoint.id]
    for stored in (forwarded.request, duplicate.request):
        assert await inbound_search.get_request(sqlite_db, source.id, stored.id) == stored
    message = await messages.get_message(sqlite_db, app.id, outcome.message.id)
    assert (message.payload, message.headers, message.created_at) == (
        b"{}",
        [("X-A", "1")],
        NOW + 3,
    )
    claimed = await SqlDeliveryQueue(sqlite_db).claim_due(NOW + LEASE + 1, 10, NOW + 2 * LEASE)
    assert outcome.message.id in {job.msg_id for job in claimed}


async def test_a_forward_to_an_unknown_application_takes_the_usual_way(
    sqlite_db: Database,
) -> None:
    source = await make_source(sqlite_db)
    forward = AcceptItem(app_ref="app_x", event_type="push", payload=b"{}")
    items = [Received(request(source, event_id="e1"), WINDOW_MS, forward)]

    statements = InboundStatements(sqlite_db.engine.dialect)
    assert await record_directly(sqlite_db, statements, items) is None
    page = await inbound_search.list_requests(
        sqlite_db, source.id, inbound_search.ANY, iterator=None, limit=10
    )
    assert page.items == []

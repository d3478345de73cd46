"""Message accept (``store.contract.MessageAccept``) on the in-memory fake,
SQLite and PostgreSQL: fan-out, idempotency, eventId, create-on-send, all or
nothing per batch. Every test here is part of the contract, so all run on
the three stores."""

from __future__ import annotations

from typing import Any

import pytest

from hookgate.core import ids
from hookgate.store.accept_messages import AcceptItem, AcceptOutcome, AcceptStatus
from hookgate.store.errors import NotFound
from hookgate.store.records import DeliveryStatus, NewApplication
from tests.integration.conftest import NOW
from tests.integration.store_backends import ContractStore
from tests.integration.store_backends import refuse_messages_of_type as refuse_messages_of_type

__all__ = ["refuse_messages_of_type"]  # e2e tests make the database refuse a batch with it


def item(app_ref: str, event_type: str = "invoice.paid", **fields: Any) -> AcceptItem:
    fields.setdefault("payload", b'{"id": "inv_1"}')
    return AcceptItem(app_ref=app_ref, event_type=event_type, **fields)


async def accept_one(store: ContractStore, one: AcceptItem, now_ms: int = NOW) -> AcceptOutcome:
    [outcome] = await store.accepts.accept_batch([one], now_ms, 0)
    return outcome


async def test_fans_out_to_matching_enabled_endpoints_only(store: ContractStore) -> None:
    app = await store.make_app(uid="acme")
    everything = await store.make_endpoint(app.id)
    paid_only = await store.make_endpoint(app.id, event_types=["invoice.paid"])
    users_only = await store.make_endpoint(app.id, event_types=["user.created"])
    eu_only = await store.make_endpoint(app.id, channels=["eu"])
    us_paid = await store.make_endpoint(app.id, channels=["us"], event_types=["invoice.paid"])
    await store.make_endpoint(app.id, disabled=True)
    other_app = await store.make_app(uid="other")
    await store.make_endpoint(other_app.id)

    eu, plain, user = await store.accepts.accept_batch(
        [
            item(app.id, channels=["eu"]),
            item(app.id),
            item(app.id, "user.created", channels=["eu", "us"]),
        ],
        NOW,
        0,
    )

    def routed(outcome: AcceptOutcome) -> set[str]:
        return {job.endpoint.id for job in outcome.jobs}

    assert routed(eu) == {everything.id, paid_only.id, eu_only.id}
    assert routed(plain) == {everything.id, paid_only.id}
    assert routed(user) == {everything.id, users_only.id, eu_only.id}
    assert us_paid.id not in routed(eu) | routed(plain) | routed(user)

    stored = await store.deliveries()
    jobs = [job for o in (eu, plain, user) for job in o.jobs]
    assert set(stored) == {job.delivery_id for job in jobs}
    for job in jobs:
        delivery = stored[job.delivery_id]
        assert (delivery.msg_id, delivery.endpoint_id) == (job.msg_id, job.endpoint.id)
        assert delivery.status == DeliveryStatus.PENDING
        assert delivery.attempt_count == 0
        assert delivery.next_attempt_at == NOW
        assert job.payload == b'{"id": "inv_1"}'
    assert eu.message is not None
    assert eu.message.channels == ["eu"]
    assert eu.message.app_id == app.id


async def test_app_is_found_by_uid(store: ContractStore) -> None:
    app = await store.make_app(uid="acme")
    endpoint = await store.make_endpoint(app.id)

    outcome = await accept_one(store, item("acme"))

    assert outcome.status is AcceptStatus.CREATED
    assert outcome.message is not None
    assert outcome.message.app_id == app.id
    assert [job.endpoint.id for job in outcome.jobs] == [endpoint.id]
    assert [job.app_id for job in outcome.jobs] == [app.id]


async def test_unknown_app_is_not_found_and_stores_nothing(store: ContractStore) -> None:
    await store.make_app(uid="acme")

    outcome = await accept_one(store, item("nobody", idempotency_key="k1", event_id="e1"))

    assert outcome.status is AcceptStatus.APP_NOT_FOUND
    assert outcome.message is None
    assert await store.message_count() == 0
    # The key and the event id were not used up.
    app_outcome = await accept_one(store, item("acme", idempotency_key="k1", event_id="e1"))
    assert app_outcome.status is AcceptStatus.CREATED


async def test_same_idempotency_key_in_one_batch_replays_the_first_message(
    store: ContractStore,
) -> None:
    app = await store.make_app()
    await store.make_endpoint(app.id)

    first, second = await store.accepts.accept_batch(
        [item(app.id, idempotency_key="k"), item(app.id, idempotency_key="k", payload=b"{}")],
        NOW,
        0,
    )

    assert first.status is AcceptStatus.CREATED
    assert second.status is AcceptStatus.REPLAYED
    assert first.message is not None
    assert second.message is not None
    assert second.message.id == first.message.id
    assert second.jobs == []
    assert await store.message_count() == 1
    assert len(await store.deliveries()) == 1


async def test_same_idempotency_key_in_a_later_batch_replays_the_message(
    store: ContractStore,
) -> None:
    app = await store.make_app()
    await store.make_endpoint(app.id)
    first = await accept_one(store, item(app.id, idempotency_key="k"))

    again = await accept_one(store, item(app.id, idempotency_key="k"), NOW + 1000)

    assert again.status is AcceptStatus.REPLAYED
    assert again.message is not None
    assert first.message is not None
    assert again.message.id == first.message.id
    assert again.message.payload == b'{"id": "inv_1"}'
    assert again.jobs == []
    assert await store.message_count() == 1
    assert len(await store.deliveries()) == 1


async def test_a_replay_shows_the_message_as_stored_now(store: ContractStore) -> None:
    app = await store.make_app()
    first = await accept_one(store, item(app.id, idempotency_key="k", headers=[("X-A", "1")]))
    assert first.message is not None
    await store.expunge_message(app.id, first.message.id)

    again = await accept_one(store, item(app.id, idempotency_key="k"))

    assert again.status is AcceptStatus.REPLAYED
    assert again.message is not None
    assert (again.message.id, again.message.payload) == (first.message.id, None)
    assert again.message.event_type == "invoice.paid"


async def test_an_idempotency_key_is_scoped_to_its_application(store: ContractStore) -> None:
    first_app, second_app = await store.make_app(uid="a"), await store.make_app(uid="b")

    first = await accept_one(store, item(first_app.id, idempotency_key="k"))
    second = await accept_one(store, item(second_app.id, idempotency_key="k"))

    assert (first.status, second.status) == (AcceptStatus.CREATED, AcceptStatus.CREATED)


async def test_duplicate_event_id_conflicts_and_its_key_keeps_answering_conflict(
    store: ContractStore,
) -> None:
    app = await store.make_app()
    await store.make_endpoint(app.id)
    original = await accept_one(store, item(app.id, event_id="evt_1"))

    duplicate = await accept_one(store, item(app.id, event_id="evt_1", idempotency_key="k2"))
    replayed = await accept_one(store, item(app.id, event_id="evt_other", idempotency_key="k2"))

    assert original.status is AcceptStatus.CREATED
    assert duplicate.status is AcceptStatus.EVENT_ID_CONFLICT
    assert duplicate.jobs == []
    assert replayed.status is AcceptStatus.EVENT_ID_CONFLICT
    assert await store.message_count() == 1
    assert len(await store.deliveries()) == 1


async def test_duplicate_event_id_within_one_batch_conflicts(store: ContractStore) -> None:
    app = await store.make_app()

    first, second = await store.accepts.accept_batch(
        [item(app.id, event_id="evt_1"), item(app.id, event_id="evt_1")], NOW, 0
    )

    assert first.status is AcceptStatus.CREATED
    assert second.status is AcceptStatus.EVENT_ID_CONFLICT


async def test_the_same_event_id_in_two_applications_is_no_conflict(store: ContractStore) -> None:
    first_app = await store.make_app(uid="tenant-a")
    second_app = await store.make_app(uid="tenant-b")

    first = await accept_one(store, item(first_app.id, event_id="order-1"))
    second = await accept_one(store, item(second_app.id, event_id="order-1"))

    assert first.status is AcceptStatus.CREATED
    assert second.status is AcceptStatus.CREATED


async def test_event_id_can_be_reused_after_a_day(store: ContractStore) -> None:
    app = await store.make_app()
    await accept_one(store, item(app.id, event_id="evt_1"))

    within = await accept_one(store, item(app.id, event_id="evt_1"), NOW + 24 * 3600 * 1000)
    later = await accept_one(store, item(app.id, event_id="evt_1"), NOW + 24 * 3600 * 1000 + 1)

    assert within.status is AcceptStatus.EVENT_ID_CONFLICT
    assert later.status is AcceptStatus.CREATED


async def test_create_on_send_makes_the_application(store: ContractStore) -> None:
    new_app = NewApplication(name="Brand new", metadata={"tier": "gold"})

    first, second = await store.accepts.accept_batch(
        [
            item("brand-new", new_application=new_app),
            item("brand-new", new_application=new_app),
        ],
        NOW,
        0,
    )

    app = await store.app("brand-new")
    assert (app.uid, app.name, app.metadata) == ("brand-new", "Brand new", {"tier": "gold"})
    assert first.status is AcceptStatus.CREATED
    assert second.status is AcceptStatus.CREATED
    assert first.message is not None
    assert second.message is not None
    assert first.message.app_id == second.message.app_id == app.id
    assert first.jobs == []

    # Once it exists the new_application argument is ignored.
    await store.make_endpoint(app.id)
    third = await accept_one(store, item("brand-new", new_application=NewApplication(name="x")))
    assert third.status is AcceptStatus.CREATED
    assert len(third.jobs) == 1
    assert (await store.app("brand-new")).name == "Brand new"


async def test_create_on_send_serves_every_item_of_its_batch(store: ContractStore) -> None:
    new_app = NewApplication(name="Fresh")

    outcomes = await store.accepts.accept_batch(
        [item("fresh"), item("fresh", new_application=new_app), item("fresh")], NOW, 0
    )

    app = await store.app("fresh")
    assert [o.status for o in outcomes] == [AcceptStatus.CREATED] * 3
    assert {o.message.app_id for o in outcomes if o.message} == {app.id}


@pytest.mark.parametrize("ref_kind", ["uid_differs", "id_shaped_ref"])
async def test_create_on_send_never_creates_an_app_it_reports_missing(
    store: ContractStore, ref_kind: str
) -> None:
    if ref_kind == "uid_differs":
        ref, new_app = "acme", NewApplication(name="Acme", uid="acme-inc")
    else:
        ref, new_app = ids.new_id(ids.APP), NewApplication(name="Acme")

    outcomes = [await accept_one(store, item(ref, new_application=new_app)) for _ in range(2)]

    apps = await store.apps()
    statuses = {o.status for o in outcomes}
    if ref_kind == "uid_differs":
        assert [a.uid for a in apps] == ["acme-inc"]
        assert statuses == {AcceptStatus.CREATED}
        assert all(o.message and o.message.app_id == apps[0].id for o in outcomes)
    else:
        assert apps == []
        assert statuses == {AcceptStatus.APP_NOT_FOUND}


async def test_a_mixed_batch_answers_each_item_in_order(store: ContractStore) -> None:
    app = await store.make_app(uid="acme")
    await store.make_endpoint(app.id)
    earlier = await accept_one(store, item("acme", idempotency_key="seen", event_id="evt_seen"))
    assert earlier.message is not None

    outcomes = await store.accepts.accept_batch(
        [
            item("acme"),
            item("missing"),
            item("acme", idempotency_key="seen"),
            item("acme", event_id="evt_seen"),
            item("fresh", new_application=NewApplication(name="Fresh")),
            item("acme", idempotency_key="new-key"),
            item(app.id, idempotency_key="new-key"),
            item("acme", event_id="evt_new"),
        ],
        NOW + 1000,
        0,
    )

    assert [o.status for o in outcomes] == [
        AcceptStatus.CREATED,
        AcceptStatus.APP_NOT_FOUND,
        AcceptStatus.REPLAYED,
        AcceptStatus.EVENT_ID_CONFLICT,
        AcceptStatus.CREATED,
        AcceptStatus.CREATED,
        AcceptStatus.REPLAYED,
        AcceptStatus.CREATED,
    ]
    assert outcomes[2].message is not None
    assert outcomes[2].message.id == earlier.message.id
    assert outcomes[5].message is not None
    assert outcomes[6].message is not None
    assert outcomes[6].message.id == outcomes[5].message.id
    created = [o for o in outcomes if o.status is AcceptStatus.CREATED]
    assert [len(o.jobs) for o in created] == [1, 0, 1, 1]
    assert await store.message_count() == 1 + 4
    assert len(await store.deliveries()) == 1 + 3


async def test_only_endpoint_routes_to_that_endpoint_whatever_its_filters(
    store: ContractStore,
) -> None:
    app = await store.make_app()
    await store.make_endpoint(app.id)
    picky = await store.make_endpoint(app.id, event_types=["user.created"])

    outcome = await accept_one(store, item(app.id, only_endpoint_id=picky.id))

    assert [job.endpoint.id for job in outcome.jobs] == [picky.id]


async def test_deliveries_are_created_with_the_given_lease(store: ContractStore) -> None:
    app = await store.make_app()
    await store.make_endpoint(app.id)
    queue = store.queue()

    [leased] = await store.accepts.accept_batch([item(app.id)], NOW, NOW + 60_000)
    [free] = await store.accepts.accept_batch([item(app.id)], NOW, 0)

    stored = await store.deliveries()
    [leased_job], [free_job] = leased.jobs, free.jobs
    assert stored[leased_job.delivery_id].lease_until == NOW + 60_000
    assert stored[free_job.delivery_id].lease_until == 0
    # Only the unleased one is claimable until the lease runs out.
    claimed = await queue.claim_due(NOW + 1, 10, NOW + 120_000)
    assert [j.delivery_id for j in claimed] == [free_job.delivery_id]
    claimed = await queue.claim_due(NOW + 60_001, 10, NOW + 120_000)
    assert [j.delivery_id for j in claimed] == [leased_job.delivery_id]


async def test_endpoint_changes_apply_to_later_messages(store: ContractStore) -> None:
    app = await store.make_app()
    endpoint = await store.make_endpoint(app.id)
    await accept_one(store, item(app.id))
    await store.disable_endpoint(endpoint)

    outcome = await accept_one(store, item(app.id))

    assert outcome.status is AcceptStatus.CREATED
    assert outcome.jobs == []


async def test_a_rolled_back_create_on_send_leaves_no_trace(store: ContractStore) -> None:
    await store.refuse_messages_of_type("poison")
    new_app = NewApplication(name="Fresh", uid="fresh")
    batch = [item("fresh", new_application=new_app, event_id="e1", idempotency_key="k1")]

    with pytest.raises(Exception, match="refused by test trigger"):
        await store.accepts.accept_batch([*batch, item("fresh", "poison")], NOW, 0)

    # The application the failed batch created was rolled back with it, so a
    # message to that uid without one is refused, and with one creates it;
    # the key and event id of the failed batch were not used up.
    with pytest.raises(NotFound):
        await store.app("fresh")
    missing = await accept_one(store, item("fresh"))
    assert missing.status is AcceptStatus.APP_NOT_FOUND
    [created] = await store.accepts.accept_batch(batch, NOW, 0)
    assert created.status is AcceptStatus.CREATED
    assert created.message is not None
    stored = await store.app("fresh")
    assert created.message.app_id == stored.id
    again = await accept_one(store, item("fresh"))
    assert again.status is AcceptStatus.CREATED
    assert await store.message_count() == 2

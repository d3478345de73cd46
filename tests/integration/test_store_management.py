"""Management stores on SQLite and PostgreSQL: applications, endpoints, event
types, messages, tokens and idempotency keys."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
from sqlalchemy import func, select

from hookgate.core.signing import generate_secret
from hookgate.store import applications, endpoints, event_types, idempotency, tokens
from hookgate.store import messages as message_store
from hookgate.store.accept_messages import AcceptItem, AcceptStatus, accept_batch
from hookgate.store.database import Database
from hookgate.store.errors import Conflict, NotFound
from hookgate.store.messages import ListFilter
from hookgate.store.pagination import Page
from hookgate.store.queue import SqlDeliveryQueue
from hookgate.store.records import DeliveryResult, DeliveryStatus, Message
from hookgate.store.tables import api_tokens, idempotency_keys, message_event_ids
from tests.integration.conftest import (
    NOW,
    all_deliveries,
    make_app,
    make_endpoint,
)

T = TypeVar("T")
DAY_MS = 24 * 3600 * 1000


async def walk_forwards(
    fetch: Callable[[str | None], Awaitable[Page[T]]], *, max_pages: int = 50
) -> list[list[T]]:
    """Every page, following ``iterator`` until ``done``."""
    pages: list[list[T]] = []
    iterator: str | None = None
    for _ in range(max_pages):
        page = await fetch(iterator)
        pages.append(page.items)
        if page.done:
            return pages
        iterator = page.iterator
    raise AssertionError("pagination never reported done")


async def count_rows(db: Database, table: Any) -> int:
    async with db.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


# -- applications ----------------------------------------------------------------------


async def test_application_crud(db: Database) -> None:
    app, created = await applications.create(
        db, {"name": "Acme", "uid": "acme", "metadata": {"plan": "pro"}}, NOW
    )
    assert created
    assert (app.uid, app.name, app.metadata, app.created_at) == (
        "acme",
        "Acme",
        {"plan": "pro"},
        NOW,
    )
    assert await applications.get(db, app.id) == app
    assert await applications.get(db, "acme") == app

    updated = await applications.update_fields(
        db, "acme", {"name": "Acme Inc", "throttle_rate": 10}, NOW + 1
    )
    assert (updated.name, updated.throttle_rate, updated.updated_at) == ("Acme Inc", 10, NOW + 1)
    assert updated.created_at == NOW

    replaced, created = await applications.upsert(db, app.id, {"name": "Replaced"}, NOW + 2)
    assert not created
    assert (replaced.id, replaced.name, replaced.uid, replaced.throttle_rate) == (
        app.id,
        "Replaced",
        None,
        None,
    )

    await applications.delete_app(db, app.id)
    with pytest.raises(NotFound):
        await applications.get(db, app.id)
    with pytest.raises(NotFound):
        await applications.delete_app(db, app.id)


async def test_application_uid_conflicts(db: Database) -> None:
    first = await make_app(db, uid="acme")
    other = await make_app(db, uid="other")

    with pytest.raises(Conflict):
        await applications.create(db, {"name": "Again", "uid": "acme"}, NOW)
    existing, created = await applications.create(
        db, {"name": "Again", "uid": "acme"}, NOW, get_if_exists=True
    )
    assert (existing, created) == (first, False)
    with pytest.raises(Conflict):
        await applications.update_fields(db, other.id, {"uid": "acme"}, NOW)
    assert (await applications.get(db, other.id)).uid == "other"


async def test_application_upsert_creates_with_the_ref_as_uid(db: Database) -> None:
    app, created = await applications.upsert(db, "new-app", {"name": "New"}, NOW)

    assert created
    assert app.uid == "new-app"
    assert await applications.get(db, "new-app") == app


async def test_deleting_an_application_deletes_its_endpoints_and_messages(db: Database) -> None:
    app = await make_app(db)
    await make_endpoint(db, app.id)
    await accept_batch(db, [AcceptItem(app.id, "a", b"{}")], NOW, 0)

    await applications.delete_app(db, app.id)

    assert await all_deliveries(db) == {}
    with pytest.raises(NotFound):
        await endpoints.list_page(db, app.id, iterator=None, limit=None, descending=False)


@pytest.mark.parametrize("descending", [False, True])
async def test_application_pagination_visits_each_item_once(db: Database, descending: bool) -> None:
    created = [await make_app(db, uid=f"app-{i}") for i in range(7)]
    expected = [a.id for a in created]
    if descending:
        expected.reverse()

    pages = await walk_forwards(
        lambda it: applications.list_page(db, iterator=it, limit=3, descending=descending)
    )

    assert [[a.id for a in page] for page in pages] == [
        expected[0:3],
        expected[3:6],
        expected[6:7],
    ]


async def test_application_prev_iterator_goes_back_a_page(db: Database) -> None:
    created = [await make_app(db, uid=f"app-{i}") for i in range(7)]
    ids = [a.id for a in created]

    first = await applications.list_page(db, iterator=None, limit=3, descending=False)
    second = await applications.list_page(db, iterator=first.iterator, limit=3, descending=False)
    back = await applications.list_page(
        db, iterator=second.prev_iterator, limit=3, descending=False
    )

    assert [a.id for a in second.items] == ids[3:6]
    assert second.prev_iterator == f"-{ids[3]}"
    assert [a.id for a in back.items] == ids[0:3]
    # From there, forwards again gives the second page.
    forwards = await applications.list_page(db, iterator=back.iterator, limit=3, descending=False)
    assert [a.id for a in forwards.items] == ids[3:6]


async def test_application_list_of_nothing_is_done(db: Database) -> None:
    page = await applications.list_page(db, iterator=None, limit=None, descending=False)
    assert (page.items, page.done) == ([], True)


# -- endpoints ------------------------------------------------------------------------


async def test_endpoint_crud(db: Database) -> None:
    app = await make_app(db, uid="acme")
    secret = generate_secret()
    endpoint = await endpoints.create(
        db,
        "acme",
        {
            "url": "https://a.example.com/hook",
            "uid": "main",
            "description": "Main",
            "event_types": ["invoice.paid"],
            "channels": ["eu"],
            "metadata": {"k": "v"},
            "secret": secret,
        },
        NOW,
    )
    assert endpoint.app_id == app.id
    assert (endpoint.uid, endpoint.url, endpoint.description) == (
        "main",
        "https://a.example.com/hook",
        "Main",
    )
    assert (endpoint.event_types, endpoint.channels, endpoint.metadata) == (
        ["invoice.paid"],
        ["eu"],
        {"k": "v"},
    )
    assert [s.key for s in endpoint.secrets] == [secret]
    assert not endpoint.disabled
    assert await endpoints.get(db, "acme", "main") == endpoint
    assert await endpoints.get(db, app.id, endpoint.id) == endpoint

    updated = await endpoints.update_fields(
        db,
        "acme",
        "main",
        {"url": "https://b.example.com/", "event_types": [], "disabled": True, "secret": "x"},
        NOW + 1,
    )
    assert (updated.url, updated.event_types, updated.disabled) == (
        "https://b.example.com/",
        None,
        True,
    )
    assert updated.secrets == endpoint.secrets  # not an editable field

    replaced, created = await endpoints.upsert(
        db, "acme", "main", {"url": "https://c.example.com/"}, NOW + 2
    )
    assert not created
    assert (replaced.id, replaced.uid, replaced.channels, replaced.disabled) == (
        endpoint.id,
        None,
        None,
        False,
    )

    await endpoints.delete_endpoint(db, "acme", endpoint.id, 0)
    with pytest.raises(NotFound):
        await endpoints.get(db, "acme", endpoint.id)


async def test_endpoint_uid_is_unique_per_application(db: Database) -> None:
    first_app = await make_app(db, uid="first")
    second_app = await make_app(db, uid="second")
    await make_endpoint(db, first_app.id, uid="hook")

    with pytest.raises(Conflict):
        await make_endpoint(db, first_app.id, uid="hook")
    other = await make_endpoint(db, second_app.id, uid="hook")

    assert other.app_id == second_app.id
    with pytest.raises(NotFound):
        await endpoints.get(db, first_app.id, other.id)  # wrong application


async def test_endpoint_upsert_creates_with_the_ref_as_uid(db: Database) -> None:
    app = await make_app(db)

    endpoint, created = await endpoints.upsert(
        db, app.id, "billing", {"url": "https://x.example.com/"}, NOW
    )

    assert created
    assert endpoint.uid == "billing"
    with pytest.raises(NotFound):
        await endpoints.upsert(db, "no-such-app", "billing", {"url": "https://x/"}, NOW)


async def test_endpoint_list_page(db: Database) -> None:
    app = await make_app(db)
    created = [await make_endpoint(db, app.id) for _ in range(5)]
    other_app = await make_app(db, uid="other")
    await make_endpoint(db, other_app.id)

    pages = await walk_forwards(
        lambda it: endpoints.list_page(db, app.id, iterator=it, limit=2, descending=False)
    )

    assert [e.id for page in pages for e in page] == [e.id for e in created]


async def test_endpoint_headers_set_and_merge(db: Database) -> None:
    app = await make_app(db)
    endpoint = await make_endpoint(db, app.id)

    await endpoints.set_headers(
        db, app.id, endpoint.id, {"X-One": "1", "X-Two": "2"}, NOW, merge=False
    )
    assert (await endpoints.get(db, app.id, endpoint.id)).headers == {"X-One": "1", "X-Two": "2"}

    await endpoints.set_headers(
        db, app.id, endpoint.id, {"x-one": "uno", "X-Two": None, "X-Three": "3"}, NOW, merge=True
    )
    assert (await endpoints.get(db, app.id, endpoint.id)).headers == {
        "x-one": "uno",
        "X-Three": "3",
    }

    await endpoints.set_headers(db, app.id, endpoint.id, {"X-Only": "o"}, NOW, merge=False)
    assert (await endpoints.get(db, app.id, endpoint.id)).headers == {"X-Only": "o"}


async def test_rotate_secret_keeps_the_old_one_active_for_the_grace_period(
    db: Database,
) -> None:
    app = await make_app(db)
    original = generate_secret()
    endpoint = await make_endpoint(db, app.id, secret=original)
    replacement = generate_secret()

    await endpoints.rotate_secret(db, app.id, endpoint.id, replacement, 1000, NOW)

    rotated = await endpoints.get(db, app.id, endpoint.id)
    assert rotated.active_secrets(NOW) == [replacement, original]
    assert rotated.active_secrets(NOW + 999) == [replacement, original]
    assert rotated.active_secrets(NOW + 1000) == [replacement]

    # A second rotation keeps both older secrets until their own expiry...
    await endpoints.rotate_secret(db, app.id, endpoint.id, None, 5000, NOW + 500)
    twice = await endpoints.get(db, app.id, endpoint.id)
    generated = twice.secrets[0].key
    assert generated.startswith("whsec_")
    assert twice.active_secrets(NOW + 500) == [generated, replacement, original]
    assert twice.active_secrets(NOW + 1000) == [generated, replacement]
    assert twice.active_secrets(NOW + 5500) == [generated]

    # ...and a rotation after an expiry drops the expired secret.
    await endpoints.rotate_secret(db, app.id, endpoint.id, None, 0, NOW + 2000)
    keys = [s.key for s in (await endpoints.get(db, app.id, endpoint.id)).secrets]
    assert original not in keys
    assert keys[1:] == [generated, replacement]


async def test_recover_requeues_failed_deliveries_in_the_window(db: Database) -> None:
    app = await make_app(db)
    endpoint = await make_endpoint(db, app.id)
    other = await make_endpoint(db, app.id)
    queue = SqlDeliveryQueue(db)
    outcomes = []
    for offset in (0, 1000, 2000, 3000):
        [outcome] = await accept_batch(db, [AcceptItem(app.id, "a", b"{}")], NOW + offset, 0)
        outcomes.append(outcome)
    claimed = await queue.claim_due(NOW + 5000, 100, NOW + 60_000)
    assert len(claimed) == 8
    # Every delivery failed, except the newest one to `endpoint`, which succeeded.
    [succeeded] = [j for j in outcomes[3].jobs if j.endpoint.id == endpoint.id]
    for job in claimed:
        job.attempt_count = 3
    await queue.record_results(
        [
            DeliveryResult(
                job,
                DeliveryStatus.SUCCESS
                if job.delivery_id == succeeded.delivery_id
                else DeliveryStatus.FAIL,
                NOW + 5000,
            )
            for job in claimed
        ],
        NOW + 5000,
    )

    recovered = await endpoints.recover(db, app.id, endpoint.id, NOW + 1000, NOW + 2000, NOW + 9000)

    assert recovered == 2
    stored = await all_deliveries(db)
    for index, outcome in enumerate(outcomes):
        for job in outcome.jobs:
            delivery = stored[job.delivery_id]
            if job.endpoint.id == endpoint.id and index in (1, 2):
                assert (delivery.status, delivery.attempt_count) == (DeliveryStatus.PENDING, 0)
                assert (delivery.next_attempt_at, delivery.lease_until) == (NOW + 9000, 0)
            else:
                assert delivery.status != DeliveryStatus.PENDING
    assert {j.endpoint.id for j in claimed} == {endpoint.id, other.id}
    # Open-ended window: what is still failed to this endpoint since the start.
    assert await endpoints.recover(db, app.id, endpoint.id, NOW, None, NOW + 9000) == 1
    assert stored[succeeded.delivery_id].status == DeliveryStatus.SUCCESS


async def test_endpoint_stats_count_deliveries_by_state(db: Database) -> None:
    app = await make_app(db)
    endpoint = await make_endpoint(db, app.id)
    other = await make_endpoint(db, app.id, event_types=["other"])
    jobs = []
    for offset, lease in ((0, 0), (1000, 0), (2000, NOW + 60_000), (3000, 0)):
        [outcome] = await accept_batch(db, [AcceptItem(app.id, "a", b"{}")], NOW + offset, lease)
        jobs.extend(outcome.jobs)
    queue = SqlDeliveryQueue(db)
    await queue.record_results(
        [
            DeliveryResult(jobs[0], DeliveryStatus.SUCCESS, NOW),
            DeliveryResult(jobs[3], DeliveryStatus.FAIL, NOW),
        ],
        NOW,
    )

    stats = await endpoints.stats(db, app.id, endpoint.id, None, None, NOW + 5000)
    assert stats == {"success": 1, "pending": 1, "sending": 1, "fail": 1, "canceled": 0}
    window = await endpoints.stats(db, app.id, endpoint.id, NOW + 1000, NOW + 2000, NOW + 5000)
    assert window == {"success": 0, "pending": 1, "sending": 1, "fail": 0, "canceled": 0}
    # Once the lease has run out, a leased delivery counts as pending again.
    later = await endpoints.stats(db, app.id, endpoint.id, None, None, NOW + 60_001)
    assert (later["pending"], later["sending"]) == (2, 0)
    empty = await endpoints.stats(db, app.id, other.id, None, None, NOW)
    assert sum(empty.values()) == 0


# -- event types -------------------------------------------------------------------------


async def test_event_type_create_archive_and_revive(db: Database) -> None:
    created = await event_types.create(
        db, "invoice.paid", {"description": "Paid", "group_name": "billing"}, NOW
    )
    assert (created.name, created.description, created.group_name, created.archived) == (
        "invoice.paid",
        "Paid",
        "billing",
        False,
    )
    with pytest.raises(Conflict):
        await event_types.create(db, "invoice.paid", {}, NOW)

    await event_types.archive(db, "invoice.paid", NOW + 1, expunge=False)
    assert (await event_types.get(db, "invoice.paid")).archived
    visible = await event_types.list_page(
        db, iterator=None, limit=None, descending=False, include_archived=False
    )
    assert visible.items == []
    everything = await event_types.list_page(
        db, iterator=None, limit=None, descending=False, include_archived=True
    )
    assert [e.name for e in everything.items] == ["invoice.paid"]

    revived = await event_types.create(db, "invoice.paid", {"description": "Again"}, NOW + 2)
    assert (revived.archived, revived.description, revived.created_at) == (False, "Again", NOW)

    await event_types.archive(db, "invoice.paid", NOW + 3, expunge=True)
    with pytest.raises(NotFound):
        await event_types.get(db, "invoice.paid")
    with pytest.raises(NotFound):
        await event_types.archive(db, "invoice.paid", NOW, expunge=False)


async def test_event_type_upsert_and_patch(db: Database) -> None:
    first, created = await event_types.upsert(
        db, "user.created", {"description": "New user", "schemas": {"1": {"type": "object"}}}, NOW
    )
    assert created
    assert first.schemas == {"1": {"type": "object"}}

    second, created = await event_types.upsert(
        db, "user.created", {"description": "Changed"}, NOW + 1
    )
    assert not created
    assert (second.description, second.schemas, second.updated_at) == ("Changed", None, NOW + 1)

    patched = await event_types.patch(
        db, "user.created", {"deprecated": True, "name": "ignored"}, NOW + 2
    )
    assert (patched.name, patched.deprecated, patched.description) == (
        "user.created",
        True,
        "Changed",
    )
    with pytest.raises(NotFound):
        await event_types.patch(db, "nope", {"deprecated": True}, NOW)


async def test_event_types_are_listed_by_name(db: Database) -> None:
    for name in ("c.three", "a.one", "b.two"):
        await event_types.create(db, name, {}, NOW)

    pages = await walk_forwards(
        lambda it: event_types.list_page(
            db, iterator=it, limit=2, descending=False, include_archived=False
        )
    )

    assert [[e.name for e in page] for page in pages] == [["a.one", "b.two"], ["c.three"]]


# -- messages ------------------------------------------------------------------------------


async def send(
    db: Database, app_id: str, event_type: str, channels: list[str] | None, at: int, **kw: Any
) -> Message:
    [outcome] = await accept_batch(
        db, [AcceptItem(app_id, event_type, b"{}", channels=channels, **kw)], at, 0
    )
    assert outcome.status is AcceptStatus.CREATED
    assert outcome.message is not None
    return outcome.message


async def listed(db: Database, app_ref: str, f: ListFilter) -> list[str]:
    page = await message_store.list_messages(db, app_ref, f, iterator=None, limit=None)
    return [m.id for m in page.items]


async def test_message_list_filters(db: Database) -> None:
    app = await make_app(db, uid="acme")
    m1 = await send(db, app.id, "invoice.paid", ["eu"], NOW)
    m2 = await send(db, app.id, "invoice.paid", ["us", "eu"], NOW + 1000)
    m3 = await send(db, app.id, "user.created", None, NOW + 2000)
    m4 = await send(db, app.id, "user.created", ["us", 'odd"chan'], NOW + 3000)
    other_app = await make_app(db, uid="other")
    await send(db, other_app.id, "invoice.paid", ["eu"], NOW)

    assert await listed(db, "acme", ListFilter()) == [m4.id, m3.id, m2.id, m1.id]
    assert await listed(db, "acme", ListFilter(channel="eu")) == [m2.id, m1.id]
    assert await listed(db, "acme", ListFilter(channel="us")) == [m4.id, m2.id]
    assert await listed(db, "acme", ListFilter(channel='odd"chan')) == [m4.id]
    assert await listed(db, "acme", ListFilter(channel="e")) == []  # no substring match
    assert await listed(db, "acme", ListFilter(channel="asia")) == []
    assert await listed(db, "acme", ListFilter(event_types=["user.created"])) == [m4.id, m3.id]
    assert await listed(db, "acme", ListFilter(before=NOW + 2000)) == [m2.id, m1.id]
    assert await listed(db, "acme", ListFilter(after=NOW + 1000)) == [m4.id, m3.id]
    assert await listed(
        db, "acme", ListFilter(channel="us", event_types=["user.created", "x"])
    ) == [m4.id]
    assert await listed(db, "acme", ListFilter(after=NOW, before=NOW + 3000, channel="eu")) == [
        m2.id
    ]


async def test_message_list_pages_newest_first(db: Database) -> None:
    app = await make_app(db)
    sent = [await send(db, app.id, "a", None, NOW + i) for i in range(5)]

    pages = await walk_forwards(
        lambda it: message_store.list_messages(db, app.id, ListFilter(), iterator=it, limit=2)
    )

    assert [[m.id for m in page] for page in pages] == [
        [sent[4].id, sent[3].id],
        [sent[2].id, sent[1].id],
        [sent[0].id],
    ]


async def test_message_is_found_by_id_or_event_id(db: Database) -> None:
    app = await make_app(db)
    message = await send(db, app.id, "a", ["eu"], NOW, event_id="evt_42", tags=["t1"])

    assert await message_store.get_message(db, app.id, message.id) == message
    by_event = await message_store.get_message(db, app.id, "evt_42")
    assert (by_event.id, by_event.channels, by_event.tags) == (message.id, ["eu"], ["t1"])
    with pytest.raises(NotFound):
        await message_store.get_message(db, app.id, "evt_missing")


# -- tokens and idempotency keys ----------------------------------------------------------


async def test_tokens_are_stored_hashed_and_checked(db: Database) -> None:
    token = await tokens.create(db, "admin", NOW)
    chosen = await tokens.create(db, "ci", NOW, token="hg_chosen-token")

    assert token.startswith(tokens.TOKEN_PREFIX)
    assert chosen == "hg_chosen-token"
    assert await tokens.is_valid(db, token)
    assert await tokens.is_valid(db, chosen)
    assert not await tokens.is_valid(db, token + "x")
    assert not await tokens.is_valid(db, "")
    assert await tokens.count(db) == 2
    async with db.read() as conn:
        stored = set((await conn.execute(select(api_tokens.c.token_hash))).scalars())
    assert token not in stored
    assert tokens.hash_token(token) in stored


async def test_idempotency_remember_lookup_and_purge(db: Database) -> None:
    assert await idempotency.lookup(db, "k1") is None

    await idempotency.remember(db, "k1", 201, b'{"id": 1}', NOW)
    await idempotency.remember(db, "k1", 500, b"second answer is ignored", NOW + 1)
    await idempotency.remember(db, "k2", 200, b"", NOW + DAY_MS)

    assert await idempotency.lookup(db, "k1") == (201, b'{"id": 1}')
    assert await idempotency.lookup(db, "k2") == (200, b"")

    await idempotency.purge_expired(db, NOW + DAY_MS + 1)
    assert await idempotency.lookup(db, "k1") is None
    assert await idempotency.lookup(db, "k2") == (200, b"")


async def test_message_keys_are_not_stored_responses_and_are_purged(db: Database) -> None:
    app = await make_app(db)
    await send(db, app.id, "a", None, NOW, idempotency_key="msg-key", event_id="evt_1")

    # Message creation replays the message, not a stored body.
    assert await idempotency.lookup(db, "msg-key") is None
    assert await count_rows(db, idempotency_keys) == 1
    assert await count_rows(db, message_event_ids) == 1

    await idempotency.purge_expired(db, NOW + DAY_MS)
    assert await count_rows(db, idempotency_keys) == 1
    await idempotency.purge_expired(db, NOW + DAY_MS + 1)
    assert await count_rows(db, idempotency_keys) == 0
    assert await count_rows(db, message_event_ids) == 0

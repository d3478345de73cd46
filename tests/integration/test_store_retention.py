"""Message payload retention (``store.retention``) on SQLite and PostgreSQL:
payloads expire ``payloadRetentionPeriod`` days after the message was
created and are then expunged, exactly as ``DELETE .../msg/{id}/content``
does, unless a delivery still needs them."""

from __future__ import annotations

from sqlalchemy import select

from hookgate.core import ids
from hookgate.core.clock import DAY_MS
from hookgate.store import messages as message_store
from hookgate.store.accept_messages import AcceptItem, accept_batch
from hookgate.store.database import Database
from hookgate.store.queue import SqlDeliveryQueue
from hookgate.store.records import AttemptRow, DeliveryResult, DeliveryStatus
from hookgate.store.retention import expunge_expired_payloads
from hookgate.store.tables import messages
from tests.integration.conftest import NOW, all_deliveries, make_app, make_endpoint

FORWARDED = [("X-Github-Event", "push")]


async def create(db: Database, app_id: str, days: int | None = None, *, now_ms: int = NOW) -> str:
    item = AcceptItem(app_id, "invoice.paid", b'{"secret": 1}', headers=FORWARDED)
    if days is not None:
        item.payload_retention_days = days
    [outcome] = await accept_batch(db, [item], now_ms, 0)
    assert outcome.message is not None
    return outcome.message.id


async def expires_at(db: Database, msg_id: str) -> int | None:
    async with db.read() as conn:
        query = select(messages.c.payload_expires_at).where(messages.c.id == msg_id)
        value: int | None = (await conn.execute(query)).scalar_one()
        return value


async def test_the_expiry_is_stored_at_accept_time(db: Database) -> None:
    app = await make_app(db)
    short, default = await create(db, app.id, 5), await create(db, app.id)

    assert await expires_at(db, short) == NOW + 5 * DAY_MS
    assert await expires_at(db, default) == NOW + 90 * DAY_MS


async def test_expired_payloads_are_expunged_and_the_rest_kept(db: Database) -> None:
    app = await make_app(db)
    one_day, ninety_days = await create(db, app.id, 1), await create(db, app.id, 90)

    assert await expunge_expired_payloads(db, NOW + DAY_MS - 1) == 0
    assert await expunge_expired_payloads(db, NOW + DAY_MS) == 1

    gone = await message_store.get_message(db, app.id, one_day)
    assert (gone.payload, gone.headers) == (None, None)
    assert (gone.event_type, gone.created_at) == ("invoice.paid", NOW)
    assert await expires_at(db, one_day) is None
    kept = await message_store.get_message(db, app.id, ninety_days)
    assert (kept.payload, kept.headers) == (b'{"secret": 1}', FORWARDED)
    # Idempotent: a second pass finds nothing more.
    assert await expunge_expired_payloads(db, NOW + 89 * DAY_MS) == 0
    assert await expunge_expired_payloads(db, NOW + 90 * DAY_MS) == 1


async def test_retention_does_to_the_row_what_the_expunge_endpoint_does(db: Database) -> None:
    app = await make_app(db)
    expired, expunged = await create(db, app.id, 1), await create(db, app.id, 1)
    await message_store.expunge_message(db, app.id, expunged)

    assert await expunge_expired_payloads(db, NOW + DAY_MS) == 1

    async with db.read() as conn:
        found = await conn.execute(
            select(messages).where(messages.c.id.in_([expired, expunged])).order_by(messages.c.id)
        )
        first, second = ({k: v for k, v in row._mapping.items() if k != "id"} for row in found)
    assert first == second
    assert (first["payload"], first["headers"], first["payload_expires_at"]) == (None,) * 3


async def test_a_pending_delivery_keeps_the_payload_until_it_ends(db: Database) -> None:
    app = await make_app(db)
    endpoint = await make_endpoint(db, app.id)
    msg_id = await create(db, app.id, 1)
    [delivery] = (await all_deliveries(db)).values()
    assert delivery.status == DeliveryStatus.PENDING

    assert await expunge_expired_payloads(db, NOW + 2 * DAY_MS) == 0
    message = await message_store.get_message(db, app.id, msg_id)
    assert message.payload == b'{"secret": 1}'

    # The delivery ends (here: it succeeds); the next pass expunges.
    queue = SqlDeliveryQueue(db)
    later = NOW + 2 * DAY_MS
    [job] = await queue.claim_due(later, 10, later + 60_000)
    assert job.endpoint.id == endpoint.id
    attempt = AttemptRow(
        id=ids.new_id(ids.ATTEMPT),
        url=endpoint.url,
        status=DeliveryStatus.SUCCESS,
        response_status_code=200,
        response=b"ok",
        response_duration_ms=1,
        error_kind=None,
        error_message=None,
        created_at=later,
    )
    await queue.record_results([DeliveryResult(job, DeliveryStatus.SUCCESS, later, attempt)], later)
    assert await expunge_expired_payloads(db, later + 1) == 1

    assert (await message_store.get_message(db, app.id, msg_id)).payload is None
    # The message's attempts stay.
    page = await message_store.list_attempts(
        db, app.id, message_store.ListFilter(), msg_ref=msg_id, iterator=None, limit=None
    )
    assert [a.response for a in page.items] == [b"ok"]


async def test_failed_and_successful_deliveries_do_not_protect_the_payload(db: Database) -> None:
    app = await make_app(db)
    await make_endpoint(db, app.id)
    msg_id = await create(db, app.id, 1)
    queue = SqlDeliveryQueue(db)
    [job] = await queue.claim_due(NOW, 10, NOW + 60_000)
    await queue.record_results([DeliveryResult(job, DeliveryStatus.FAIL, NOW)], NOW)

    assert await expunge_expired_payloads(db, NOW + DAY_MS) == 1
    assert (await message_store.get_message(db, app.id, msg_id)).payload is None


async def test_many_expired_payloads_are_expunged_in_batches(db: Database) -> None:
    app = await make_app(db)
    items = [AcceptItem(app.id, "invoice.paid", b"{}", payload_retention_days=5)] * 7
    await accept_batch(db, items, NOW, 0)
    await create(db, app.id, 90)

    assert await expunge_expired_payloads(db, NOW + 5 * DAY_MS, batch=3) == 7

    async with db.read() as conn:
        left = (await conn.execute(select(messages.c.payload))).scalars().all()
    assert sorted(left, key=lambda p: p is None) == [b'{"secret": 1}'] + [None] * 7

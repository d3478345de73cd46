"""The dashboard's message search (``store.message_search``) on SQLite and
PostgreSQL: outcomes follow every delivery of a message, tags, channels and
the message id or eventId match, and each message comes with its counts."""

from __future__ import annotations

from hookgate.core import ids
from hookgate.store import message_search
from hookgate.store.database import Database
from hookgate.store.message_search import DeliveryCounts, MessageQuery, Outcome
from hookgate.store.records import DeliveryStatus, Endpoint
from hookgate.store.tables import deliveries, messages
from tests.integration.conftest import NOW, execute, make_app, make_endpoint


async def _message(
    db: Database,
    app_id: str,
    *statuses: tuple[Endpoint, DeliveryStatus],
    event_id: str | None = None,
    tags: list[str] | None = None,
    channels: list[str] | None = None,
    created_at: int = NOW,
) -> str:
    msg_id = ids.new_id(ids.MESSAGE)
    await execute(
        db,
        messages.insert().values(
            id=msg_id,
            app_id=app_id,
            event_type="order.paid",
            event_id=event_id,
            tags=tags,
            channels=channels,
            payload=b"{}",
            created_at=created_at,
        ),
    )
    for endpoint, status in statuses:
        await execute(
            db,
            deliveries.insert().values(
                id=ids.new_id(ids.DELIVERY),
                msg_id=msg_id,
                app_id=app_id,
                endpoint_id=endpoint.id,
                status=status,
                attempt_count=1,
                next_attempt_at=NOW,
                lease_until=0,
                trigger_type=0,
                created_at=NOW,
                updated_at=NOW,
            ),
        )
    return msg_id


async def _search(db: Database, app_id: str, **criteria: object) -> list[str]:
    page = await message_search.search_messages(
        db,
        app_id,
        MessageQuery(**criteria),
        iterator=None,
        limit=50,  # type: ignore[arg-type]
    )
    return [found.message.id for found in page.items]


async def test_outcomes_follow_every_delivery(db: Database) -> None:
    app = await make_app(db)
    one, two = await make_endpoint(db, app.id), await make_endpoint(db, app.id)
    ok, pending, fail = DeliveryStatus.SUCCESS, DeliveryStatus.PENDING, DeliveryStatus.FAIL
    all_ok = await _message(db, app.id, (one, ok), (two, ok))
    half_failed = await _message(db, app.id, (one, ok), (two, fail))
    half_pending = await _message(db, app.id, (one, ok), (two, pending))
    unrouted = await _message(db, app.id)

    assert await _search(db, app.id, outcome=Outcome.SUCCESS) == [all_ok]
    assert await _search(db, app.id, outcome=Outcome.FAILED) == [half_failed]
    assert await _search(db, app.id, outcome=Outcome.PENDING) == [half_pending]
    assert await _search(db, app.id, outcome=Outcome.UNROUTED) == [unrouted]
    page = await message_search.search_messages(db, app.id, MessageQuery(), iterator=None, limit=50)
    counts = {found.message.id: found.counts for found in page.items}
    assert counts == {
        all_ok: DeliveryCounts(success=2),
        half_failed: DeliveryCounts(success=1, failed=1),
        half_pending: DeliveryCounts(success=1, pending=1),
        unrouted: DeliveryCounts(),
    }


async def test_tags_channels_references_and_times(db: Database) -> None:
    app = await make_app(db)
    other_app = await make_app(db, name="Other")
    tagged = await _message(db, app.id, tags=["vip", "eu"], channels=["billing"])
    by_event_id = await _message(db, app.id, event_id="order-42", created_at=NOW + 1000)
    await _message(db, other_app.id, event_id="order-42", tags=["vip"])

    assert await _search(db, app.id, tag="vip") == [tagged]
    assert await _search(db, app.id, tag="vi") == []
    assert await _search(db, app.id, channel="billing") == [tagged]
    assert await _search(db, app.id, ref="order-42") == [by_event_id]
    assert await _search(db, app.id, ref=tagged) == [tagged]
    assert await _search(db, app.id, after=NOW) == [by_event_id]
    assert await _search(db, app.id, before=NOW + 1000) == [tagged]
    assert await _search(db, app.id, event_types=["order.paid"]) == [by_event_id, tagged]
    assert await _search(db, app.id, event_types=["other"]) == []

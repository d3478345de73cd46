"""What the application and endpoint pages read (``store.endpoint_activity``)
on SQLite and PostgreSQL, and that neither those reads nor the overview's
walk a whole table: on SQLite, every query they run searches an index
(``EXPLAIN QUERY PLAN``), so a 100,000-message application costs what a
ten-message one does."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, insert

from hookgate.core.clock import now_ms
from hookgate.store import endpoint_activity, overview
from hookgate.store.database import Database
from hookgate.store.records import DeliveryStatus
from hookgate.store.tables import endpoint_throttles
from tests.integration.conftest import execute, make_app, make_endpoint
from tests.integration.test_store_overview import attempt, delivery, message

#: Tables that grow with traffic: no query of the pages may scan them.
_BIG = ("messages", "attempts", "deliveries", "inbound_requests")


async def test_activity_is_the_newest_attempts_and_the_endpoints_state(db: Database) -> None:
    now = now_ms()
    app = await make_app(db)
    ep = await make_endpoint(db, app.id)
    quiet = await make_endpoint(db, app.id, url="https://example.com/quiet")
    msg_id = await message(db, ep, now)
    delivery_id = await delivery(db, ep, msg_id, DeliveryStatus.FAIL, next_attempt_at=now)
    for n in range(5):
        status = DeliveryStatus.SUCCESS if n % 2 else DeliveryStatus.FAIL
        await attempt(db, ep, msg_id, delivery_id, status, now + n)
    await execute(
        db, insert(endpoint_throttles).values(endpoint_id=ep.id, next_send_at=0, paused_until=now)
    )

    found = await endpoint_activity.activity(db, [ep.id, quiet.id], recent=3)

    mine = found[ep.id]
    assert [a.created_at for a in mine.recent] == [now + 4, now + 3, now + 2]
    assert [a.status for a in mine.recent] == [
        DeliveryStatus.FAIL,
        DeliveryStatus.SUCCESS,
        DeliveryStatus.FAIL,
    ]
    assert all(a.response is None for a in mine.recent)
    assert mine.paused_until == now
    assert found[quiet.id].recent == []
    assert found[quiet.id].paused_until is None
    assert await endpoint_activity.activity(db, [], recent=3) == {}


async def test_recent_deliveries_newest_first_with_the_event_type(db: Database) -> None:
    now = now_ms()
    app = await make_app(db)
    ep = await make_endpoint(db, app.id)
    other = await make_endpoint(db, app.id, url="https://example.com/other")
    made = []
    for n in range(4):
        msg_id = await message(db, ep, now + n)
        made.append(await delivery(db, ep, msg_id, DeliveryStatus.SUCCESS, next_attempt_at=now))
        await delivery(db, other, msg_id, DeliveryStatus.PENDING, next_attempt_at=now)

    recent = await endpoint_activity.recent_deliveries(db, ep.id, limit=3)

    assert [r.delivery.id for r in recent] == made[:0:-1]
    assert {r.event_type for r in recent} == {"t"}
    assert recent[0].msg_created_at == now + 3
    assert {r.delivery.endpoint_id for r in recent} == {ep.id}
    older = await endpoint_activity.recent_deliveries(
        db, ep.id, limit=3, before=recent[-1].delivery.id
    )
    assert [r.delivery.id for r in older] == [made[0]]


async def test_the_pages_queries_search_indexes(sqlite_db: Database) -> None:
    db = sqlite_db
    now = now_ms()
    app = await make_app(db)
    ep = await make_endpoint(db, app.id)
    msg_id = await message(db, ep, now)
    delivery_id = await delivery(db, ep, msg_id, DeliveryStatus.SUCCESS, next_attempt_at=now)
    await attempt(db, ep, msg_id, delivery_id, DeliveryStatus.SUCCESS, now)
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        await endpoint_activity.activity(db, [ep.id], recent=30)
        await endpoint_activity.recent_deliveries(db, ep.id, limit=25)
        await endpoint_activity.recent_deliveries(db, ep.id, limit=25, before=delivery_id)
        await overview.overview(db, now)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)

    assert len(statements) >= 10
    for statement, parameters in statements:
        async with db.read() as conn:
            plan = [
                row[-1]
                for row in await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            ]
        for step in plan:
            scanned = step.startswith("SCAN") and any(f" {t}" in step for t in _BIG)
            assert not scanned, f"{step!r} in the plan of {statement}"

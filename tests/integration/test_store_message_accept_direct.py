"""The embedded database's one-step accept (``store.message_accept``): a batch
whose applications and endpoints are cached is stored on the driver's thread
with the same rows the SQLAlchemy path writes, and a batch it cannot take
is stored the usual way."""

from __future__ import annotations

from typing import Any

import pytest

from hookgate.store import driver_sql, message_accept
from hookgate.store.accept_messages import AcceptItem, AcceptStatus
from hookgate.store.database import Database
from hookgate.store.message_accept import SqlMessageAccept
from tests.integration.conftest import NOW, make_app, make_endpoint


def _item(app_id: str, **fields: Any) -> AcceptItem:
    return AcceptItem(app_ref=app_id, event_type="invoice.paid", payload=b'{"n": 1}', **fields)


async def _not_the_usual_way(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("stored the usual way")


async def _rows(db: Database, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    async with db.read() as conn:
        return [tuple(row) for row in (await conn.exec_driver_sql(sql, params)).all()]


async def test_a_cached_batch_is_stored_as_the_usual_way_stores_it(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = sqlite_db
    app = await make_app(db)
    await make_endpoint(db, app.id)
    accept = SqlMessageAccept(db)
    shapes = [
        {"channels": ["eu", "us"], "tags": ["t"], "idempotency_key": "a"},
        {"headers": [("X-A", "1")], "payload_retention_days": 3},
        {},
    ]
    # The first batch fills the fan-out cache (the usual way), the second
    # finds everything cached (one step on the driver's thread).
    first = await accept.accept_batch([_item(app.id, **shape) for shape in shapes], NOW, 0)
    monkeypatch.setattr(message_accept, "accept_batch", _not_the_usual_way)
    again = [{**shapes[0], "idempotency_key": "b"}, {**shapes[1], "idempotency_key": "c"}, {}]
    second = await accept.accept_batch([_item(app.id, **shape) for shape in again], NOW, 5)

    assert [o.status for o in first + second] == [AcceptStatus.CREATED] * 6
    columns = "app_id, event_type, event_id, channels, tags, payload, created_at, headers,"
    columns += " payload_expires_at, typeof(payload)"
    for one, two in zip(first, second, strict=True):
        assert one.message is not None
        assert two.message is not None
        [stored_one] = await _rows(
            db, f"SELECT {columns} FROM messages WHERE id = ?", one.message.id
        )
        [stored_two] = await _rows(
            db, f"SELECT {columns} FROM messages WHERE id = ?", two.message.id
        )
        assert stored_two == stored_one
        [job] = two.jobs
        [delivery] = await _rows(
            db,
            "SELECT msg_id, endpoint_id, status, attempt_count, next_attempt_at, lease_until,"
            " trigger_type, created_at, updated_at FROM deliveries WHERE id = ?",
            job.delivery_id,
        )
        assert delivery == (two.message.id, job.endpoint.id, 1, 0, NOW, 5, 0, NOW, NOW)
    keys = await _rows(db, "SELECT key, status_code, msg_id FROM idempotency_keys ORDER BY key")
    assert [(status, msg_id) for _, status, msg_id in keys] == [
        (202, first[0].message.id if first[0].message else None),
        (202, second[0].message.id if second[0].message else None),
        (202, second[1].message.id if second[1].message else None),
    ]


async def test_a_batch_with_a_used_key_rolls_back_and_replays(sqlite_db: Database) -> None:
    db = sqlite_db
    app = await make_app(db)
    await make_endpoint(db, app.id)
    accept = SqlMessageAccept(db)
    [first] = await accept.accept_batch([_item(app.id, idempotency_key="k")], NOW, 0)

    fresh, replayed = await accept.accept_batch(
        [_item(app.id, idempotency_key="new"), _item(app.id, idempotency_key="k")], NOW, 0
    )

    assert fresh.status is AcceptStatus.CREATED
    assert replayed.status is AcceptStatus.REPLAYED
    assert replayed.message is not None
    assert first.message is not None
    assert replayed.message.id == first.message.id
    assert await _rows(db, "SELECT count(*) FROM messages") == [(2,)]
    assert await _rows(db, "SELECT count(*) FROM deliveries") == [(2,)]


async def test_a_key_given_twice_in_one_batch_is_created_once_and_replayed(
    sqlite_db: Database,
) -> None:
    db = sqlite_db
    app = await make_app(db)
    await make_endpoint(db, app.id)
    accept = SqlMessageAccept(db)
    await accept.accept_batch([_item(app.id)], NOW, 0)  # fills the fan-out cache

    first, second = await accept.accept_batch(
        [_item(app.id, idempotency_key="twice"), _item(app.id, idempotency_key="twice")], NOW, 0
    )

    assert first.status is AcceptStatus.CREATED
    assert second.status is AcceptStatus.REPLAYED
    assert await _rows(db, "SELECT count(*) FROM messages") == [(2,)]


async def test_a_batch_larger_than_one_statement_is_stored_whole(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = sqlite_db
    app = await make_app(db)
    for _ in range(3):
        await make_endpoint(db, app.id)
    accept = SqlMessageAccept(db)
    await accept.accept_batch([_item(app.id)], NOW, 0)  # fills the fan-out cache
    # A few rows per statement: the batch's rows take several statements.
    monkeypatch.setattr(driver_sql, "MAX_PARAMETERS", 25)
    monkeypatch.setattr(message_accept, "accept_batch", _not_the_usual_way)

    outcomes = await accept.accept_batch(
        [_item(app.id, idempotency_key=str(n)) for n in range(7)], NOW, 0
    )

    assert [o.status for o in outcomes] == [AcceptStatus.CREATED] * 7
    assert await _rows(db, "SELECT count(*) FROM messages") == [(8,)]
    assert await _rows(db, "SELECT count(*) FROM deliveries") == [(24,)]
    assert await _rows(db, "SELECT count(*) FROM idempotency_keys") == [(7,)]

"""Downgrading the schema and upgrading it again keeps the data, on SQLite
and PostgreSQL. On SQLite no migration may rebuild a table that others
reference (``sources``, ``messages``, ``endpoints``): with ``foreign_keys=ON``
dropping the old table cascade-deletes every row that points at it."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Connection, func, select

from hookgate.store import inbound_requests
from hookgate.store.database import Database
from hookgate.store.migrate import alembic_config
from hookgate.store.tables import attempts, deliveries, messages
from hookgate.store.tables import inbound_requests as requests_table
from tests.integration.conftest import NOW, make_app, make_endpoint
from tests.integration.migration_rows import insert_failed_delivery
from tests.integration.test_store_sources import make_source, request


async def _counts(db: Database) -> list[int]:
    async with db.read() as conn:
        return [
            int((await conn.execute(select(func.count()).select_from(table))).scalar() or 0)
            for table in (requests_table, messages, deliveries, attempts)
        ]


async def _store_a_failed_delivery(db: Database) -> None:
    app = await make_app(db)
    endpoint = await make_endpoint(db, app.id)
    times = {"created_at": NOW}
    async with db.write() as conn:
        await conn.execute(
            messages.insert().values(
                id="msg_1", app_id=app.id, event_type="invoice.paid", payload=b"{}", **times
            )
        )
        await insert_failed_delivery(conn, endpoint, "msg_1")


async def test_downgrading_to_0002_and_back_keeps_inbound_requests_and_messages(
    db: Database,
) -> None:
    source = await make_source(db)
    await inbound_requests.record_request(db, request(source), dedupe_window_ms=60_000)
    await _store_a_failed_delivery(db)
    assert await _counts(db) == [1, 1, 1, 1]

    def downgrade(connection: Connection) -> None:
        command.downgrade(alembic_config(connection), "0002")

    async with db.write() as conn:
        await conn.run_sync(downgrade)
    assert await _counts(db) == [1, 1, 1, 1]

    await db.create_schema()
    assert await _counts(db) == [1, 1, 1, 1]

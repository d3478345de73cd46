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
from hookgate.store.records import DeliveryStatus
from hookgate.store.tables import attempts, deliveries, messages
from hookgate.store.tables import inbound_requests as requests_table
from tests.integration.conftest import NOW, make_app, make_endpoint
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
        await conn.execute(
            deliveries.insert().values(
                id="dlv_1",
                msg_id="msg_1",
                app_id=app.id,
                endpoint_id=endpoint.id,
                status=DeliveryStatus.FAIL,
                attempt_count=1,
                next_attempt_at=NOW,
                updated_at=NOW,
                **times,
            )
        )
        await conn.execute(
            attempts.insert().values(
                id="atmpt_1",
                msg_id="msg_1",
                endpoint_id=endpoint.id,
                app_id=app.id,
                delivery_id="dlv_1",
                url=endpoint.url,
                status=DeliveryStatus.FAIL,
                response_status_code=500,
                response=b"",
                response_duration_ms=1,
                trigger_type=0,
                **times,
            )
        )


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

"""Migration 0005 (payload retention, endpoint failure streaks) on a database
holding data, on SQLite and PostgreSQL: existing payloads get the default
90-day expiry, already expunged ones none, and nothing is lost (on SQLite
the tables must not be rebuilt: that would cascade-delete their deliveries
and attempts)."""

from __future__ import annotations

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, func, select, text

from hookgate.core.clock import DAY_MS
from hookgate.store.database import Database
from hookgate.store.migrate import alembic_config
from hookgate.store.tables import attempts, deliveries, endpoints, messages
from tests.integration.conftest import NOW, make_app, make_endpoint
from tests.integration.migration_rows import insert_failed_delivery


def _downgrade_to_0004(connection: Connection) -> None:
    command.downgrade(alembic_config(connection), "0004")


async def _version(db: Database) -> str | None:
    async with db.read() as conn:
        version: str | None = (
            await conn.execute(text("SELECT version_num FROM alembic_version"))
        ).scalar()
        return version


async def test_upgrading_existing_data_to_0005(db: Database) -> None:
    app = await make_app(db)
    endpoint = await make_endpoint(db, app.id)
    async with db.write() as conn:
        await conn.run_sync(_downgrade_to_0004)
    assert await _version(db) == "0004"

    old_columns = [c for c in messages.c if c.name != "payload_expires_at"]
    async with db.write() as conn:
        for msg_id, payload in (("msg_kept", b"{}"), ("msg_expunged", None)):
            await conn.execute(
                messages.insert().values(
                    id=msg_id,
                    app_id=app.id,
                    event_type="invoice.paid",
                    payload=payload,
                    created_at=NOW,
                )
            )
        await insert_failed_delivery(conn, endpoint, "msg_kept")
        assert len((await conn.execute(select(*old_columns))).all()) == 2

    await db.create_schema()

    assert await _version(db) == ScriptDirectory.from_config(alembic_config()).get_current_head()
    async with db.read() as conn:
        expiry = dict(
            (await conn.execute(select(messages.c.id, messages.c.payload_expires_at))).all()
        )
        failing = (await conn.execute(select(endpoints.c.failing_since))).scalars().all()
        counts = [
            (await conn.execute(select(func.count()).select_from(table))).scalar()
            for table in (deliveries, attempts)
        ]
    assert expiry == {"msg_kept": NOW + 90 * DAY_MS, "msg_expunged": None}
    assert failing == [None]
    assert counts == [1, 1]

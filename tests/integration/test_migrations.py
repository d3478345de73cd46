"""The Alembic migrations build exactly the schema the code uses."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, text

from hookgate.store.database import Database
from hookgate.store.tables import metadata


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def test_migrating_an_empty_database_matches_the_models(db: Database) -> None:
    async with db.read() as conn:
        assert await conn.run_sync(_differences) == []
        version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    assert version is not None


async def test_migrating_twice_is_harmless(db: Database) -> None:
    await db.create_schema()
    async with db.read() as conn:
        assert await conn.run_sync(_differences) == []

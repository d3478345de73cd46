"""``Database.run_write``: the delivery hot path's transactions, run on a
synchronous connection (SQLite: in a thread of their own), on SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
import threading

import pytest
from sqlalchemy import Connection, select, update

from hookgate.store.database import Database
from hookgate.store.tables import applications
from tests.integration.conftest import make_app


def _rename(conn: Connection, app_id: str, name: str) -> str:
    conn.execute(update(applications).where(applications.c.id == app_id).values(name=name))
    return name


async def _name(db: Database, app_id: str) -> str:
    async with db.read() as conn:
        query = select(applications.c.name).where(applications.c.id == app_id)
        return str((await conn.execute(query)).scalar_one())


async def test_what_the_function_writes_is_committed_and_its_result_returned(
    db: Database,
) -> None:
    app = await make_app(db)
    assert await db.run_write(lambda conn: _rename(conn, app.id, "Renamed")) == "Renamed"
    assert await _name(db, app.id) == "Renamed"


async def test_a_function_that_raises_writes_nothing(db: Database) -> None:
    app = await make_app(db, name="Kept")

    def rename_then_fail(conn: Connection) -> None:
        _rename(conn, app.id, "Lost")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await db.run_write(rename_then_fail)
    assert await _name(db, app.id) == "Kept"


# SQLite only: PostgreSQL runs the function on the event loop (run_sync).
@pytest.mark.parametrize("db_factory", ["sqlite"], indirect=True)
async def test_a_cancelled_caller_leaves_the_write_lock_held_until_the_transaction_ends(
    db: Database,
) -> None:
    """On SQLite the transaction runs to its end in its thread; no other
    write of this process starts before it has."""
    app = await make_app(db)
    entered, release = threading.Event(), threading.Event()

    def slow_rename(conn: Connection) -> str:
        entered.set()
        release.wait(timeout=10)
        return _rename(conn, app.id, "First")

    first = asyncio.create_task(db.run_write(slow_rename))
    await asyncio.to_thread(entered.wait, 10)
    first.cancel()
    second = asyncio.create_task(db.run_write(lambda conn: _rename(conn, app.id, "Second")))
    await asyncio.sleep(0)
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await second == "Second"
    # The second write ran after the first had ended, whatever became of it.
    assert await _name(db, app.id) == "Second"

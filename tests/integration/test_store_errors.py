"""The store speaks ``store.errors`` only: driver errors are translated at the
``Database`` boundary, on SQLite and PostgreSQL, without leaking values."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from hookgate.store import applications
from hookgate.store.database import Database
from hookgate.store.errors import (
    Conflict,
    ConstraintViolated,
    InvalidValue,
    StoreRejected,
    StoreUnavailable,
)
from hookgate.store.queue import SqlDeliveryQueue
from hookgate.store.tables import endpoints
from tests.fakes import wait_until
from tests.integration.conftest import NOW, PG_URL, make_app

SECRET = "whsec_c2VjcmV0LXRoYXQtbXVzdC1uZXZlci1iZS1sb2dnZWQ="


def _endpoint_row(app_id: str, url: str = "https://example.com/hook") -> dict[str, object]:
    return {
        "id": "ep_2fX0aaaaaaaaaaaaaaaaaaaaaaaa",
        "app_id": app_id,
        "url": url,
        "description": "",
        "disabled": False,
        "metadata": {},
        "headers": {},
        "secrets": [{"key": SECRET, "expires_at": None}],
        "created_at": NOW,
        "updated_at": NOW,
    }


async def test_a_broken_foreign_key_is_rejected_without_its_values(db: Database) -> None:
    with pytest.raises(ConstraintViolated) as caught:
        async with db.write() as conn:
            await conn.execute(endpoints.insert().values(_endpoint_row("app_missing")))

    assert isinstance(caught.value, StoreRejected)
    assert SECRET not in str(caught.value)
    assert "INSERT" not in str(caught.value)
    async with db.read() as conn:  # nothing half-written
        assert (await conn.execute(endpoints.select())).first() is None


async def test_a_taken_uid_is_a_conflict(db: Database) -> None:
    await make_app(db, uid="acme")
    with pytest.raises(Conflict):
        await applications.create(db, {"name": "Again", "uid": "acme"}, NOW)


async def test_a_value_postgresql_text_cannot_hold_is_an_invalid_value() -> None:
    db = Database(PG_URL)
    try:
        with pytest.raises(InvalidValue, match="0x00") as caught:
            async with db.read() as conn:
                await conn.exec_driver_sql("SELECT $1::text", ("nul\x00inside",))
        assert "nul" not in str(caught.value)
    finally:
        await db.dispose()


async def test_an_unreachable_postgresql_is_unavailable() -> None:
    db = Database("postgresql+asyncpg://root@127.0.0.1:1/test")
    try:
        with pytest.raises(StoreUnavailable):
            await SqlDeliveryQueue(db).claim_due(NOW, 10, NOW + 1000)
        with pytest.raises(StoreUnavailable):
            await db.ping()
    finally:
        await db.dispose()


async def test_an_unopenable_sqlite_file_is_unavailable(tmp_path: Path) -> None:
    threads_before = set(threading.enumerate())
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/no/such/dir/t.db")
    try:
        with pytest.raises(StoreUnavailable, match="unable to open"):
            await db.create_schema()
    finally:
        await db.dispose()
    # aiosqlite stops the thread of a connection that failed to open without
    # waiting for it; let it finish while this test's event loop still runs.
    await wait_until(
        lambda: set(threading.enumerate()) <= threads_before, what="aiosqlite's thread"
    )


async def test_errors_of_our_own_making_are_not_disguised(db: Database) -> None:
    """SQL the database cannot parse is a bug, not an outage: it is not
    turned into ``StoreUnavailable`` (which callers would retry for ever)."""
    with pytest.raises(Exception) as caught:
        async with db.read() as conn:
            await conn.exec_driver_sql("SELECT * FROM no_such_table")
    assert not isinstance(caught.value, StoreRejected)
    if not db.is_sqlite:  # SQLite reports a missing table as an OperationalError
        assert not isinstance(caught.value, StoreUnavailable)

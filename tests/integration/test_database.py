"""Database settings that matter to operators."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from hookgate.store.database import Database
from tests.integration.conftest import PG_URL


async def test_the_statement_timeout_cancels_long_statements_on_postgresql() -> None:
    db = Database(PG_URL, statement_timeout_ms=200)
    try:
        async with db.read() as conn:
            assert (await conn.execute(text("SELECT 1"))).scalar() == 1
            with pytest.raises(DBAPIError, match="statement timeout"):
                await conn.execute(text("SELECT pg_sleep(3)"))
    finally:
        await db.dispose()


async def test_no_statement_timeout_by_default_on_postgresql() -> None:
    db = Database(PG_URL)
    try:
        async with db.read() as conn:
            value = (await conn.execute(text("SHOW statement_timeout"))).scalar()
        assert value == "0"
    finally:
        await db.dispose()

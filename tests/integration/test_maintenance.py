"""The periodic maintenance pass of API processes (``api.app.purge_expired``),
on SQLite and PostgreSQL: received requests past the retention and expired
dedupe entries go; everything younger stays."""

from __future__ import annotations

from sqlalchemy import func, select

from hookgate.api.app import purge_expired
from hookgate.config import Settings
from hookgate.store import inbound_requests, inbound_search
from hookgate.store.database import Database
from hookgate.store.tables import inbound_dedupe
from tests.integration.conftest import NOW
from tests.integration.test_store_sources import WINDOW_MS, make_source, request

DAY_MS = 86_400_000


async def test_old_requests_and_expired_dedupe_entries_are_purged(db: Database) -> None:
    source = await make_source(db)
    old = request(source, NOW - 3 * DAY_MS, event_id="old")
    recent = request(source, NOW - DAY_MS // 2, event_id="recent")
    for item in (old, recent):
        await inbound_requests.record_request(db, item, dedupe_window_ms=WINDOW_MS)

    await purge_expired(db, Settings(inbound_retention_days=2), NOW)

    page = await inbound_search.list_requests(
        db, source.id, inbound_search.RequestFilter(), iterator=None, limit=None
    )
    assert [item.id for item in page.items] == [recent.id]
    # Both dedupe windows (60 s) are over: their entries are gone.
    async with db.read() as conn:
        left = (await conn.execute(select(func.count()).select_from(inbound_dedupe))).scalar()
    assert left == 0


async def test_retention_zero_keeps_every_request(db: Database) -> None:
    source = await make_source(db)
    ancient = request(source, NOW - 400 * DAY_MS, event_id=None)
    await inbound_requests.record_request(db, ancient, dedupe_window_ms=0)

    await purge_expired(db, Settings(inbound_retention_days=0), NOW)

    page = await inbound_search.list_requests(
        db, source.id, inbound_search.RequestFilter(), iterator=None, limit=None
    )
    assert [item.id for item in page.items] == [ancient.id]

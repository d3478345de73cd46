"""Migration 0006 (received requests' ``status`` column) on a database
holding requests, on SQLite and PostgreSQL: each existing request gets the
status its rejection text implied, and the ``status`` search finds it."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Connection

from hookgate.store import inbound_requests, inbound_search
from hookgate.store.database import Database
from hookgate.store.inbound_requests import RequestStatus
from hookgate.store.inbound_search import RequestFilter
from hookgate.store.migrate import alembic_config
from hookgate.store.tables import inbound_requests as requests_table
from tests.integration.conftest import NOW
from tests.integration.test_store_sources import make_source


def _downgrade_to_0005(connection: Connection) -> None:
    command.downgrade(alembic_config(connection), "0005")


async def _ids_with(db: Database, source_id: str, status: RequestStatus) -> set[str]:
    page = await inbound_search.list_requests(
        db, source_id, RequestFilter(status=status), iterator=None, limit=None
    )
    return {item.id for item in page.items}


async def test_existing_requests_get_the_status_their_rejection_implied(db: Database) -> None:
    source = await make_source(db)
    async with db.write() as conn:
        await conn.run_sync(_downgrade_to_0005)
    rejections = {
        "inreq_accepted": None,
        "inreq_duplicate": "duplicate of inreq_accepted",
        "inreq_rejected": "signature does not match",
        "inreq_case": "Duplicate of inreq_accepted",  # not the exact prefix
    }
    # The columns of 0005: without status (this migration) and message_id (0011).
    old_columns = [c for c in requests_table.c if c.name not in ("status", "message_id")]
    async with db.write() as conn:
        for request_id, rejection in rejections.items():
            row = {
                "id": request_id,
                "source_id": source.id,
                "received_at": NOW,
                "method": "POST",
                "path": "/in/x",
                "query": "",
                "headers": [],
                "body": b"{}",
                "source_ip": None,
                "verified": True,
                "rejection": rejection,
                "event_id": None,
                "event_type": None,
            }
            assert set(row) == {c.name for c in old_columns}
            await conn.execute(requests_table.insert().values(row))

    await db.create_schema()

    assert await _ids_with(db, source.id, RequestStatus.ACCEPTED) == {"inreq_accepted"}
    assert await _ids_with(db, source.id, RequestStatus.DUPLICATE) == {"inreq_duplicate"}
    assert await _ids_with(db, source.id, RequestStatus.REJECTED) == {
        "inreq_rejected",
        "inreq_case",
    }
    stored = await inbound_search.get_request(db, source.id, "inreq_duplicate")
    assert stored.rejection == "duplicate of inreq_accepted"
    assert inbound_requests.is_duplicate(stored)

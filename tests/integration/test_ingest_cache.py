"""The embedded mode's cache of what ``/in/{key}`` names
(``store.source_lookup.IngestCache``): requests that miss it at the same time
share one read."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import event

from hookgate.store import source_lookup
from hookgate.store.database import Database
from hookgate.store.errors import NotFound
from tests.integration.conftest import NOW
from tests.integration.test_store_sources import make_source


async def test_concurrent_misses_of_a_source_read_it_once(sqlite_db: Database) -> None:
    """Every connection's request misses together when an entry expires under
    load (or after a start): one read serves them all, found or not. Only the
    embedded mode caches sources; PostgreSQL reads each time."""
    db = sqlite_db
    source = await make_source(db)
    reads: list[str] = []

    def count_source_reads(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "FROM sources" in statement:
            reads.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count_source_reads)
    try:
        found = await asyncio.gather(
            *(source_lookup.get_for_ingest(db, "gh", NOW) for _ in range(64))
        )
        missing = await asyncio.gather(
            *(source_lookup.get_for_ingest(db, "nope", NOW) for _ in range(8)),
            return_exceptions=True,
        )
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count_source_reads)
    assert {s.id for s in found} == {source.id}
    assert all(isinstance(answer, NotFound) for answer in missing)
    assert len(reads) == 2

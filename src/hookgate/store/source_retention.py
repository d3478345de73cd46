"""A source's own limit on the received requests it keeps (an inspector bin's
``retention``: its newest N, and none older than an age), applied after each
new request; the global ``HOOKGATE_INBOUND_RETENTION_DAYS`` purge is
``inbound_requests.purge_requests``."""

from __future__ import annotations

from sqlalchemy import ColumnElement, delete, or_, select

from hookgate.store.database import Database
from hookgate.store.tables import inbound_requests


async def trim_source(
    db: Database,
    source_id: str,
    *,
    keep_newest: int | None,
    max_age_ms: int | None,
    now_ms: int,
) -> int:
    """Delete the requests of source ``source_id`` beyond its ``keep_newest``
    newest and those received more than ``max_age_ms`` before ``now_ms``
    (either may be None: no such bound), in one write transaction; returns
    how many were deleted."""
    c = inbound_requests.c
    doomed: list[ColumnElement[bool]] = []
    if max_age_ms is not None:
        doomed.append(c.received_at < now_ms - max_age_ms)
    async with db.write() as conn:
        if keep_newest is not None:
            # Ids sort by time: the newest ``keep_newest`` are kept.
            newest = (
                select(c.id)
                .where(c.source_id == source_id)
                .order_by(c.id.desc())
                .offset(keep_newest - 1)
                .limit(1)
            )
            cutoff = (await conn.execute(newest)).scalar()
            if cutoff is not None:
                doomed.append(c.id < cutoff)
        if not doomed:
            return 0
        statement = delete(inbound_requests).where(c.source_id == source_id, or_(*doomed))
        return int((await conn.execute(statement)).rowcount or 0)

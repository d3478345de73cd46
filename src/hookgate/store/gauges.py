"""Counts of the database's state that the Prometheus gauges report
(``/metrics``): one ``COUNT`` each, in one short read transaction."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from hookgate.store.database import Database
from hookgate.store.records import DeliveryStatus
from hookgate.store.tables import deliveries, endpoints


@dataclass(frozen=True, slots=True)
class StateCounts:
    """How many deliveries wait to succeed or fail (queued, sending or
    waiting for a retry), and how many endpoints are disabled."""

    deliveries_pending: int
    endpoints_disabled: int


async def state_counts(db: Database) -> StateCounts:
    """The current ``StateCounts`` (every application together)."""
    pending = (
        select(func.count())
        .select_from(deliveries)
        .where(deliveries.c.status == DeliveryStatus.PENDING)
    )
    disabled = select(func.count()).select_from(endpoints).where(endpoints.c.disabled)
    async with db.read() as conn:
        pending_count = (await conn.execute(pending)).scalar_one()
        disabled_count = (await conn.execute(disabled)).scalar_one()
    return StateCounts(int(pending_count), int(disabled_count))

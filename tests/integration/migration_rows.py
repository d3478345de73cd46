"""Rows written straight into the tables, for migration tests that must
store data under an older schema (the store functions speak the newest)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from hookgate.store.records import DeliveryStatus, Endpoint
from hookgate.store.tables import attempts, deliveries
from tests.integration.conftest import NOW


async def insert_failed_delivery(
    conn: AsyncConnection, endpoint: Endpoint, msg_id: str, delivery_id: str = "dlv_1"
) -> None:
    """A failed delivery of ``msg_id`` to ``endpoint``, with its one attempt
    (answered 500); the message must exist already."""
    await conn.execute(
        deliveries.insert().values(
            id=delivery_id,
            msg_id=msg_id,
            app_id=endpoint.app_id,
            endpoint_id=endpoint.id,
            status=DeliveryStatus.FAIL,
            attempt_count=1,
            next_attempt_at=NOW,
            lease_until=0,
            trigger_type=0,
            created_at=NOW,
            updated_at=NOW,
        )
    )
    await conn.execute(
        attempts.insert().values(
            id=f"atmpt_{delivery_id}",
            msg_id=msg_id,
            endpoint_id=endpoint.id,
            app_id=endpoint.app_id,
            delivery_id=delivery_id,
            url=endpoint.url,
            status=DeliveryStatus.FAIL,
            response_status_code=500,
            response=b"",
            response_duration_ms=1,
            trigger_type=0,
            created_at=NOW,
        )
    )

"""What the dashboard shows of an endpoint's health: its failure streak and
pause (columns the ``Endpoint`` record leaves out), its newest attempts and
its newest deliveries.

Every read is bounded: attempts walk ``ix_attempts_endpoint`` and deliveries
``ix_deliveries_endpoint`` backwards from the newest, ``LIMIT`` rows, so an
endpoint with millions of messages costs the same as one with ten.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, null, select

from hookgate.store import rows
from hookgate.store.database import Database
from hookgate.store.records import Attempt, Delivery
from hookgate.store.tables import attempts, deliveries, endpoint_throttles, endpoints, messages

#: Attempts without their response bodies: a timeline needs none.
_ATTEMPT_COLUMNS = [column for column in attempts.c if column.name != "response"]

#: Most attempts or deliveries one call returns per endpoint.
MAX_RECENT = 200


@dataclass(frozen=True, slots=True)
class EndpointActivity:
    endpoint_id: str
    #: Start of the current failure streak (epoch ms); None while healthy.
    failing_since: int | None
    #: Claims skip the endpoint until then (epoch ms); None if never paused.
    paused_until: int | None
    #: Its newest attempts, newest first (``response`` left out: None).
    recent: list[Attempt]


@dataclass(frozen=True, slots=True)
class RecentDelivery:
    """A message routed to the endpoint, with its state there."""

    delivery: Delivery
    event_type: str
    event_id: str | None
    msg_created_at: int


async def activity(
    db: Database, endpoint_ids: Sequence[str], *, recent: int
) -> dict[str, EndpointActivity]:
    """The ``EndpointActivity`` of each endpoint of ``endpoint_ids`` (a page
    of them) with at most ``recent`` (≤ ``MAX_RECENT``) attempts each."""
    if not endpoint_ids:
        return {}
    limit = max(1, min(recent, MAX_RECENT))
    async with db.read() as conn:
        state = (
            await conn.execute(
                select(endpoints.c.id, endpoints.c.failing_since, endpoint_throttles.c.paused_until)
                .outerjoin(endpoint_throttles, endpoint_throttles.c.endpoint_id == endpoints.c.id)
                .where(endpoints.c.id.in_(endpoint_ids))
            )
        ).all()
        found: dict[str, EndpointActivity] = {}
        for endpoint_id, failing_since, paused_until in state:
            newest: Select[Any] = (
                select(*_ATTEMPT_COLUMNS, null().label("response"))
                .where(attempts.c.endpoint_id == endpoint_id)
                .order_by(attempts.c.id.desc())
                .limit(limit)
            )
            found[endpoint_id] = EndpointActivity(
                endpoint_id,
                failing_since,
                paused_until,
                [rows.attempt(row) for row in await conn.execute(newest)],
            )
    return found


async def recent_deliveries(
    db: Database, endpoint_id: str, *, limit: int, before: str | None = None
) -> list[RecentDelivery]:
    """The newest deliveries to the endpoint (at most ``limit`` ≤
    ``MAX_RECENT``), newest first, with their message's event type; with
    ``before`` (a delivery id), the ones older than that delivery."""
    query: Select[Any] = (
        select(
            *deliveries.c,
            messages.c.event_type,
            messages.c.event_id,
            messages.c.created_at.label("msg_created_at"),
        )
        .join(messages, messages.c.id == deliveries.c.msg_id)
        .where(deliveries.c.endpoint_id == endpoint_id)
        .order_by(deliveries.c.id.desc())
        .limit(max(1, min(limit, MAX_RECENT)))
    )
    if before is not None:
        query = query.where(deliveries.c.id < before)
    async with db.read() as conn:
        result = await conn.execute(query)
        return [
            RecentDelivery(rows.delivery(row), row.event_type, row.event_id, row.msg_created_at)
            for row in result
        ]

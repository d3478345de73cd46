"""The figures of the dashboard's overview (``/``), every application together.

Each figure is one bounded query on an indexed column, so the page costs the
same on a database of a thousand messages and of a hundred million:

- time windows on ``messages`` and ``attempts`` are id ranges (ids are
  time-ordered, ``core.ids.min_id_for_time``) walked on the primary key, with
  ``created_at`` checked on the rows found, so the result is exact;
- the latency percentiles come from at most ``LATENCY_SAMPLE`` of the newest
  successful attempts in the window and their messages (read by primary
  key), computed here in Python (the same on both databases);
- pending deliveries are read along ``ix_deliveries_pending``, received
  requests along ``ix_inbound_requests_received``; endpoints are few.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select

from hookgate.core import ids
from hookgate.store.database import Database
from hookgate.store.internal_apps import OPERATIONAL_APP_ID
from hookgate.store.records import DeliveryStatus
from hookgate.store.tables import (
    applications,
    attempts,
    deliveries,
    endpoints,
    inbound_requests,
    messages,
)

#: At most this many successful attempts per window feed the percentiles.
LATENCY_SAMPLE = 2_000

#: How many failing or disabled endpoints the overview lists.
TROUBLED_SHOWN = 20

#: A pending delivery whose next attempt is later than this is overdue: the
#: dispatcher should have taken it (epoch ms).
OVERDUE_AFTER_MS = 60_000


@dataclass(frozen=True, slots=True)
class Window:
    """What happened in one time window (the last hour, the last day)."""

    since_ms: int
    messages_accepted: int
    attempts_succeeded: int
    attempts_failed: int
    #: Accept-to-delivered latency (ms): the first successful attempt's end
    #: minus the message's creation. None without a successful delivery.
    latency_p50_ms: float | None
    latency_p99_ms: float | None
    #: How many deliveries the percentiles are computed from (at most
    #: ``LATENCY_SAMPLE``, the newest).
    latency_sample: int
    #: Received requests by verdict (``accepted``, ``rejected``, ``duplicate``).
    inbound_by_verdict: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TroubledEndpoint:
    """An endpoint that is failing or disabled."""

    id: str
    app_id: str
    app_name: str
    url: str
    disabled: bool
    failing_since: int | None
    #: An endpoint of the operator's own alerts (``/api/v1/operational-webhook``),
    #: which has no application page.
    operational: bool


@dataclass(frozen=True, slots=True)
class Overview:
    hour: Window
    day: Window
    deliveries_pending: int
    #: Pending, not being sent, and due more than ``OVERDUE_AFTER_MS`` ago.
    deliveries_overdue: int
    #: Enabled endpoints whose last attempts failed (``failing_since`` set).
    endpoints_failing: int
    endpoints_disabled: int
    #: The first ``TROUBLED_SHOWN`` of them, failing longest first, then the
    #: disabled ones that no longer fail.
    troubled: list[TroubledEndpoint] = field(default_factory=list)


def percentile(sorted_values: list[int], fraction: float) -> float | None:
    """The ``fraction`` percentile of ascending ``sorted_values`` (linear
    interpolation between the closest ranks, as PostgreSQL's
    ``percentile_cont``); None for no values."""
    if not sorted_values:
        return None
    rank = fraction * (len(sorted_values) - 1)
    low = int(rank)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)


def _min_id(prefix: str, since_ms: int) -> str:
    return ids.min_id_for_time(prefix, datetime.fromtimestamp(since_ms / 1000, UTC))


async def _window(conn: Any, max_params: int, since_ms: int) -> Window:
    in_messages = and_(
        messages.c.id >= _min_id(ids.MESSAGE, since_ms), messages.c.created_at >= since_ms
    )
    accepted = (
        await conn.execute(select(func.count()).select_from(messages).where(in_messages))
    ).scalar_one()
    in_attempts = and_(
        attempts.c.id >= _min_id(ids.ATTEMPT, since_ms), attempts.c.created_at >= since_ms
    )
    by_status: Counter[int] = Counter()
    for status, count in await conn.execute(
        select(attempts.c.status, func.count()).where(in_attempts).group_by(attempts.c.status)
    ):
        by_status[int(status)] += int(count)
    latencies = await _latencies(conn, max_params, in_attempts)
    verdicts = {
        str(status): int(count)
        for status, count in await conn.execute(
            select(inbound_requests.c.status, func.count())
            .where(inbound_requests.c.received_at >= since_ms)
            .group_by(inbound_requests.c.status)
        )
    }
    return Window(
        since_ms=since_ms,
        messages_accepted=int(accepted),
        attempts_succeeded=by_status[DeliveryStatus.SUCCESS],
        attempts_failed=by_status[DeliveryStatus.FAIL],
        latency_p50_ms=percentile(latencies, 0.5),
        latency_p99_ms=percentile(latencies, 0.99),
        latency_sample=len(latencies),
        inbound_by_verdict=verdicts,
    )


async def _latencies(conn: Any, max_params: int, in_attempts: Any) -> list[int]:
    """Accept-to-delivered times (ms, ascending) of the newest successful
    deliveries in the window: per delivery, its first success. The
    messages' creation times are read by primary key, a bounded number of
    them (a join may let the planner scan the whole table instead)."""
    newest = (
        select(
            attempts.c.delivery_id,
            attempts.c.created_at + attempts.c.response_duration_ms,
            attempts.c.msg_id,
        )
        .where(in_attempts, attempts.c.status == DeliveryStatus.SUCCESS)
        .order_by(attempts.c.id.desc())
        .limit(LATENCY_SAMPLE)
    )
    delivered = (await conn.execute(newest)).all()
    msg_ids = sorted({msg_id for _, _, msg_id in delivered})
    created: dict[str, int] = {}
    for start in range(0, len(msg_ids), max_params):
        chunk = msg_ids[start : start + max_params]
        found = await conn.execute(
            select(messages.c.id, messages.c.created_at).where(messages.c.id.in_(chunk))
        )
        created.update((msg_id, int(at)) for msg_id, at in found)
    first: dict[str, int] = {}
    for delivery_id, done_at, msg_id in delivered:
        if msg_id not in created:
            continue
        value = max(0, int(done_at) - created[msg_id])
        if delivery_id not in first or value < first[delivery_id]:
            first[delivery_id] = value
    return sorted(first.values())


async def overview(db: Database, now_ms: int) -> Overview:
    """The overview as of ``now_ms``, read in one short transaction."""
    pending = deliveries.c.status == DeliveryStatus.PENDING
    async with db.read() as conn:
        hour = await _window(conn, db.dialect.max_params, now_ms - 3_600_000)
        day = await _window(conn, db.dialect.max_params, now_ms - 86_400_000)
        pending_count = (
            await conn.execute(select(func.count()).select_from(deliveries).where(pending))
        ).scalar_one()
        overdue_count = (
            await conn.execute(
                select(func.count())
                .select_from(deliveries)
                .where(
                    pending,
                    deliveries.c.next_attempt_at < now_ms - OVERDUE_AFTER_MS,
                    deliveries.c.lease_until < now_ms,
                )
            )
        ).scalar_one()
        failing = (
            await conn.execute(
                select(func.count())
                .select_from(endpoints)
                .where(endpoints.c.failing_since.is_not(None), endpoints.c.disabled.is_(False))
            )
        ).scalar_one()
        disabled = (
            await conn.execute(
                select(func.count()).select_from(endpoints).where(endpoints.c.disabled)
            )
        ).scalar_one()
        troubled = await _troubled(conn)
    return Overview(
        hour=hour,
        day=day,
        deliveries_pending=int(pending_count),
        deliveries_overdue=int(overdue_count),
        endpoints_failing=int(failing),
        endpoints_disabled=int(disabled),
        troubled=troubled,
    )


async def _troubled(conn: Any) -> list[TroubledEndpoint]:
    query = (
        select(
            endpoints.c.id,
            endpoints.c.app_id,
            applications.c.name,
            endpoints.c.url,
            endpoints.c.disabled,
            endpoints.c.failing_since,
        )
        .join(applications, applications.c.id == endpoints.c.app_id)
        .where(or_(endpoints.c.disabled, endpoints.c.failing_since.is_not(None)))
        .order_by(
            endpoints.c.failing_since.is_(None),
            endpoints.c.failing_since,
            endpoints.c.id,
        )
        .limit(TROUBLED_SHOWN)
    )
    return [
        TroubledEndpoint(
            id=row.id,
            app_id=row.app_id,
            app_name=row.name,
            url=row.url,
            disabled=bool(row.disabled),
            failing_since=row.failing_since,
            operational=row.app_id == OPERATIONAL_APP_ID,
        )
        for row in await conn.execute(query)
    ]

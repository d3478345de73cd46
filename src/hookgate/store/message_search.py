"""Finding an application's messages for the dashboard, with how their
deliveries are going.

Beyond the API's message listing (``store.messages.list_messages``) this
matches a message id or ``eventId``, a tag, and an outcome of the message's
deliveries; each message comes with the count of its deliveries per state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, not_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hookgate.store import applications, rows
from hookgate.store.database import Database, json_array_contains
from hookgate.store.pagination import Page, paginate
from hookgate.store.records import DeliveryStatus, Message
from hookgate.store.tables import deliveries, messages


class Outcome(StrEnum):
    """How a message's deliveries went, as a search filter."""

    #: Every delivery succeeded (and there is at least one).
    SUCCESS = "success"
    #: Some delivery is still waiting for its next attempt.
    PENDING = "pending"
    #: Some delivery gave up after its last retry.
    FAILED = "failed"
    #: The message went to no endpoint.
    UNROUTED = "unrouted"


@dataclass(frozen=True, slots=True)
class MessageQuery:
    """Search criteria, all optional and combined with AND. Times are epoch ms
    (``after`` and ``before`` exclusive)."""

    ref: str | None = None
    event_types: list[str] | None = None
    channel: str | None = None
    tag: str | None = None
    before: int | None = None
    after: int | None = None
    outcome: Outcome | None = None


@dataclass(frozen=True, slots=True)
class DeliveryCounts:
    """How many of a message's deliveries are in each state."""

    success: int = 0
    pending: int = 0
    failed: int = 0

    @property
    def total(self) -> int:
        return self.success + self.pending + self.failed


@dataclass(frozen=True, slots=True)
class Found:
    message: Message
    counts: DeliveryCounts = field(default_factory=DeliveryCounts)


def _delivery_with(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists().where(deliveries.c.msg_id == messages.c.id, *conditions)


def _outcome_condition(outcome: Outcome) -> ColumnElement[bool]:
    if outcome is Outcome.FAILED:
        return _delivery_with(deliveries.c.status == DeliveryStatus.FAIL)
    if outcome is Outcome.PENDING:
        return _delivery_with(deliveries.c.status == DeliveryStatus.PENDING)
    if outcome is Outcome.UNROUTED:
        return not_(_delivery_with())
    return and_(
        _delivery_with(deliveries.c.status == DeliveryStatus.SUCCESS),
        not_(_delivery_with(deliveries.c.status != DeliveryStatus.SUCCESS)),
    )


def _conditions(db: Database, q: MessageQuery) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if q.ref:
        where.append((messages.c.id == q.ref) | (messages.c.event_id == q.ref))
    if q.event_types:
        where.append(messages.c.event_type.in_(q.event_types))
    if q.channel:
        where.append(json_array_contains(db, messages.c.channels, q.channel))
    if q.tag:
        where.append(json_array_contains(db, messages.c.tags, q.tag))
    if q.before is not None:
        where.append(messages.c.created_at < q.before)
    if q.after is not None:
        where.append(messages.c.created_at > q.after)
    if q.outcome is not None:
        where.append(_outcome_condition(q.outcome))
    return where


async def search_messages(
    db: Database, app_ref: str, q: MessageQuery, *, iterator: str | None, limit: int | None
) -> Page[Found]:
    """Messages of application ``app_ref`` (id or uid) matching ``q``, newest
    first, paged like the API; ``NotFound`` for an unknown application."""
    async with db.read() as conn:
        app = await applications.find(conn, app_ref)
        query = select(messages).where(messages.c.app_id == app.id, *_conditions(db, q))
        page = await paginate(
            conn,
            query,
            messages.c.id,
            rows.message,
            iterator=iterator,
            limit=limit,
            descending=True,
        )
        counts = await _counts(conn, [m.id for m in page.items])
    return Page(
        [Found(m, counts.get(m.id, DeliveryCounts())) for m in page.items],
        iterator=page.iterator,
        prev_iterator=page.prev_iterator,
        done=page.done,
    )


async def _counts(conn: AsyncConnection, msg_ids: list[str]) -> dict[str, DeliveryCounts]:
    if not msg_ids:
        return {}
    query = (
        select(deliveries.c.msg_id, deliveries.c.status, func.count())
        .where(deliveries.c.msg_id.in_(msg_ids))
        .group_by(deliveries.c.msg_id, deliveries.c.status)
    )
    tallies: dict[str, dict[str, int]] = {}
    for msg_id, status, count in (await conn.execute(query)).all():
        name = _COUNT_FIELDS.get(status, "pending")
        tally = tallies.setdefault(msg_id, {})
        tally[name] = tally.get(name, 0) + int(count)
    return {msg_id: DeliveryCounts(**tally) for msg_id, tally in tallies.items()}


_COUNT_FIELDS: dict[Any, str] = {
    DeliveryStatus.SUCCESS: "success",
    DeliveryStatus.PENDING: "pending",
    DeliveryStatus.SENDING: "pending",
    DeliveryStatus.FAIL: "failed",
}

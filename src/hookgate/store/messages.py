"""Reading messages, attempts and per-endpoint delivery state; resending."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hookgate.core import ids
from hookgate.store import applications, rows
from hookgate.store import endpoints as endpoint_store
from hookgate.store.accept_messages import new_delivery_row
from hookgate.store.database import Database, json_array_contains
from hookgate.store.errors import NotFound
from hookgate.store.pagination import Page, paginate
from hookgate.store.records import (
    Attempt,
    Delivery,
    DeliveryStatus,
    Endpoint,
    Job,
    Message,
    TriggerType,
)
from hookgate.store.retention import EXPUNGED_VALUES
from hookgate.store.tables import attempts, deliveries, endpoints, messages


@dataclass(frozen=True, slots=True)
class ListFilter:
    """Filters shared by message and attempt listings. Times are epoch ms."""

    channel: str | None = None
    before: int | None = None
    after: int | None = None
    event_types: list[str] | None = None
    status: int | None = None
    status_code_class: int | None = None
    endpoint_id: str | None = None


async def _find_message(conn: AsyncConnection, app_id: str, msg_ref: str) -> Message:
    row = (
        await conn.execute(
            select(messages).where(
                messages.c.app_id == app_id,
                (messages.c.id == msg_ref) | (messages.c.event_id == msg_ref),
            )
        )
    ).first()
    if row is None:
        raise NotFound("Message")
    return rows.message(row)


async def get_message(db: Database, app_ref: str, msg_ref: str) -> Message:
    """A message by id or by its ``eventId``."""
    async with db.read() as conn:
        app = await applications.find(conn, app_ref)
        return await _find_message(conn, app.id, msg_ref)


def _message_filters(db: Database, query: Select[Any], f: ListFilter) -> Select[Any]:
    if f.channel is not None:
        query = query.where(json_array_contains(db, messages.c.channels, f.channel))
    if f.event_types:
        query = query.where(messages.c.event_type.in_(f.event_types))
    if f.before is not None:
        query = query.where(messages.c.created_at < f.before)
    if f.after is not None:
        query = query.where(messages.c.created_at > f.after)
    return query


async def list_messages(
    db: Database, app_ref: str, f: ListFilter, *, iterator: str | None, limit: int | None
) -> Page[Message]:
    async with db.read() as conn:
        app = await applications.find(conn, app_ref)
        query = _message_filters(db, select(messages).where(messages.c.app_id == app.id), f)
        return await paginate(
            conn,
            query,
            messages.c.id,
            rows.message,
            iterator=iterator,
            limit=limit,
            descending=True,
        )


async def expunge_message(db: Database, app_ref: str, msg_ref: str) -> None:
    """Delete the payload of a message; the record and its attempts stay.
    (Retention does the same when the payload expires: ``store.retention``.)"""
    async with db.write() as conn:
        app = await applications.find(conn, app_ref)
        msg = await _find_message(conn, app.id, msg_ref)
        await conn.execute(
            update(messages).where(messages.c.id == msg.id).values(**EXPUNGED_VALUES)
        )


def _attempt_filters(db: Database, query: Select[Any], f: ListFilter) -> Select[Any]:
    if f.status is not None:
        query = query.where(attempts.c.status == f.status)
    if f.status_code_class is not None:
        low = f.status_code_class
        query = query.where(
            attempts.c.response_status_code >= low, attempts.c.response_status_code < low + 100
        )
        if low == 0:
            query = query.where(attempts.c.response_status_code < 100)
    if f.endpoint_id is not None:
        query = query.where(attempts.c.endpoint_id == f.endpoint_id)
    if f.before is not None:
        query = query.where(attempts.c.created_at < f.before)
    if f.after is not None:
        query = query.where(attempts.c.created_at > f.after)
    if f.channel is not None or f.event_types:
        query = query.join(messages, messages.c.id == attempts.c.msg_id)
        query = _message_filters(
            db, query, ListFilter(channel=f.channel, event_types=f.event_types)
        )
    return query


async def list_attempts(
    db: Database,
    app_ref: str,
    f: ListFilter,
    *,
    msg_ref: str | None = None,
    endpoint_ref: str | None = None,
    iterator: str | None,
    limit: int | None,
) -> Page[Attempt]:
    """Attempts of one message or to one endpoint, newest first."""
    async with db.read() as conn:
        app = await applications.find(conn, app_ref)
        query = select(attempts).where(attempts.c.app_id == app.id)
        if msg_ref is not None:
            msg = await _find_message(conn, app.id, msg_ref)
            query = query.where(attempts.c.msg_id == msg.id)
        if endpoint_ref is not None:
            ep = await endpoint_store.find(conn, app.id, endpoint_ref)
            query = query.where(attempts.c.endpoint_id == ep.id)
        query = _attempt_filters(db, query, f)
        return await paginate(
            conn,
            query,
            attempts.c.id,
            rows.attempt,
            iterator=iterator,
            limit=limit,
            descending=True,
        )


async def get_attempt(db: Database, app_ref: str, msg_ref: str, attempt_id: str) -> Attempt:
    async with db.read() as conn:
        app = await applications.find(conn, app_ref)
        msg = await _find_message(conn, app.id, msg_ref)
        row = (
            await conn.execute(
                select(attempts).where(attempts.c.id == attempt_id, attempts.c.msg_id == msg.id)
            )
        ).first()
        if row is None:
            raise NotFound("Message attempt")
        return rows.attempt(row)


async def expunge_attempt(db: Database, app_ref: str, msg_ref: str, attempt_id: str) -> None:
    """Delete the stored response body of an attempt."""
    attempt = await get_attempt(db, app_ref, msg_ref, attempt_id)
    async with db.write() as conn:
        await conn.execute(
            update(attempts)
            .where(attempts.c.id == attempt.id)
            .values(response=None, response_headers=None)
        )


async def message_destinations(
    db: Database, app_ref: str, msg_ref: str, *, iterator: str | None, limit: int | None
) -> Page[tuple[Endpoint, Delivery]]:
    """Each endpoint a message was routed to, with the delivery state."""
    async with db.read() as conn:
        app = await applications.find(conn, app_ref)
        msg = await _find_message(conn, app.id, msg_ref)
        query = (
            select(endpoints, *_delivery_columns())
            .join(deliveries, deliveries.c.endpoint_id == endpoints.c.id)
            .where(deliveries.c.msg_id == msg.id)
        )
        return await paginate(
            conn,
            query,
            endpoints.c.id,
            lambda row: (rows.endpoint(row), _delivery(row)),
            iterator=iterator,
            limit=limit,
            descending=False,
        )


async def endpoint_messages(
    db: Database,
    app_ref: str,
    endpoint_ref: str,
    f: ListFilter,
    *,
    iterator: str | None,
    limit: int | None,
) -> Page[tuple[Message, Delivery]]:
    """Messages routed to one endpoint, newest first, with their delivery state."""
    async with db.read() as conn:
        app = await applications.find(conn, app_ref)
        ep = await endpoint_store.find(conn, app.id, endpoint_ref)
        query = (
            select(messages, *_delivery_columns())
            .join(deliveries, deliveries.c.msg_id == messages.c.id)
            .where(deliveries.c.endpoint_id == ep.id)
        )
        if f.status is not None:
            query = query.where(deliveries.c.status == f.status)
        query = _message_filters(db, query, f)
        return await paginate(
            conn,
            query,
            messages.c.id,
            lambda row: (rows.message(row), _delivery(row)),
            iterator=iterator,
            limit=limit,
            descending=True,
        )


def _delivery_columns() -> list[Any]:
    return [
        deliveries.c.id.label("d_id"),
        deliveries.c.status.label("d_status"),
        deliveries.c.attempt_count.label("d_attempt_count"),
        deliveries.c.next_attempt_at.label("d_next_attempt_at"),
        deliveries.c.lease_until.label("d_lease_until"),
        deliveries.c.created_at.label("d_created_at"),
        deliveries.c.updated_at.label("d_updated_at"),
        deliveries.c.msg_id.label("d_msg_id"),
        deliveries.c.endpoint_id.label("d_endpoint_id"),
        deliveries.c.app_id.label("d_app_id"),
    ]


def _delivery(row: Any) -> Delivery:
    m = row._mapping
    return Delivery(
        id=m["d_id"],
        msg_id=m["d_msg_id"],
        app_id=m["d_app_id"],
        endpoint_id=m["d_endpoint_id"],
        status=m["d_status"],
        attempt_count=m["d_attempt_count"],
        next_attempt_at=m["d_next_attempt_at"],
        lease_until=m["d_lease_until"],
        created_at=m["d_created_at"],
        updated_at=m["d_updated_at"],
    )


async def resend(db: Database, app_ref: str, msg_ref: str, endpoint_ref: str, now_ms: int) -> None:
    """Queue the message for the endpoint again, as a manual attempt.

    Works whether or not the message was routed there originally.
    """
    async with db.write() as conn:
        app = await applications.find(conn, app_ref)
        msg = await _find_message(conn, app.id, msg_ref)
        ep = await endpoint_store.find(conn, app.id, endpoint_ref)
        if msg.payload is None:
            raise NotFound("Message content (it was expunged)")
        result = await conn.execute(
            update(deliveries)
            .where(deliveries.c.msg_id == msg.id, deliveries.c.endpoint_id == ep.id)
            .values(
                status=DeliveryStatus.PENDING,
                next_attempt_at=now_ms,
                lease_until=0,
                attempt_count=0,
                trigger_type=TriggerType.MANUAL,
                updated_at=now_ms,
            )
        )
        if not result.rowcount:
            job = Job(
                delivery_id=ids.new_id(ids.DELIVERY),
                msg_id=msg.id,
                app_id=app.id,
                endpoint=ep,
                payload=msg.payload,
                attempt_count=0,
                trigger_type=TriggerType.MANUAL,
                headers=msg.headers,
            )
            await conn.execute(deliveries.insert().values(new_delivery_row(job, now_ms, 0)))

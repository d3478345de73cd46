"""Event types: the catalogue of events applications send."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hookgate.store import rows
from hookgate.store.database import Database
from hookgate.store.errors import Conflict, ConstraintViolated, NotFound
from hookgate.store.pagination import Page, paginate
from hookgate.store.records import EventType
from hookgate.store.tables import event_types

FIELDS = ("description", "archived", "deprecated", "schemas", "feature_flag", "group_name")


async def _find(conn: AsyncConnection, name: str) -> EventType:
    row = (await conn.execute(select(event_types).where(event_types.c.name == name))).first()
    if row is None:
        raise NotFound("Event type")
    return rows.event_type(row)


async def get(db: Database, name: str) -> EventType:
    async with db.read() as conn:
        return await _find(conn, name)


def _values(fields: dict[str, Any]) -> dict[str, Any]:
    return {
        "description": fields.get("description") or "",
        "archived": bool(fields.get("archived", False)),
        "deprecated": bool(fields.get("deprecated", False)),
        "schemas": fields.get("schemas"),
        "feature_flag": fields.get("feature_flag"),
        "group_name": fields.get("group_name"),
    }


async def create(db: Database, name: str, fields: dict[str, Any], now_ms: int) -> EventType:
    """Create an event type; an archived one of the same name is revived."""
    try:
        async with db.write() as conn:
            existing = (
                await conn.execute(select(event_types).where(event_types.c.name == name))
            ).first()
            if existing is not None and not existing.archived:
                raise Conflict("An event type with this name already exists")
            if existing is not None:
                await conn.execute(
                    update(event_types)
                    .where(event_types.c.name == name)
                    .values(**_values(fields), updated_at=now_ms)
                )
            else:
                await conn.execute(
                    event_types.insert().values(
                        name=name, **_values(fields), created_at=now_ms, updated_at=now_ms
                    )
                )
            return await _find(conn, name)
    except ConstraintViolated as exc:
        raise Conflict("An event type with this name already exists") from exc


async def upsert(
    db: Database, name: str, fields: dict[str, Any], now_ms: int
) -> tuple[EventType, bool]:
    """PUT semantics; returns (event type, created)."""
    async with db.write() as conn:
        exists = (
            await conn.execute(select(event_types.c.name).where(event_types.c.name == name))
        ).first()
        if exists is None:
            await conn.execute(
                event_types.insert().values(
                    name=name, **_values(fields), created_at=now_ms, updated_at=now_ms
                )
            )
        else:
            await conn.execute(
                update(event_types)
                .where(event_types.c.name == name)
                .values(**_values(fields), updated_at=now_ms)
            )
        return await _find(conn, name), exists is None


async def patch(db: Database, name: str, fields: dict[str, Any], now_ms: int) -> EventType:
    changes = {k: v for k, v in fields.items() if k in FIELDS}
    async with db.write() as conn:
        await _find(conn, name)
        if changes:
            await conn.execute(
                update(event_types)
                .where(event_types.c.name == name)
                .values(**changes, updated_at=now_ms)
            )
        return await _find(conn, name)


async def archive(db: Database, name: str, now_ms: int, *, expunge: bool) -> None:
    """Archive (the default) or, with ``expunge``, delete the event type."""
    async with db.write() as conn:
        await _find(conn, name)
        if expunge:
            await conn.execute(delete(event_types).where(event_types.c.name == name))
        else:
            await conn.execute(
                update(event_types)
                .where(event_types.c.name == name)
                .values(archived=True, updated_at=now_ms)
            )


async def list_page(
    db: Database,
    *,
    iterator: str | None,
    limit: int | None,
    descending: bool,
    include_archived: bool,
) -> Page[EventType]:
    query = select(event_types)
    if not include_archived:
        query = query.where(event_types.c.archived.is_(False))
    async with db.read() as conn:
        return await paginate(
            conn,
            query,
            event_types.c.name,
            rows.event_type,
            iterator=iterator,
            limit=limit,
            descending=descending,
        )

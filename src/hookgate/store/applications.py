"""Applications: create, read, list, update, delete."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hookgate.core import ids
from hookgate.store import rows
from hookgate.store.database import Database
from hookgate.store.errors import Conflict, ConstraintViolated, NotFound
from hookgate.store.internal_apps import OPERATIONAL_APP_ID, AppRef, Internal
from hookgate.store.pagination import Page, paginate
from hookgate.store.records import Application
from hookgate.store.tables import applications

UID_TAKEN = "An application with this uid already exists"


def _by_ref(ref: str) -> Any:
    return and_(
        or_(applications.c.id == ref, applications.c.uid == ref),
        applications.c.id != OPERATIONAL_APP_ID,
    )


async def find(conn: AsyncConnection, ref: AppRef) -> Application:
    """The application whose id or uid is ``ref`` (never an internal one),
    or the internal application ``ref``."""
    where = applications.c.id == ref.id if isinstance(ref, Internal) else _by_ref(ref)
    row = (await conn.execute(select(applications).where(where))).first()
    if row is None:
        raise NotFound("Application")
    return rows.application(row)


async def get(db: Database, ref: str) -> Application:
    async with db.read() as conn:
        return await find(conn, ref)


async def create(
    db: Database, fields: dict[str, Any], now_ms: int, *, get_if_exists: bool = False
) -> tuple[Application, bool]:
    """Create an application; returns (application, created).

    With ``get_if_exists`` an existing application with the same uid is
    returned instead of a conflict.
    """
    uid = fields.get("uid")
    try:
        async with db.write(changes_config=True) as conn:
            if uid is not None:
                existing = (
                    await conn.execute(select(applications).where(applications.c.uid == uid))
                ).first()
                if existing is not None:
                    if get_if_exists:
                        return rows.application(existing), False
                    raise Conflict(UID_TAKEN)
            values = {
                "id": ids.new_id(ids.APP),
                "uid": uid,
                "name": fields["name"],
                "throttle_rate": fields.get("throttle_rate"),
                "metadata": fields.get("metadata") or {},
                "created_at": now_ms,
                "updated_at": now_ms,
            }
            await conn.execute(applications.insert().values(values))
            return rows.application_from(values), True
    except ConstraintViolated as exc:
        raise Conflict(UID_TAKEN) from exc


async def list_page(
    db: Database, *, iterator: str | None, limit: int | None, descending: bool
) -> Page[Application]:
    async with db.read() as conn:
        return await paginate(
            conn,
            select(applications).where(applications.c.id != OPERATIONAL_APP_ID),
            applications.c.id,
            rows.application,
            iterator=iterator,
            limit=limit,
            descending=descending,
        )


async def update_fields(db: Database, ref: str, fields: dict[str, Any], now_ms: int) -> Application:
    """Set ``fields`` (already validated) on the application ``ref``."""
    try:
        async with db.write(changes_config=True) as conn:
            app = await find(conn, ref)
            if fields:
                await conn.execute(
                    update(applications)
                    .where(applications.c.id == app.id)
                    .values(**fields, updated_at=now_ms)
                )
            return await find(conn, app.id)
    except ConstraintViolated as exc:
        raise Conflict(UID_TAKEN) from exc


async def upsert(
    db: Database, ref: str, fields: dict[str, Any], now_ms: int
) -> tuple[Application, bool]:
    """PUT semantics: replace the application ``ref``, or create it (using
    ``ref`` as its uid when ``ref`` is not an application id)."""
    full = {
        "name": fields["name"],
        "uid": fields.get("uid"),
        "throttle_rate": fields.get("throttle_rate"),
        "metadata": fields.get("metadata") or {},
    }
    try:
        return await update_fields(db, ref, full, now_ms), False
    except NotFound:
        if ids.looks_like_id(ref, ids.APP):
            raise
        if full["uid"] is None:
            full["uid"] = ref
        return await create(db, full, now_ms)


async def delete_app(db: Database, ref: str) -> None:
    async with db.write(changes_config=True) as conn:
        app = await find(conn, ref)
        await conn.execute(delete(applications).where(applications.c.id == app.id))

"""Endpoints of an application: CRUD, custom headers, secrets, recovery, stats."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hookgate.core import ids
from hookgate.core import operational_events as events
from hookgate.core.signing import generate_secret
from hookgate.store import applications, operational, rows
from hookgate.store.database import Database
from hookgate.store.errors import Conflict, ConstraintViolated, NotFound
from hookgate.store.internal_apps import OPERATIONAL_APP_ID, AppRef
from hookgate.store.pagination import Page, paginate
from hookgate.store.records import Application, DeliveryStatus, Endpoint, EndpointSecret
from hookgate.store.tables import deliveries, endpoints

UID_TAKEN = "An endpoint with this uid already exists in this application"
EDITABLE = (
    "uid",
    "url",
    "description",
    "throttle_rate",
    "disabled",
    "event_types",
    "channels",
    "metadata",
)


async def find(conn: AsyncConnection, app_ref: AppRef, ref: str) -> Endpoint:
    """The endpoint ``ref`` (id or uid) of application ``app_ref``."""
    return await _find_in(conn, await applications.find(conn, app_ref), ref)


async def _find_in(conn: AsyncConnection, app: Application, ref: str) -> Endpoint:
    row = (
        await conn.execute(
            select(endpoints).where(
                endpoints.c.app_id == app.id, or_(endpoints.c.id == ref, endpoints.c.uid == ref)
            )
        )
    ).first()
    if row is None:
        raise NotFound("Endpoint")
    return rows.endpoint(row)


async def get(db: Database, app_ref: AppRef, ref: str) -> Endpoint:
    async with db.read() as conn:
        return await find(conn, app_ref, ref)


def _defaults(fields: dict[str, Any]) -> dict[str, Any]:
    return {
        "uid": fields.get("uid"),
        "url": fields["url"],
        "description": fields.get("description") or "",
        "throttle_rate": fields.get("throttle_rate"),
        "disabled": bool(fields.get("disabled") or False),
        "event_types": fields.get("event_types") or None,
        "channels": fields.get("channels") or None,
        "metadata": fields.get("metadata") or {},
    }


async def _emit(
    db: Database, conn: AsyncConnection, kind: str, app: Application, ep: Endpoint, now_ms: int
) -> None:
    """Send the operational event ``kind`` about a customer's endpoint."""
    if app.id != OPERATIONAL_APP_ID:
        event = operational.endpoint_event(kind, ep, app.uid)
        await conn.run_sync(lambda sync: operational.emit(db, sync, [event], now_ms))


async def create(db: Database, app_ref: AppRef, fields: dict[str, Any], now_ms: int) -> Endpoint:
    """Create an endpoint; a secret is generated unless ``fields['secret']``."""
    secret = fields.get("secret") or generate_secret()
    try:
        async with db.write(changes_config=True) as conn:
            app = await applications.find(conn, app_ref)
            endpoint_id = ids.new_id(ids.ENDPOINT)
            await conn.execute(
                endpoints.insert().values(
                    id=endpoint_id,
                    app_id=app.id,
                    **_defaults(fields),
                    headers={},
                    secrets=rows.sealed_secrets([EndpointSecret(secret)]),
                    created_at=now_ms,
                    updated_at=now_ms,
                )
            )
            ep = await _find_in(conn, app, endpoint_id)
            await _emit(db, conn, events.ENDPOINT_CREATED, app, ep, now_ms)
            return ep
    except ConstraintViolated as exc:
        raise Conflict(UID_TAKEN) from exc


async def update_fields(
    db: Database, app_ref: AppRef, ref: str, fields: dict[str, Any], now_ms: int
) -> Endpoint:
    """Change the editable fields given in ``fields``. Enabling a disabled
    endpoint also forgets its failure streak, so that an endpoint disabled
    for failing (``core.endpoint_health``) gets a full period again."""
    changes = {k: v for k, v in fields.items() if k in EDITABLE}
    for key in ("event_types", "channels"):
        if key in changes and not changes[key]:
            changes[key] = None
    try:
        async with db.write(changes_config=True) as conn:
            app = await applications.find(conn, app_ref)
            ep = await _find_in(conn, app, ref)
            if ep.disabled and changes.get("disabled") is False:
                changes["failing_since"] = None
            if changes:
                await conn.execute(
                    update(endpoints)
                    .where(endpoints.c.id == ep.id)
                    .values(**changes, updated_at=now_ms)
                )
            ep = await _find_in(conn, app, ep.id)
            await _emit(db, conn, events.ENDPOINT_UPDATED, app, ep, now_ms)
            return ep
    except ConstraintViolated as exc:
        raise Conflict(UID_TAKEN) from exc


async def upsert(
    db: Database, app_ref: AppRef, ref: str, fields: dict[str, Any], now_ms: int
) -> tuple[Endpoint, bool]:
    """PUT semantics: replace every editable field, or create the endpoint
    (with ``ref`` as its uid) when it does not exist."""
    full = _defaults(fields)
    try:
        return await update_fields(db, app_ref, ref, full, now_ms), False
    except NotFound as missing:
        if missing.what != "Endpoint":
            raise
        if ids.looks_like_id(ref, ids.ENDPOINT):
            raise
        if full["uid"] is None:
            full["uid"] = ref
        return await create(db, app_ref, full, now_ms), True


async def delete_endpoint(db: Database, app_ref: AppRef, ref: str, now_ms: int) -> None:
    async with db.write(changes_config=True) as conn:
        app = await applications.find(conn, app_ref)
        ep = await _find_in(conn, app, ref)
        await conn.execute(delete(endpoints).where(endpoints.c.id == ep.id))
        await _emit(db, conn, events.ENDPOINT_DELETED, app, ep, now_ms)


async def list_page(
    db: Database, app_ref: AppRef, *, iterator: str | None, limit: int | None, descending: bool
) -> Page[Endpoint]:
    async with db.read() as conn:
        app = await applications.find(conn, app_ref)
        return await paginate(
            conn,
            select(endpoints).where(endpoints.c.app_id == app.id),
            endpoints.c.id,
            rows.endpoint,
            iterator=iterator,
            limit=limit,
            descending=descending,
        )


async def set_headers(
    db: Database,
    app_ref: AppRef,
    ref: str,
    headers: dict[str, str | None],
    now_ms: int,
    *,
    merge: bool,
) -> None:
    """Replace the custom headers, or with ``merge`` add/remove (None) some."""
    async with db.write(changes_config=True) as conn:
        ep = await find(conn, app_ref, ref)
        current = dict(ep.headers) if merge else {}
        for name, value in headers.items():
            current = {k: v for k, v in current.items() if k.lower() != name.lower()}
            if value is not None:
                current[name] = value
        await conn.execute(
            update(endpoints)
            .where(endpoints.c.id == ep.id)
            .values(headers=current, updated_at=now_ms)
        )


async def rotate_secret(
    db: Database, app_ref: AppRef, ref: str, new_secret: str | None, grace_ms: int, now_ms: int
) -> str:
    """Make ``new_secret`` (or a generated one) current and return it; the
    previous secret keeps signing for ``grace_ms``. Expired secrets are dropped."""
    async with db.write(changes_config=True) as conn:
        ep = await find(conn, app_ref, ref)
        kept = [
            EndpointSecret(s.key, s.expires_at if s.expires_at is not None else now_ms + grace_ms)
            for s in ep.secrets
            if s.expires_at is None or s.expires_at > now_ms
        ]
        current = new_secret or generate_secret()
        secrets = [EndpointSecret(current), *kept]
        await conn.execute(
            update(endpoints)
            .where(endpoints.c.id == ep.id)
            .values(secrets=rows.sealed_secrets(secrets), updated_at=now_ms)
        )
        return current


async def recover(
    db: Database, app_ref: str, ref: str, since_ms: int, until_ms: int | None, now_ms: int
) -> int:
    """Requeue every failed delivery to this endpoint created in the window;
    returns how many."""
    async with db.write() as conn:
        ep = await find(conn, app_ref, ref)
        conditions = [
            deliveries.c.endpoint_id == ep.id,
            deliveries.c.status == DeliveryStatus.FAIL,
            deliveries.c.created_at >= since_ms,
        ]
        if until_ms is not None:
            conditions.append(deliveries.c.created_at <= until_ms)
        result = await conn.execute(
            update(deliveries)
            .where(and_(*conditions))
            .values(
                status=DeliveryStatus.PENDING,
                next_attempt_at=now_ms,
                lease_until=0,
                attempt_count=0,
                updated_at=now_ms,
            )
        )
        return int(result.rowcount or 0)


async def stats(
    db: Database, app_ref: str, ref: str, since_ms: int | None, until_ms: int | None, now_ms: int
) -> dict[str, int]:
    """Counts of this endpoint's deliveries by status (success, pending,
    sending, fail) created in the window."""
    async with db.read() as conn:
        ep = await find(conn, app_ref, ref)
        sending = and_(
            deliveries.c.status == DeliveryStatus.PENDING, deliveries.c.lease_until > now_ms
        )
        query = select(deliveries.c.status, sending.label("sending"), func.count()).where(
            deliveries.c.endpoint_id == ep.id
        )
        if since_ms is not None:
            query = query.where(deliveries.c.created_at >= since_ms)
        if until_ms is not None:
            query = query.where(deliveries.c.created_at <= until_ms)
        counts = {"success": 0, "pending": 0, "sending": 0, "fail": 0, "canceled": 0}
        for status, is_sending, count in await conn.execute(
            query.group_by(deliveries.c.status, sending)
        ):
            if is_sending:
                counts["sending"] += count
            else:
                counts[DeliveryStatus(status).name.lower()] += count
        return counts

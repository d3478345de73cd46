"""Sources and the requests they receive.

A source is addressed by id (``src_...``) or uid. Every request received for a
source is stored by ``record_request`` in one short transaction together with
its deduplication check; nothing slow happens inside it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Row, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from hookgate.core import ids
from hookgate.store.database import Database
from hookgate.store.errors import Conflict, NotFound
from hookgate.store.pagination import Page, paginate
from hookgate.store.tables import applications, inbound_dedupe, inbound_requests, sources

#: Id prefixes of this module's tables.
SOURCE = "src"
REQUEST = "inreq"

UID_TAKEN = "A source with this uid already exists"
#: How ``record_request`` starts the ``rejection`` of a repeated event id.
DUPLICATE_PREFIX = "duplicate of "


@dataclass(frozen=True, slots=True)
class Source:
    id: str
    uid: str | None
    name: str
    #: The Svix Ingest type, as created ("github", "generic-webhook", ...).
    type: str
    #: The ``core.verify.PRESETS`` name, or "none".
    scheme: str
    config: dict[str, Any]
    metadata: dict[str, str]
    created_at: int
    updated_at: int
    #: The internal application whose endpoints are the source's destinations;
    #: None until the first destination is created.
    app_id: str | None = None


@dataclass(frozen=True, slots=True)
class InboundRequest:
    """One received request, byte for byte. ``rejection`` is None if accepted."""

    id: str
    source_id: str
    received_at: int
    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str | None
    verified: bool
    rejection: str | None
    event_id: str | None = None
    event_type: str | None = None


def _source(row: Row[Any]) -> Source:
    m = row._mapping
    return Source(
        id=m["id"],
        uid=m["uid"],
        name=m["name"],
        type=m["type"],
        scheme=m["scheme"],
        config=dict(m["config"] or {}),
        metadata=dict(m["metadata"] or {}),
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        app_id=m["app_id"],
    )


def _request(row: Row[Any]) -> InboundRequest:
    m = row._mapping
    return InboundRequest(
        id=m["id"],
        source_id=m["source_id"],
        received_at=m["received_at"],
        method=m["method"],
        path=m["path"],
        query=m["query"],
        headers=[(str(k), str(v)) for k, v in m["headers"]],
        body=bytes(m["body"]),
        source_ip=m["source_ip"],
        verified=bool(m["verified"]),
        rejection=m["rejection"],
        event_id=m["event_id"],
        event_type=m["event_type"],
    )


# -- sources -------------------------------------------------------------------


async def find(conn: AsyncConnection, ref: str) -> Source:
    """The source whose id or uid is ``ref``; raises ``NotFound``."""
    query = select(sources).where(or_(sources.c.id == ref, sources.c.uid == ref))
    row = (await conn.execute(query)).first()
    if row is None:
        raise NotFound("Source")
    return _source(row)


async def get(db: Database, ref: str) -> Source:
    async with db.read() as conn:
        return await find(conn, ref)


async def create(db: Database, fields: dict[str, Any], now_ms: int) -> Source:
    """Create a source from ``fields`` (``uid``, ``name``, ``type``, ``scheme``,
    ``config``, ``metadata``, already validated). Raises ``Conflict`` for a
    uid in use."""
    values = {
        "id": ids.new_id(SOURCE),
        "uid": fields.get("uid"),
        "name": fields["name"],
        "type": fields["type"],
        "scheme": fields["scheme"],
        "config": fields["config"],
        "metadata": fields.get("metadata") or {},
        "created_at": now_ms,
        "updated_at": now_ms,
    }
    try:
        async with db.write() as conn:
            await conn.execute(sources.insert().values(values))
    except IntegrityError as exc:
        raise Conflict(UID_TAKEN) from exc
    return Source(**values)


async def upsert(
    db: Database, ref: str, fields: dict[str, Any], now_ms: int
) -> tuple[Source, bool]:
    """PUT semantics: replace the source ``ref`` or create it (with ``ref``
    as its uid unless ``ref`` looks like a source id); returns (source, created)."""
    full = {key: fields.get(key) for key in ("uid", "name", "type", "scheme", "config")}
    full["metadata"] = fields.get("metadata") or {}
    try:
        async with db.write() as conn:
            try:
                current = await find(conn, ref)
            except NotFound:
                current = None
            if current is not None:
                await conn.execute(
                    update(sources)
                    .where(sources.c.id == current.id)
                    .values(**full, updated_at=now_ms)
                )
                return await find(conn, current.id), False
    except IntegrityError as exc:
        raise Conflict(UID_TAKEN) from exc
    if ids.looks_like_id(ref, SOURCE):
        raise NotFound("Source")
    if full["uid"] is None:
        full["uid"] = ref
    return await create(db, full, now_ms), True


async def list_page(
    db: Database, *, iterator: str | None, limit: int | None, descending: bool
) -> Page[Source]:
    async with db.read() as conn:
        return await paginate(
            conn,
            select(sources),
            sources.c.id,
            _source,
            iterator=iterator,
            limit=limit,
            descending=descending,
        )


async def delete_source(db: Database, ref: str) -> None:
    """Delete the source ``ref`` with its requests and dedupe entries."""
    async with db.write(changes_config=True) as conn:
        source = await find(conn, ref)
        await conn.execute(delete(inbound_dedupe).where(inbound_dedupe.c.source_id == source.id))
        await conn.execute(delete(sources).where(sources.c.id == source.id))
        if source.app_id is not None:
            await conn.execute(delete(applications).where(applications.c.id == source.app_id))


async def ensure_app(db: Database, ref: str, now_ms: int) -> str:
    """The id of source ``ref``'s internal application, created if it has
    none yet. Raises ``NotFound`` for no source."""
    source = await get(db, ref)
    if source.app_id is not None:
        return source.app_id
    app_id = ids.new_id(ids.APP)
    async with db.write(changes_config=True) as conn:
        await conn.execute(
            applications.insert().values(
                id=app_id,
                uid=None,
                name=f"Source {source.id} destinations",
                throttle_rate=None,
                metadata={"hookgate:source": source.id},
                created_at=now_ms,
                updated_at=now_ms,
            )
        )
        claimed = await conn.execute(
            update(sources)
            .where(sources.c.id == source.id, sources.c.app_id.is_(None))
            .values(app_id=app_id)
        )
        if claimed.rowcount:
            return app_id
        # Another request gave the source its application first.
        await conn.execute(delete(applications).where(applications.c.id == app_id))
        return (await find(conn, source.id)).app_id or app_id


# -- received requests ---------------------------------------------------------


def new_request_id() -> str:
    return ids.new_id(REQUEST)


async def record_request(
    db: Database, request: InboundRequest, *, dedupe_window_ms: int
) -> InboundRequest:
    """Store ``request`` and return it as stored.

    A request that is accepted (``rejection`` None) and carries an
    ``event_id`` is checked against the event ids accepted for its source in
    the last ``dedupe_window_ms`` (0: no check); a repeat is stored with
    ``rejection = "duplicate of <first request id>"``. The check and the
    insert share one transaction, so concurrent repeats (even in other
    processes) yield exactly one accepted request.
    """
    async with db.write() as conn:
        if request.rejection is None and request.event_id and dedupe_window_ms > 0:
            first = await _claim_event_id(db, conn, request, dedupe_window_ms)
            if first is not None:
                request = replace(request, rejection=f"{DUPLICATE_PREFIX}{first}")
        await conn.execute(
            inbound_requests.insert().values(
                id=request.id,
                source_id=request.source_id,
                received_at=request.received_at,
                method=request.method,
                path=request.path,
                query=request.query,
                headers=[list(pair) for pair in request.headers],
                body=request.body,
                source_ip=request.source_ip,
                verified=request.verified,
                rejection=request.rejection,
                event_id=request.event_id,
                event_type=request.event_type,
            )
        )
    return request


async def _claim_event_id(
    db: Database, conn: AsyncConnection, request: InboundRequest, window_ms: int
) -> str | None:
    """Record ``request``'s event id as seen; the id of the first request
    with it if that one is still inside the window (a duplicate), else None."""
    key = (inbound_dedupe.c.source_id == request.source_id) & (
        inbound_dedupe.c.event_id == request.event_id
    )
    inserted = await conn.execute(
        db.insert_ignoring_conflicts(inbound_dedupe).values(
            source_id=request.source_id,
            event_id=request.event_id,
            request_id=request.id,
            created_at=request.received_at,
        )
    )
    if inserted.rowcount:
        return None
    # Seen before: take the entry over if it has left the window.
    refreshed = await conn.execute(
        update(inbound_dedupe)
        .where(key & (inbound_dedupe.c.created_at <= request.received_at - window_ms))
        .values(request_id=request.id, created_at=request.received_at)
    )
    if refreshed.rowcount:
        return None
    first: str | None = (
        await conn.execute(select(inbound_dedupe.c.request_id).where(key))
    ).scalar()
    return first


async def list_requests(
    db: Database,
    source_ref: str,
    *,
    verified: bool | None,
    iterator: str | None,
    limit: int | None,
) -> Page[InboundRequest]:
    """The requests of ``source_ref``, newest first (optionally only
    verified or only unverified ones). Raises ``NotFound`` for no source."""
    async with db.read() as conn:
        source = await find(conn, source_ref)
        query = select(inbound_requests).where(inbound_requests.c.source_id == source.id)
        if verified is not None:
            query = query.where(inbound_requests.c.verified == verified)
        return await paginate(
            conn,
            query,
            inbound_requests.c.id,
            _request,
            iterator=iterator,
            limit=limit,
            descending=True,
        )


async def get_request(db: Database, source_ref: str, request_id: str) -> InboundRequest:
    """The request ``request_id`` received by ``source_ref``; raises
    ``NotFound`` for no such source or no such request of it."""
    async with db.read() as conn:
        source = await find(conn, source_ref)
        query = select(inbound_requests).where(
            inbound_requests.c.source_id == source.id, inbound_requests.c.id == request_id
        )
        row = (await conn.execute(query)).first()
    if row is None:
        raise NotFound("Request")
    return _request(row)


def is_duplicate(request: InboundRequest) -> bool:
    """Whether ``request`` was refused only as a repeat of an accepted one."""
    return (request.rejection or "").startswith(DUPLICATE_PREFIX)


async def release_event_id(db: Database, request: InboundRequest) -> None:
    """Forget that ``request``'s event id was seen (if ``request`` is what
    claimed it): its forwarding failed, so the provider's retry must be
    processed, not dropped as a duplicate."""
    if request.event_id is None:
        return
    async with db.write() as conn:
        await conn.execute(
            delete(inbound_dedupe).where(
                inbound_dedupe.c.source_id == request.source_id,
                inbound_dedupe.c.event_id == request.event_id,
                inbound_dedupe.c.request_id == request.id,
            )
        )


async def purge_dedupe(db: Database, older_than_ms: int) -> int:
    """Forget event ids first seen before ``older_than_ms``; returns how many."""
    async with db.write() as conn:
        result = await conn.execute(
            delete(inbound_dedupe).where(inbound_dedupe.c.created_at < older_than_ms)
        )
    return int(result.rowcount or 0)

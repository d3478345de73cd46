"""Sources: where providers send webhooks, and the tokens that address them.

A source is managed by id (``src_...``) or uid. Providers send to its ingest
URL, ``/in/{token}``: the token is an unguessable credential (never log it),
replaced by ``rotate_token``; the previous token keeps working for
``TOKEN_GRACE_MS`` so that providers can be re-pointed without losing
events. ``store.source_lookup`` resolves what ``/in/{key}`` names (id, uid,
token or previous token). The requests a source receives are
``hookgate.store.inbound_requests``.

At rest, tokens are looked up by their SHA-256 digest (``token_hash``,
``previous_token_hash``); the current token is also kept sealed with the
operator's key (``sealed_token``), because the API shows the ``ingestUrl``
on every read. The verification secrets in ``config`` are sealed likewise
(``config["sealed_secrets"]`` in the row, ``config["secrets"]`` in the
record).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hookgate.core import ids
from hookgate.core.clock import DAY_MS
from hookgate.core.secretbox import token_digest
from hookgate.store import secret_key
from hookgate.store.errors import Conflict, ConstraintViolated, NotFound
from hookgate.store.pagination import Page, paginate
from hookgate.store.tables import applications, inbound_dedupe, sources

if TYPE_CHECKING:
    from hookgate.store.database import Database

#: Id prefix of sources.
SOURCE = ids.SOURCE

UID_TAKEN = "A source with this uid already exists"

#: How long a rotated-out token keeps working: 24 hours.
TOKEN_GRACE_MS = DAY_MS


@dataclass(frozen=True, slots=True)
class Source:
    id: str
    uid: str | None
    name: str
    #: The Svix Ingest type, as created ("github", "generic-webhook", ...).
    type: str
    #: The ``core.verify.PRESETS`` name, or "none".
    scheme: str
    #: The options, secrets in clear (``config["secrets"]``); kept out of reprs.
    config: dict[str, Any] = field(repr=False)
    metadata: dict[str, str]
    created_at: int
    updated_at: int
    #: The secret part of the ingest URL (``/in/{token}``); kept out of reprs.
    token: str = field(repr=False)
    #: The internal application whose endpoints are the source's destinations;
    #: None until the first destination is created.
    app_id: str | None = None
    #: The SHA-256 digest of the token replaced by the last rotation, valid
    #: until ``previous_token_expires_at`` (epoch ms); None if never rotated.
    previous_token_hash: str | None = field(default=None, repr=False)
    previous_token_expires_at: int | None = None


def source_from_row(row: Row[Any]) -> Source:
    """The ``Source`` a row of ``sources`` holds (secrets opened)."""
    m = row._mapping
    return Source(
        id=m["id"],
        uid=m["uid"],
        name=m["name"],
        type=m["type"],
        scheme=m["scheme"],
        config=opened_config(m["config"] or {}),
        metadata=dict(m["metadata"] or {}),
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        app_id=m["app_id"],
        token=secret_key.current().open(m["sealed_token"]),
        previous_token_hash=m["previous_token_hash"],
        previous_token_expires_at=m["previous_token_expires_at"],
    )


def sealed_config(config: dict[str, Any]) -> dict[str, Any]:
    """The ``sources.config`` column value of a config: ``secrets`` (a list)
    becomes ``sealed_secrets``, each sealed with the current key."""
    stored = {key: value for key, value in config.items() if key != "secrets"}
    box = secret_key.current()
    stored["sealed_secrets"] = [box.seal(secret) for secret in config.get("secrets") or ()]
    return stored


def opened_config(stored: dict[str, Any]) -> dict[str, Any]:
    """The config of a ``sealed_config`` column value, secrets in clear."""
    config = {key: value for key, value in stored.items() if key != "sealed_secrets"}
    box = secret_key.current()
    config["secrets"] = [box.open(sealed) for sealed in stored.get("sealed_secrets") or ()]
    return config


def _token_columns(token: str) -> dict[str, str]:
    """The stored form of a current token: its digest and its sealed value."""
    return {"token_hash": token_digest(token), "sealed_token": secret_key.current().seal(token)}


# -- sources -------------------------------------------------------------------


async def find(conn: AsyncConnection, ref: str) -> Source:
    """The source whose id or uid is ``ref``; raises ``NotFound``."""
    query = select(sources).where(or_(sources.c.id == ref, sources.c.uid == ref))
    row = (await conn.execute(query)).first()
    if row is None:
        raise NotFound("Source")
    return source_from_row(row)


async def get(db: Database, ref: str) -> Source:
    """The source whose id or uid is ``ref`` (never its token); raises ``NotFound``."""
    async with db.read() as conn:
        return await find(conn, ref)


def new_token() -> str:
    """A fresh ingest token: 24 random bytes, URL-safe base64 (32 characters)."""
    return secrets.token_urlsafe(24)


async def create(db: Database, fields: dict[str, Any], now_ms: int) -> Source:
    """Create a source from ``fields`` (``uid``, ``name``, ``type``, ``scheme``,
    ``config``, ``metadata``, already validated). Raises ``Conflict`` for a
    uid in use."""
    source = Source(
        id=ids.new_id(SOURCE),
        uid=fields.get("uid"),
        name=fields["name"],
        type=fields["type"],
        scheme=fields["scheme"],
        config=dict(fields["config"]),
        metadata=fields.get("metadata") or {},
        created_at=now_ms,
        updated_at=now_ms,
        token=new_token(),
    )
    values = {
        "id": source.id,
        "uid": source.uid,
        "name": source.name,
        "type": source.type,
        "scheme": source.scheme,
        "config": sealed_config(source.config),
        "metadata": source.metadata,
        "created_at": now_ms,
        "updated_at": now_ms,
        **_token_columns(source.token),
        "previous_token_hash": None,
        "previous_token_expires_at": None,
    }
    try:
        async with db.write(changes_config=True) as conn:
            await conn.execute(sources.insert().values(values))
    except ConstraintViolated as exc:
        raise Conflict(UID_TAKEN) from exc
    return source


async def upsert(
    db: Database, ref: str, fields: dict[str, Any], now_ms: int
) -> tuple[Source, bool]:
    """PUT semantics: replace the source ``ref`` or create it (with ``ref``
    as its uid unless ``ref`` looks like a source id); returns (source, created)."""
    full = {key: fields.get(key) for key in ("uid", "name", "type", "scheme", "config")}
    full["metadata"] = fields.get("metadata") or {}
    try:
        async with db.write(changes_config=True) as conn:
            try:
                current = await find(conn, ref)
            except NotFound:
                current = None
            if current is not None:
                stored = {**full, "config": sealed_config(full["config"] or {})}
                await conn.execute(
                    update(sources)
                    .where(sources.c.id == current.id)
                    .values(**stored, updated_at=now_ms)
                )
                return await find(conn, current.id), False
    except ConstraintViolated as exc:
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
            source_from_row,
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


async def rotate_token(
    db: Database, ref: str, now_ms: int, *, grace_ms: int = TOKEN_GRACE_MS
) -> Source:
    """Give the source ``ref`` (id or uid) a new token and return it updated.

    The current token becomes the previous one, valid until ``now_ms +
    grace_ms``; a previous token from an earlier rotation stops working at
    once (there is only one). The token moves in one atomic ``UPDATE``, so
    of two concurrent rotations the later one keeps the token the earlier
    one set as its previous token. Raises ``NotFound`` for no source.
    """
    async with db.write(changes_config=True) as conn:
        source = await find(conn, ref)
        await conn.execute(
            update(sources)
            .where(sources.c.id == source.id)
            .values(
                previous_token_hash=sources.c.token_hash,
                previous_token_expires_at=now_ms + grace_ms,
                **_token_columns(new_token()),
                updated_at=now_ms,
            )
        )
        return await find(conn, source.id)

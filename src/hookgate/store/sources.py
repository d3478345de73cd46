"""Sources: where providers send webhooks, and the tokens that address them.

A source is managed by id (``src_...``) or uid. Providers send to its ingest
URL, ``/in/{token}``: the token is an unguessable credential (never log it),
replaced by ``rotate_token``; the previous token keeps working for
``TOKEN_GRACE_MS`` so that providers can be re-pointed without losing
events. ``get_for_ingest`` resolves what ``/in/{key}`` names (id, uid, token
or previous token). The requests a source receives are
``hookgate.store.inbound_requests``.

At rest, tokens are looked up by their SHA-256 digest (``token_hash``,
``previous_token_hash``); the current token is also kept sealed with the
operator's key (``sealed_token``), because the API shows the ``ingestUrl``
on every read. The verification secrets in ``config`` are sealed likewise
(``config["sealed_secrets"]`` in the row, ``config["secrets"]`` in the
record).
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable
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
#: How long ``IngestCache`` trusts an entry: writes by other processes on the
#: same SQLite file (``hookgate source create`` beside a running server) are
#: seen within this time; this process's own writes at once.
CACHE_TTL_S = 2.0
_CACHE_MAX = 10_000


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


def _source(row: Row[Any]) -> Source:
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
    return _source(row)


async def get(db: Database, ref: str) -> Source:
    """The source whose id or uid is ``ref`` (never its token); raises ``NotFound``."""
    async with db.read() as conn:
        return await find(conn, ref)


def new_token() -> str:
    """A fresh ingest token: 24 random bytes, URL-safe base64 (32 characters)."""
    return secrets.token_urlsafe(24)


def matched_by_token(source: Source, key: str) -> bool:
    """Whether ``key`` is ``source``'s current or previous token (compared in
    constant time). Expiry of the previous token is not checked here: that is
    ``get_for_ingest``'s job, so use this on the source it returned."""
    wanted = token_digest(key).encode()
    digests = (token_digest(source.token), source.previous_token_hash)
    return any(d is not None and hmac.compare_digest(d.encode(), wanted) for d in digests)


#: What stands for a token in stored request paths (``redacted_path``).
TOKEN_PLACEHOLDER = "<token>"


def redacted_path(source: Source, path: str) -> str:
    """``path`` (``/in/{key}``) with ``key`` replaced by ``TOKEN_PLACEHOLDER``
    if it is one of ``source``'s tokens: received requests are stored and
    listed without the credential."""
    prefix, _, key = path.rpartition("/")
    if key and matched_by_token(source, key):
        return f"{prefix}/{TOKEN_PLACEHOLDER}"
    return path


@dataclass
class IngestCache:
    """What ``/in/{key}`` keys resolved to (None: no source), for one
    configuration generation of the database and at most ``CACHE_TTL_S``
    seconds per entry. Only the embedded SQLite mode keeps one."""

    generation: int = -1
    entries: dict[str, tuple[float, Source | None]] = field(default_factory=dict)
    #: Reads under way, by key and configuration generation.
    reads: dict[tuple[str, int], asyncio.Future[Source | None]] = field(default_factory=dict)

    def get(self, key: str, generation: int, now: float) -> tuple[bool, Source | None]:
        """``(hit, source)``; a miss after the configuration changed."""
        if generation != self.generation:
            self.entries.clear()
            self.generation = generation
        entry = self.entries.get(key)
        if entry is None or now - entry[0] > CACHE_TTL_S:
            return False, None
        return True, entry[1]

    def put(self, key: str, source: Source | None, now: float) -> None:
        if len(self.entries) >= _CACHE_MAX:
            self.entries.clear()
        self.entries[key] = (now, source)

    async def fill(
        self, key: str, generation: int, read: Callable[[], Awaitable[Source | None]]
    ) -> Source | None:
        """Read ``key`` (``read``) and keep the answer. Requests that miss the
        same key at the same time (every connection, when an entry expires
        under load) share one read, if they see the same configuration
        generation: a request after a configuration change reads anew."""
        flight_key = (key, generation)
        flight = self.reads.get(flight_key)
        if flight is None:
            flight = self.reads[flight_key] = asyncio.ensure_future(self._read(key, read))
            flight.add_done_callback(functools.partial(self._read_done, flight_key))
        # Shielded: a request that goes away does not cancel the others' read.
        return await asyncio.shield(flight)

    async def _read(self, key: str, read: Callable[[], Awaitable[Source | None]]) -> Source | None:
        source = await read()
        self.put(key, source, time.monotonic())
        return source

    def _read_done(
        self, flight_key: tuple[str, int], flight: asyncio.Future[Source | None]
    ) -> None:
        self.reads.pop(flight_key, None)
        if not flight.cancelled():
            flight.exception()  # retrieved here too: every request may have gone


async def get_for_ingest(db: Database, key: str, now_ms: int) -> Source:
    """The source ``/in/{key}`` addresses: the one whose id, uid, current
    token or unexpired previous token (``previous_token_expires_at`` after
    ``now_ms``) is ``key``, in that order of precedence should several
    sources match. Raises ``NotFound`` otherwise (also for an empty key).
    Answers from ``db.ingest_cache`` when it has one."""
    if not key:
        raise NotFound("Source")
    cache = db.ingest_cache
    if cache is None:
        return await _lookup_for_ingest(db, key, now_ms)
    now = time.monotonic()
    hit, source = cache.get(key, db.config_generation, now)
    if not hit:
        source = await cache.fill(
            key, db.config_generation, functools.partial(_lookup_or_none, db, key, now_ms)
        )
    if source is None or _expired_previous(source, key, now_ms):
        raise NotFound("Source")
    return source


async def _lookup_or_none(db: Database, key: str, now_ms: int) -> Source | None:
    try:
        return await _lookup_for_ingest(db, key, now_ms)
    except NotFound:
        return None


def _expired_previous(source: Source, key: str, now_ms: int) -> bool:
    """Whether ``key`` names ``source`` only by a previous token that has expired."""
    if key in (source.id, source.uid, source.token):
        return False
    return (source.previous_token_expires_at or 0) <= now_ms


async def _lookup_for_ingest(db: Database, key: str, now_ms: int) -> Source:
    c = sources.c
    digest = token_digest(key)
    live_previous = (c.previous_token_hash == digest) & (c.previous_token_expires_at > now_ms)
    by_token = c.token_hash == digest
    query = select(sources).where(or_(c.id == key, c.uid == key, by_token, live_previous))
    async with db.read() as conn:
        found = [_source(row) for row in await conn.execute(query)]
    if not found:
        raise NotFound("Source")
    return min(found, key=lambda source: _precedence(source, key))


def _precedence(source: Source, key: str) -> int:
    """0 if ``key`` is ``source``'s id, 1 its uid, 2 its token, 3 otherwise
    (its previous token)."""
    for rank, value in enumerate((source.id, source.uid, source.token)):
        if value == key:
            return rank
    return 3


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

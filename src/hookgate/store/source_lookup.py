"""Which source ``/in/{key}`` addresses: by id, uid, current token or a
previous token still in its grace period, with an in-process cache
(``IngestCache``) in the embedded mode; and keeping tokens out of stored paths."""

from __future__ import annotations

import asyncio
import functools
import hmac
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import or_, select

from hookgate.core.secretbox import token_digest
from hookgate.store.errors import NotFound
from hookgate.store.sources import Source, source_from_row
from hookgate.store.tables import sources

if TYPE_CHECKING:
    from hookgate.store.database import Database

#: How long ``IngestCache`` trusts an entry: writes by other processes on the
#: same SQLite file (``hookgate source create`` beside a running server) are
#: seen within this time; this process's own writes at once.
CACHE_TTL_S = 2.0
_CACHE_MAX = 10_000


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
    # An id or uid is not a token (tokens are random): no digest to compute.
    if key and key not in (source.id, source.uid) and matched_by_token(source, key):
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
        found = [source_from_row(row) for row in await conn.execute(query)]
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

"""API tokens, stored as SHA-256 hashes (the token itself is shown once),
and the signal that tells token caches a token was revoked.

Revocation deletes the token's row and then changes the *revocation
generation* every process can see cheaply, so that a cache of valid tokens
(``api.auth``) never needs a database read per request to stay exact:

- in the revoking process, a counter in memory;
- on SQLite (one server per data directory, but ``hookgate token revoke``
  runs as a process of its own), a marker file next to the database whose
  ``stat`` changes (a system call, about a microsecond);
- on PostgreSQL, ``NOTIFY hookgate_tokens`` in the revoking transaction;
  every API process ``LISTEN``s and bumps its generation when notified, and
  also whenever its listening connection is (re)opened, since it may have
  missed something. While it is not listening, ``generation()`` is None and
  nothing may be cached.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import delete, func, or_, select, text
from sqlalchemy.engine import make_url

from hookgate.core import ids
from hookgate.store.database import Database
from hookgate.store.dialect import listen_dsn
from hookgate.store.tables import api_tokens

log = logging.getLogger(__name__)

TOKEN_PREFIX = "hg_"

#: PostgreSQL channel notified when a token is revoked.
REVOKED_CHANNEL = "hookgate_tokens"


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A stored token as listed: never the token or its hash."""

    id: str
    name: str
    created_at: int


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


async def create(db: Database, name: str, now_ms: int, token: str | None = None) -> str:
    """Store a new token (or the given one) and return it in clear."""
    token = token or new_token()
    async with db.write() as conn:
        await conn.execute(
            api_tokens.insert().values(
                id=ids.new_id(ids.TOKEN), token_hash=hash_token(token), name=name, created_at=now_ms
            )
        )
    return token


async def find(db: Database, token: str) -> str | None:
    """The id of the stored token ``token``, or None."""
    async with db.read() as conn:
        row = await conn.execute(
            select(api_tokens.c.id).where(api_tokens.c.token_hash == hash_token(token))
        )
        found = row.first()
        return None if found is None else str(found.id)


async def is_valid(db: Database, token: str) -> bool:
    return await find(db, token) is not None


async def list_tokens(db: Database) -> list[TokenInfo]:
    """Every stored token, oldest first."""
    async with db.read() as conn:
        rows = await conn.execute(
            select(api_tokens.c.id, api_tokens.c.name, api_tokens.c.created_at).order_by(
                api_tokens.c.created_at, api_tokens.c.id
            )
        )
        return [TokenInfo(str(r.id), str(r.name), int(r.created_at)) for r in rows]


async def revoke(db: Database, token_or_id: str) -> bool:
    """Delete the token given in clear or by id; False if there is none.
    Caches of valid tokens in every process drop it at once (see above)."""
    async with db.write() as conn:
        result = await conn.execute(
            delete(api_tokens).where(
                or_(
                    api_tokens.c.id == token_or_id,
                    api_tokens.c.token_hash == hash_token(token_or_id),
                )
            )
        )
        revoked = bool(result.rowcount)
        if revoked and not db.single_process:
            await conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": REVOKED_CHANNEL})
    if revoked:
        _announce_locally(db)
    return revoked


async def count(db: Database) -> int:
    async with db.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(api_tokens))).scalar_one())


# -- the revocation generation ----------------------------------------------------------

#: Revocations made by this process.
_local_revocations = 0


def _announce_locally(db: Database) -> None:
    global _local_revocations
    _local_revocations += 1
    marker = _marker_file(db)
    if marker is not None:
        descriptor = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(f"{os.getpid()} {time.time_ns()}\n")


def _marker_file(db: Database) -> Path | None:
    """The SQLite database's revocation marker (None for an in-memory one)."""
    if not db.is_sqlite:
        return None
    database = make_url(db.url).database
    if not database or database == ":memory:":
        return None
    return Path(database).with_name(Path(database).name + "-revocations")


class Revocations:
    """The revocation generation of one database, seen from this process.

    ``generation()`` is a value that changes whenever a token may have been
    revoked, or None when that cannot be known (then nothing may be cached).
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._marker = _marker_file(db)
        self._notified = 0
        self._listening = db.single_process
        self._task: asyncio.Task[None] | None = None

    def generation(self) -> object | None:
        if not self._listening:
            return None
        if self._marker is None:
            return (_local_revocations, self._notified)
        try:
            stat = os.stat(self._marker)
        except FileNotFoundError:
            return (_local_revocations, None)
        return (_local_revocations, stat.st_mtime_ns, stat.st_size, stat.st_ino)

    async def start(self) -> None:
        """On PostgreSQL, start listening for revocations in other processes."""
        if not self._db.single_process:
            self._task = asyncio.create_task(self._listen_forever(), name="hookgate-tokens")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _listen_forever(self) -> None:
        dsn = listen_dsn(self._db.url)
        backoff = 0.5
        while True:
            try:
                connection = await asyncpg.connect(dsn)
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("cannot listen for token revocations (%s); retrying", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            backoff = 0.5
            try:
                await self._listen(connection)
            finally:
                self._listening = False
                with contextlib.suppress(Exception):
                    await connection.close(timeout=1)

    async def _listen(self, connection: Any) -> None:
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _connection: lost.set())
        await connection.add_listener(REVOKED_CHANNEL, self._revoked)
        self._notified += 1  # anything revoked while we were not listening
        self._listening = True
        await lost.wait()

    def _revoked(self, *_: Any) -> None:
        self._notified += 1

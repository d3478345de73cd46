"""Browser sessions of the dashboard and of the consumer portal.

The browser holds only a random secret in an HttpOnly cookie; the store
keeps its SHA-256. A session is valid until it expires and, besides:

- an operator session while the API token it logged in with is valid (the
  admin token of this process's settings, or a stored token not revoked);
- a portal session while its portal token is valid (``store.portal_tokens``;
  deleting the token deletes its sessions).
"""

from __future__ import annotations

import secrets

from sqlalchemy import delete, exists, select

from hookgate.core import ids
from hookgate.core.portal import PortalGrant
from hookgate.store.database import Database
from hookgate.store.portal_tokens import grant_of
from hookgate.store.tables import api_tokens, portal_tokens, web_sessions
from hookgate.store.tokens import hash_token


async def _create(
    db: Database,
    now_ms: int,
    expires_at: int,
    *,
    token_hash: str | None,
    portal_token_id: str | None,
) -> str:
    secret = secrets.token_urlsafe(32)
    async with db.write() as conn:
        await conn.execute(
            web_sessions.insert().values(
                id=ids.new_id(ids.WEB_SESSION),
                secret_hash=hash_token(secret),
                token_hash=token_hash,
                portal_token_id=portal_token_id,
                created_at=now_ms,
                expires_at=expires_at,
            )
        )
    return secret


async def create_operator(db: Database, api_token: str, now_ms: int, expires_at: int) -> str:
    """A session for an operator who proved ``api_token``; returns the
    cookie secret. The token itself is not kept, only its hash."""
    return await _create(
        db, now_ms, expires_at, token_hash=hash_token(api_token), portal_token_id=None
    )


async def create_portal(db: Database, grant: PortalGrant, now_ms: int, expires_at: int) -> str:
    """A portal session made from the portal token of ``grant``; returns the
    cookie secret."""
    return await _create(db, now_ms, expires_at, token_hash=None, portal_token_id=grant.token_id)


async def find_operator(
    db: Database, secret: str, now_ms: int, admin_token_hash: str | None
) -> str | None:
    """The session id of a valid operator session with cookie ``secret``."""
    async with db.read() as conn:
        row = (
            await conn.execute(
                select(web_sessions.c.id, web_sessions.c.token_hash).where(
                    web_sessions.c.secret_hash == hash_token(secret),
                    web_sessions.c.expires_at > now_ms,
                    web_sessions.c.token_hash.is_not(None),
                )
            )
        ).first()
        if row is None:
            return None
        if admin_token_hash is not None and row.token_hash == admin_token_hash:
            return str(row.id)
        token_exists = await conn.execute(
            select(exists().where(api_tokens.c.token_hash == row.token_hash))
        )
        return str(row.id) if token_exists.scalar_one() else None


async def find_portal(db: Database, secret: str, now_ms: int) -> PortalGrant | None:
    """The grant of a valid portal session with cookie ``secret``."""
    async with db.read() as conn:
        row = (
            await conn.execute(
                select(portal_tokens)
                .join(web_sessions, web_sessions.c.portal_token_id == portal_tokens.c.id)
                .where(
                    web_sessions.c.secret_hash == hash_token(secret),
                    web_sessions.c.expires_at > now_ms,
                    portal_tokens.c.expires_at > now_ms,
                )
            )
        ).first()
    return None if row is None else grant_of(row)


async def end(db: Database, secret: str) -> None:
    """End the session with cookie ``secret`` (logout); nothing if none."""
    async with db.write() as conn:
        await conn.execute(
            delete(web_sessions).where(web_sessions.c.secret_hash == hash_token(secret))
        )


async def purge_expired(db: Database, now_ms: int) -> int:
    """Forget sessions that have expired (maintenance)."""
    async with db.write() as conn:
        result = await conn.execute(delete(web_sessions).where(web_sessions.c.expires_at <= now_ms))
    return int(result.rowcount)

"""Consumer-portal access tokens: each is scoped to one application, carries
capabilities, and expires; stored as SHA-256 hashes (shown once).

A token ends when it expires, when ``expire_all`` shortens its life (the
SDK's ``authentication.expire_all``) or when it logs out (``revoke``); the
portal's browser sessions made from it end with it (``store.web_sessions``).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select, update

from hookgate.core import ids
from hookgate.core.portal import Capability, PortalGrant
from hookgate.store.database import Database
from hookgate.store.tables import portal_tokens
from hookgate.store.tokens import hash_token

TOKEN_PREFIX = "appsk_"


def grant_of(row: Any) -> PortalGrant:
    """The ``PortalGrant`` of a ``portal_tokens`` row."""
    return PortalGrant(
        token_id=str(row.id),
        app_id=str(row.app_id),
        capabilities=frozenset(Capability(name) for name in row.capabilities),
        read_only=bool(row.read_only),
        expires_at=int(row.expires_at),
    )


async def create(
    db: Database,
    app_id: str,
    *,
    capabilities: frozenset[Capability],
    read_only: bool,
    session_id: str | None,
    now_ms: int,
    expires_at: int,
) -> str:
    """Store a new portal token for ``app_id`` (an application id, not a
    uid) and return it in clear."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    async with db.write() as conn:
        await conn.execute(
            portal_tokens.insert().values(
                id=ids.new_id(ids.PORTAL_TOKEN),
                token_hash=hash_token(token),
                app_id=app_id,
                session_id=session_id,
                capabilities=sorted(capabilities),
                read_only=read_only,
                created_at=now_ms,
                expires_at=expires_at,
            )
        )
    return token


async def identify(db: Database, token: str, now_ms: int) -> PortalGrant | None:
    """The grant of ``token`` if it is a portal token still valid, else None."""
    async with db.read() as conn:
        row = (
            await conn.execute(
                select(portal_tokens).where(
                    portal_tokens.c.token_hash == hash_token(token),
                    portal_tokens.c.expires_at > now_ms,
                )
            )
        ).first()
    return None if row is None else grant_of(row)


async def expire_all(
    db: Database, app_id: str, at_ms: int, session_ids: Sequence[str] | None = None
) -> int:
    """Make every portal token of ``app_id`` (only those made with one of
    ``session_ids``, when given) expire at ``at_ms`` at the latest; returns
    how many were shortened."""
    condition = [portal_tokens.c.app_id == app_id, portal_tokens.c.expires_at > at_ms]
    if session_ids:
        condition.append(portal_tokens.c.session_id.in_(list(session_ids)))
    async with db.write() as conn:
        result = await conn.execute(
            update(portal_tokens).where(*condition).values(expires_at=at_ms)
        )
    return int(result.rowcount)


async def revoke(db: Database, token_id: str) -> bool:
    """Delete the portal token ``token_id`` (and so its browser sessions)."""
    async with db.write() as conn:
        result = await conn.execute(delete(portal_tokens).where(portal_tokens.c.id == token_id))
    return bool(result.rowcount)


async def purge_expired(db: Database, now_ms: int) -> int:
    """Forget tokens that have expired (maintenance)."""
    async with db.write() as conn:
        result = await conn.execute(
            delete(portal_tokens).where(portal_tokens.c.expires_at <= now_ms)
        )
    return int(result.rowcount)


async def count_valid(db: Database, app_id: str, now_ms: int) -> int:
    async with db.read() as conn:
        return int(
            (
                await conn.execute(
                    select(func.count()).where(
                        portal_tokens.c.app_id == app_id, portal_tokens.c.expires_at > now_ms
                    )
                )
            ).scalar_one()
        )

"""API tokens, stored as SHA-256 hashes (the token itself is shown once)."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import func, select

from hookgate.core import ids
from hookgate.store.database import Database
from hookgate.store.tables import api_tokens

TOKEN_PREFIX = "hg_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


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


async def is_valid(db: Database, token: str) -> bool:
    async with db.read() as conn:
        row = await conn.execute(
            select(api_tokens.c.id).where(api_tokens.c.token_hash == hash_token(token))
        )
        return row.first() is not None


async def count(db: Database) -> int:
    async with db.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(api_tokens))).scalar_one())

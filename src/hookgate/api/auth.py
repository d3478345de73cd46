"""Bearer-token authentication for the management API.

Tokens are stored hashed; valid ones are cached briefly in memory so that the
hot path (message creation) does not pay a database read per request.
"""

from __future__ import annotations

import hmac
import time

from fastapi import Request

from hookgate.api.errors import ApiError
from hookgate.store import tokens
from hookgate.store.database import Database

_CACHE_SECONDS = 30.0


class TokenChecker:
    """Validates ``Authorization: Bearer <token>`` headers."""

    def __init__(self, db: Database, admin_token: str | None) -> None:
        self._db = db
        self._admin_token = admin_token
        self._valid_until: dict[str, float] = {}

    async def check(self, request: Request) -> None:
        header = request.headers.get("authorization")
        if not header:
            raise ApiError(401, "Missing Authorization header (expected 'Bearer <token>')")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "Malformed Authorization header (expected 'Bearer <token>')")
        if not await self._is_valid(token):
            raise ApiError(401, "Invalid token")

    async def _is_valid(self, token: str) -> bool:
        # Bytes, not str: compare_digest refuses non-ASCII text (a 500).
        presented = token.encode("utf-8", "surrogateescape")
        if self._admin_token is not None and hmac.compare_digest(
            presented, self._admin_token.encode("utf-8", "surrogateescape")
        ):
            return True
        digest = tokens.hash_token(token)
        now = time.monotonic()
        if self._valid_until.get(digest, 0.0) > now:
            return True
        if await tokens.is_valid(self._db, token):
            if len(self._valid_until) > 10_000:
                self._valid_until.clear()
            self._valid_until[digest] = now + _CACHE_SECONDS
            return True
        return False

"""Stored responses for ``Idempotency-Key`` replays (non-message requests).

Response bodies are stored sealed with the operator's key
(``store.secret_key``): some carry a secret (a rotated endpoint secret, an
``ingestUrl`` with its token, an app-portal token)."""

from __future__ import annotations

from sqlalchemy import delete, select

from hookgate.core.clock import DAY_MS
from hookgate.store import secret_key
from hookgate.store.database import Database
from hookgate.store.tables import idempotency_keys, message_event_ids

KEY_TTL_MS = DAY_MS


async def lookup(db: Database, key: str) -> tuple[int, bytes] | None:
    """The stored (status, body) for ``key``, if a response was stored."""
    async with db.read() as conn:
        row = (
            await conn.execute(
                select(idempotency_keys.c.status_code, idempotency_keys.c.body).where(
                    idempotency_keys.c.key == key, idempotency_keys.c.body.is_not(None)
                )
            )
        ).first()
    if row is None:
        return None
    return row.status_code, secret_key.current().open_bytes(row.body)


async def remember(db: Database, key: str, status: int, body: bytes, now_ms: int) -> None:
    async with db.write() as conn:
        await conn.execute(
            db.insert_ignoring_conflicts(idempotency_keys).values(
                key=key,
                status_code=status,
                body=secret_key.current().seal_bytes(body),
                created_at=now_ms,
            )
        )


async def purge_expired(db: Database, now_ms: int) -> None:
    """Forget idempotency keys and event ids older than a day."""
    async with db.write() as conn:
        await conn.execute(
            delete(idempotency_keys).where(idempotency_keys.c.created_at < now_ms - KEY_TTL_MS)
        )
        await conn.execute(
            delete(message_event_ids).where(message_event_ids.c.created_at < now_ms - KEY_TTL_MS)
        )

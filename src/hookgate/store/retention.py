"""Message payload retention (``MessageIn.payloadRetentionPeriod``).

Each message stores when its payload expires (``payload_expires_at``, set at
accept time). ``expunge_expired_payloads`` is the maintenance job that then
expunges it exactly as ``DELETE .../msg/{id}/content`` does
(``EXPUNGED_VALUES``): the payload and forwarded headers go, the message, its
deliveries and attempts stay.

A message with a delivery still pending (queued, sending or waiting for a
retry) keeps its payload until no delivery is pending any more: the payload
is what is sent, and expunging it would fail those deliveries unsent. It is
expunged by the first pass after its last delivery ends.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from sqlalchemy import exists, select, update

from hookgate.core.clock import DAY_MS
from hookgate.store.database import Database
from hookgate.store.records import DeliveryStatus
from hookgate.store.tables import deliveries, messages

#: Svix's default ``payloadRetentionPeriod``, in days.
DEFAULT_RETENTION_DAYS: Final = 90

#: What expunging a message's content writes to its row, whether asked for
#: (``store.messages.expunge_message``) or due to retention.
EXPUNGED_VALUES: Final[Mapping[str, Any]] = MappingProxyType(
    {"payload": None, "headers": None, "payload_expires_at": None}
)


def payload_expires_at(created_at_ms: int, retention_days: int) -> int:
    """When the payload of a message created at ``created_at_ms`` and kept
    ``retention_days`` days expires (epoch ms)."""
    return created_at_ms + retention_days * DAY_MS


async def expunge_expired_payloads(db: Database, now_ms: int, *, batch: int = 1000) -> int:
    """Expunge every payload whose expiry is at or before ``now_ms``, except
    those of messages with a delivery still pending; return how many were
    expunged.

    Works in batches of up to ``batch`` messages, each its own short write
    transaction, so it never holds the (SQLite) write lock for long. Safe to
    run from several processes at once (PostgreSQL: rows another pass holds
    are skipped).
    """
    if batch < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    pending = exists().where(
        deliveries.c.msg_id == messages.c.id, deliveries.c.status == DeliveryStatus.PENDING
    )
    due = db.skip_locked(
        select(messages.c.id)
        .where(messages.c.payload_expires_at <= now_ms, ~pending)
        .order_by(messages.c.payload_expires_at)
        .limit(batch)
    )
    total = 0
    while True:
        async with db.write() as conn:
            result = await conn.execute(
                update(messages)
                .where(
                    messages.c.id.in_(due.scalar_subquery()),
                    # Checked again: another pass may have expunged it meanwhile.
                    messages.c.payload_expires_at <= now_ms,
                )
                .values(**EXPUNGED_VALUES)
            )
        count = int(result.rowcount or 0)
        total += count
        if count < batch:
            return total

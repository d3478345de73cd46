"""Re-encrypting every stored secret (and stored response) under the current first key
(``hookgate secrets rotate-key``), so that older keys can be retired.

Rows are walked by id in batches, each batch in its own short transaction
that locks its rows (``FOR UPDATE`` on PostgreSQL; SQLite's single writer
on SQLite), so a running server keeps working and a secret rotated through
the API at the same time is never overwritten. Values already under the
first key are left alone, so running it again costs reads only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, select, update

from hookgate.core.secretbox import SecretBox
from hookgate.store import secret_key
from hookgate.store.database import Database
from hookgate.store.tables import endpoints, idempotency_keys, sources

DEFAULT_BATCH = 500


@dataclass(frozen=True, slots=True)
class ResealCounts:
    """How many rows got a new sealed value."""

    endpoints: int
    sources: int
    #: Stored ``Idempotency-Key`` responses (kept a day).
    responses: int = 0


async def reseal_all(db: Database, *, batch: int = DEFAULT_BATCH) -> ResealCounts:
    """Re-encrypt every endpoint and source secret (and ingest token) under
    the first key. Raises ``SecretKeyError`` if a value opens with no key."""
    if batch < 1:
        raise ValueError("batch must be at least 1")
    return ResealCounts(
        endpoints=await _reseal_table(
            db, endpoints.c.id, [endpoints.c.secrets], _reseal_endpoint, batch
        ),
        sources=await _reseal_table(
            db, sources.c.id, [sources.c.config, sources.c.sealed_token], _reseal_source, batch
        ),
        responses=await _reseal_table(
            db, idempotency_keys.c.key, [idempotency_keys.c.body], _reseal_response, batch
        ),
    )


def _reseal_endpoint(box: SecretBox, row: Any) -> dict[str, Any] | None:
    changed = False
    secrets = []
    for entry in row.secrets:
        resealed = box.reseal(entry["sealed"])
        changed = changed or resealed is not None
        secrets.append({**entry, "sealed": resealed or entry["sealed"]})
    return {"secrets": secrets} if changed else None


def _reseal_source(box: SecretBox, row: Any) -> dict[str, Any] | None:
    changes: dict[str, Any] = {}
    token = box.reseal(row.sealed_token)
    if token is not None:
        changes["sealed_token"] = token
    stored = row.config.get("sealed_secrets") or []
    resealed = [box.reseal(sealed) for sealed in stored]
    if any(value is not None for value in resealed):
        sealed = [new or old for new, old in zip(resealed, stored, strict=True)]
        changes["config"] = {**row.config, "sealed_secrets": sealed}
    return changes or None


def _reseal_response(box: SecretBox, row: Any) -> dict[str, Any] | None:
    if row.body is None:
        return None
    body = box.reseal_bytes(row.body)
    return None if body is None else {"body": body}


Reseal = Callable[[SecretBox, Any], dict[str, Any] | None]


async def _reseal_table(
    db: Database, key: Column[Any], columns: list[Column[Any]], reseal: Reseal, batch: int
) -> int:
    """Apply ``reseal`` to every row of ``key``'s table, ``batch`` rows (in
    ``key`` order) per transaction; returns how many rows it changed."""
    box = secret_key.current()
    table = key.table
    after = ""
    changed = 0
    while True:
        async with db.write() as conn:
            query = (
                select(key.label("row_key"), *columns)
                .where(key > after)
                .order_by(key)
                .limit(batch)
                .with_for_update()
            )
            rows = (await conn.execute(query)).all()
            for row in rows:
                values = reseal(box, row)
                if values is not None:
                    await conn.execute(update(table).where(key == row.row_key).values(values))
                    changed += 1
        if len(rows) < batch:
            return changed
        after = rows[-1].row_key


async def check_key(db: Database) -> None:
    """Raise ``SecretKeyError`` unless the configured keys open a stored
    secret (one endpoint's and one source's, if any): a wrong or lost key is
    refused at start instead of failing every delivery."""
    box = secret_key.current()
    async with db.read() as conn:
        endpoint = (await conn.execute(select(endpoints.c.secrets).limit(1))).scalar()
        token = (await conn.execute(select(sources.c.sealed_token).limit(1))).scalar()
    for entry in endpoint or ():
        box.open(entry["sealed"])
    if token is not None:
        box.open(token)

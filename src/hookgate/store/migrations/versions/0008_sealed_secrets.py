"""Secrets at rest: sealed with the operator's key, ingest tokens as digests.

- ``endpoints.secrets``: each ``{"key": ...}`` becomes ``{"sealed": ...}``
  (``store.rows.sealed_secrets``).
- ``sources.config``: ``secrets`` becomes ``sealed_secrets``
  (``store.sources.sealed_config``).
- ``sources``: ``token`` / ``previous_token`` become ``token_hash`` (SHA-256,
  unique index), ``sealed_token`` and ``previous_token_hash``.
- ``idempotency_keys.body``: stored responses are sealed (some carry a
  secret or an ingest URL).
- ``inbound_requests.path``: ``/in/<a token>`` becomes ``/in/<token>``, as
  new requests are stored (``store.source_lookup.redacted_path``); the downgrade
  leaves it so.

Sealing uses the key ``open_database`` installed (``store.secret_key``).
Downgrading opens everything again; a rotated-out previous token cannot be
recovered from its digest, so it stops working at once.

On SQLite ``sources`` is never rebuilt (it would cascade-delete the stored
inbound requests, see 0004): columns are added and dropped with plain
``ALTER TABLE``, which is why the new NOT NULL columns carry a vestigial
``DEFAULT ''`` there.

Revision ID: 0008
Revises: 0007

"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from hookgate.core.secretbox import token_digest
from hookgate.store import secret_key

# revision identifiers, used by Alembic.
revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_endpoints = sa.table("endpoints", sa.column("id", sa.String), sa.column("secrets", sa.JSON))
_responses = sa.table(
    "idempotency_keys", sa.column("key", sa.Text), sa.column("body", sa.LargeBinary)
)


def _is_sqlite() -> bool:
    return bool(op.get_bind().dialect.name == "sqlite")


def _add_required_text(table: str, name: str, length: int | None) -> None:
    kind = sa.String(length=length) if length else sa.Text()
    if _is_sqlite():
        op.add_column(table, sa.Column(name, kind, nullable=False, server_default=""))
    else:
        op.add_column(table, sa.Column(name, kind, nullable=True))


def _require(table: str, name: str, length: int | None) -> None:
    if not _is_sqlite():
        kind = sa.String(length=length) if length else sa.Text()
        op.alter_column(table, name, existing_type=kind, nullable=False)


def _update_each(table: Any, changes: list[dict[str, Any]]) -> None:
    """``UPDATE table SET ... WHERE id = ...`` for each dict (its ``id`` key)."""
    if not changes:
        return
    columns = [key for key in changes[0] if key != "id"]
    statement = (
        table.update()
        .where(table.c.id == sa.bindparam("row_id"))
        .values({name: sa.bindparam(f"new_{name}") for name in columns})
    )
    op.get_bind().execute(
        statement,
        [{"row_id": c["id"], **{f"new_{name}": c[name] for name in columns}} for c in changes],
    )


def _convert_endpoint_secrets(convert: Any) -> None:
    rows = op.get_bind().execute(sa.select(_endpoints.c.id, _endpoints.c.secrets)).all()
    _update_each(
        _endpoints, [{"id": i, "secrets": [convert(s) for s in stored]} for i, stored in rows]
    )


def _convert_responses(convert: Any) -> None:
    bind = op.get_bind()
    query = sa.select(_responses.c.key, _responses.c.body).where(_responses.c.body.is_not(None))
    changes = [{"row_key": key, "new_body": convert(body)} for key, body in bind.execute(query)]
    if changes:
        statement = (
            _responses.update()
            .where(_responses.c.key == sa.bindparam("row_key"))
            .values(body=sa.bindparam("new_body"))
        )
        bind.execute(statement, changes)


def _redact_request_paths(tokens: list[str]) -> None:
    requests = sa.table("inbound_requests", sa.column("path", sa.Text))
    for token in tokens:
        op.execute(
            requests.update().where(requests.c.path == f"/in/{token}").values(path="/in/<token>")
        )


def upgrade() -> None:
    """Upgrade schema."""
    box = secret_key.current()
    _convert_responses(box.seal_bytes)

    def seal_endpoint_secret(entry: dict[str, Any]) -> dict[str, Any]:
        if "sealed" in entry:
            return entry
        return {"sealed": box.seal(entry["key"]), "expires_at": entry.get("expires_at")}

    _convert_endpoint_secrets(seal_endpoint_secret)

    _add_required_text("sources", "token_hash", 64)
    _add_required_text("sources", "sealed_token", None)
    op.add_column("sources", sa.Column("previous_token_hash", sa.String(length=64), nullable=True))
    old = sa.table(
        "sources",
        sa.column("id", sa.String),
        sa.column("config", sa.JSON),
        sa.column("token", sa.String),
        sa.column("previous_token", sa.String),
        sa.column("token_hash", sa.String),
        sa.column("sealed_token", sa.Text),
        sa.column("previous_token_hash", sa.String),
    )
    changes = []
    rows = op.get_bind().execute(sa.select(old)).all()
    for row in rows:
        config = {k: v for k, v in (row.config or {}).items() if k != "secrets"}
        config["sealed_secrets"] = [box.seal(s) for s in (row.config or {}).get("secrets") or ()]
        changes.append(
            {
                "id": row.id,
                "config": config,
                "token_hash": token_digest(row.token),
                "sealed_token": box.seal(row.token),
                "previous_token_hash": (
                    token_digest(row.previous_token) if row.previous_token else None
                ),
            }
        )
    _update_each(old, changes)
    _redact_request_paths([t for row in rows for t in (row.token, row.previous_token) if t])
    _require("sources", "token_hash", 64)
    _require("sources", "sealed_token", None)
    op.drop_index("ix_sources_previous_token", table_name="sources")
    op.drop_index("ix_sources_token", table_name="sources")
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+), never a rebuild: see above.
    op.drop_column("sources", "previous_token")
    op.drop_column("sources", "token")
    op.create_index("ix_sources_token_hash", "sources", ["token_hash"], unique=True)
    op.create_index("ix_sources_previous_token_hash", "sources", ["previous_token_hash"])


def downgrade() -> None:
    """Downgrade schema."""
    box = secret_key.current()
    _convert_responses(box.open_bytes)

    def open_endpoint_secret(entry: dict[str, Any]) -> dict[str, Any]:
        if "sealed" not in entry:
            return entry
        return {"key": box.open(entry["sealed"]), "expires_at": entry.get("expires_at")}

    _convert_endpoint_secrets(open_endpoint_secret)

    _add_required_text("sources", "token", 64)
    op.add_column("sources", sa.Column("previous_token", sa.String(length=64), nullable=True))
    new = sa.table(
        "sources",
        sa.column("id", sa.String),
        sa.column("config", sa.JSON),
        sa.column("token", sa.String),
        sa.column("sealed_token", sa.Text),
        sa.column("previous_token_expires_at", sa.BigInteger),
    )
    changes = []
    for row in op.get_bind().execute(sa.select(new)).all():
        config = {k: v for k, v in (row.config or {}).items() if k != "sealed_secrets"}
        config["secrets"] = [box.open(s) for s in (row.config or {}).get("sealed_secrets") or ()]
        changes.append(
            {
                "id": row.id,
                "config": config,
                "token": box.open(row.sealed_token),
                "previous_token_expires_at": None,
            }
        )
    _update_each(new, changes)
    _require("sources", "token", 64)
    op.drop_index("ix_sources_previous_token_hash", table_name="sources")
    op.drop_index("ix_sources_token_hash", table_name="sources")
    op.drop_column("sources", "previous_token_hash")
    op.drop_column("sources", "sealed_token")
    op.drop_column("sources", "token_hash")
    op.create_index("ix_sources_token", "sources", ["token"], unique=True)
    op.create_index("ix_sources_previous_token", "sources", ["previous_token"])

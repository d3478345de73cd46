"""Source ingest tokens, dedupe entry expiry and indexes for the request
listing and retention.

- ``sources``: ``token`` (unique; every existing source gets a random one),
  ``previous_token`` and ``previous_token_expires_at`` (token rotation).
- ``inbound_dedupe``: ``expires_at`` (existing entries: ``created_at`` + one
  day, the default dedupe window).
- ``inbound_requests``: indexes on (source_id, received_at),
  (source_id, event_id, id) and (received_at).

On SQLite, ``sources`` is never rebuilt (no batch "move and copy"): the
database runs with ``foreign_keys=ON`` inside the migration transaction, so
dropping the old ``sources`` table would cascade-delete every stored inbound
request. Its columns are added and dropped with plain ``ALTER TABLE``, which
is why ``token`` carries a vestigial ``DEFAULT ''`` there (SQLite adds a NOT
NULL column only with a default) and why its uniqueness is a unique index.

Revision ID: 0004
Revises: 0003

"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The default dedupe window, for the expiry of existing entries.
_DAY_MS = 86_400_000


def _is_sqlite() -> bool:
    return bool(op.get_bind().dialect.name == "sqlite")


def upgrade() -> None:
    """Upgrade schema."""
    _add_source_tokens()
    with op.batch_alter_table("inbound_dedupe", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.BigInteger(), nullable=True))
    dedupe = sa.table("inbound_dedupe", sa.column("created_at"), sa.column("expires_at"))
    op.execute(dedupe.update().values(expires_at=dedupe.c.created_at + _DAY_MS))
    # Rebuilding inbound_dedupe on SQLite is safe: no foreign key involves it.
    with op.batch_alter_table("inbound_dedupe", schema=None) as batch_op:
        batch_op.alter_column("expires_at", existing_type=sa.BigInteger(), nullable=False)
        batch_op.create_index("ix_inbound_dedupe_expires", ["expires_at"], unique=False)

    op.create_index(
        "ix_inbound_requests_source_received", "inbound_requests", ["source_id", "received_at"]
    )
    op.create_index(
        "ix_inbound_requests_source_event", "inbound_requests", ["source_id", "event_id", "id"]
    )
    op.create_index("ix_inbound_requests_received", "inbound_requests", ["received_at"])


def _add_source_tokens() -> None:
    if _is_sqlite():
        token = sa.Column("token", sa.String(length=64), nullable=False, server_default="")
    else:
        token = sa.Column("token", sa.String(length=64), nullable=True)
    op.add_column("sources", token)
    op.add_column("sources", sa.Column("previous_token", sa.String(length=64), nullable=True))
    op.add_column("sources", sa.Column("previous_token_expires_at", sa.BigInteger(), nullable=True))
    bind = op.get_bind()
    table = sa.table("sources", sa.column("id"), sa.column("token"))
    for (source_id,) in bind.execute(sa.select(table.c.id)).all():
        bind.execute(
            table.update().where(table.c.id == source_id).values(token=secrets.token_urlsafe(24))
        )
    if not _is_sqlite():
        op.alter_column("sources", "token", existing_type=sa.String(length=64), nullable=False)
    op.create_index("ix_sources_token", "sources", ["token"], unique=True)
    op.create_index("ix_sources_previous_token", "sources", ["previous_token"])


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_inbound_requests_received", table_name="inbound_requests")
    op.drop_index("ix_inbound_requests_source_event", table_name="inbound_requests")
    op.drop_index("ix_inbound_requests_source_received", table_name="inbound_requests")
    with op.batch_alter_table("inbound_dedupe", schema=None) as batch_op:
        batch_op.drop_index("ix_inbound_dedupe_expires")
        batch_op.drop_column("expires_at")

    op.drop_index("ix_sources_previous_token", table_name="sources")
    op.drop_index("ix_sources_token", table_name="sources")
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+), never a rebuild: see above.
    op.drop_column("sources", "previous_token_expires_at")
    op.drop_column("sources", "previous_token")
    op.drop_column("sources", "token")

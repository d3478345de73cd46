"""Message payload retention and automatic disabling of failing endpoints.

- ``messages.payload_expires_at`` (epoch ms; NULL once the payload is
  expunged), indexed for the purge. Existing messages that still have their
  payload get ``created_at`` + 90 days, the default retention.
- ``endpoints.failing_since`` (epoch ms): start of the first failed attempt
  since the last successful one. Existing endpoints start with NULL.

On SQLite both tables are altered with plain ``ALTER TABLE``, never rebuilt
(batch "move and copy"): the migration runs with ``foreign_keys=ON``, so
dropping the old ``messages`` or ``endpoints`` table would cascade-delete
their deliveries and attempts (see 0004). Both new columns are nullable, which
plain ``ALTER TABLE ... ADD COLUMN`` allows.

Revision ID: 0005
Revises: 0004

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The default payload retention (90 days), for existing messages.
_RETENTION_MS = 90 * 86_400_000


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column("messages", sa.Column("payload_expires_at", sa.BigInteger(), nullable=True))
    messages = sa.table(
        "messages", sa.column("created_at"), sa.column("payload"), sa.column("payload_expires_at")
    )
    op.execute(
        messages.update()
        .where(messages.c.payload.is_not(None))
        .values(payload_expires_at=messages.c.created_at + _RETENTION_MS)
    )
    op.create_index("ix_messages_payload_expires", "messages", ["payload_expires_at"])
    op.add_column("endpoints", sa.Column("failing_since", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+), never a rebuild: see above.
    op.drop_column("endpoints", "failing_since")
    op.drop_index("ix_messages_payload_expires", table_name="messages")
    op.drop_column("messages", "payload_expires_at")

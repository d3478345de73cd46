"""Forwarding inbound requests: each source's internal application and the
original headers of forwarded messages.

Both columns are added and dropped with plain ``ALTER TABLE``, never a batch
rebuild: on SQLite the migration runs with ``foreign_keys=ON``, so dropping
the old ``sources`` (or ``messages``) table would cascade-delete every stored
inbound request (or delivery and attempt).

Revision ID: 0003
Revises: 0002

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column("sources", sa.Column("app_id", sa.String(length=64), nullable=True))
    op.add_column("messages", sa.Column("headers", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+), never a rebuild: see above.
    op.drop_column("messages", "headers")
    op.drop_column("sources", "app_id")

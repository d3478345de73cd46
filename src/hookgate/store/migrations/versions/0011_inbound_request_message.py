"""Received requests remember the message that forwarded them
(``inbound_requests.message_id``), so the dashboard can link a request to
its deliveries. NULL for requests that were refused, duplicates, received
by a source without destinations, and every request stored before this
revision. Plain ``ALTER TABLE`` on SQLite, never a rebuild (see 0005).

Revision ID: 0011
Revises: 0010

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column("inbound_requests", sa.Column("message_id", sa.String(64), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_column("inbound_requests", "message_id")

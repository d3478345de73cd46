"""``endpoint_throttles.paused_until``: an endpoint paused after it asked to
slow down (429, 502, 504) or got no HTTP answer attempt after attempt (the
circuit breaker) is skipped by every worker's claims until then.

Revision ID: 0009
Revises: 0008

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column("endpoint_throttles", sa.Column("paused_until", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+), never a rebuild.
    op.drop_column("endpoint_throttles", "paused_until")

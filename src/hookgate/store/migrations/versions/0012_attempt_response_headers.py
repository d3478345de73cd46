"""``attempts.response_headers``: the headers of each attempt's response, as
received, for the dashboard and portal to show next to the body.

Revision ID: 0012
Revises: 0011

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column("attempts", sa.Column("response_headers", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+), never a rebuild.
    op.drop_column("attempts", "response_headers")

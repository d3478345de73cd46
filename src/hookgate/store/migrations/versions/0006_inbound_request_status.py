"""Received requests get a ``status`` column: ``accepted``, ``rejected`` or
``duplicate`` (until now a duplicate was told apart only by its rejection
text starting with "duplicate of ").

Existing rows are converted: no rejection is ``accepted``, a rejection
starting with "duplicate of " is ``duplicate``, any other ``rejected``. The
rejection text is kept as the reason, so a downgrade loses nothing. Plain
``ALTER TABLE`` on SQLite, never a rebuild (see 0005).

Revision ID: 0006
Revises: 0005

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DUPLICATE_PREFIX = "duplicate of "


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column(
        "inbound_requests",
        sa.Column("status", sa.String(16), nullable=False, server_default="accepted"),
    )
    requests = sa.table("inbound_requests", sa.column("rejection"), sa.column("status"))
    # substr, not LIKE: SQLite's LIKE ignores case, and the prefix must match exactly.
    is_duplicate = (
        sa.func.substr(requests.c.rejection, 1, len(_DUPLICATE_PREFIX)) == _DUPLICATE_PREFIX
    )
    op.execute(
        requests.update()
        .where(requests.c.rejection.is_not(None))
        .values(status=sa.case((is_duplicate, "duplicate"), else_="rejected"))
    )
    op.create_index(
        "ix_inbound_requests_source_status", "inbound_requests", ["source_id", "status", "id"]
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_inbound_requests_source_status", table_name="inbound_requests")
    op.drop_column("inbound_requests", "status")

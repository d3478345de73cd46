"""The ``endpoint_throttles`` table: each throttled endpoint's next free send
slot, shared by every worker (``throttleRate``, see ``core.throttle``).

Revision ID: 0007
Revises: 0006

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "endpoint_throttles",
        sa.Column("endpoint_id", sa.String(64), nullable=False),
        sa.Column("next_send_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["endpoints.id"],
            name=op.f("fk_endpoint_throttles_endpoint_id_endpoints"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("endpoint_id", name=op.f("pk_endpoint_throttles")),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("endpoint_throttles")

"""``poller_consumers``: the server-kept offsets of polling-endpoint consumers.

Revision ID: 0013
Revises: 0012

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "poller_consumers",
        sa.Column("endpoint_id", sa.String(length=64), nullable=False),
        sa.Column("consumer_id", sa.String(length=256), nullable=False),
        sa.Column("position", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["endpoints.id"],
            name=op.f("fk_poller_consumers_endpoint_id_endpoints"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("endpoint_id", "consumer_id", name=op.f("pk_poller_consumers")),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("poller_consumers")

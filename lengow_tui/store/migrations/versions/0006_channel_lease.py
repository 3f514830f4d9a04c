"""scale-out: channel import leases shared by several sync workers

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

from lengow_tui.store.types import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_lease",
        sa.Column("channel_id", sa.Integer(), sa.ForeignKey("channel.id"), primary_key=True),
        sa.Column("owner", sa.String(length=128), nullable=True),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("acquired_at", UTCDateTime(), nullable=True),
        sa.Column("next_import_at", UTCDateTime(), nullable=True),
    )
    # "What does this worker hold?" (lengow-tui workers, cleanup of dead workers) without a scan.
    op.create_index("ix_action_lease_owner", "action", ["lease_owner"])


def downgrade() -> None:
    op.drop_index("ix_action_lease_owner", table_name="action")
    op.drop_table("channel_lease")

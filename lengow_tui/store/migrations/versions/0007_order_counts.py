"""order counts by channel, status and day, kept by triggers (O(1) sidebar counts at any volume)

Revision ID: 0007
Revises: 0006
"""

from alembic import op

from lengow_tui.store.order_counts import create_order_counts, drop_order_counts

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_order_counts(op.get_bind())


def downgrade() -> None:
    drop_order_counts(op.get_bind())

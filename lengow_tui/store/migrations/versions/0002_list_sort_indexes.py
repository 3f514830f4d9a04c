"""indexes for sorting lists by total and deadline, and finding orders by reference

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_orders_reference": ["marketplace_order_id"],
    "ix_orders_total": ["total_cents"],
    "ix_orders_status_total": ["status", "total_cents"],
    "ix_orders_deadline": ["shipping_deadline"],
    "ix_orders_status_deadline": ["status", "shipping_deadline"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "orders", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="orders")

"""sync engine: rate gates, stock reservations, purge runs, workers, auto-accept notes

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from lengow_tui.store.types import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_gate",
        sa.Column("channel_id", sa.Integer(), sa.ForeignKey("channel.id"), primary_key=True),
        sa.Column("blocked_until", UTCDateTime(), nullable=True),
        sa.Column("reason", sa.String(length=512), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "stock_reservation",
        sa.Column("order_id", sa.Integer(), sa.ForeignKey("orders.id"), primary_key=True),
        sa.Column("sku", sa.String(length=128), primary_key=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "purge_run",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("worker", sa.String(length=128), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("documents", sa.Integer(), nullable=False),
        sa.Column("actions", sa.Integer(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("error", sa.String(length=2048), nullable=True),
    )
    op.create_table(
        "worker",
        sa.Column("name", sa.String(length=128), primary_key=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("host", sa.String(length=128), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("heartbeat_at", UTCDateTime(), nullable=False),
        sa.Column("holds", sa.JSON(), nullable=False),
    )
    # A plain ADD COLUMN (no batch copy): SQLite adds a nullable column without rewriting the table.
    op.add_column("orders", sa.Column("auto_accept_note", sa.String(length=512), nullable=True))
    op.create_index("ix_action_updated", "action", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_action_updated", table_name="action")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("auto_accept_note")
    for table in ("worker", "purge_run", "stock_reservation", "channel_gate"):
        op.drop_table(table)

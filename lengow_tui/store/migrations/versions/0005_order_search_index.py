"""free-text search index: FTS5 on SQLite, pg_trgm on PostgreSQL

Revision ID: 0005
Revises: 0004
"""

from alembic import op

from lengow_tui.store.search_index import create_search_index, drop_search_index

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_search_index(op.get_bind())


def downgrade() -> None:
    drop_search_index(op.get_bind())

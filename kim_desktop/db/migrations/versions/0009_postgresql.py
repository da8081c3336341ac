"""PostgreSQL (the office server): the search index sorts its keys bytewise

The person search scans key ranges (``key >= 'n:oez' AND key < 'n:oez' || chr(127)``) on the primary key of
``search_key``. SQLite compares text bytewise; a PostgreSQL database created with a language collation
(de_DE.UTF-8, ICU) would compare linguistically, ignore the ``n:``/``p:`` prefixes' punctuation at the
first level and make those ranges wrong. ``COLLATE "C"`` gives PostgreSQL the same order as SQLite, and its
B-tree serves every range and exact key of the search (see docs/decisions/013-postgresql.md). Nothing to
do on SQLite.

Revision ID: 0009_postgresql
Revises: 0008_import_batch
Create Date: 2026-11-28 12:00:00
"""

from alembic import op

revision = "0009_postgresql"
down_revision = "0008_import_batch"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute('ALTER TABLE search_key ALTER COLUMN key TYPE VARCHAR(220) COLLATE "C"')


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute('ALTER TABLE search_key ALTER COLUMN key TYPE VARCHAR(220) COLLATE "default"')

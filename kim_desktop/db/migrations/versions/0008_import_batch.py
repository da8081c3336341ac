"""import of persons from Excel/CSV: one record per import batch and the persons it created, so that
"Import rückgängig machen" removes exactly those persons

Revision ID: 0008_import_batch
Revises: 0007_retention
Create Date: 2026-11-28 03:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_import_batch"
down_revision = "0007_retention"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "import_batch",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(36), nullable=True),
        sa.Column("file_name", sa.String(260), nullable=False),
        sa.Column("file_format", sa.String(10), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("imported", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("flagged", sa.Integer(), nullable=False),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("undone_by", sa.String(36), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_import_batch"),
    )
    op.create_index("ix_import_batch_created_at", "import_batch", ["created_at"])
    op.create_table(
        "import_batch_person",
        sa.Column("batch_id", sa.String(36), nullable=False),
        sa.Column("person_id", sa.String(36), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["import_batch.id"],
            name="fk_import_batch_person_batch_id_import_batch",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name="fk_import_batch_person_person_id_person", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("batch_id", "person_id", name="pk_import_batch_person"),
    )
    op.create_index("ix_import_batch_person_person_id", "import_batch_person", ["person_id"])


def downgrade() -> None:
    op.drop_index("ix_import_batch_person_person_id", table_name="import_batch_person")
    op.drop_table("import_batch_person")
    op.drop_index("ix_import_batch_created_at", table_name="import_batch")
    op.drop_table("import_batch")

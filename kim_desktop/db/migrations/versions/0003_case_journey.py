"""case journey: assessment priority, journal entry location, finding linked to a journal entry

Revision ID: 0003_case_journey
Revises: 0002_search_index
Create Date: 2026-11-27 22:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_case_journey"
down_revision = "0002_search_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("assessment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("priority", sa.Integer(), nullable=True))
    with op.batch_alter_table("journal_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("location_id", sa.String(length=36), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_journal_entry_location_id_location"), "location", ["location_id"], ["id"]
        )
    with op.batch_alter_table("structural_finding", schema=None) as batch_op:
        batch_op.add_column(sa.Column("journal_entry_id", sa.String(length=36), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_structural_finding_journal_entry_id_journal_entry"),
            "journal_entry",
            ["journal_entry_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("structural_finding", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_structural_finding_journal_entry_id_journal_entry"), type_="foreignkey")
        batch_op.drop_column("journal_entry_id")
    with op.batch_alter_table("journal_entry", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_journal_entry_location_id_location"), type_="foreignkey")
        batch_op.drop_column("location_id")
    with op.batch_alter_table("assessment", schema=None) as batch_op:
        batch_op.drop_column("priority")

"""retention and data subject rights: restriction of processing (Art. 18 DSGVO) on persons, and the deletion
protocol (what was deleted or anonymised, when, by which rule – never who the person was)

Revision ID: 0007_retention
Revises: 0006_referral_dispatch
Create Date: 2026-11-28 01:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_retention"
down_revision = "0006_referral_dispatch"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("person") as batch:
        batch.add_column(sa.Column("restricted_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("restriction_reason", sa.Text(), nullable=True))
    op.create_table(
        "deletion_protocol",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=True),
        sa.Column("rule", sa.String(60), nullable=False),  # retention|request_art17|…
        sa.Column("action", sa.String(20), nullable=False),  # deleted|anonymised
        sa.Column("entity_type", sa.String(40), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(36), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),  # counts and dates only, never personal data
    )
    op.create_index("ix_deletion_protocol_run", "deletion_protocol", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_deletion_protocol_run", table_name="deletion_protocol")
    op.drop_table("deletion_protocol")
    with op.batch_alter_table("person") as batch:
        batch.drop_column("restriction_reason")
        batch.drop_column("restricted_at")

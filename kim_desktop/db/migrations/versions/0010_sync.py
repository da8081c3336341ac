"""laptop replica and sync: replica scope and office, conflict inbox values, server-side push receipts

``replica_state`` (on the laptop) gets the office it belongs to, its user, its persons and the kind of scope;
``sync_conflict`` keeps the common base and the chosen value; ``sync_receipt`` (on the office database)
records which change of which replica was already applied or refused, so a push repeated after a dropped
connection never applies twice (docs/decisions/014-sync.md). An index serves the outgoing feed of a replica.

Revision ID: 0010_sync
Revises: 0009_postgresql
Create Date: 2026-11-29 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_sync"
down_revision = "0009_postgresql"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("replica_state") as batch:
        batch.add_column(sa.Column("office_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("user_id", sa.String(36), nullable=True))
        batch.add_column(sa.Column("person_ids", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("scope", sa.String(20), nullable=True))
        batch.add_column(sa.Column("last_sync_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("sync_conflict") as batch:
        batch.add_column(sa.Column("base_value", sa.Text(), nullable=True))
        batch.add_column(sa.Column("resolved_value", sa.Text(), nullable=True))
    op.create_index("ix_sync_conflict_entity", "sync_conflict", ["entity_type", "entity_id", "field"])
    op.create_index("ix_change_record_outgoing", "change_record", ["synced", "origin"])
    op.create_table(
        "sync_receipt",
        sa.Column("replica_id", sa.String(36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(10), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("replica_id", "seq", name="pk_sync_receipt"),
    )


def downgrade() -> None:
    op.drop_table("sync_receipt")
    op.drop_index("ix_change_record_outgoing", table_name="change_record")
    op.drop_index("ix_sync_conflict_entity", table_name="sync_conflict")
    with op.batch_alter_table("sync_conflict") as batch:
        batch.drop_column("resolved_value")
        batch.drop_column("base_value")
    with op.batch_alter_table("replica_state") as batch:
        batch.drop_column("last_sync_at")
        batch.drop_column("scope")
        batch.drop_column("person_ids")
        batch.drop_column("user_id")
        batch.drop_column("office_id")

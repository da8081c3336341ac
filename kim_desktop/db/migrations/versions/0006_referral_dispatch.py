"""referral dispatch: how a referral went out, the logged reason for sending without a release; indexes for
the directory search and the overdue-feedback view

Revision ID: 0006_referral_dispatch
Revises: 0005_calendar_indexes
Create Date: 2026-11-28 01:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_referral_dispatch"
down_revision = "0005_calendar_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("referral") as batch:
        batch.add_column(sa.Column("sent_via", sa.String(20), nullable=True))  # post|email|personal
        batch.add_column(sa.Column("consent_override_reason", sa.Text(), nullable=True))
    op.create_index("ix_referral_status_sent", "referral", ["status", "sent_on"])
    op.create_index("ix_referral_offer", "referral", ["offer_id"])
    op.create_index("ix_referral_provider", "referral", ["provider_id"])
    op.create_index("ix_offer_category", "offer", ["category"])


def downgrade() -> None:
    op.drop_index("ix_offer_category", table_name="offer")
    op.drop_index("ix_referral_provider", table_name="referral")
    op.drop_index("ix_referral_offer", table_name="referral")
    op.drop_index("ix_referral_status_sent", table_name="referral")
    with op.batch_alter_table("referral") as batch:
        batch.drop_column("consent_override_reason")
        batch.drop_column("sent_via")

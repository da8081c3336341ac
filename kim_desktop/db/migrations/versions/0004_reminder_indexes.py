"""reminder indexes: residence validity, consent validity, cases by manager and phase (start page)

Revision ID: 0004_reminder_indexes
Revises: 0003_case_journey
Create Date: 2026-11-27 23:10:00
"""

from alembic import op

revision = "0004_reminder_indexes"
down_revision = "0003_case_journey"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_person_residence_valid_until", "person", ["residence_valid_until"])
    op.create_index("ix_consent_valid_until", "consent", ["valid_until"])
    op.create_index("ix_case_file_manager_phase", "case_file", ["case_manager_id", "phase"])


def downgrade() -> None:
    op.drop_index("ix_case_file_manager_phase", table_name="case_file")
    op.drop_index("ix_consent_valid_until", table_name="consent")
    op.drop_index("ix_person_residence_valid_until", table_name="person")

"""calendar indexes: appointments by start (team views), by interpreter and by room (conflict checks)

Revision ID: 0005_calendar_indexes
Revises: 0004_reminder_indexes
Create Date: 2026-11-28 01:00:00
"""

from alembic import op

revision = "0005_calendar_indexes"
down_revision = "0004_reminder_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_appointment_start", "appointment", ["starts_at"])
    op.create_index("ix_appointment_interpreter_start", "appointment", ["interpreter_id", "starts_at"])
    op.create_index("ix_appointment_location_start", "appointment", ["location_id", "starts_at"])


def downgrade() -> None:
    op.drop_index("ix_appointment_location_start", table_name="appointment")
    op.drop_index("ix_appointment_interpreter_start", table_name="appointment")
    op.drop_index("ix_appointment_start", table_name="appointment")

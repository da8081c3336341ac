"""The schema revisions this program knows, importable without SQLAlchemy (fast start path)."""

# Every revision in kim_desktop/db/migrations/versions, oldest first. A test checks this against Alembic.
REVISIONS = ("0001_initial", "0002_search_index", "0003_case_journey", "0004_reminder_indexes", "0005_calendar_indexes", "0006_referral_dispatch", "0007_retention", "0008_import_batch", "0009_postgresql", "0010_sync", "0011_row_security", "0012_sync_feed")
HEAD_REVISION = REVISIONS[-1]

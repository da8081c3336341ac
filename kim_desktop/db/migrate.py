"""Schema migrations with Alembic, applied at start.

The fast path (schema already current) reads ``alembic_version`` with one query and does not import
Alembic at all, which keeps the GUI start short. Before any migration of a SQLite file a copy is written
with SQLite's online backup API. A database whose revision this program does not know was made by a newer
version and is refused: opening it could destroy data the newer version relies on.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from sqlalchemy import inspect, text

from ..errors import UserError
from ..i18n import _
from .schema_version import HEAD_REVISION, REVISIONS

log = logging.getLogger(__name__)

__all__ = ["HEAD_REVISION", "REVISIONS", "bring_up_to_date", "upgrade", "backup_sqlite", "alembic_config"]
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(connection=None):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def current_revision(connection) -> str | None:
    try:
        row = connection.execute(text("SELECT version_num FROM alembic_version")).first()
    except Exception:  # no table yet
        connection.rollback()
        return None
    return row[0] if row else None


def upgrade(database, revision: str = "head") -> None:
    from alembic import command

    with database.engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)


def backup_sqlite(path: Path, label: str, key: bytes | None = None) -> Path:
    """Copy a live SQLite database with the online backup API (consistent even with WAL and readers); the
    copy of an encrypted database is encrypted with the same key."""
    from .engine import connect_file

    backup_dir = path.parent / "backups"
    backup_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    target = backup_dir / f"{path.stem}.{label}.{stamp}.sqlite3"
    source = connect_file(path, key=key)
    try:
        destination = connect_file(target, key=key)
        try:
            source.backup(destination)
        finally:
            destination.close()
    finally:
        source.close()
    return target


def _refuse_unless_migratable(revision: str | None, has_tables: bool, migrate: bool) -> None:
    if revision is None and has_tables:
        raise UserError(
            _("Diese Datenbank wurde nicht von KIM Desktop angelegt und kann nicht geöffnet werden.")
        )
    if revision is not None and revision not in REVISIONS:
        raise UserError(
            _(
                "Diese Datenbank wurde mit einer neueren Version von KIM Desktop bearbeitet. Bitte "
                "installieren Sie die aktuelle Version; die Datenbank bleibt unverändert."
            )
        )
    if revision is not None and not migrate:
        raise UserError(_("Die Datenbank muss aktualisiert werden. Bitte starten Sie 'kim-desktop init'."))


def bring_up_to_date(database, *, migrate: bool = True) -> None:
    from .seed import seed_reference_data

    with database.engine.connect() as connection:
        revision = current_revision(connection)
        has_tables = bool(inspect(connection).get_table_names()) if revision is None else True
    if revision == HEAD_REVISION:
        return
    _refuse_unless_migratable(revision, has_tables, migrate)
    if database.engine.dialect.name == "postgresql":
        _upgrade_postgresql(database, migrate=migrate)
        return
    if revision is not None and database.location.path is not None:
        database.backup_path = backup_sqlite(database.location.path, f"vor-update-{revision}", database.key)
        log.info("backup before migration written")
    upgrade(database)
    database.created = revision is None
    database.migrated_from = revision
    with database.session() as session:
        seed_reference_data(session)


#: The key of the advisory lock that migrations of a PostgreSQL database run under ("KIMMIGR" in ASCII).
PG_MIGRATION_LOCK = 0x4B494D4D494752


def _upgrade_postgresql(database, *, migrate: bool) -> None:
    """Migrate a server database: one client at a time, in one transaction.

    Every client that finds the schema behind waits for the advisory lock, then looks again: the first one
    migrates and seeds, the others find the schema current and go on. PostgreSQL's DDL is transactional, so
    the tables, the revision and the reference data become visible together (or, on an error, not at all);
    the transaction-level lock ends with the transaction. Backups of a server database are the server's.
    """
    from sqlalchemy.orm import Session

    from .seed import seed_reference_data

    with database.engine.begin() as connection:
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_MIGRATION_LOCK})
        inspector = inspect(connection)
        revision = None
        if inspector.has_table("alembic_version"):
            revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        if revision == HEAD_REVISION:
            log.info("schema brought up to date by another client")
            return
        _refuse_unless_migratable(revision, bool(inspector.get_table_names()), migrate)
        from alembic import command

        command.upgrade(alembic_config(connection), "head")
        with Session(bind=connection, join_transaction_mode="create_savepoint") as session:
            seed_reference_data(session)
            session.commit()
    database.created = revision is None
    database.migrated_from = revision

"""Schema migrations: fresh databases, upgrades with backup, refusal of unknown schemas."""

from __future__ import annotations

import hashlib
import sqlite3
import warnings

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from kim_desktop.db import migrate
from kim_desktop.db.engine import open_database
from kim_desktop.db.models import Base
from kim_desktop.errors import UserError
from kim_desktop.services import persons
from kim_desktop.services.context import Actor, ServiceContext
from kim_desktop.services.search import search_persons


def revision_of(path) -> str | None:
    with sqlite3.connect(path) as raw:
        return raw.execute("SELECT version_num FROM alembic_version").fetchone()[0]


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def database_at(path, revision: str) -> None:
    """A database file at an older schema revision, made with Alembic itself."""
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        command.upgrade(migrate.alembic_config(connection), revision)
    engine.dispose()


PERSON_INSERT = (
    "INSERT INTO person (id, family_name, given_names, sort_name, sex, interpreter_needed, birth_year, "
    "birth_month, birth_day, phone, created_at, updated_at, version, deleted_at) "
    "VALUES (?, ?, ?, ?, 'u', 0, ?, ?, ?, ?, '2025-01-01 10:00:00', '2025-01-01 10:00:00', 1, ?)"
)


# --- fresh database and the revision list ---------------------------------------------------------------


def test_fresh_database_reaches_head(tmp_db_path):
    database = open_database(tmp_db_path)
    try:
        assert database.created is True
        assert database.migrated_from is None
        assert database.backup_path is None  # nothing to back up
    finally:
        database.dispose()
    assert revision_of(tmp_db_path) == migrate.HEAD_REVISION
    assert not (tmp_db_path.parent / "backups").exists()
    # reference data seeded
    with sqlite3.connect(tmp_db_path) as raw:
        statuses = raw.execute(
            "SELECT count(*) FROM code_entry WHERE list_name = 'residence_status'"
        ).fetchone()[0]
        settings = {row[0] for row in raw.execute("SELECT key FROM setting")}
    assert statuses > 5
    assert "file_number_pattern" in settings


def test_reopening_a_current_database_changes_nothing(tmp_db_path):
    open_database(tmp_db_path).dispose()
    with sqlite3.connect(tmp_db_path) as raw:
        codes = raw.execute("SELECT count(*) FROM code_entry").fetchone()[0]
    again = open_database(tmp_db_path)
    try:
        assert (again.created, again.migrated_from, again.backup_path) == (False, None, None)
    finally:
        again.dispose()
    with sqlite3.connect(tmp_db_path) as raw:
        assert raw.execute("SELECT count(*) FROM code_entry").fetchone()[0] == codes


def test_revisions_constant_matches_alembic_history():
    scripts = ScriptDirectory.from_config(migrate.alembic_config())
    history = [rev.revision for rev in scripts.walk_revisions()]  # newest first
    assert tuple(reversed(history)) == migrate.REVISIONS
    assert scripts.get_heads() == [migrate.HEAD_REVISION]
    assert scripts.get_base() == migrate.REVISIONS[0]


def test_models_and_migrations_agree(tmp_db_path):
    """Autogenerate finds nothing to do: the migrations build exactly the schema the models describe."""
    database = open_database(tmp_db_path)
    try:
        with database.engine.connect() as connection, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SQLAlchemy's note about the consent/document/referral FK cycle
            context = MigrationContext.configure(
                connection,
                opts={"compare_type": True, "compare_server_default": True, "render_as_batch": True},
            )
            differences = compare_metadata(context, Base.metadata)
    finally:
        database.dispose()
    assert differences == []


# --- upgrading an older database ------------------------------------------------------------------------


def test_upgrade_from_first_revision_backs_up_and_indexes_existing_persons(tmp_db_path):
    database_at(tmp_db_path, "0001_initial")
    with sqlite3.connect(tmp_db_path) as raw:
        raw.execute(
            PERSON_INSERT, ("p-1", "Öztürk", "Emre", "ozturk emre", 1990, 5, 12, "0170 1234567", None)
        )
        raw.execute(PERSON_INSERT, ("p-2", "Gelöscht", "Gustav", "geloscht gustav", 1950, None, None, None,
                                    "2025-02-01 00:00:00"))  # fmt: skip
        raw.execute(
            "INSERT INTO person_name_variant (id, person_id, family_name, given_names, kind, sort_order) "
            "VALUES ('v-1', 'p-1', 'Oeztuerk', 'Emre', 'passport', 0)"
        )
        raw.execute(
            "INSERT INTO case_file (id, file_number, person_id, phase, opened_on, created_at, updated_at, version) "
            "VALUES ('c-1', 'KIM-2025-0007', 'p-1', 'intake', '2025-01-02', '2025-01-02 09:00:00', "
            "'2025-01-02 09:00:00', 1)"
        )
    assert revision_of(tmp_db_path) == "0001_initial"

    database = open_database(tmp_db_path)
    try:
        assert database.created is False
        assert database.migrated_from == "0001_initial"
        backup = database.backup_path
        assert backup is not None and backup.exists()
        assert backup.parent == tmp_db_path.parent / "backups"
        assert "0001_initial" in backup.name
        context = ServiceContext(database, Actor.local())
        with context.read() as session:
            for query in ("Ozturk", "Oeztuerk", "12.05.1990", "0170 1234567", "KIM-2025-0007", "Emre 1990"):
                assert [h.id for h in search_persons(session, query)] == ["p-1"], query
            assert search_persons(session, "Gelöscht") == []  # deleted persons are not indexed
        view = persons.get_person(context, "p-1")
        assert (view.family_name, view.birth_date.iso(), view.file_numbers) == ("Öztürk", "1990-05-12",
                                                                                ["KIM-2025-0007"])  # fmt: skip
    finally:
        database.dispose()
    assert revision_of(tmp_db_path) == migrate.HEAD_REVISION

    # the backup is a complete, readable database at the old revision
    with sqlite3.connect(backup) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert raw.execute("SELECT version_num FROM alembic_version").fetchone()[0] == "0001_initial"
        assert raw.execute("SELECT family_name FROM person WHERE id = 'p-1'").fetchone()[0] == "Öztürk"
        tables = {row[0] for row in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "search_key" not in tables


def test_old_database_is_not_migrated_when_migration_is_off(tmp_db_path):
    database_at(tmp_db_path, "0001_initial")
    with pytest.raises(UserError) as info:
        open_database(tmp_db_path, migrate=False)
    assert "kim-desktop init" in info.value.message
    assert revision_of(tmp_db_path) == "0001_initial"
    assert not (tmp_db_path.parent / "backups").exists()


def test_downgrade_and_upgrade_again_rebuilds_the_index(ctx):
    view = persons.create_person(
        ctx, {"family_name": "Shevchenko", "given_names": "Olena", "birth_date": "1970"}
    )
    with ctx.database.engine.begin() as connection:
        command.downgrade(migrate.alembic_config(connection), "0001_initial")
    with ctx.database.engine.connect() as connection:
        assert migrate.current_revision(connection) == "0001_initial"
        assert "search_key" not in {
            row[0] for row in connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))
        }
    migrate.upgrade(ctx.database)
    with ctx.read() as session:
        assert [h.id for h in search_persons(session, "Шевченко 1970")] == [view.id]


# --- databases this program must not touch --------------------------------------------------------------


def test_database_from_a_newer_version_is_refused_and_left_unchanged(tmp_db_path):
    open_database(tmp_db_path).dispose()
    with sqlite3.connect(tmp_db_path) as raw:
        raw.execute("UPDATE alembic_version SET version_num = '9999_future'")
    digest = sha256(tmp_db_path)
    with pytest.raises(UserError) as info:
        open_database(tmp_db_path)
    assert "neueren Version" in info.value.message
    assert "unverändert" in info.value.message
    assert sha256(tmp_db_path) == digest
    assert revision_of(tmp_db_path) == "9999_future"
    assert not (tmp_db_path.parent / "backups").exists()


def test_foreign_sqlite_file_is_refused(tmp_db_path):
    with sqlite3.connect(tmp_db_path) as raw:
        raw.execute("CREATE TABLE kunden (id INTEGER PRIMARY KEY, name TEXT)")
        raw.execute("INSERT INTO kunden (name) VALUES ('Beispiel GmbH')")
    digest = sha256(tmp_db_path)
    with pytest.raises(UserError) as info:
        open_database(tmp_db_path)
    assert "nicht von KIM Desktop angelegt" in info.value.message
    assert sha256(tmp_db_path) == digest
    with sqlite3.connect(tmp_db_path) as raw:
        tables = {row[0] for row in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"kunden"}


def test_empty_file_is_initialised(tmp_db_path):
    tmp_db_path.touch()  # e.g. created by the installer or by "new file" in Explorer
    database = open_database(tmp_db_path)
    try:
        assert database.created is True
    finally:
        database.dispose()
    assert revision_of(tmp_db_path) == migrate.HEAD_REVISION

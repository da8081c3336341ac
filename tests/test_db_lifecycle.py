"""The database lifecycle on real SQLite files: connection settings, network shares, locks, read-only
files, a full disk, corrupt files and wrong paths all end in one German sentence, never in lost data."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.orm import sessionmaker

from kim_desktop.db import engine as engine_module
from kim_desktop.db.engine import (
    BUSY_TIMEOUT_MS,
    Database,
    DatabaseLocation,
    filesystem_type,
    is_network_path,
    make_engine,
    open_database,
    translate_db_error,
)
from kim_desktop.db.models import Person, SearchKey
from kim_desktop.errors import UserError
from kim_desktop.services import persons
from kim_desktop.services.context import Actor, ServiceContext
from kim_desktop.services.search import search_persons


def person_count(ctx) -> int:
    with ctx.read() as session:
        return session.scalar(select(func.count()).select_from(Person))


def family_names(path) -> list[str]:
    with sqlite3.connect(path) as raw:
        return sorted(row[0] for row in raw.execute("SELECT family_name FROM person"))


# --- connection settings --------------------------------------------------------------------------------


def test_every_connection_has_wal_foreign_keys_and_busy_timeout(ctx):
    with ctx.database.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == BUSY_TIMEOUT_MS
    # the same for the connections the services use
    with ctx.write() as session:
        assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert session.execute(text("PRAGMA busy_timeout")).scalar() == BUSY_TIMEOUT_MS
    # WAL is a property of the file, visible to any other program
    with sqlite3.connect(ctx.database.location.path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_foreign_keys_are_enforced(ctx):
    with pytest.raises(UserError) as info, ctx.write() as session:
        session.add(SearchKey(key="n:niemand", person_id="00000000-0000-0000-0000-000000000000", weight=0))
    assert "nichts wurde geändert" in info.value.message
    with ctx.read() as session:
        assert session.scalar(select(func.count()).select_from(SearchKey)) == 0


# --- network shares -------------------------------------------------------------------------------------

MOUNTS = """\
sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0
/dev/sda1 / ext4 rw,relatime 0 0
tmpfs /tmp tmpfs rw,nosuid,nodev 0 0
//fileserver/akten /mnt/akten cifs rw,relatime,vers=3.1.1 0 0
/dev/sdb1 /mnt/akten/lokal ext4 rw,relatime 0 0
fileserver:/export/kim /srv/kim nfs4 rw,relatime,vers=4.2 0 0
//nas/Mein\\040Ordner /media/Mein\\040Ordner smb3 rw 0 0
sshfs#user@host: /home/user/remote fuse.sshfs rw,nosuid,nodev 0 0
"""


@pytest.mark.parametrize(
    ("path", "fs_type", "network"),
    [
        ("/mnt/akten/kim.sqlite3", "cifs", True),
        ("/mnt/akten/unter/ordner/kim.sqlite3", "cifs", True),
        ("/mnt/akten/lokal/kim.sqlite3", "ext4", False),  # the longest mount point wins
        ("/mnt/aktenarchiv/kim.sqlite3", "ext4", False),  # not below /mnt/akten
        ("/srv/kim/kim.sqlite3", "nfs4", True),
        ("/media/Mein Ordner/kim.sqlite3", "smb3", True),  # \040 in /proc/mounts is a space
        ("/home/user/remote/kim.sqlite3", "fuse.sshfs", True),
        ("/home/user/kim.sqlite3", "ext4", False),
        ("/tmp/kim.sqlite3", "tmpfs", False),
    ],
)
def test_network_file_systems_recognised(path, fs_type, network):
    assert filesystem_type(Path(path), MOUNTS) == fs_type
    assert is_network_path(Path(path), MOUNTS) is network


@pytest.mark.parametrize("path", ["//server/share/kim.sqlite3", "\\\\server\\share\\kim.sqlite3"])
def test_unc_path_is_a_network_path(path):
    assert is_network_path(Path(path), "") is True


@pytest.mark.parametrize("db", ["//server/share/kim.sqlite3", "sqlite://///server/share/kim.sqlite3"])
def test_open_database_refuses_a_unc_path(db):
    with pytest.raises(UserError) as info:
        open_database(db)
    assert "Netzlaufwerk" in info.value.message
    assert "PostgreSQL" in info.value.message
    # and nothing was created locally under a look-alike path
    assert not Path("/server/share/kim.sqlite3").exists()


# --- locks ----------------------------------------------------------------------------------------------


@pytest.fixture
def quick_ctx(tmp_db_path, monkeypatch):
    """Like ``ctx``, with a short busy timeout (set before the database is opened)."""
    monkeypatch.setattr(engine_module, "BUSY_TIMEOUT_MS", 300)
    database = open_database(tmp_db_path)
    yield ServiceContext(database, Actor.local())
    database.dispose()


def test_locked_database_gives_german_message_and_keeps_data(quick_ctx, tmp_db_path):
    kept = persons.create_person(quick_ctx, {"family_name": "Haddad", "city": "Köln"})
    other = sqlite3.connect(tmp_db_path, isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        started = time.monotonic()
        with pytest.raises(UserError) as info:
            persons.create_person(quick_ctx, {"family_name": "Nasser"})
        waited = time.monotonic() - started
        assert "gesperrt" in info.value.message
        assert "nichts wurde geändert" in info.value.message
        assert 0.2 <= waited < 5  # it waited for the busy timeout, and not forever
        with pytest.raises(UserError) as info:
            persons.update_person(quick_ctx, kept.id, {"city": "Bonn"})
        assert "gesperrt" in info.value.message
        # reading still works while another program writes (WAL)
        with quick_ctx.read() as session:
            assert [h.id for h in search_persons(session, "Haddad")] == [kept.id]
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert family_names(tmp_db_path) == ["Haddad"]
    assert persons.get_person(quick_ctx, kept.id).city == "Köln"
    # once the lock is gone, the same write succeeds
    persons.create_person(quick_ctx, {"family_name": "Nasser"})
    assert family_names(tmp_db_path) == ["Haddad", "Nasser"]


def test_write_waits_for_a_short_lock(tmp_db_path):
    """A lock held for less than the busy timeout is waited for, even after the unit of work has read."""
    database = open_database(tmp_db_path)
    ctx = ServiceContext(database, Actor.local())
    persons.create_person(ctx, {"family_name": "Haddad"})
    other = sqlite3.connect(tmp_db_path, isolation_level=None, check_same_thread=False)
    try:
        other.execute("BEGIN EXCLUSIVE")
        other.execute("UPDATE person SET city = 'Bonn'")
        release = threading.Timer(0.3, other.execute, args=("COMMIT",))
        release.start()
        view = persons.create_person(ctx, {"family_name": "Nasser"})  # reads (duplicate check), then writes
        release.join()
    finally:
        other.close()
        database.dispose()
    assert view.family_name == "Nasser"
    with sqlite3.connect(tmp_db_path) as raw:
        assert sorted(raw.execute("SELECT family_name, city FROM person").fetchall(), key=str) == [
            ("Haddad", "Bonn"), ("Nasser", None),
        ]  # fmt: skip


# --- read-only ------------------------------------------------------------------------------------------


def test_read_only_database_gives_german_message(ctx, tmp_db_path):
    """Root ignores file permissions, so the file is opened read-only through SQLite's URI instead."""
    kept = persons.create_person(ctx, {"family_name": "Haddad"})
    location = DatabaseLocation(f"sqlite:///file:{tmp_db_path}?mode=ro&uri=true", None)
    engine = make_engine(location)
    read_only = ServiceContext(
        Database(location, engine, sessionmaker(engine, expire_on_commit=False)), Actor.local()
    )
    try:
        with pytest.raises(UserError) as info:
            persons.create_person(read_only, {"family_name": "Nasser"})
        assert "schreibgeschützt" in info.value.message
        with pytest.raises(UserError) as info:
            persons.update_person(read_only, kept.id, {"city": "Bonn"})
        assert "schreibgeschützt" in info.value.message
        with read_only.read() as session:  # reading still works
            assert [h.id for h in search_persons(session, "Haddad")] == [kept.id]
    finally:
        engine.dispose()
    assert family_names(tmp_db_path) == ["Haddad"]


def test_translate_real_read_only_error(ctx, tmp_db_path):
    raw = sqlite3.connect(f"file:{tmp_db_path}?mode=ro", uri=True)
    try:
        with pytest.raises(sqlite3.OperationalError) as info:
            raw.execute("INSERT INTO setting (key, value, created_at, updated_at) VALUES ('x', '1', 0, 0)")
    finally:
        raw.close()
    message = translate_db_error(info.value).message
    assert message.startswith("Die Datenbank ist schreibgeschützt.")


# --- full disk ------------------------------------------------------------------------------------------


def test_full_disk_gives_german_message_and_keeps_committed_data(ctx, tmp_db_path):
    kept = persons.create_person(ctx, {"family_name": "Haddad", "note": "vorher gespeichert"})

    def no_room_to_grow(dbapi_connection, _record):
        # SQLite reports SQLITE_FULL exactly as on a full disk once the file would need another page
        pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    event.listen(ctx.database.engine, "connect", no_room_to_grow)
    ctx.database.engine.dispose()  # new connections get the limit
    try:
        with pytest.raises(UserError) as info:
            persons.create_person(ctx, {"family_name": "Nasser", "note": "x" * 80_000})
        assert "Speicherplatz" in info.value.message
        assert "vorher gespeicherten Daten sind unverändert" in info.value.message
        with pytest.raises(UserError) as info:
            persons.update_person(ctx, kept.id, {"note": "y" * 80_000})
        assert "Speicherplatz" in info.value.message
    finally:
        event.remove(ctx.database.engine, "connect", no_room_to_grow)
        ctx.database.engine.dispose()
    assert family_names(tmp_db_path) == ["Haddad"]
    assert persons.get_person(ctx, kept.id).note == "vorher gespeichert"
    with sqlite3.connect(tmp_db_path) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # with room again, saving works
    persons.create_person(ctx, {"family_name": "Nasser", "note": "x" * 80_000})
    assert person_count(ctx) == 2


# --- corrupt files and wrong paths ----------------------------------------------------------------------


def test_random_bytes_are_not_a_database(tmp_db_path):
    tmp_db_path.write_bytes(os.urandom(8192))
    with pytest.raises(UserError) as info:
        open_database(tmp_db_path)
    assert "keine lesbare KIM-Datenbank" in info.value.message


def test_text_file_is_not_a_database(tmp_db_path):
    tmp_db_path.write_text("Name;Vorname\nMüller;Hans\n", encoding="utf-8")
    with pytest.raises(UserError) as info:
        open_database(tmp_db_path)
    assert "keine lesbare KIM-Datenbank" in info.value.message
    assert tmp_db_path.read_text(encoding="utf-8") == "Name;Vorname\nMüller;Hans\n"


def _real_database_bytes(path) -> bytes:
    database = open_database(path)
    ctx = ServiceContext(database, Actor.local())
    persons.create_person(ctx, {"family_name": "Haddad", "note": "z" * 20_000})
    database.dispose()
    data = path.read_bytes()
    assert data.startswith(b"SQLite format 3\x00")
    return data


def test_truncated_database_is_reported_as_damaged(tmp_path):
    data = _real_database_bytes(tmp_path / "gut.sqlite3")
    broken = tmp_path / "abgeschnitten.sqlite3"
    broken.write_bytes(data[: 4096 * 3])
    with pytest.raises(UserError) as info:
        open_database(broken)
    assert "beschädigt" in info.value.message
    assert "Sicherung" in info.value.message


def test_overwritten_pages_are_reported_as_damaged(tmp_path):
    data = bytearray(_real_database_bytes(tmp_path / "gut.sqlite3"))
    data[4096:] = os.urandom(len(data) - 4096)  # header intact, everything after it garbage
    broken = tmp_path / "kaputt.sqlite3"
    broken.write_bytes(bytes(data))
    with pytest.raises(UserError) as info:
        open_database(broken)
    assert "beschädigt" in info.value.message


def test_directory_instead_of_file(tmp_path):
    with pytest.raises(UserError) as info:
        open_database(tmp_path)
    assert "ist ein Ordner, keine Datenbankdatei" in info.value.message


def test_missing_file_without_create(tmp_db_path):
    with pytest.raises(UserError) as info:
        open_database(tmp_db_path, create=False)
    assert "wurde nicht gefunden" in info.value.message
    assert not tmp_db_path.exists()


def test_missing_folders_are_created(tmp_path):
    path = tmp_path / "neu" / "unter" / "kim.sqlite3"
    database = open_database(path)
    database.dispose()
    assert path.is_file()


def test_folder_that_cannot_be_created(tmp_path):
    blocker = tmp_path / "datei"
    blocker.write_text("kein Ordner")
    with pytest.raises(UserError) as info:
        open_database(blocker / "unter" / "kim.sqlite3")
    assert "Ordner für die Datenbank kann nicht angelegt werden" in info.value.message


# --- error translation never leaks data -----------------------------------------------------------------


def test_unknown_database_errors_do_not_quote_data(ctx, tmp_db_path):
    raw = sqlite3.connect(tmp_db_path)
    try:
        raw.execute("CREATE TABLE t (name TEXT UNIQUE)")
        raw.execute("INSERT INTO t VALUES ('Müller, Hans')")
        with pytest.raises(sqlite3.IntegrityError) as info:
            raw.execute("INSERT INTO t VALUES ('Müller, Hans')")
    finally:
        raw.close()
    message = translate_db_error(info.value).message
    assert message == "Die Datenbank meldet einen Fehler; nichts wurde geändert. Details stehen im Protokoll."

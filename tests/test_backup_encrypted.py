"""Backups of an encrypted database: encrypted with the same key, key file beside them, verified with the key,
restored with the current or the backup's own key file, never a plain backup over an encrypted database;
the CLI signs in with KIM_USER/KIM_DB_PASSWORD."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime

import pytest

from kim_desktop.db import keyslots
from kim_desktop.db.engine import SQLITE_HEADER
from kim_desktop.errors import UserError
from kim_desktop.services import backup, login, persons

pytestmark = pytest.mark.usefixtures("fast_kdf")

PASSWORD = "sicheres-passwort-1"
NAME = "Xylophonbauerin"


@pytest.fixture
def enc(tmp_path):
    ctx = login.create_encrypted_database(tmp_path / "kim.sqlite3", "leitung", PASSWORD, "Leitung")
    persons.create_person(ctx, {"family_name": NAME, "given_names": "Testa", "birth_date": "1990"})
    yield ctx
    ctx.database.dispose()


def _raw(path) -> bytes:
    return path.read_bytes()


def test_backup_of_encrypted_database_is_encrypted_and_carries_the_key_file(enc, tmp_path):
    target = tmp_path / "out" / "b.sqlite3"
    info = backup.make_backup(enc, target)
    assert info.encrypted and info.row_counts["person"] == 1
    assert not _raw(target).startswith(SQLITE_HEADER)
    assert NAME.encode() not in _raw(target)
    assert keyslots.keyfile_path(target).is_file()
    # the backup opens with the password valid when it was made, through its own key file
    key, _user, _failures = login.unlock_key(target, "leitung", PASSWORD)
    assert key == enc.database.key
    assert backup.verify_backup(target, key=key).row_counts == info.row_counts
    with pytest.raises(UserError, match="verschlüsselt"):
        backup.verify_backup(target)  # no key: one German line, not "damaged"


def test_backup_of_encrypted_database_needs_the_key(enc, tmp_path):
    with pytest.raises(UserError, match="verschlüsselt"):
        backup.make_backup(enc.database.location.path, tmp_path / "x.sqlite3")
    assert not (tmp_path / "x.sqlite3").exists()


def test_restore_encrypted_backup_keeps_data_and_set_aside_copy_openable(enc, tmp_path):
    db_path = enc.database.location.path
    target = tmp_path / "b.sqlite3"
    backup.make_backup(enc, target)
    persons.create_person(enc, {"family_name": "Nachher", "given_names": "N"})
    key = enc.database.key
    enc.database.dispose()
    result = backup.restore_backup(db_path, target, key=key)
    assert result.set_aside is not None and keyslots.keyfile_path(result.set_aside).is_file()
    ctx = login.open_context(db_path, username="leitung", password=PASSWORD)
    try:
        with ctx.read() as session:
            from kim_desktop.services.search import search_persons

            assert [h.family_name for h in search_persons(session, NAME)] == [NAME]
            assert search_persons(session, "Nachher") == []
    finally:
        ctx.database.dispose()
    aside = login.open_context(result.set_aside, username="leitung", password=PASSWORD)
    aside.database.dispose()


def test_plain_backup_is_not_restored_over_an_encrypted_database(enc, tmp_path):
    from kim_desktop.db.engine import open_database
    from kim_desktop.services.context import Actor, ServiceContext

    plain_db = tmp_path / "plain.sqlite3"
    plain = ServiceContext(open_database(plain_db), Actor.local())
    persons.create_person(plain, {"family_name": "Klar", "given_names": "K"})
    plain_backup = backup.make_backup(plain, tmp_path / "plain-backup.sqlite3")
    plain.database.dispose()
    assert not plain_backup.encrypted
    db_path = enc.database.location.path
    key = enc.database.key
    enc.database.dispose()
    before = _raw(db_path)
    with pytest.raises(UserError, match="unverschlüsselt"):
        backup.restore_backup(db_path, plain_backup.path, key=key)
    assert _raw(db_path) == before


def test_restore_onto_a_new_machine_brings_the_key_file(enc, tmp_path):
    target = tmp_path / "b.sqlite3"
    backup.make_backup(enc, target)
    key = enc.database.key
    fresh = tmp_path / "neu" / "kim.sqlite3"
    backup.restore_backup(fresh, target, key=key)
    assert keyslots.keyfile_path(fresh).is_file()
    ctx = login.open_context(fresh, username="leitung", password=PASSWORD)
    ctx.database.dispose()


def test_automatic_backup_and_rotation_handle_key_files(enc, tmp_path):
    folder = tmp_path / "auto"
    day = datetime(2026, 1, 1, 12, 0)
    for offset in range(10):
        moment = day.replace(day=1 + offset)
        info = backup.auto_backup(enc.database, folder, now=moment)
        assert info is not None and info.encrypted
    names = sorted(p.name for p in folder.iterdir())
    backups = [n for n in names if n.endswith(".sqlite3")]
    assert len(backups) == 7
    # every kept backup has its sidecar and key file; rotated ones left none behind
    assert sorted(names) == sorted(
        [*backups, *(b + ".json" for b in backups), *(b + ".keys" for b in backups)]
    )


def _cli(*args, env_extra=None):
    env = {**os.environ, "KIM_DESKTOP_NO_LOG_FILE": "1", **(env_extra or {})}
    env.pop("KIM_DB_PASSWORD", None) if env_extra is None or "KIM_DB_PASSWORD" not in env_extra else None
    return subprocess.run(
        [sys.executable, "-m", "kim_desktop", *args],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
    )


def test_cli_backup_verify_and_restore_of_encrypted_database(enc, tmp_path):
    db = str(enc.database.location.path)
    enc.database.dispose()
    signed_in = {"KIM_USER": "leitung", "KIM_DB_PASSWORD": PASSWORD}
    out = tmp_path / "cli-backup.sqlite3"
    made = _cli("--db", db, "backup", "--out", str(out), env_extra=signed_in)
    assert made.returncode == 0, made.stderr
    assert "Verschlüsselte Sicherung" in made.stdout
    # verify on a machine without the database: the backup's own key file and the password
    alone = _cli(
        "--db", str(tmp_path / "gibt-es-nicht.sqlite3"), "backup", "--verify", str(out), env_extra=signed_in
    )
    assert alone.returncode == 0, alone.stderr
    wrong = _cli(
        "--db", str(tmp_path / "gibt-es-nicht.sqlite3"), "backup", "--verify", str(out),
        env_extra={"KIM_USER": "leitung", "KIM_DB_PASSWORD": "falsches-passwort"},
    )  # fmt: skip
    assert wrong.returncode == 1 and len(wrong.stderr.strip().splitlines()) == 1
    assert "Traceback" not in wrong.stderr
    restored = _cli("--db", db, "restore", str(out), "--yes", env_extra=signed_in)
    assert restored.returncode == 0, restored.stderr
    no_password = _cli("--db", db, "backup", "--out", str(tmp_path / "x.sqlite3"))
    assert no_password.returncode == 1 and len(no_password.stderr.strip().splitlines()) == 1


def test_gui_backup_on_exit_of_an_encrypted_database_uses_its_key(enc):
    from kim_desktop.services.backup import backup_folder
    from kim_desktop.ui.app import backup_quietly

    assert backup_quietly(enc.database) is True
    folder = backup_folder(enc.database)
    made = [p for p in folder.iterdir() if p.name.endswith(".sqlite3")]
    assert len(made) == 1 and not made[0].read_bytes().startswith(SQLITE_HEADER)
    assert keyslots.keyfile_path(made[0]).is_file()
    # the bare path cannot be backed up (no key): logged, never raised
    assert backup_quietly(enc.database.location.path) is True  # today's backup exists already: nothing to do

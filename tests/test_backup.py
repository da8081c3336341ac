"""Backups on real SQLite files: verified copies, damaged/foreign/newer backups, restore that never loses the
current database, automatic backups once a day with rotation (7 daily, 4 weekly, 12 monthly), and the CLI."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from kim_desktop.cli import main
from kim_desktop.db.engine import open_database
from kim_desktop.errors import UserError
from kim_desktop.services import backup, persons
from kim_desktop.services.context import Actor, ServiceContext


def add_person(ctx, family: str) -> str:
    return persons.create_person(
        ctx, {"family_name": family, "given_names": "Testa", "birth_date": "1990"}, allow_duplicate=True
    ).id


def family_names(path: Path) -> list[str]:
    with sqlite3.connect(path) as raw:
        return sorted(row[0] for row in raw.execute("SELECT family_name FROM person"))


@pytest.fixture
def db_path(ctx, tmp_db_path):
    add_person(ctx, "Alpha")
    add_person(ctx, "Beta")
    return tmp_db_path


# --- make and verify ------------------------------------------------------------------------------------


def test_backup_is_verified_copy_with_sidecar(ctx, db_path, tmp_path):
    target = tmp_path / "out" / "sicherung.sqlite3"
    info = backup.make_backup(ctx.database, target)
    assert target.is_file() and info.path == target
    assert family_names(target) == ["Alpha", "Beta"]
    assert info.row_counts["person"] == 2
    side = json.loads(backup.sidecar_path(target).read_text(encoding="utf-8"))
    assert side["sha256"] == info.sha256 and side["row_counts"]["person"] == 2
    assert side["schema_revision"] == info.schema_revision and side["office_id"] == info.office_id
    # a single self-contained file, no temp files left
    assert sorted(p.name for p in target.parent.iterdir()) == ["sicherung.sqlite3", "sicherung.sqlite3.json"]
    with sqlite3.connect(target) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    again = backup.verify_backup(target)
    assert again.sha256 == info.sha256 and again.row_counts == info.row_counts


def test_office_id_is_made_once_and_travels_with_the_backup(db_path, tmp_path):
    first = backup.ensure_office_id(db_path)
    assert backup.ensure_office_id(db_path) == first
    info = backup.make_backup(db_path, tmp_path / "b.sqlite3")
    assert info.office_id == first
    # still recognised without the sidecar
    backup.sidecar_path(info.path).unlink()
    bare = backup.verify_backup(info.path)
    assert bare.office_id == first and not bare.has_sidecar and bare.notes


def test_damaged_backup_is_refused(db_path, tmp_path):
    info = backup.make_backup(db_path, tmp_path / "b.sqlite3")
    data = bytearray(info.path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    info.path.write_bytes(bytes(data))
    with pytest.raises(UserError) as exc:
        backup.verify_backup(info.path)
    assert "beschädigt" in exc.value.message or "verändert" in exc.value.message


def test_not_a_database_is_refused(tmp_path):
    fake = tmp_path / "fake.sqlite3"
    fake.write_bytes(b"kein SQLite" * 100)
    with pytest.raises(UserError, match="keine KIM-Sicherung"):
        backup.verify_backup(fake)
    with pytest.raises(UserError, match="nicht gefunden"):
        backup.verify_backup(tmp_path / "fehlt.sqlite3")


def test_newer_schema_is_refused(db_path, tmp_path):
    info = backup.make_backup(db_path, tmp_path / "b.sqlite3")
    backup.sidecar_path(info.path).unlink()
    with sqlite3.connect(info.path) as raw:
        raw.execute("UPDATE alembic_version SET version_num = '9999_future'")
    with pytest.raises(UserError, match="neueren Version"):
        backup.verify_backup(info.path)


def test_foreign_backup_is_recognised(db_path, tmp_path):
    info = backup.make_backup(db_path, tmp_path / "b.sqlite3")
    with pytest.raises(UserError, match="anderen Dienststelle"):
        backup.verify_backup(info.path, expected_office_id="someone-else")


# --- restore --------------------------------------------------------------------------------------------


def test_restore_brings_back_the_backup_and_keeps_the_old_database_aside(ctx, db_path, tmp_path):
    info = backup.make_backup(db_path, tmp_path / "b.sqlite3")
    add_person(ctx, "Gamma")  # made after the backup
    ctx.database.dispose()
    result = backup.restore_backup(db_path, info.path, now=datetime(2026, 3, 1, 12, 0, 0))
    assert family_names(db_path) == ["Alpha", "Beta"]
    assert result.set_aside.name == "kim.before-restore-20260301-120000.sqlite3"
    assert family_names(result.set_aside) == ["Alpha", "Beta", "Gamma"]
    database = open_database(db_path, create=False)
    assert ServiceContext(database, Actor.local())
    database.dispose()


def test_failed_restore_leaves_current_database_untouched(ctx, db_path, tmp_path):
    info = backup.make_backup(db_path, tmp_path / "b.sqlite3")
    add_person(ctx, "Gamma")
    ctx.database.dispose()
    before = family_names(db_path)
    data = bytearray(info.path.read_bytes())
    data[-100] ^= 0xFF
    info.path.write_bytes(bytes(data))
    with pytest.raises(UserError):
        backup.restore_backup(db_path, info.path)
    assert family_names(db_path) == before
    assert sorted(p.name for p in db_path.parent.iterdir() if "restore" in p.name) == []


def test_restore_refuses_foreign_backup_unless_allowed(db_path, tmp_path):
    other = tmp_path / "other" / "kim.sqlite3"
    other_ctx = ServiceContext(open_database(other), Actor.local())
    add_person(other_ctx, "Fremd")
    other_ctx.database.dispose()
    foreign = backup.make_backup(other, tmp_path / "fremd.sqlite3")
    backup.ensure_office_id(db_path)
    with pytest.raises(UserError, match="anderen Dienststelle"):
        backup.restore_backup(db_path, foreign.path)
    assert family_names(db_path) == ["Alpha", "Beta"]
    backup.restore_backup(db_path, foreign.path, allow_foreign=True)
    assert family_names(db_path) == ["Fremd"]


def test_restore_of_an_older_backup_migrates_it(db_path, tmp_path):
    from kim_desktop.db import migrate
    from kim_desktop.db.schema_version import HEAD_REVISION, REVISIONS

    old = tmp_path / "old" / "kim.sqlite3"
    old.parent.mkdir()
    database = open_database(old, migrate=False, create=True)
    database.dispose()
    # take the fresh head database down to the previous revision through Alembic
    database = open_database(old)
    from alembic import command

    with database.engine.begin() as connection:
        command.downgrade(migrate.alembic_config(connection), REVISIONS[-2])
    database.dispose()
    info = backup.make_backup(old, tmp_path / "old.sqlite3")
    assert info.schema_revision == REVISIONS[-2]
    result = backup.restore_backup(db_path, info.path)
    assert result.migrated_from == REVISIONS[-2]
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("SELECT version_num FROM alembic_version").fetchone()[0] == HEAD_REVISION


# --- rotation -------------------------------------------------------------------------------------------


def names_for(moments) -> list[str]:
    return [backup.auto_name(m) for m in moments]


def test_rotation_keeps_7_daily_4_weekly_12_monthly_across_year_boundary():
    now = datetime(2027, 1, 3, 18, 0)
    # two backups a day for 500 days back, across month and year boundaries
    moments = [now - timedelta(days=d, hours=h) for d in range(500) for h in (1, 9)]
    names = names_for(moments) + ["kim.vor-update-0006.20260101-000000.sqlite3", "notiz.txt"]
    keep = backup.rotation_keep(names, now)
    kept = sorted(backup._parse(n) for n in keep if backup._parse(n))
    # other files are never touched
    assert "notiz.txt" in keep and "kim.vor-update-0006.20260101-000000.sqlite3" in keep
    # the newest of each of the last 7 days
    days = {m.date() for m in kept}
    for d in range(7):
        day = (now - timedelta(days=d)).date()
        assert day in days
        assert backup.auto_name(max(m for m in moments if m.date() == day)) in keep
    # 4 ISO weeks (2027-01-03 is a Sunday of ISO week 2026-53) and 12 months (Feb 2026 … Jan 2027)
    assert len({m.isocalendar()[:2] for m in kept}) >= 4
    months = {(m.year, m.month) for m in kept}
    assert len(months) == 12
    assert (2026, 2) in months and (2026, 1) not in months and (2027, 1) in months
    assert len(kept) <= 7 + 4 + 12


def test_rotation_with_gaps_never_deletes_everything():
    now = datetime(2026, 3, 1, 12, 0)
    names = names_for([datetime(2025, 12, 31, 23, 59), datetime(2025, 11, 2, 8, 0)])
    assert backup.rotation_keep(names, now) == set(names)


def test_rotation_keeps_backups_from_the_future():
    now = datetime(2026, 3, 1, 12, 0)
    future = names_for([datetime(2026, 3, 5)])
    past = names_for([now - timedelta(days=d) for d in range(30)])
    keep = backup.rotation_keep(future + past, now)
    assert future[0] in keep


def test_rotate_deletes_files_and_sidecars(tmp_path):
    now = datetime(2026, 2, 1, 10, 0)
    for day in range(40):
        name = backup.auto_name(now - timedelta(days=day))
        (tmp_path / name).write_bytes(b"")
        (tmp_path / (name + ".json")).write_text("{}")
    (tmp_path / "eigene.sqlite3").write_bytes(b"")
    removed = backup.rotate(tmp_path, now)
    remaining = sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".sqlite3")
    assert "eigene.sqlite3" in remaining
    assert len(remaining) - 1 == 40 - len(removed)
    for path in removed:
        assert not path.exists() and not backup.sidecar_path(path).exists()


# --- automatic backup -----------------------------------------------------------------------------------


def test_auto_backup_once_a_day_into_default_folder(db_path):
    now = datetime(2026, 5, 4, 17, 30)
    first = backup.auto_backup(db_path, now=now)
    assert first is not None and first.path.parent == db_path.parent / "backups"
    assert backup.auto_backup(db_path, now=now + timedelta(hours=2)) is None
    second = backup.auto_backup(db_path, now=now + timedelta(days=1))
    assert second is not None
    assert len(list((db_path.parent / "backups").glob("kim-auto-*.sqlite3"))) == 2


def test_auto_backup_folder_from_setting(ctx, db_path, tmp_path):
    folder = tmp_path / "usb" / "kim"
    with sqlite3.connect(db_path) as raw:
        raw.execute(
            "INSERT INTO setting (key, value, created_at, updated_at) VALUES ('backup_folder', ?, "
            "'2026-01-01 00:00:00', '2026-01-01 00:00:00')",
            (json.dumps(str(folder)),),
        )
    assert backup.backup_folder(db_path) == folder
    info = backup.auto_backup(db_path, now=datetime(2026, 5, 4, 17, 30))
    assert info.path.parent == folder


# --- CLI ------------------------------------------------------------------------------------------------


def test_cli_backup_verify_restore(ctx, db_path, tmp_path, capsys, monkeypatch):
    out = tmp_path / "cli.sqlite3"
    assert main(["backup", "--db", str(db_path), "--out", str(out)]) == 0
    assert out.is_file()
    assert main(["backup", "--verify", str(out)]) == 0
    assert main(["backup", "--verify", str(out), "--full"]) == 0
    add_person(ctx, "Gamma")
    ctx.database.dispose()
    # non-interactive without --yes: one German line, exit 1, nothing changed
    monkeypatch.setattr("sys.stdin", open("/dev/null"))  # noqa: SIM115
    capsys.readouterr()
    assert main(["restore", str(out), "--db", str(db_path)]) == 1
    err = capsys.readouterr().err
    assert "--yes" in err and len(err.strip().splitlines()) == 1
    assert family_names(db_path) == ["Alpha", "Beta", "Gamma"]
    assert main(["restore", str(out), "--db", str(db_path), "--yes"]) == 0
    assert family_names(db_path) == ["Alpha", "Beta"]


def test_cli_backup_auto_and_bad_input(db_path, tmp_path, capsys):
    assert main(["backup", "--db", str(db_path), "--auto"]) == 0
    assert list((db_path.parent / "backups").glob("kim-auto-*.sqlite3"))
    bad = tmp_path / "kaputt.sqlite3"
    bad.write_text("kaputt")
    capsys.readouterr()
    assert main(["backup", "--verify", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Fehler:") and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert main(["restore", str(bad), "--db", str(db_path), "--yes"]) == 1
    assert family_names(db_path) == ["Alpha", "Beta"]


def test_gui_exit_backup_never_raises(db_path, tmp_path):
    from kim_desktop.ui.app import backup_quietly

    assert backup_quietly(db_path) is True
    assert list((db_path.parent / "backups").glob("kim-auto-*.sqlite3"))
    blocked = tmp_path / "blockiert"
    blocked.write_text("eine Datei, kein Ordner")
    with sqlite3.connect(db_path) as raw:
        raw.execute(
            "INSERT INTO setting (key, value, created_at, updated_at) VALUES ('backup_folder', ?, "
            "'2026-01-01 00:00:00', '2026-01-01 00:00:00')",
            (json.dumps(str(blocked / "sub")),),
        )
    assert backup_quietly(db_path) is False

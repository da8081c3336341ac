"""Backups: verified copies of the SQLite database, automatic backups with rotation, restore.

A backup is written with SQLite's online backup API (consistent while the GUI keeps working) into a temporary
file in the target folder, checked there (``PRAGMA integrity_check``, row counts of every table compared with
the source at the same moment) and only then renamed into place, so a backup file that exists is whole.
Beside it lies a small JSON sidecar ``<file>.json`` with schema revision, office fingerprint, time, row counts
and the SHA-256 of the file; the office fingerprint (setting ``office_id``, a random id made on first use) is
also inside the database itself, so a copied backup without its sidecar is still recognised.

No Qt here; messages are German, without personal data (only paths, table names and counts).

Encryption (SQLCipher, decision record 011): every connection in this module is made by ``_connect`` with the
database key. The backup API copies pages as they are, so with the same key on source and target connection
the backup of an encrypted database stays encrypted with the same key, and the key file (``<file>.keys``, the
key wrapped per user) is copied beside it: a backup can be opened with the passwords valid when it was made.
The sidecar holds no personal data and stays plain.

Permissions: making, verifying and restoring a backup need ``backup.run`` (the administration). These
functions work on files, so the actor comes along explicitly: pass a ``ServiceContext`` as the source of
:func:`make_backup` (its actor is checked) or the keyword ``actor=`` (the CLI and the GUI do one of both);
``actor=None`` is the local single user or the program itself, who may. The automatic backup when the
program closes (:func:`auto_backup` without ``actor``) is such a system action: nobody asked for it, so
nobody's role is checked; ``kim-desktop backup --auto`` passes the actor and is checked.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import sqlite3
import threading
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from ..db.schema_version import REVISIONS
from ..errors import UserError
from ..i18n import _

log = logging.getLogger(__name__)


def _driver_errors() -> tuple[type[BaseException], ...]:
    from ..db.engine import driver_errors

    return driver_errors()


_DB_ERRORS = _driver_errors()

SQLITE_HEADER = b"SQLite format 3\x00"
OFFICE_ID_KEY = "office_id"
BACKUP_FOLDER_KEY = "backup_folder"
SIDECAR_SUFFIX = ".json"
SIDECAR_FORMAT = 1
AUTO_PREFIX = "kim-auto-"
AUTO_PATTERN = re.compile(r"^kim-auto-(\d{8})-(\d{6})\.sqlite3$")
KEEP_DAILY, KEEP_WEEKLY, KEEP_MONTHLY = 7, 4, 12


@dataclass
class BackupInfo:
    path: Path
    schema_revision: str | None
    office_id: str | None
    created_at: str
    row_counts: dict[str, int]
    sha256: str | None
    size_bytes: int = 0
    has_sidecar: bool = True
    notes: list[str] = field(default_factory=list)
    encrypted: bool = False

    def sidecar(self) -> dict:
        data = asdict(self)
        data.pop("path")
        data.pop("has_sidecar")
        data.pop("notes")
        return {"format": SIDECAR_FORMAT, "kind": "kim-desktop-backup", "file": self.path.name, **data}


@dataclass
class RestoreResult:
    info: BackupInfo
    set_aside: Path
    migrated_from: str | None = None


# --- connections ----------------------------------------------------------------------------------------


def _connect(path: Path, *, readonly: bool = False, key: bytes | None = None):
    """The one place that opens SQLite files in this module; ``key``: the SQLCipher key of an encrypted file."""
    from ..db.engine import connect_file

    return connect_file(path, key=key, readonly=readonly)


def _key_of(database_or_path) -> bytes | None:
    return getattr(database_or_path, "key", None)


def _copy_keyfile(source_db: Path, target_db: Path) -> None:
    """Copy the key file of ``source_db`` beside ``target_db`` (atomic: temporary file, fsync, rename)."""
    from ..db.keyslots import keyfile_path

    source, target = keyfile_path(source_db), keyfile_path(target_db)
    temp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        shutil.copyfile(source, temp)
        with temp.open("rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(temp, target)
    finally:
        if temp.exists():
            temp.unlink()


def is_encrypted_backup(path: Path) -> bool:
    """An encrypted database or backup: its key file lies beside it, or its sidecar says so (a file with
    neither and no SQLite header is damaged, not encrypted)."""
    from ..db.keyslots import keyfile_path

    path = Path(path)
    if keyfile_path(path).exists():
        return True
    try:
        meta = json.loads(sidecar_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and meta.get("encrypted") is True


def _encrypted_needs_key() -> UserError:
    return UserError(
        _(
            "Die Sicherung ist verschlüsselt. Bitte mit einem Konto anmelden, das beim Sichern gültig war "
            "(KIM_USER und KIM_DB_PASSWORD)."
        )
    )


def _database_path(database_or_path) -> Path:
    path = getattr(getattr(database_or_path, "location", None), "path", None)
    if path is None and not hasattr(database_or_path, "location"):
        path = Path(database_or_path)
    if path is None:
        raise UserError(
            _("Sicherungen sind nur für eine lokale Datenbankdatei möglich, nicht für den Büro-Server.")
        )
    return Path(path)


def _table_names(connection: sqlite3.Connection) -> list[str]:
    rows = connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND (sql IS NULL OR sql NOT LIKE 'CREATE VIRTUAL%') ORDER BY name"
    ).fetchall()
    return [row[0] for row in rows]


def _row_counts(connection: sqlite3.Connection) -> dict[str, int]:
    return {
        name: connection.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
        for name in _table_names(connection)
    }


def _revision(connection: sqlite3.Connection) -> str | None:
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except _DB_ERRORS:
        return None
    return row[0] if row else None


def _setting(connection: sqlite3.Connection, key: str):
    try:
        row = connection.execute("SELECT value FROM setting WHERE key = ?", (key,)).fetchone()
    except _DB_ERRORS:
        return None
    if row is None or row[0] is None:
        return None
    try:
        return json.loads(row[0])
    except (TypeError, ValueError):
        return row[0]


def _now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def ensure_office_id(database_or_path, *, key: bytes | None = None) -> str:
    """The office fingerprint, made (random) on first use and kept in the setting ``office_id``."""
    path = _database_path(database_or_path)
    connection = _connect(path, key=key if key is not None else _key_of(database_or_path))
    try:
        value = _setting(connection, OFFICE_ID_KEY)
        if isinstance(value, str) and value:
            return value
        new = uuid.uuid4().hex
        now = _now_text()
        connection.execute("BEGIN IMMEDIATE")
        try:
            connection.execute(
                "INSERT OR IGNORE INTO setting (key, value, created_at, updated_at) VALUES (?, ?, ?, ?)",
                (OFFICE_ID_KEY, json.dumps(new), now, now),
            )
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        return _setting(connection, OFFICE_ID_KEY)
    except _DB_ERRORS as exc:
        raise _db_error(exc) from None
    finally:
        connection.close()


def _db_error(exc: BaseException) -> UserError:
    from ..db.engine import translate_db_error

    log.warning("backup: database error %s", type(exc).__name__)
    return translate_db_error(exc)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(4 * 1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _check_copy(
    path: Path, *, full: bool = False, key: bytes | None = None
) -> tuple[list[str], dict[str, int], str | None, object, str]:
    """Integrity check, row counts, revision, office id and checksum of a closed backup file. The checksum
    runs in a second thread while SQLite checks the file (both release the GIL).

    By default ``PRAGMA quick_check``: every page, b-tree and record of the file, everything
    ``integrity_check`` does except comparing each index entry with its table row, which costs 15 times as
    long (37 s against 2 s on the 1.2 GB database of 100,000 persons). The backup API copies pages as they
    are, so the indexes of a copy are exactly as consistent as the source's, which ``kim-desktop check``
    (full ``integrity_check``) answers for; a restore runs that full check on the copy before it is used.
    ``full=True`` (``backup --verify --full``) runs the full check here too."""
    digest: dict[str, object] = {}

    def hash_file() -> None:
        try:
            digest["value"] = _sha256(path)
        except OSError as exc:  # pragma: no cover - reported below
            digest["error"] = exc

    worker = threading.Thread(target=hash_file, name="kim-backup-sha256")
    worker.start()
    try:
        connection = _connect(path, readonly=True, key=key)
        try:
            pragma = "integrity_check" if full else "quick_check"
            integrity = [row[0] for row in connection.execute(f"PRAGMA {pragma}").fetchall()]
            counts = _row_counts(connection) if integrity == ["ok"] else {}
            revision = _revision(connection)
            office = _setting(connection, OFFICE_ID_KEY)
        finally:
            connection.close()
    finally:
        worker.join()
    if "error" in digest:
        raise digest["error"]  # type: ignore[misc]
    return integrity, counts, revision, office, str(digest["value"])


def _write_json_atomic(path: Path, data: dict) -> None:
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with temp.open("w", encoding="utf-8") as out:
            json.dump(data, out, indent=2, ensure_ascii=False)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    finally:
        if temp.exists():
            temp.unlink()


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + SIDECAR_SUFFIX)


# --- making a backup ------------------------------------------------------------------------------------


def _require_backup(actor) -> None:
    """``backup.run`` for a signed-in actor; ``None`` is the local single user or the program itself."""
    if actor is not None:
        from .permissions import require

        require(actor, "backup.run")


def _source_and_actor(source, actor):
    """A ``ServiceContext`` as source brings its actor (an explicit ``actor`` wins) and its database."""
    if hasattr(source, "actor") and hasattr(source, "database"):
        return source.database, actor if actor is not None else source.actor
    return source, actor


def make_backup(database_or_path, target: Path, *, actor=None) -> BackupInfo:
    """Write a verified backup of the database to ``target`` (file) plus its sidecar ``target.json``.

    ``database_or_path``: a ``ServiceContext`` (its actor is checked), a ``Database`` or a path; ``actor``
    needs ``backup.run`` (see the module doc)."""
    database_or_path, actor = _source_and_actor(database_or_path, actor)
    _require_backup(actor)
    source_path = _database_path(database_or_path)
    key = _key_of(database_or_path)
    if key is None and is_encrypted_backup(source_path):
        from ..db.engine import PasswordRequiredError

        raise PasswordRequiredError()
    target = Path(target).expanduser().resolve()
    if not source_path.is_file():
        raise UserError(_("Die Datenbankdatei wurde nicht gefunden: {path}").format(path=source_path))
    if target == source_path:
        raise UserError(_("Die Sicherung darf nicht die Datenbank selbst überschreiben."))
    if target.is_dir():
        raise UserError(_("Der angegebene Pfad ist ein Ordner, keine Datei: {path}").format(path=target))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        raise UserError(
            _("Der Ordner für die Sicherung kann nicht angelegt werden: {path}").format(path=target.parent)
        ) from None
    office_id = ensure_office_id(source_path, key=key)
    temp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        source = _connect(source_path, key=key)
        try:
            # One read transaction: the counts and the copied pages are the same moment of the database.
            source.execute("BEGIN")
            counts = _row_counts(source)
            revision = _revision(source)
            destination = _connect(temp, key=key)
            try:
                source.backup(destination)
                # One self-contained file (no -wal beside it), whatever mode the source runs in.
                destination.execute("PRAGMA journal_mode = DELETE")
            finally:
                destination.close()
            source.execute("COMMIT")
        finally:
            source.close()
        integrity, copy_counts, copy_revision, copy_office, checksum = _check_copy(temp, key=key)
        if (
            integrity != ["ok"]
            or copy_counts != counts
            or copy_revision != revision
            or copy_office != office_id
        ):
            log.error("backup: verification of the new copy failed (integrity %s)", integrity[:1])
            raise UserError(
                _(
                    "Die Sicherung konnte nicht bestätigt werden (Prüfung der Kopie fehlgeschlagen); keine Datei geschrieben."
                )
            )
        info = BackupInfo(
            path=target,
            schema_revision=revision,
            office_id=office_id,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            row_counts=counts,
            sha256=checksum,
            size_bytes=temp.stat().st_size,
            encrypted=key is not None,
        )
        with temp.open("rb+") as fh:
            os.fsync(fh.fileno())
        # Sidecar and key file first, then the file: a backup file that exists always has both beside it.
        _write_json_atomic(sidecar_path(target), info.sidecar())
        if key is not None:
            _copy_keyfile(source_path, target)
        os.replace(temp, target)
    except _DB_ERRORS as exc:
        raise _db_error(exc) from None
    except OSError as exc:
        log.warning("backup: file error %s", type(exc).__name__)
        raise UserError(
            _("Die Sicherung kann nicht geschrieben werden: {path}").format(path=target)
        ) from None
    finally:
        for leftover in (temp, temp.with_name(temp.name + "-journal"), temp.with_name(temp.name + "-wal")):
            if leftover.exists():
                leftover.unlink()
    log.info("backup written (%d bytes)", info.size_bytes)
    return info


# --- verifying ------------------------------------------------------------------------------------------


def _damaged(path: Path) -> UserError:
    return UserError(
        _("Die Sicherungsdatei ist beschädigt oder keine KIM-Sicherung: {path}").format(path=path)
    )


def verify_backup(
    path: Path,
    *,
    expected_office_id: str | None = None,
    full: bool = False,
    actor=None,
    key: bytes | None = None,
) -> BackupInfo:
    """Check a backup file: SQLite header, integrity, schema, and (with its sidecar) checksum and row counts.

    Raises ``UserError`` for a damaged file, a backup from another office (when ``expected_office_id`` is
    given and differs) and a backup made by a newer version of KIM Desktop; ``PermissionDeniedError`` when
    ``actor`` lacks ``backup.run``."""
    _require_backup(actor)
    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise UserError(_("Die Sicherungsdatei wurde nicht gefunden: {path}").format(path=path))
    try:
        with path.open("rb") as fh:
            header = fh.read(16)
    except OSError:
        raise UserError(
            _("Die Sicherungsdatei kann nicht gelesen werden: {path}").format(path=path)
        ) from None
    if header == SQLITE_HEADER:
        key = None  # a plain backup (made before the database was encrypted) needs no key
    elif is_encrypted_backup(path):
        if key is None:
            raise _encrypted_needs_key()
    else:
        raise _damaged(path)
    meta = None
    side = sidecar_path(path)
    if side.is_file():
        try:
            meta = json.loads(side.read_text(encoding="utf-8"))
            if not isinstance(meta, dict) or meta.get("kind") != "kim-desktop-backup":
                meta = None
        except (OSError, ValueError):
            meta = None
        if meta is None:
            raise UserError(_("Die Begleitdatei der Sicherung ist beschädigt: {path}").format(path=side))
    try:
        integrity, counts, revision, office, checksum = _check_copy(path, full=full, key=key)
    except _DB_ERRORS:
        raise _damaged(path) from None
    except OSError:
        raise UserError(
            _("Die Sicherungsdatei kann nicht gelesen werden: {path}").format(path=path)
        ) from None
    if integrity != ["ok"]:
        raise _damaged(path)
    if revision is None:
        raise _damaged(path)
    if revision not in REVISIONS:
        raise UserError(
            _(
                "Die Sicherung stammt von einer neueren Version von KIM Desktop und kann mit dieser Version "
                "nicht wiederhergestellt werden. Bitte installieren Sie die aktuelle Version."
            )
        )
    notes: list[str] = []
    if meta is not None:
        if meta.get("sha256") != checksum or meta.get("row_counts") != counts:
            raise UserError(
                _(
                    "Die Sicherungsdatei wurde nach dem Schreiben verändert oder ist beschädigt: {path}"
                ).format(path=path)
            )
        if meta.get("schema_revision") != revision or meta.get("office_id") != office:
            raise _damaged(path)
        created_at = str(meta.get("created_at") or "")
    else:
        notes.append(
            _("Keine Begleitdatei gefunden: Prüfsumme und Zeilenzahlen konnten nicht verglichen werden.")
        )
        created_at = datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat(timespec="seconds")
    if expected_office_id is not None and office is not None and office != expected_office_id:
        raise foreign_error()
    return BackupInfo(
        path=path,
        encrypted=key is not None,
        schema_revision=revision,
        office_id=office if isinstance(office, str) else None,
        created_at=created_at,
        row_counts=counts,
        sha256=checksum,
        size_bytes=path.stat().st_size,
        has_sidecar=meta is not None,
        notes=notes,
    )


def foreign_error() -> UserError:
    return UserError(
        _(
            "Die Sicherung stammt aus einer anderen Dienststelle (anderer Datenbestand). Sie wird nur mit "
            "ausdrücklicher Bestätigung wiederhergestellt."
        )
    )


# --- restore --------------------------------------------------------------------------------------------


def _office_of(path: Path, key: bytes | None = None) -> str | None:
    if not path.is_file():
        return None
    try:
        connection = _connect(path, readonly=True, key=key)
        try:
            value = _setting(connection, OFFICE_ID_KEY)
        finally:
            connection.close()
    except _DB_ERRORS:
        return None
    return value if isinstance(value, str) else None


def _checkpoint(path: Path, key: bytes | None = None) -> None:
    """Fold the WAL into the database file so the file alone holds every committed change."""
    connection = _connect(path, key=key)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()


def _companions(path: Path) -> list[Path]:
    return [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", "-journal")]


def _open_and_check(path: Path, key: bytes | None = None):
    """Open (and migrate) the database at ``path``; return the revision it was migrated from."""
    from ..db.engine import open_database
    from .maintenance import check_database

    database = open_database(path, create=False, key=key)
    try:
        problems = check_database(database)
        migrated_from = database.migrated_from
    finally:
        database.dispose()
    if problems:
        raise UserError(
            _("Die wiederhergestellte Datenbank besteht die Prüfung nicht: {problem}").format(
                problem=problems[0]
            )
        )
    return migrated_from


def restore_backup(
    current_db_path: Path,
    backup_path: Path,
    *,
    allow_foreign: bool = False,
    now: datetime | None = None,
    actor=None,
    key: bytes | None = None,
) -> RestoreResult:
    """Replace the database at ``current_db_path`` by a verified backup.

    The backup is checked first, copied next to the database and opened there (older schema: migrated through
    the normal path) and checked; only then the current database is moved aside to
    ``<name>.before-restore-<timestamp>.sqlite3`` and the restored copy takes its place. If anything fails
    the current database stays as it was. The caller must have closed its own connections. ``actor`` needs
    ``backup.run`` (checked before anything is touched).

    ``key``: the SQLCipher key of an encrypted backup (the current database's key, or unwrapped from the
    backup's own key file). The current key file is kept when it opens the backup (the same database over
    time: accounts disabled since the backup stay locked out); otherwise the backup's key file comes along.
    A plain backup restored over an encrypted database is refused: it would silently remove the encryption."""
    from ..db.keyslots import keyfile_path

    _require_backup(actor)
    current = Path(current_db_path).expanduser().resolve()
    info = verify_backup(backup_path, key=key)
    backup_key = key if info.encrypted else None
    from ..db.engine import is_encrypted_file

    current_encrypted = current.exists() and is_encrypted_file(current)
    if current_encrypted and backup_key is None:
        raise UserError(
            _(
                "Die Sicherung ist unverschlüsselt, die Datenbank verschlüsselt. Eine unverschlüsselte Sicherung "
                "wird nicht über eine verschlüsselte Datenbank gespielt; bitte eine neuere Sicherung wählen."
            )
        )
    keep_current_keys = current_encrypted and keyfile_path(current).exists()
    if backup_key is not None and not keep_current_keys and not keyfile_path(info.path).exists():
        raise UserError(
            _("Zur verschlüsselten Sicherung fehlt die Schlüsseldatei: {path}").format(
                path=keyfile_path(info.path)
            )
        )
    if not allow_foreign:
        here = _office_of(current, key if current_encrypted else None)
        if here is not None and info.office_id is not None and here != info.office_id:
            raise foreign_error()
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    staged = current.with_name(f".{current.stem}.restore-{uuid.uuid4().hex[:8]}.sqlite3")
    aside = current.with_name(f"{current.stem}.before-restore-{stamp}.sqlite3")
    if aside.exists():
        raise UserError(_("Die Datei existiert bereits: {path}").format(path=aside))
    moved_aside = False
    try:
        try:
            current.parent.mkdir(parents=True, exist_ok=True)
            source = _connect(info.path, readonly=True, key=backup_key)
            try:
                destination = _connect(staged, key=backup_key)
                try:
                    source.backup(destination)
                finally:
                    destination.close()
            finally:
                source.close()
        except (OSError, sqlite3.DatabaseError):
            raise UserError(
                _("Die Sicherung kann nicht neben die Datenbank kopiert werden: {path}").format(
                    path=current.parent
                )
            ) from None
        migrated_from = _open_and_check(staged, backup_key)
        _checkpoint(staged, backup_key)
        if backup_key is not None and not keep_current_keys:
            _copy_keyfile(info.path, current)
        if current.exists():
            _checkpoint(current, key if current_encrypted else None)
            if current_encrypted and keyfile_path(current).exists():
                _copy_keyfile(current, aside)  # the set-aside database stays openable
            os.replace(current, aside)
            moved_aside = True
            for companion in _companions(current):
                if companion.exists():
                    companion.unlink()
        os.replace(staged, current)
        try:
            from ..db.engine import open_database

            open_database(
                current, create=False, key=backup_key
            ).dispose()  # checked above; does it open in place
        except BaseException:
            if moved_aside:
                for companion in _companions(current):
                    if companion.exists():
                        companion.unlink()
                os.replace(aside, current)
                moved_aside = False
            raise
    except _DB_ERRORS as exc:
        raise _db_error(exc) from None
    except OSError as exc:
        log.warning("restore: file error %s", type(exc).__name__)
        if moved_aside and not current.exists():
            os.replace(aside, current)
        raise UserError(
            _("Die Wiederherstellung ist fehlgeschlagen; die bisherige Datenbank ist unverändert.")
        ) from None
    finally:
        for leftover in (staged, *_companions(staged)):
            if leftover.exists():
                leftover.unlink()
    log.info("restore done (migrated from %s)", migrated_from)
    return RestoreResult(info=info, set_aside=aside if moved_aside else None, migrated_from=migrated_from)


# --- automatic backups and rotation ---------------------------------------------------------------------


def auto_name(moment: datetime) -> str:
    return f"{AUTO_PREFIX}{moment.strftime('%Y%m%d-%H%M%S')}.sqlite3"


def _parse(name: str) -> datetime | None:
    match = AUTO_PATTERN.match(name)
    if not match:
        return None
    try:
        return datetime.strptime(match.group(1) + match.group(2), "%Y%m%d%H%M%S")
    except ValueError:
        return None


def rotation_keep(names: Iterable[str], now: datetime) -> set[str]:
    """Which automatic backups to keep: the newest of each of the last 7 days, 4 ISO weeks and 12 months
    that have a backup. Names that are not automatic backups, and backups dated after ``now`` (clock
    changes), are always kept. Pure: works on names only."""
    names = list(names)
    keep = {name for name in names if _parse(name) is None}
    dated = sorted(((_parse(n), n) for n in names if _parse(n) is not None), reverse=True)
    keep |= {name for moment, name in dated if moment > now}
    past = [(moment, name) for moment, name in dated if moment <= now]
    for bucket, count in (
        (lambda m: m.date(), KEEP_DAILY),
        (lambda m: m.isocalendar()[:2], KEEP_WEEKLY),
        (lambda m: (m.year, m.month), KEEP_MONTHLY),
    ):
        seen: set = set()
        for moment, name in past:  # newest first: the first one met in a bucket is its newest
            key = bucket(moment)
            if key in seen:
                continue
            if len(seen) == count:
                break
            seen.add(key)
            keep.add(name)
    return keep


def rotate(folder: Path, now: datetime | None = None) -> list[Path]:
    """Delete automatic backups (and their sidecars and key files) that ``rotation_keep`` does not keep;
    return them."""
    from ..db.keyslots import keyfile_path

    now = now or datetime.now()
    folder = Path(folder)
    names = [p.name for p in folder.iterdir() if p.is_file()] if folder.is_dir() else []
    keep = rotation_keep(names, now)
    removed = []
    for name in sorted(names):
        if name in keep or _parse(name) is None:
            continue
        for victim in (folder / name, sidecar_path(folder / name), keyfile_path(folder / name)):
            try:
                victim.unlink()
            except FileNotFoundError:
                pass
        removed.append(folder / name)
    return removed


def backup_folder(db_path, key: bytes | None = None) -> Path:
    """The folder for automatic backups: setting ``backup_folder`` or ``backups/`` beside the database.
    ``db_path``: a path or a ``Database`` (whose key opens an encrypted file)."""
    key = key if key is not None else _key_of(db_path)
    db_path = _database_path(db_path)
    value = None
    if db_path.is_file() and (key is not None or not is_encrypted_backup(db_path)):
        try:
            connection = _connect(db_path, readonly=True, key=key)
            try:
                value = _setting(connection, BACKUP_FOLDER_KEY)
            finally:
                connection.close()
        except _DB_ERRORS:
            value = None
    if isinstance(value, str) and value.strip():
        return Path(value.strip()).expanduser()
    return db_path.parent / "backups"


def auto_backup(
    db_path: Path, folder: Path | None = None, now: datetime | None = None, *, actor=None
) -> BackupInfo | None:
    """Write the automatic backup if none exists yet for today's date, then rotate. Returns the new backup,
    or ``None`` when today's backup already exists.

    Without ``actor`` a system action (the program closing, the daily timer): no role is checked. With an
    ``actor`` (``kim-desktop backup --auto``) it needs ``backup.run``. ``db_path``: a path (plain database)
    or the open ``Database`` (an encrypted one brings its key; its backups are encrypted too)."""
    _require_backup(actor)
    now = now or datetime.now()
    source = db_path
    db_path = _database_path(db_path).expanduser().resolve()
    if _key_of(source) is None:
        source = db_path
    folder = Path(folder) if folder is not None else backup_folder(source)
    today: date = now.date()
    if folder.is_dir():
        for entry in folder.iterdir():
            moment = _parse(entry.name)
            if moment is not None and moment.date() == today:
                rotate(folder, now)
                return None
    info = make_backup(source, folder / auto_name(now))
    rotate(folder, now)
    return info

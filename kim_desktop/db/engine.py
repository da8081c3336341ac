"""Engine factory and the database lifecycle: locate, check, open, migrate.

SQLite is the default (one file in the user data directory); any SQLAlchemy URL is accepted for the shared
office server. Every SQLite connection gets WAL, ``foreign_keys=ON`` and a busy timeout. Low-level errors
(locked, read-only, disk full, corrupt) are turned into a ``UserError`` with a German message; SQLite's
transactions guarantee that a failed write leaves committed data untouched.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import StaleRecordError, UserError
from ..i18n import _

log = logging.getLogger(__name__)

SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 5000
#: Page cache of an encrypted connection in KiB (see make_engine).
ENCRYPTED_CACHE_KIB = 64 * 1024
PG_CONNECT_TIMEOUT_S = 10
NETWORK_FILESYSTEMS = {
    "nfs", "nfs4", "cifs", "smb", "smb2", "smb3", "smbfs", "afs", "9p", "fuse.sshfs", "sshfs", "davfs",
    "fuse.davfs2", "ncpfs", "glusterfs", "ceph", "fuse.glusterfs", "lustre",
}  # fmt: skip


def default_database_path() -> Path:
    from platformdirs import user_data_path

    return user_data_path("kim-desktop", appauthor=False, ensure_exists=True) / "kim.sqlite3"


def demo_database_path() -> Path:
    from platformdirs import user_data_path

    return user_data_path("kim-desktop", appauthor=False, ensure_exists=True) / "demo.sqlite3"


@dataclass(frozen=True)
class DatabaseLocation:
    url: str
    path: Path | None = None  # the file, for SQLite

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    def display(self) -> str:
        """The location as shown to the user (no passwords)."""
        if self.path is not None:
            return str(self.path)
        from sqlalchemy.engine import make_url

        return make_url(self.url).render_as_string(hide_password=True)


def resolve_location(db: str | os.PathLike | None) -> DatabaseLocation:
    """``--db`` takes a file path or an SQLAlchemy URL; nothing means the default file."""
    if db is None or str(db) == "":
        path = default_database_path()
        return DatabaseLocation(f"sqlite:///{path}", path)
    text = str(db)
    if "://" in text:
        if text.startswith("sqlite"):
            raw = text.split(":///", 1)[1] if ":///" in text else ""
            if raw and raw != ":memory:":
                path = _file_path(raw.split("?", 1)[0])
                return DatabaseLocation(f"sqlite:///{path}", path)
            return DatabaseLocation(text, None)
        return DatabaseLocation(postgresql_url(text), None)
    path = _file_path(text)
    return DatabaseLocation(f"sqlite:///{path}", path)


def postgresql_url(text: str) -> str:
    """``postgresql://`` and ``postgres://`` (the usual spelling of a server address) mean the psycopg 3
    driver; an explicit driver (``postgresql+psycopg://``) and other databases stay as given."""
    scheme, rest = text.split("://", 1)
    if scheme.lower() in ("postgresql", "postgres"):
        return f"postgresql+psycopg://{rest}"
    return text


def is_postgresql_url(url: str) -> bool:
    return url.split("://", 1)[0].lower().startswith(("postgresql", "postgres"))


def _file_path(text: str) -> Path:
    # A UNC path is kept as given: resolving it on Linux/macOS would turn //server/share into the local
    # directory /server/share and hide the network share from the check below.
    if text.startswith(("\\\\", "//")):
        return Path(text)
    return Path(text).expanduser().resolve()


# --- network shares -------------------------------------------------------------------------------------


def is_network_path(path: Path, mounts_text: str | None = None) -> bool:
    """True if ``path`` lies on a network file system, where SQLite's locking is not reliable."""
    text = str(path)
    if text.startswith(("\\\\", "//")):  # UNC path
        return True
    if sys.platform == "win32":
        return _windows_drive_is_remote(text)
    if mounts_text is None:
        try:
            mounts_text = Path("/proc/mounts").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return False
    return filesystem_type(path, mounts_text) in NETWORK_FILESYSTEMS


def filesystem_type(path: Path, mounts_text: str) -> str | None:
    """The type of the mount that holds ``path`` (longest matching mount point in /proc/mounts)."""
    best, best_type = "", None
    target = str(path)
    for line in mounts_text.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        mount_point = parts[1].replace("\\040", " ")
        if (target == mount_point or target.startswith(mount_point.rstrip("/") + "/")) and len(
            mount_point
        ) > len(best):
            best, best_type = mount_point, parts[2]
    return best_type


def _windows_drive_is_remote(text: str) -> bool:  # pragma: no cover - Windows only
    import ctypes

    drive = os.path.splitdrive(text)[0]
    if not drive:
        return False
    DRIVE_REMOTE = 4
    return ctypes.windll.kernel32.GetDriveTypeW(drive + "\\") == DRIVE_REMOTE


# --- error translation ----------------------------------------------------------------------------------


def translate_db_error(exc: BaseException) -> UserError:
    """Map a database driver error to one German sentence; never includes data or SQL."""
    message = str(getattr(exc, "orig", exc)).lower()
    server = _translate_server_error(message)
    if server is not None:
        return server
    if "locked" in message or "busy" in message:
        return UserError(
            _(
                "Die Datenbank ist gerade durch ein anderes Programm oder eine andere Sitzung gesperrt. "
                "Bitte versuchen Sie es in einigen Sekunden erneut; nichts wurde geändert."
            )
        )
    if "readonly" in message or "read-only" in message or "read only" in message:
        return UserError(
            _(
                "Die Datenbank ist schreibgeschützt. Änderungen können nicht gespeichert werden; "
                "bitte prüfen Sie die Dateirechte oder wenden Sie sich an Ihre IT."
            )
        )
    if "disk is full" in message or "no space" in message or "disk full" in message:
        return UserError(
            _(
                "Der Speicherplatz ist voll. Die letzte Änderung wurde nicht gespeichert, alle vorher "
                "gespeicherten Daten sind unverändert. Bitte schaffen Sie Platz und speichern Sie erneut."
            )
        )
    if "not a database" in message or "malformed" in message or "corrupt" in message:
        return UserError(
            _(
                "Die Datenbankdatei ist beschädigt oder keine KIM-Datenbank. Bitte stellen Sie die letzte "
                "Sicherung wieder her oder wenden Sie sich an Ihre IT."
            )
        )
    if "unable to open" in message:
        return UserError(
            _("Die Datenbank kann nicht geöffnet werden. Bitte prüfen Sie den Pfad und die Zugriffsrechte.")
        )
    if "could not connect" in message or "connection refused" in message or "connection to server" in message:
        return UserError(
            _("Der Datenbankserver ist nicht erreichbar. Bitte prüfen Sie die Netzwerkverbindung.")
        )
    return UserError(
        _("Die Datenbank meldet einen Fehler; nichts wurde geändert. Details stehen im Protokoll.")
    )


def _translate_server_error(message: str) -> UserError | None:
    """The connection errors of a database server (PostgreSQL): checked first, because a server's message
    also names the database, which may contain any word."""
    if (
        "password authentication failed" in message
        or "no password supplied" in message
        or ("role" in message and "does not exist" in message)
    ):
        return UserError(
            _(
                "Die Anmeldung am Datenbankserver ist fehlgeschlagen: Benutzername oder Passwort stimmen "
                "nicht. Bitte prüfen Sie die Serveradresse in den Einstellungen oder fragen Sie Ihre IT."
            )
        )
    if "database" in message and "does not exist" in message:
        return UserError(
            _(
                "Die Datenbank gibt es auf dem Server nicht. Bitte prüfen Sie den Datenbanknamen in der "
                "Serveradresse oder lassen Sie die Datenbank von Ihrer IT anlegen."
            )
        )
    if "pg_hba.conf" in message or "permission denied for database" in message:
        return UserError(
            _(
                "Der Datenbankserver lässt diese Verbindung nicht zu. Bitte fragen Sie Ihre IT, ob Ihr "
                "Arbeitsplatz und Ihr Benutzer freigeschaltet sind."
            )
        )
    if (
        "failed to resolve host" in message
        or "could not translate host name" in message
        or "name or service not known" in message
    ):
        return UserError(
            _(
                "Der Datenbankserver wurde nicht gefunden. Bitte prüfen Sie den Servernamen in der "
                "Serveradresse und die Netzwerkverbindung."
            )
        )
    if (
        "connection failed" in message
        or "timeout expired" in message
        or "server closed the connection" in message
        or "terminating connection" in message
        or "the database system is starting up" in message
        or "the database system is shutting down" in message
        or "consuming input failed" in message
        or "ssl negotiation" in message
    ):
        return UserError(
            _(
                "Der Datenbankserver ist nicht erreichbar. Bitte prüfen Sie die Netzwerkverbindung und die "
                "Serveradresse; nichts wurde geändert."
            )
        )
    return None


# --- the database object --------------------------------------------------------------------------------


@dataclass
class Database:
    """An open database: engine and session factory, after checks and migrations."""

    location: DatabaseLocation
    engine: object
    session_factory: object
    created: bool = False
    migrated_from: str | None = None
    backup_path: Path | None = None
    notes: list[str] = field(default_factory=list)
    #: The SQLCipher key of an encrypted database (None: a plain single-user database). Never logged.
    key: bytes | None = field(default=None, repr=False)

    @property
    def encrypted(self) -> bool:
        return self.key is not None

    @property
    def is_sqlite(self) -> bool:
        return self.location.is_sqlite

    @contextmanager
    def session(self) -> Iterator:
        """A unit of work: commits on success, rolls back on any error (never a half-written record)."""
        from sqlalchemy.exc import DBAPIError
        from sqlalchemy.orm.exc import StaleDataError

        # On SQLite a unit of work takes the write lock when it begins (BEGIN IMMEDIATE, see make_engine).
        bind = self.engine.execution_options(kim_write=True) if self.is_sqlite else self.engine
        session = self.session_factory(bind=bind)
        try:
            yield session
            session.commit()
        except DBAPIError as exc:
            session.rollback()
            log.warning("database error %s", type(getattr(exc, "orig", exc)).__name__)
            raise translate_db_error(exc) from None
        except StaleDataError:
            # Another client saved the same record in the meantime (row version, see db.base): nothing of
            # this unit of work is kept, nothing of the other one is overwritten.
            session.rollback()
            raise StaleRecordError(
                _("Diese Akte wurde inzwischen von einer anderen Sitzung geändert. Bitte neu laden.")
            ) from None
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def read_session(self) -> Iterator:
        """A read-only unit: ends its transaction on close without expiring loaded objects, so views may
        keep using the records they read."""
        from sqlalchemy.exc import DBAPIError

        session = self.session_factory()
        try:
            yield session
        except DBAPIError as exc:
            session.rollback()
            raise translate_db_error(exc) from None
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


def sqlite_module(key: bytes | None):
    """The DB-API module for a SQLite file: the standard library's, or SQLCipher's for an encrypted file."""
    if key is None:
        return sqlite3
    from sqlcipher3 import dbapi2

    return dbapi2


#: Error classes of both drivers (a ``sqlcipher3`` error is not a ``sqlite3`` one).
def driver_errors() -> tuple[type[BaseException], ...]:
    try:
        from sqlcipher3 import dbapi2
    except ImportError:  # pragma: no cover - a dependency
        return (sqlite3.DatabaseError,)
    return (sqlite3.DatabaseError, dbapi2.DatabaseError)


def connect_file(path: Path, *, key: bytes | None = None, readonly: bool = False, timeout: float = 5.0):
    """A raw DB-API connection to a SQLite file, keyed when ``key`` is given (autocommit mode).

    The one place besides ``make_engine`` that opens database files, used by backups and migrations."""
    module = sqlite_module(key)
    if readonly:
        connection = module.connect(
            f"{Path(path).as_uri()}?mode=ro", uri=True, isolation_level=None, timeout=timeout
        )
    else:
        connection = module.connect(str(path), isolation_level=None, timeout=timeout)
    if key is not None:
        from .keyslots import QUIET_PRAGMA, sqlcipher_key_pragma

        connection.execute(QUIET_PRAGMA)
        connection.execute(sqlcipher_key_pragma(key))
    return connection


def make_engine(location: DatabaseLocation, key: bytes | None = None):
    from sqlalchemy import create_engine, event

    if location.is_sqlite:
        options: dict = {"connect_args": {"timeout": BUSY_TIMEOUT_MS / 1000}}
        if key is not None:
            options["module"] = sqlite_module(key)
        engine = create_engine(location.url, **options)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection, _record):  # pragma: no branch
            # Let SQLAlchemy, not the driver, decide when transactions begin (pysqlite quirk).
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            if key is not None:
                from .keyslots import QUIET_PRAGMA, sqlcipher_key_pragma

                cursor.execute(QUIET_PRAGMA)
                cursor.execute(sqlcipher_key_pragma(key))  # must come before anything reads the file
                # Plain SQLite reads pages from the operating system's file cache at no cost; SQLCipher must
                # decrypt (and check the HMAC of) every page it reads into its own cache, which by default
                # holds only 2 MB. A larger page cache keeps decrypted pages of the working set.
                cursor.execute(f"PRAGMA cache_size = -{ENCRYPTED_CACHE_KIB}")
            cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if location.path is not None:
                mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
                # Only a new or a KIM database is switched to WAL: a foreign file that is then refused
                # must stay exactly as it was.
                if mode != "wal" and _new_or_kim(cursor):
                    try:
                        cursor.execute("PRAGMA journal_mode = WAL")
                    except driver_errors():
                        pass  # read-only file: WAL cannot be switched on, reading still works
                cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn):  # pragma: no branch
            # A deferred transaction that has already read gets "locked" at once when another connection
            # writes (SQLite does not wait, to avoid a deadlock), so units of work that write begin with
            # the write lock and wait for it up to the busy timeout; reads stay deferred.
            immediate = conn.get_execution_options().get("kim_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    options = {"pool_pre_ping": True}
    if is_postgresql_url(location.url):
        from sqlalchemy.engine import make_url

        query = make_url(location.url).query
        # An unreachable server answers within seconds instead of leaving the program waiting; the name
        # shows the sessions of KIM Desktop in the server's activity view.
        connect_args: dict = {"application_name": "kim-desktop"}
        if "connect_timeout" not in query:
            connect_args["connect_timeout"] = PG_CONNECT_TIMEOUT_S
        options["connect_args"] = connect_args
    return create_engine(location.url, **options)


def _new_or_kim(cursor) -> bool:
    tables = {row[0] for row in cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return not tables or "alembic_version" in tables


def is_encrypted_file(path: Path) -> bool:
    """An existing database that is encrypted: its key file lies beside it, or its first bytes are not the
    SQLite header (SQLCipher encrypts the whole file, header included)."""
    from .keyslots import keyfile_path

    if keyfile_path(path).exists():
        return True
    try:
        with Path(path).open("rb") as fh:
            header = fh.read(16)
    except OSError:
        return False
    return len(header) == 16 and header != SQLITE_HEADER


class PasswordRequiredError(UserError):
    def __init__(self) -> None:
        super().__init__(
            _(
                "Die Datenbank ist verschlüsselt. Bitte melden Sie sich mit Benutzername und Passwort an "
                "(auf der Kommandozeile: KIM_USER und KIM_DB_PASSWORD setzen)."
            )
        )


def check_sqlite_file(path: Path, *, must_exist: bool, key: bytes | None = None) -> None:
    """Refuse locations SQLite cannot serve safely, before SQLite sees them."""
    if is_network_path(path):
        raise UserError(
            _(
                "Die Datenbankdatei liegt auf einem Netzlaufwerk. SQLite ist dort nicht sicher: gleichzeitige "
                "Zugriffe können Daten zerstören. Bitte nutzen Sie für mehrere Arbeitsplätze den Büro-Server "
                "(PostgreSQL) oder speichern Sie die Datei lokal."
            )
        )
    if not path.exists():
        if must_exist:
            raise UserError(_("Die Datenbankdatei wurde nicht gefunden: {path}").format(path=path))
        if not path.parent.exists():
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError:
                raise UserError(
                    _("Der Ordner für die Datenbank kann nicht angelegt werden: {path}").format(
                        path=path.parent
                    )
                ) from None
        return
    if path.is_dir():
        raise UserError(
            _("Der angegebene Pfad ist ein Ordner, keine Datenbankdatei: {path}").format(path=path)
        )
    try:
        with path.open("rb") as fh:
            header = fh.read(16)
    except PermissionError:
        raise UserError(
            _("Keine Leseberechtigung für die Datenbankdatei: {path}").format(path=path)
        ) from None
    if key is not None:
        if header == SQLITE_HEADER:
            raise UserError(
                _("Die Datenbank ist nicht verschlüsselt; ein Passwort ist dafür nicht nötig: {path}").format(
                    path=path
                )
            )
        return
    if header and header != SQLITE_HEADER:
        from .keyslots import keyfile_path

        if keyfile_path(path).exists():
            raise PasswordRequiredError()
        raise UserError(
            _(
                "Die Datei ist keine lesbare KIM-Datenbank (beschädigt, verschlüsselt ohne Passwort oder ein "
                "anderes Format): {path}"
            ).format(path=path)
        )


def open_database(
    db: str | os.PathLike | None = None,
    *,
    create: bool = True,
    migrate: bool = True,
    key: bytes | None = None,
) -> Database:
    """Open (and if needed create and migrate) the database at ``db``.

    Raises ``UserError`` for every condition a user can meet: network share, missing file, not a database,
    newer schema than this program, locked, read-only.
    """
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.orm import sessionmaker

    from . import migrate as migrations

    location = resolve_location(db)
    if key is not None and location.path is None:
        raise UserError(_("Verschlüsselung mit SQLCipher gilt nur für eine lokale Datenbankdatei."))
    if location.path is not None:
        check_sqlite_file(location.path, must_exist=not create, key=key)
    engine = make_engine(location, key)
    database = Database(location, engine, sessionmaker(engine, expire_on_commit=False), key=key)
    try:
        migrations.bring_up_to_date(database, migrate=migrate)
    except DBAPIError as exc:
        engine.dispose()
        raise translate_db_error(exc) from None
    except BaseException:
        engine.dispose()
        raise
    return database

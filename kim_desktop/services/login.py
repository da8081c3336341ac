"""Opening a database as a user: encrypted databases, key slots, the first user, ``encrypt``. No Qt.

Two kinds of local database exist (decision record 011):

* **unencrypted single-user** – made without any password, an explicit choice that the GUI marks with a
  warning. It opens without login; the acting user is ``Actor.local()`` (every role, every case).
* **encrypted** (SQLCipher 4) – made whenever a password is given (``init`` with ``KIM_DB_PASSWORD``, the
  setup, ``encrypt``). A random key encrypts the file; ``<db>.keys`` holds it wrapped once per user
  (``db.keyslots``). Login = unwrap the key with the user's password, open the database, check that the
  account is active and load its roles.

The growing delay after failed logins is kept in the key slot (the database cannot be read before the
password is right); failures are written to the audit trail at the next successful login of that account.
All failures give the same German line, whether the user is unknown, the password wrong or the slot locked.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select, update

from ..db.engine import (
    Database,
    DatabaseLocation,
    connect_file,
    driver_errors,
    is_encrypted_file,
    is_postgresql_url,
    open_database,
    resolve_location,
)
from ..db.keyslots import KeyFile, keyfile_path, locked_until, new_database_key
from ..db.models import UserAccount
from ..errors import UserError, ValidationError
from ..i18n import _
from . import audit
from .context import Actor, ServiceContext
from .permissions import ROLES

log = logging.getLogger(__name__)

ENV_PASSWORD = "KIM_DB_PASSWORD"
ENV_USER = "KIM_USER"
DEFAULT_FIRST_USER = "admin"


def is_encrypted(db) -> bool:
    location = db if isinstance(db, DatabaseLocation) else resolve_location(db)
    return location.path is not None and location.path.exists() and is_encrypted_file(location.path)


def is_server_url(db) -> bool:
    """``db`` names a PostgreSQL server (the office server) rather than a file."""
    location = db if isinstance(db, DatabaseLocation) else resolve_location(db)
    return location.path is None and is_postgresql_url(location.url)


def _authentication_error() -> UserError:
    from .users import AuthenticationError

    return AuthenticationError()


def _empty_password() -> UserError:
    return UserError(
        _("Bitte ein Passwort angeben; ein leeres Passwort öffnet keine verschlüsselte Datenbank.")
    )


# --- opening --------------------------------------------------------------------------------------------


def unlock_key(
    path: Path, username: str | None, password: str, now: datetime | None = None
) -> tuple[bytes, str, int]:
    """The database key, the user id and the failures since the last login, for ``username`` (None: the
    first user) and ``password``.

    Counts failures in the slot and refuses while the slot is locked (``users.lock_duration``)."""
    from .users import lock_duration

    if not password:
        raise _empty_password()
    now = now or datetime.now(UTC)
    keys = KeyFile.load(keyfile_path(path))
    slot = keys.first_slot() if not username else keys.slot_for(username)
    if slot is None:
        # The same work as for a real slot, so the time taken does not tell whether the user exists.
        if keys.slots:
            keys.unwrap({**keys.slots[0], "user_id": "-"}, password)
        raise _authentication_error()
    lock = locked_until(slot)
    if lock is not None and lock > now:
        raise _authentication_error()
    key = keys.unwrap(slot, password)
    if key is None:
        slot["failed"] = int(slot.get("failed") or 0) + 1
        duration = lock_duration(slot["failed"])
        slot["locked_until"] = (now + duration).isoformat() if duration else None
        keys.save()
        log.info("login refused (key slot)")
        raise _authentication_error()
    failures = int(slot.get("failed") or 0)
    if failures or slot.get("locked_until"):
        slot["failed"], slot["locked_until"] = 0, None
        keys.save()
    return key, slot["user_id"], failures


def _actor_for(database: Database, user_id: str, failures_before: int = 0) -> Actor:
    """The active account behind a slot; records the login (and earlier failures) in the audit trail."""
    session = database.session_factory()
    try:
        user = session.get(UserAccount, user_id)
        if user is None or not user.active or user.deleted_at is not None:
            session.rollback()
            raise _authentication_error()
        if failures_before:
            audit.record(
                session,
                "login_failed",
                user_id=user.id,
                entity_type="user_account",
                entity_id=user.id,
                detail={"failures": failures_before, "recorded_at_next_login": True},
            )
        session.execute(
            update(UserAccount).where(UserAccount.id == user.id).values(failed_logins=0, locked_until=None)
        )
        audit.record(session, "login", user_id=user.id, entity_type="user_account", entity_id=user.id)
        actor = Actor(user.id, user.display_name, frozenset(r.role for r in user.roles))
        session.commit()
        return actor
    finally:
        session.close()


def open_context(
    db,
    *,
    username: str | None = None,
    password: str | None = None,
    create: bool = False,
    migrate: bool = True,
) -> ServiceContext:
    """Open ``db`` for the services: an encrypted database with the user's password, an unencrypted one as
    the local single user (username and password are then not needed and ignored), a PostgreSQL server as the
    user's own database role (``kim_<username>`` with the password; without a user name as the URL's user)."""
    location = resolve_location(db)
    if is_server_url(location):
        # The office server: the user's own database role (services.server_roles, decision record 013).
        from .server_roles import open_server_context

        return open_server_context(
            location, username=username, password=password, create=create, migrate=migrate
        )
    if not is_encrypted(location):
        return ServiceContext(open_database(db, create=create, migrate=migrate), Actor.local())
    if password is None:
        from ..db.engine import PasswordRequiredError

        raise PasswordRequiredError()
    key, user_id, failures = unlock_key(location.path, username, password)
    database = open_database(db, create=False, migrate=migrate, key=key)
    try:
        actor = _actor_for(database, user_id, failures)
    except BaseException:
        database.dispose()
        raise
    return ServiceContext(database, actor)


def verify_password(ctx: ServiceContext, password: str) -> bool:
    """The lock screen: is ``password`` the current user's? (Encrypted: the user's key slot opens;
    unencrypted single-user database: there is no password, so any confirmation unlocks.)"""
    database = ctx.database
    if not database.encrypted:
        return True
    if not password or ctx.actor.user_id is None:
        return False
    keys = KeyFile.load(keyfile_path(database.location.path))
    slot = next((s for s in keys.slots if s["user_id"] == ctx.actor.user_id), None)
    return slot is not None and keys.unwrap(slot, password) == database.key


# --- key slots of user accounts (called by services.users) ---------------------------------------------


def write_slot(database: Database, user_id: str, username: str, password: str) -> None:
    """Give ``user_id`` a key slot for ``password`` (new account, reset, own change). No-op when plain."""
    if not database.encrypted:
        return
    keys = KeyFile.load(keyfile_path(database.location.path))
    keys.set_slot(database.key, user_id, username, password)
    keys.save()


def remove_slot(database: Database, user_id: str) -> None:
    """A disabled account's password no longer opens the database."""
    if not database.encrypted:
        return
    keys = KeyFile.load(keyfile_path(database.location.path))
    if keys.remove_slot(user_id):
        keys.save()


# --- a new encrypted database -----------------------------------------------------------------------------


def _first_user(ctx: ServiceContext, username: str, display_name: str | None, password: str):
    from .users import add_user, find_user, reset_password

    with ctx.read() as session:
        existing = session.scalar(select(UserAccount).where(UserAccount.username == username.strip().lower()))
    if existing is not None:
        reset_password(ctx, existing.id, password)
        return existing.id
    view = add_user(ctx, username, display_name or username, password, ROLES)
    with ctx.read() as session:
        return find_user(session, view.id).id


def create_encrypted_database(
    db, username: str | None, password: str, display_name: str | None = None
) -> ServiceContext:
    """A new encrypted database whose first user holds every role (a one-person office can start at once).

    The key file is written before the database and both are removed again if anything fails."""
    from ..db.seed import seed_reference_data
    from .users import check_password, check_username

    location = resolve_location(db)
    if location.path is None:
        raise UserError(_("Verschlüsselung mit SQLCipher gilt nur für eine lokale Datenbankdatei."))
    path = location.path
    if path.exists() and path.stat().st_size > 0:
        raise UserError(_("Die Datenbankdatei gibt es schon: {path}").format(path=path))
    name = check_username(username or DEFAULT_FIRST_USER)
    check_password(password, name)
    key = new_database_key()
    keys = KeyFile.new(keyfile_path(path))
    created: list[Path] = []
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        keys.save()
        created.append(keys.path)
        database = open_database(db, create=True, key=key)
        created.append(path)
        with database.session() as session:
            seed_reference_data(session)
        ctx = ServiceContext(database, Actor.local())
        _first_user(ctx, name, display_name, password)  # writes the slot through users.add_user
        database.dispose()
        return open_context(db, username=name, password=password)
    except BaseException:
        for leftover in [*created, *(_companions(path))]:
            if leftover.exists():
                leftover.unlink()
        raise


def init_server(db, username: str | None, password: str | None) -> tuple[ServiceContext, str | None]:
    """``init`` on the office server, with the schema owner's URL: migrate, seed and – with ``username`` and
    ``password`` – make the first user with every role and their own database role (or give an existing
    account that password). Returns the owner's context and the first user's name (None without one)."""
    from ..db.seed import seed_reference_data
    from .users import check_password, check_username

    ctx = open_context(db, create=True)
    try:
        if ctx.actor.user_id is not None:
            raise UserError(
                _(
                    "'init' auf dem Datenbankserver braucht die Adresse mit dem Eigentümer der Datenbank "
                    "(nicht die eigene Anmeldung)."
                )
            )
        with ctx.write() as session:
            seed_reference_data(session)
        if password is None:
            return ctx, None
        name = check_username(username or DEFAULT_FIRST_USER)
        check_password(password, name)
        _first_user(ctx, name, None, password)
        return ctx, name
    except BaseException:
        ctx.database.dispose()
        raise


def _companions(path: Path) -> list[Path]:
    return [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", "-journal")]


# --- converting a plain database -------------------------------------------------------------------------


@dataclass
class EncryptResult:
    path: Path
    username: str
    tables: int
    rows: int
    plain_backups: list[Path]
    #: Other active accounts: they get a key slot when an administrator sets a new password for them.
    accounts_without_slot: int = 0


def _counts(connection) -> dict[str, int]:
    names = [
        row[0]
        for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        ).fetchall()
    ]
    return {name: connection.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in names}


def encrypt_database(
    db, username: str | None, password: str, display_name: str | None = None
) -> EncryptResult:
    """Convert an unencrypted database into an encrypted one, in place.

    1. The named account (default: the first active admin, else a new account ``admin``) gets the password
       and – if new – every role; 2. ``sqlcipher_export`` writes an encrypted copy beside the file; 3. the copy
       is checked (integrity, the same row count in every table); 4. the key file is written; 5. the plain file
       is moved aside, the copy takes its place and must open; 6. only then is the plain file deleted. Any
       failure before step 6 leaves the plain database readable without a password and with all its data;
       the account of step 1 (its password and its audit entries) stays in it, ready for the next attempt.
    """
    from .users import check_password, check_username

    location = resolve_location(db)
    path = location.path
    if path is None:
        raise UserError(_("Verschlüsselung mit SQLCipher gilt nur für eine lokale Datenbankdatei."))
    if not path.is_file():
        raise UserError(_("Die Datenbankdatei wurde nicht gefunden: {path}").format(path=path))
    if is_encrypted(location):
        raise UserError(_("Die Datenbank ist bereits verschlüsselt."))
    if not password:
        raise _empty_password()
    ctx = ServiceContext(open_database(db, create=False), Actor.local())
    try:
        with ctx.read() as session:
            if username:
                name = check_username(username)
            else:
                from ..db.models import UserRole
                from .permissions import ADMIN

                name = (
                    session.scalar(
                        select(UserAccount.username)
                        .join(UserRole, UserRole.user_id == UserAccount.id)
                        .where(
                            UserRole.role == ADMIN,
                            UserAccount.active.is_(True),
                            UserAccount.deleted_at.is_(None),
                        )
                        .order_by(UserAccount.created_at)
                        .limit(1)
                    )
                    or DEFAULT_FIRST_USER
                )
        check_password(password, name)
        user_id = _first_user(ctx, name, display_name, password)  # database is still plain: no slot yet
        with ctx.read() as session:
            others = session.scalars(
                select(UserAccount.username).where(
                    UserAccount.active.is_(True), UserAccount.deleted_at.is_(None), UserAccount.id != user_id
                )
            ).all()
    finally:
        ctx.database.dispose()

    key = new_database_key()
    temp = path.with_name(f".{path.name}.encrypting")
    aside = path.with_name(f".{path.name}.plain-until-verified")
    keys = KeyFile.new(keyfile_path(path))
    keys.set_slot(key, user_id, name, password)
    for leftover in (temp, *_companions(temp)):
        if leftover.exists():
            leftover.unlink()
    try:
        plain = connect_file(path)
        try:
            source_counts = _counts(plain)
            plain.close()
            from sqlcipher3 import dbapi2

            converter = dbapi2.connect(str(path), isolation_level=None)
            try:
                converter.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                converter.execute("ATTACH DATABASE ? AS encrypted KEY \"x'" + key.hex() + "'\"", (str(temp),))
                converter.execute("SELECT sqlcipher_export('encrypted')")
                version = converter.execute("PRAGMA user_version").fetchone()[0]
                converter.execute(f"PRAGMA encrypted.user_version = {int(version)}")
                converter.execute("DETACH DATABASE encrypted")
            finally:
                converter.close()
        finally:
            try:
                plain.close()
            except Exception:  # noqa: BLE001 - already closed
                pass
        check = connect_file(temp, key=key)
        try:
            integrity = check.execute("PRAGMA integrity_check").fetchall()
            copy_counts = _counts(check)
        finally:
            check.close()
        if integrity != [("ok",)] or copy_counts != source_counts:
            raise UserError(
                _("Die verschlüsselte Kopie konnte nicht bestätigt werden; die Datenbank bleibt unverändert.")
            )
        with temp.open("rb+") as fh:
            os.fsync(fh.fileno())
        keys.save()
        os.replace(path, aside)
        for companion in _companions(path):
            if companion.exists():
                companion.unlink()
        os.replace(temp, path)
        try:
            open_database(path, create=False, key=key).dispose()
        except BaseException:
            os.replace(aside, path)
            keys.path.unlink(missing_ok=True)
            raise
    except driver_errors() as exc:
        keys.path.unlink(missing_ok=True)
        from ..db.engine import translate_db_error

        raise translate_db_error(exc) from None
    except BaseException:
        if not path.exists() and aside.exists():
            os.replace(aside, path)
        if keys.path.exists() and path.exists() and not is_encrypted_file_header(path):
            keys.path.unlink()
        raise
    finally:
        for leftover in (temp, *_companions(temp)):
            if leftover.exists():
                leftover.unlink()
    _overwrite_and_delete(aside)
    plain_backups = sorted(p for p in (path.parent / "backups").glob("*.sqlite3") if not is_encrypted_file(p))
    log.info("database encrypted (%d tables)", len(copy_counts))
    return EncryptResult(path, name, len(copy_counts), sum(copy_counts.values()), plain_backups, len(others))


def is_encrypted_file_header(path: Path) -> bool:
    from ..db.engine import SQLITE_HEADER

    with path.open("rb") as fh:
        return fh.read(16) != SQLITE_HEADER


def _overwrite_and_delete(path: Path) -> None:
    """Best effort: overwrite the plain copy before deleting it (on SSDs and journaling file systems this is
    not a guarantee, which docs/datenschutz.md says; full-disk encryption is the real answer there)."""
    for target in (path, *_companions(path)):
        if not target.exists():
            continue
        try:
            size = target.stat().st_size
            with target.open("r+b") as fh:
                chunk = b"\0" * (1024 * 1024)
                written = 0
                while written < size:
                    fh.write(chunk[: min(len(chunk), size - written)])
                    written += len(chunk)
                fh.flush()
                os.fsync(fh.fileno())
        except OSError:
            pass
        target.unlink(missing_ok=True)


def password_from_environment() -> tuple[str | None, str | None]:
    """``KIM_USER`` and ``KIM_DB_PASSWORD`` (either may be missing)."""
    return os.environ.get(ENV_USER) or None, os.environ.get(ENV_PASSWORD)


def validate_new_password(password: str, repeat: str, username: str) -> None:
    from .users import check_password

    if password != repeat:
        raise ValidationError({"password": _("Die beiden Passwörter stimmen nicht überein.")})
    check_password(password, username)

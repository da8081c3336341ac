"""GUI start: window first, data right after, SQLAlchemy in the background.

1. QApplication, Qt's German translations, the main window (PySide6 only).
2. SQLite file with a current schema: the first page comes from ``SqlitePersonList`` (stdlib ``sqlite3``),
   so the list is on screen before SQLAlchemy has even been imported.
3. A background thread opens the database through ``db.engine.open_database`` (checks, migrations) and the
   services; the window gets them through ``attach_services``.
Anything else (new database, migration, demo filling, PostgreSQL) takes the full path before the list shows.

An encrypted database (SQLCipher, key slots beside it) cannot be read by the quick path: the login dialog asks
for user name and password, ``services.login.open_context`` opens it in the background, and the window shows
only what the user's roles allow. ``--exit-after-start`` takes ``KIM_USER``/``KIM_DB_PASSWORD`` from the
environment instead of the dialog (smoke tests, CI).
"""

from __future__ import annotations

import logging
import os
import sys
import threading

from PySide6.QtCore import QLibraryInfo, QLocale, QObject, QSettings, QTimer, QTranslator, Signal
from PySide6.QtWidgets import QApplication, QMessageBox

from .. import APP_ID, APP_NAME, __version__
from ..errors import UserError
from ..i18n import _, current_language, set_language

log = logging.getLogger(__name__)

DEMO_PERSONS = 400
#: Set to 1: show the setup assistant and end at once (time to the first screen, see benchmarks/README.md).
ENV_EXIT_AT_SETUP = "KIM_DESKTOP_EXIT_AT_SETUP"


class _Loader(QObject):
    loaded = Signal(object)
    failed = Signal(object)


def install_qt_translations(app: QApplication, language: str) -> None:
    """Qt's own dialogs (buttons, file dialogs) in the UI language."""
    path = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    translator = QTranslator(app)
    if translator.load(f"qtbase_{language}", path):
        app.installTranslator(translator)
    QLocale.setDefault(QLocale(QLocale.Language.German if language == "de" else QLocale.Language.English))


def _open_services(db_arg, demo: bool):
    from ..db.engine import open_database
    from ..services.context import Actor, ServiceContext

    database = open_database(db_arg)
    ctx = ServiceContext(database, Actor.local())
    if demo and database.created:
        from ..services.demo import generate_demo_data

        generate_demo_data(ctx, persons=DEMO_PERSONS, seed=1)
    return ctx


class _NoPersons:
    """The list source for accounts without ``person.read_basic`` (Administration only): an empty list."""

    def count(self) -> int:
        return 0

    def page(self, offset: int, limit: int) -> list:
        return []

    def residence_labels(self, language: str) -> dict[str, str]:
        return {}

    def close(self) -> None:
        pass


def list_source_for(ctx):
    """The person list through the services, or an empty one when the roles do not allow reading persons."""
    from ..services.permissions import allowed
    from ..services.person_list import SessionPersonList

    return SessionPersonList(ctx) if allowed(ctx.actor, "person.read_basic") else _NoPersons()


def _login_interactively(db, location_text: str):
    """The login dialog; the opened ``ServiceContext`` or None when the user chose "Abbrechen"."""
    from .login_dialog import LoginDialog

    dialog = LoginDialog(db, location_text, username=QSettings().value("security/last_user", "") or "")
    if not dialog.exec() or dialog.ctx is None:
        return None
    QSettings().setValue("security/last_user", dialog.username.text().strip().lower())
    return dialog.ctx


def _open_encrypted(db_arg):
    """``--exit-after-start`` on an encrypted database: sign in with ``KIM_USER``/``KIM_DB_PASSWORD``."""
    from ..db.engine import PasswordRequiredError
    from ..services import login

    username, password = login.password_from_environment()
    if not password:
        raise PasswordRequiredError()
    return login.open_context(db_arg, username=username, password=password)


def _server_login(location) -> bool:
    """The office server: each user logs in with their own name and password (their database role), unless
    the address itself carries a password (a maintenance connection)."""
    from ..db.engine import is_postgresql_url

    if location.path is not None or not is_postgresql_url(location.url):
        return False  # a local file: no SQLAlchemy import before the first page (decision record 004)
    from sqlalchemy.engine import make_url

    return make_url(location.url).password is None


def needs_setup(location, *, demo: bool, exit_after_start: bool) -> bool:
    """The first start: no database file yet at the local path (the default one or ``--db``). ``--demo`` makes
    its own database; ``--exit-after-start`` (smoke tests) keeps creating an empty one without asking."""
    if demo or location.path is None or location.path.exists():
        return False
    return not exit_after_start or bool(os.environ.get(ENV_EXIT_AT_SETUP))


def run_gui(
    *, db=None, demo: bool = False, exit_after_start: bool = False, language: str | None = None
) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName(APP_ID)
    app.setOrganizationName("KIM Desktop")
    app.setApplicationDisplayName(APP_NAME)
    app.setApplicationVersion(__version__)
    language = language or QSettings().value("ui/language", "de")
    set_language(language)
    install_qt_translations(app, current_language())
    from .theme import apply_system_theme

    apply_system_theme(app)

    from ..db.engine import demo_database_path, resolve_location
    from ..db.schema_version import HEAD_REVISION
    from .main_window import MainWindow

    if demo and db is None:
        db = str(demo_database_path())
    from ..db.engine import is_encrypted_file

    location = resolve_location(db)
    location_text = location.display() if location.path else _("Büro-Server")
    encrypted = location.path is not None and location.path.is_file() and is_encrypted_file(location.path)
    logged_in = None
    if needs_setup(location, demo=demo, exit_after_start=exit_after_start):
        from .setup_wizard import run_setup

        if os.environ.get(ENV_EXIT_AT_SETUP):
            run_setup(location.path, exit_when_shown=True)
            return 0
        logged_in = run_setup(location.path)
        if logged_in is None:
            return 0  # cancelled (nothing was made), or Büro-Server/Laptop chosen: set up with the server
        encrypted = bool(logged_in.database.encrypted)
    elif (encrypted or _server_login(location)) and not exit_after_start:
        logged_in = _login_interactively(db, location_text)
        if logged_in is None:
            return 0  # "Abbrechen": nothing was opened
    window = MainWindow(location_text)
    window.restore_layout()
    window.show()
    exit_code = {"value": 0}

    def fail(exc: BaseException) -> None:
        message = (
            exc.message
            if isinstance(exc, UserError)
            else _("Die Datenbank kann nicht geöffnet werden; Details stehen im Protokoll.")
        )
        if not isinstance(exc, UserError):
            log.error("database open failed: %s", type(exc).__name__)
        if exit_after_start:
            print(_("Fehler: {message}").format(message=message), file=sys.stderr)
        else:
            QMessageBox.critical(window, APP_NAME, message)
        exit_code["value"] = 1
        app.exit(1)

    def finish_start() -> None:
        if exit_after_start:
            QTimer.singleShot(0, lambda: app.exit(exit_code["value"]))

    window.first_page_shown.connect(finish_start)

    quick = None
    if logged_in is None and location.path is not None and location.path.is_file() and not encrypted:
        from ..services.person_list import SqlitePersonList

        try:
            candidate = SqlitePersonList(location.path)
            if candidate.schema_revision() == HEAD_REVISION:
                quick = candidate
            else:
                candidate.close()
        except Exception:  # anything odd: the full path below gives the proper message
            quick = None

    loader = _Loader()
    attached: dict = {}

    def on_loaded(ctx) -> None:
        attached["database"] = ctx.database  # an encrypted database's automatic backups need its key
        if quick is None:
            try:
                source = list_source_for(ctx)
                window.set_list_source(source, source.residence_labels(current_language()))
            except BaseException as exc:
                fail(exc)
                return
        window.attach_services(ctx)
        if not exit_after_start and not demo:
            from .help_viewer import show_release_notes_once

            database = ctx.database
            window.release_notes = show_release_notes_once(
                window,
                migrated=getattr(database, "migrated_from", None) is not None,
                backup_path=getattr(database, "backup_path", None),
            )

    loader.loaded.connect(on_loaded)
    loader.failed.connect(fail)

    def load_in_background() -> None:
        try:
            ctx = _open_encrypted(db) if encrypted else _open_services(db, demo)
        except BaseException as exc:
            loader.failed.emit(exc)
            return
        loader.loaded.emit(ctx)

    if logged_in is not None:  # signed in, or just set up by the assistant
        QTimer.singleShot(0, lambda: on_loaded(logged_in))
    elif encrypted:  # --exit-after-start: the identity comes from the environment
        QTimer.singleShot(
            0, lambda: threading.Thread(target=load_in_background, name="kim-open-db", daemon=True).start()
        )
    elif quick is not None:

        def show_quick() -> None:
            try:
                window.set_list_source(quick, quick.residence_labels(current_language()))
            except Exception as exc:
                fail(
                    UserError(_("Die Personenliste kann nicht gelesen werden."))
                    if not isinstance(exc, UserError)
                    else exc
                )
                return
            if not exit_after_start:
                threading.Thread(target=load_in_background, name="kim-open-db", daemon=True).start()

        QTimer.singleShot(0, show_quick)
    else:

        def load_now() -> None:
            app.setOverrideCursor(Qt_wait_cursor())
            try:
                ctx = _open_services(db, demo)
            except BaseException as exc:
                app.restoreOverrideCursor()
                fail(exc)
                return
            app.restoreOverrideCursor()
            on_loaded(ctx)

        QTimer.singleShot(0, load_now)

    auto_backup = location.path is not None and not demo and not exit_after_start
    if (
        auto_backup
    ):  # daily backup while the program stays open for days (at most one a day, see services.backup)
        backup_timer = QTimer(app)
        backup_timer.setInterval(60 * 60 * 1000)
        backup_timer.timeout.connect(
            lambda: threading.Thread(
                target=backup_quietly,
                args=(attached.get("database", location.path),),
                name="kim-backup",
                daemon=True,
            ).start()
        )
        backup_timer.start()
    code = app.exec()
    if auto_backup and exit_code["value"] == 0:
        # the window is closed already; the day's backup, then rotation
        backup_quietly(attached.get("database", location.path))
    return exit_code["value"] or code


def backup_quietly(db_path) -> bool:
    """The automatic backup of ``db_path`` (a path, or the open ``Database`` whose key encrypts the backup);
    a failure goes to the log (kind of error only, no data) and never stops the program. Returns whether no
    error occurred."""
    try:
        from ..services.backup import auto_backup

        auto_backup(db_path)
    except Exception as exc:
        log.warning("automatic backup failed: %s", type(exc).__name__)
        return False
    return True


def Qt_wait_cursor():  # noqa: N802
    from PySide6.QtCore import Qt

    return Qt.CursorShape.WaitCursor

"""Database mode and sync in the main window (issue 9): the status-bar widget, the sync dialog and the actions.

* ``SyncStatusWidget`` (status bar): "Einzelplatz", "Büro-Server" or "Laptop-Replik"; on a replica also the
  number of records changed here and not yet sent, the time of the last sync and a button to the conflict
  inbox while conflicts are open.
* ``SyncDialog``: runs ``services.sync.sync`` in a worker thread with a progress bar and the step it is in.
  "Abbrechen" stops after the current batch (the service's hook points are safe cut points: everything up to
  there is committed on both sides, the next sync goes on from there). The result in German:
  "12 Änderungen gesendet, 30 empfangen, 2 Konflikte".
* ``install_sync(window)`` adds "Jetzt synchronisieren" (F9), "Synchronisierungskonflikte …" and "Für unterwegs
  mitnehmen …" to the File menu (every letter of a new top-level menu is taken) and the widget to the
  status bar. Which action is visible follows the mode and the roles (``ui.roles.WINDOW_ACTIONS``).

Widgets are only touched in the GUI thread; the worker only calls the service and emits signals.
"""

from __future__ import annotations

import logging
import threading

from PySide6.QtCore import QObject, QSettings, Qt, QThread, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ..errors import UserError
from ..i18n import _, ngettext
from . import theme

log = logging.getLogger(__name__)

SERVER_URL_KEY = "sync/server_url"
STATUS_REFRESH_MS = 10_000


def format_moment(moment) -> str:
    """A stored (UTC) time as German office time: ``12.03.2026, 14:05``."""
    from ..services.localtime import local_time

    local = local_time(moment)
    return _("{date}, {time}").format(date=local.strftime("%d.%m.%Y"), time=local.strftime("%H:%M"))


def unsynced_text(n: int) -> str:
    """Records changed here and not yet sent (a record: a person, a journal entry, an appointment …; the sync
    result counts the single field changes, hence the other noun)."""
    return ngettext(
        "{n} geänderter Eintrag nicht übertragen", "{n} geänderte Einträge nicht übertragen", n
    ).format(n=n)


def conflicts_text(n: int) -> str:
    return ngettext("{n} Konflikt", "{n} Konflikte", n).format(n=n)


def result_text(result) -> str:
    """ "12 Änderungen gesendet, 30 empfangen, 2 Konflikte"."""
    sent = ngettext("{n} Änderung gesendet", "{n} Änderungen gesendet", result.pushed).format(n=result.pushed)
    received = _("{n} empfangen").format(n=result.pulled)
    return _("{sent}, {received}, {conflicts}").format(
        sent=sent, received=received, conflicts=conflicts_text(result.conflicts)
    )


def error_text(exc: BaseException) -> str:
    """One German sentence for a failed sync or checkout (the service's own for every known case: wrong
    password, another office, a sync already running, a replica given as office …)."""
    if isinstance(exc, UserError):
        return exc.message
    if isinstance(exc, OSError):
        return _(
            "Die Bürodatenbank ist nicht erreichbar. Bitte Netzwerk und Serveradresse prüfen; nichts wurde geändert."
        )
    log.error("sync failed: %s", type(exc).__name__)
    return _("Ein unerwarteter Fehler ist aufgetreten; Details stehen im Protokoll.")


def needs_password(url: str) -> bool:
    """The office server without a user in the address: each user signs in with their own role."""
    from sqlalchemy.engine import make_url

    from ..db.engine import resolve_location
    from ..services.login import is_server_url

    try:
        location = resolve_location(url)
        return is_server_url(location) and not make_url(location.url).username
    except Exception:  # an unreadable address: the service says what is wrong with it
        return False


def username_of(ctx) -> str | None:
    if ctx is None or ctx.actor.user_id is None:
        return None
    from ..db.models import UserAccount

    with ctx.read() as session:
        account = session.get(UserAccount, ctx.actor.user_id)
        return account.username if account else None


# --- the status bar ---------------------------------------------------------------------------------------


class SyncStatusWidget(QWidget):
    """Mode, unsynced changes, last sync and open conflicts in the status bar."""

    conflicts_requested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("syncStatus")
        self.mode_label = QLabel()
        self.mode_label.setAccessibleName(_("Datenbank"))
        self.changes_label = QLabel()
        self.changes_label.setAccessibleName(_("Nicht übertragene Änderungen"))
        self.last_sync_label = QLabel()
        self.last_sync_label.setAccessibleName(_("Letzte Synchronisierung"))
        self.conflicts_button = QPushButton()
        self.conflicts_button.setFlat(True)
        self.conflicts_button.setAccessibleName(_("Offene Konflikte ansehen"))
        self.conflicts_button.setStyleSheet(theme.error_style() + " font-weight: bold;")
        self.conflicts_button.clicked.connect(self.conflicts_requested)
        self.conflicts_button.setVisible(False)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        self.separators = [QLabel("·"), QLabel("·")]
        for widget in (self.mode_label, self.separators[0], self.changes_label, self.separators[1],
                       self.last_sync_label, self.conflicts_button):  # fmt: skip
            layout.addWidget(widget)
        self.setSizePolicy(QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Preferred)  # never clipped
        self.status = None

    def show_status(self, status) -> None:
        self.status = status
        self.mode_label.setText(status.mode_label)
        tip = [_("Datenbank: {mode}").format(mode=status.mode_label), status.location]
        replica = status.mode == "replica"
        self.changes_label.setVisible(replica)
        for separator in self.separators:
            separator.setVisible(replica)
        self.last_sync_label.setVisible(replica)
        self.conflicts_button.setVisible(replica and status.conflicts > 0)
        if replica:
            self.changes_label.setText(
                unsynced_text(status.unsynced) if status.unsynced else _("alles übertragen")
            )
            self.changes_label.setStyleSheet(
                theme.warning_style() + " font-weight: bold;" if status.unsynced else ""
            )
            self.changes_label.setToolTip(
                _("Änderungen auf diesem Laptop, die die nächste Synchronisierung ins Büro sendet")
            )
            self.last_sync_label.setText(
                _("Zuletzt synchronisiert: {when}").format(when=format_moment(status.last_sync_at))
                if status.last_sync_at
                else _("Noch nicht synchronisiert")
            )
            self.conflicts_button.setText(conflicts_text(status.conflicts))
            if status.server_url:
                tip.append(_("Büro: {server}").format(server=status.server_url))
        self.mode_label.setToolTip("\n".join(tip))


# --- the sync worker and dialog ---------------------------------------------------------------------------


class SyncCancelled(Exception):
    """Raised at a safe hook point when the user asked to stop."""


def phase_text(point: str) -> str:
    texts = {
        "start": _("Verbindung zur Bürodatenbank …"),
        "pull_fetched": _("Änderungen aus dem Büro werden übernommen …"),
        "pull_committed": _("Änderungen aus dem Büro übernommen …"),
        "push_remote_committed": _("Eigene Änderungen im Büro gespeichert …"),
        "push_local_committed": _("Eigene Änderungen gesendet …"),
    }
    return texts.get(point, _("Synchronisierung läuft …"))


#: Hook points after which both sides are committed: stopping there loses nothing.
SAFE_STOPS = ("pull_committed", "push_local_committed")


class SyncWorker(QThread):
    progress = Signal(str)
    succeeded = Signal(object)
    failed = Signal(object)

    def __init__(self, ctx, url: str, username: str | None, password: str | None, parent=None) -> None:
        super().__init__(parent)
        self.ctx, self.url, self.username, self.password = ctx, url, username, password
        self.cancel_requested = threading.Event()

    def _hook(self, point: str) -> None:
        self.progress.emit(point)
        if point in SAFE_STOPS and self.cancel_requested.is_set():
            raise SyncCancelled()

    def run(self) -> None:
        from ..services import sync

        self.progress.emit("start")
        try:
            result = sync.sync(
                self.ctx, self.url, hook=self._hook, username=self.username, password=self.password
            )
        except BaseException as exc:  # shown as one German sentence in the dialog
            self.failed.emit(exc)
            return
        finally:
            self.password = None
        self.succeeded.emit(result)


class SyncDialog(QDialog):
    """Synchronise this replica with the office; asks for the password only where the server needs it."""

    synced = Signal(object)  # SyncResult
    conflicts_requested = Signal()

    def __init__(self, ctx, server_url: str, parent=None, *, username: str | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.worker: SyncWorker | None = None
        self.result = None
        self.error: BaseException | None = None
        self.setWindowTitle(_("Synchronisieren"))
        self.setMinimumWidth(520)

        form = QFormLayout()
        self.url = QLineEdit(server_url)
        self.url.setAccessibleName(_("Adresse der Bürodatenbank"))
        url_label = QLabel(_("&Bürodatenbank:"))
        url_label.setBuddy(self.url)
        form.addRow(url_label, self.url)
        self.username = QLineEdit(username or "")
        self.username.setAccessibleName(_("Benutzername"))
        self.username_label = QLabel(_("Benutzer&name:"))
        self.username_label.setBuddy(self.username)
        form.addRow(self.username_label, self.username)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setAccessibleName(_("Passwort für den Büro-Server"))
        self.password_label = QLabel(_("&Passwort:"))
        self.password_label.setBuddy(self.password)
        form.addRow(self.password_label, self.password)
        self.url.textChanged.connect(self._update_fields)

        self.phase = QLabel(_("Bereit."))
        self.phase.setAccessibleName(_("Fortschritt"))
        self.progress = QProgressBar()
        self.progress.setAccessibleName(_("Fortschritt der Synchronisierung"))
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setTextVisible(False)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setAccessibleName(_("Ergebnis"))

        self.start_button = QPushButton(_("&Jetzt synchronisieren"))
        self.start_button.setAccessibleName(_("Jetzt synchronisieren"))
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        self.conflicts_button = QPushButton(_("&Konflikte ansehen …"))
        self.conflicts_button.setAccessibleName(_("Offene Konflikte ansehen"))
        self.conflicts_button.setVisible(False)
        self.conflicts_button.clicked.connect(self._open_conflicts)
        self.cancel_button = QPushButton(_("&Abbrechen"))
        self.cancel_button.setAccessibleName(_("Synchronisierung abbrechen"))
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button = QPushButton(_("S&chließen"))
        self.close_button.setAccessibleName(_("Fenster schließen"))
        self.close_button.clicked.connect(self.reject)
        buttons = QDialogButtonBox()
        for button in (self.start_button, self.conflicts_button, self.cancel_button, self.close_button):
            buttons.addButton(button, QDialogButtonBox.ButtonRole.ActionRole)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.phase)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        self._update_fields()
        self._set_running(False)

    def _update_fields(self) -> None:
        asks = needs_password(self.url.text().strip())
        for widget in (self.username, self.username_label, self.password, self.password_label):
            widget.setVisible(asks)

    @property
    def running(self) -> bool:
        return self.worker is not None and self.worker.isRunning()

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.url.setReadOnly(running)
        self.password.setReadOnly(running)
        self.cancel_button.setVisible(running)
        self.cancel_button.setEnabled(running)
        self.close_button.setEnabled(not running)
        if running:
            self.progress.setRange(0, 0)  # busy: the service does not know the total in advance
        else:
            self.progress.setRange(0, 1)

    def ready_to_start(self) -> bool:
        """Whether everything is known to start without asking (a file or a server URL with its user)."""
        url = self.url.text().strip()
        return bool(url) and not needs_password(url)

    def start(self) -> None:
        if self.running:
            self.message.setText(
                _("Eine Synchronisierung läuft bereits. Bitte warten Sie, bis sie fertig ist.")
            )
            return
        url = self.url.text().strip()
        if not url:
            self.message.setText(_("Bitte die Adresse der Bürodatenbank angeben."))
            self.url.setFocus()
            return
        username = password = None
        if needs_password(url):
            username, password = self.username.text().strip() or None, self.password.text()
            if not username or not password:
                self.message.setText(_("Bitte Benutzername und Passwort für den Büro-Server eingeben."))
                (self.password if username else self.username).setFocus()
                return
        QSettings().setValue(SERVER_URL_KEY, url)
        self.result = self.error = None
        self.message.clear()
        self.conflicts_button.setVisible(False)
        self.worker = SyncWorker(self.ctx, url, username, password, self)
        self.password.clear()
        self.worker.progress.connect(lambda point: self.phase.setText(phase_text(point)))
        self.worker.succeeded.connect(self._succeeded)
        self.worker.failed.connect(self._failed)
        self.worker.finished.connect(lambda: self._set_running(False))
        self._set_running(True)
        self.worker.start()

    def cancel(self) -> None:
        if self.running:
            self.worker.cancel_requested.set()
            self.cancel_button.setEnabled(False)
            self.phase.setText(_("Wird nach dem laufenden Abschnitt angehalten …"))

    def _succeeded(self, result) -> None:
        self.result = result
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        self.phase.setText(_("Synchronisierung abgeschlossen."))
        lines = [result_text(result)]
        if result.added_cases or result.purged_cases:
            lines.append(
                _("Fallbestand angepasst: {added} neu, {removed} abgegeben.").format(
                    added=result.added_cases, removed=result.purged_cases
                )
            )
        lines += list(result.warnings)
        self.message.setText("\n".join(lines))
        self.message.setStyleSheet("")
        self.conflicts_button.setVisible(result.conflicts > 0)
        self.synced.emit(result)

    def _failed(self, exc: BaseException) -> None:
        self.error = exc
        if isinstance(exc, SyncCancelled):
            self.phase.setText(_("Angehalten."))
            text = _(
                "Die Synchronisierung wurde nach dem laufenden Abschnitt angehalten. Was bis dahin übertragen "
                "wurde, bleibt übertragen; der Rest folgt bei der nächsten Synchronisierung."
            )
        else:
            self.phase.setText(_("Nicht synchronisiert."))
            text = error_text(exc)
        self.message.setText(text)
        self.message.setStyleSheet(theme.error_style())
        self.synced.emit(None)

    def _open_conflicts(self) -> None:
        self.conflicts_requested.emit()

    def reject(self) -> None:
        if self.running:  # the worker must finish: closing would leave the replica mid-way to no one
            self.cancel()
            return
        super().reject()

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if self.running:
            self.cancel()
            event.ignore()
            return
        super().closeEvent(event)


# --- the window's part --------------------------------------------------------------------------------------


class SyncController(QObject):
    """The sync actions and the status-bar widget of one main window."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.status = None
        self.dialog: SyncDialog | None = None
        self.widget = SyncStatusWidget()
        self.widget.conflicts_requested.connect(self.show_conflicts)
        window.statusBar().insertPermanentWidget(0, self.widget)  # before user and path: it matters more
        location = getattr(window, "location_label", None)
        if (
            location is not None
        ):  # a long path gives way first (full text in its tooltip), the sync state never
            location.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            location.setMinimumWidth(120)
            location.setToolTip(location.text())
        self.sync_action = self._action(_("&Jetzt synchronisieren"), "F9", self.start_sync)
        self.sync_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.sync_action.setStatusTip(_("Änderungen mit der Bürodatenbank abgleichen"))
        self.conflicts_action = self._action(_("S&ynchronisierungskonflikte …"), None, self.show_conflicts)
        self.checkout_action = self._action(_("Für unter&wegs mitnehmen …"), None, self.show_checkout)
        self.checkout_action.setStatusTip(_("Fälle als verschlüsselte Replik auf diesen Laptop mitnehmen"))
        menu = window.menuBar().actions()[0].menu()  # Datei
        anchor = getattr(window, "settings_action", None)
        separator = QAction(window)
        separator.setSeparator(True)
        for action in (self.checkout_action, self.sync_action, self.conflicts_action, separator):
            if anchor is not None and anchor in menu.actions():
                menu.insertAction(anchor, action)
            else:
                menu.addAction(action)
        window.sync_action = self.sync_action
        window.conflicts_action = self.conflicts_action
        window.checkout_action = self.checkout_action
        self.timer = QTimer(self)
        self.timer.setInterval(STATUS_REFRESH_MS)
        self.timer.timeout.connect(self.refresh_status)

    def _action(self, text: str, shortcut, slot) -> QAction:
        action = QAction(text, self.window)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        self.window.addAction(action)
        return action

    @property
    def ctx(self):
        return self.window.ctx

    @property
    def is_replica(self) -> bool:
        return self.status is not None and self.status.mode == "replica"

    def attach(self) -> None:
        """Services are ready: show the mode and the actions that fit it and the user's roles."""
        from . import roles

        self.refresh_status()
        actor = self.ctx.actor
        for name, visible in (
            ("sync_action", self.is_replica),
            ("conflicts_action", self.is_replica),
            ("checkout_action", not self.is_replica),
        ):
            action = getattr(self, name)
            permitted = visible and roles.may(actor, *roles.WINDOW_ACTIONS[name])
            action.setVisible(permitted)
            action.setEnabled(permitted)
        if self.is_replica:
            self.timer.start()

    def refresh_status(self) -> None:
        if self.ctx is None:
            return
        from ..services.sync_status import database_status

        try:
            self.status = database_status(self.ctx)
        except Exception as exc:  # the status bar must never stop the program
            log.warning("database status unavailable: %s", type(exc).__name__)
            return
        self.widget.show_status(self.status)

    def start_sync(self) -> SyncDialog | None:
        if self.ctx is None or not self.is_replica or not self.sync_action.isEnabled():
            return None
        if self.dialog is not None and self.dialog.running:
            self.dialog.raise_()
            self.dialog.message.setText(
                _("Eine Synchronisierung läuft bereits. Bitte warten Sie, bis sie fertig ist.")
            )
            return self.dialog
        url = self.status.server_url or QSettings().value(SERVER_URL_KEY, "") or ""
        dialog = SyncDialog(self.ctx, url, self.window, username=username_of(self.ctx))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.synced.connect(lambda _result: self._after_sync())
        dialog.conflicts_requested.connect(self.show_conflicts)
        dialog.destroyed.connect(lambda: setattr(self, "dialog", None))
        self.dialog = dialog
        dialog.show()
        if dialog.ready_to_start():
            dialog.start()
        else:
            (dialog.password if dialog.username.text() else dialog.username).setFocus()
        return dialog

    def _after_sync(self) -> None:
        self.refresh_status()
        refresh = getattr(self.window, "refresh", None)
        if callable(refresh) and not (self.window.person_page is not None and self.window.person_page.dirty):
            refresh()

    def show_conflicts(self) -> None:
        if self.ctx is None:
            return
        from .conflict_inbox import ConflictInbox

        inbox = ConflictInbox(self.ctx, self.window)
        inbox.resolved.connect(self.refresh_status)
        inbox.exec()
        self.refresh_status()

    def show_checkout(self) -> None:
        if self.ctx is None:
            return
        from .checkout_dialog import CheckoutDialog

        CheckoutDialog(self.ctx, self.window).exec()


def install_sync(window) -> SyncController:
    """Add the sync actions and the status widget to ``window`` once; refresh them when services attach."""
    controller = getattr(window, "sync_controller", None)
    if controller is None:
        controller = SyncController(window)
        window.sync_controller = controller
    if window.ctx is not None:
        controller.attach()
    return controller

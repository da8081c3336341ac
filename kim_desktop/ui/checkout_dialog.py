""" "Für unterwegs mitnehmen …": the chosen cases into an encrypted laptop replica (``services.sync.checkout``).

The office database is the one that is open (its address is taken as it is, password included, when the field
is left unchanged) or another address typed in; the server address is remembered (without password). The cases
to take default to the user's active caseload – left like that, the replica follows the caseload at every
sync; a changed choice takes exactly the ticked cases. The replica is encrypted with the user's own password,
so the login on the road is the usual one. Checkout runs in a worker thread; it cannot be cancelled half-way
(it makes one new file, quickly, and removes it again on any error).

Afterwards the dialog offers to restart KIM Desktop on the replica, or tells how to start it later.
"""

from __future__ import annotations

import logging
import socket
import sys
from pathlib import Path

from PySide6.QtCore import QProcess, QSettings, Qt, QThread, Signal
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
)

from ..i18n import _, ngettext
from . import theme
from .sync_panel import SERVER_URL_KEY, error_text, username_of

log = logging.getLogger(__name__)

REPLICA_PATH_KEY = "sync/replica_path"


def default_replica_path() -> Path:
    from ..db.engine import default_database_path

    return default_database_path().with_name("kim-unterwegs.sqlite3")


def restart_command(replica: Path) -> tuple[str, list[str]]:
    """Program and arguments that start KIM Desktop on ``replica`` (the installed bundle or the package)."""
    if getattr(sys, "frozen", False):
        return sys.executable, ["--db", str(replica)]
    return sys.executable, ["-m", "kim_desktop", "--db", str(replica)]


class _CheckoutWorker(QThread):
    succeeded = Signal(object)
    failed = Signal(object)

    def __init__(self, kwargs: dict, parent=None) -> None:
        super().__init__(parent)
        self.kwargs = kwargs

    def run(self) -> None:
        from ..services import sync

        try:
            result = sync.checkout(**self.kwargs)
        except BaseException as exc:  # one German sentence in the dialog
            self.failed.emit(exc)
            return
        finally:
            self.kwargs = {}
        self.succeeded.emit(result)


class CheckoutDialog(QDialog):
    checked_out = Signal(object)  # CheckoutResult

    def __init__(self, ctx, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.worker: _CheckoutWorker | None = None
        self.result = None
        self.error: BaseException | None = None
        self.setWindowTitle(_("Für unterwegs mitnehmen"))
        self.resize(680, 640)
        location = ctx.database.location
        self._office_display = location.display()
        self._office_url = location.url if location.path is None else str(location.path)
        from ..services.login import is_server_url

        if is_server_url(location):  # the signed-in user's own role: the address without user and password
            from sqlalchemy.engine import make_url

            url = make_url(location.url)
            if url.username and url.username.startswith("kim_"):
                self._office_url = url.set(username=None, password=None).render_as_string(hide_password=False)
                self._office_display = self._office_url

        intro = QLabel(
            _(
                "Die gewählten Fälle kommen verschlüsselt auf diesen Rechner. Unterwegs melden Sie sich wie "
                "gewohnt an; zurück im Büro gleicht „Jetzt synchronisieren“ (F9) beide Seiten ab."
            )
        )
        intro.setWordWrap(True)

        form = QFormLayout()
        self.url = QLineEdit(self._office_display)
        self.url.setAccessibleName(_("Adresse der Bürodatenbank"))
        self._add(form, _("&Bürodatenbank:"), self.url)
        self.username = QLineEdit(username_of(ctx) or QSettings().value("security/last_user", "") or "")
        self.username.setAccessibleName(_("Benutzername"))
        self._add(form, _("Benutzer&name:"), self.username)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setAccessibleName(_("Ihr Passwort (verschlüsselt die Replik)"))
        self._add(form, _("&Passwort:"), self.password)
        self.target = QLineEdit(str(QSettings().value(REPLICA_PATH_KEY, "") or default_replica_path()))
        self.target.setAccessibleName(_("Datei der Replik"))
        self.browse = QPushButton(_("Durchsuc&hen …"))
        self.browse.setAccessibleName(_("Datei der Replik wählen"))
        self.browse.clicked.connect(self._pick_target)
        target_row = QHBoxLayout()
        target_row.addWidget(self.target, 1)
        target_row.addWidget(self.browse)
        target_label = QLabel(_("Replik-&Datei:"))
        target_label.setBuddy(self.target)
        form.addRow(target_label, target_row)
        self.name = QLineEdit(socket.gethostname() or _("Laptop"))
        self.name.setAccessibleName(_("Name dieses Rechners"))
        self._add(form, _("Name des &Rechners:"), self.name)

        self.cases_label = QLabel(_("&Fälle (Standard: Ihr aktueller Fallbestand):"))
        self.filter = QLineEdit()
        self.filter.setPlaceholderText(_("Aktenzeichen oder Name filtern"))
        self.filter.setAccessibleName(_("Fälle filtern"))
        self.filter.textChanged.connect(self._apply_filter)
        self.cases = QListWidget()
        self.cases.setAccessibleName(_("Mitzunehmende Fälle"))
        self.cases_label.setBuddy(self.cases)
        self.caseload_button = QPushButton(_("&Zurück zum Fallbestand"))
        self.caseload_button.setAccessibleName(_("Auswahl auf Ihren aktuellen Fallbestand zurücksetzen"))
        self.caseload_button.clicked.connect(self.select_caseload)
        self.scope_note = QLabel()
        self.scope_note.setWordWrap(True)
        self.cases.itemChanged.connect(lambda _item: self._update_scope_note())
        self.username.editingFinished.connect(self.load_cases)

        self.progress = QProgressBar()
        self.progress.setAccessibleName(_("Fortschritt"))
        self.progress.setRange(0, 1)
        self.progress.setTextVisible(False)
        self.progress.setVisible(False)  # only while copying
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setAccessibleName(_("Ergebnis"))
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.start_button = QPushButton(_("&Mitnehmen"))
        self.start_button.setAccessibleName(_("Fälle mitnehmen"))
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        self.restart_button = QPushButton(_("Mit der Replik neu s&tarten"))
        self.restart_button.setAccessibleName(_("KIM Desktop mit der Replik neu starten"))
        self.restart_button.setVisible(False)
        self.restart_button.clicked.connect(self.restart_on_replica)
        self.close_button = QPushButton(_("S&chließen"))
        self.close_button.setAccessibleName(_("Fenster schließen"))
        self.close_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for button in (self.start_button, self.restart_button, self.close_button):
            buttons.addWidget(button)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.cases_label)
        filter_row = QHBoxLayout()
        filter_row.addWidget(self.filter, 1)
        filter_row.addWidget(self.caseload_button)
        layout.addLayout(filter_row)
        layout.addWidget(self.cases, 1)
        layout.addWidget(self.scope_note)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self._caseload: set[str] = set()
        self.load_cases()
        (self.password if self.username.text() else self.username).setFocus()

    def _add(self, form: QFormLayout, label: str, widget) -> None:
        caption = QLabel(label)
        caption.setBuddy(widget)
        form.addRow(caption, widget)

    # --- the cases ---------------------------------------------------------------------------------------

    def load_cases(self) -> None:
        from ..services.sync_status import checkout_choices

        try:
            choices = checkout_choices(self.ctx, self.username.text().strip() or None)
        except Exception as exc:  # the list is a help; checkout itself checks everything again
            log.warning("checkout choices unavailable: %s", type(exc).__name__)
            choices = []
        self._caseload = {c.id for c in choices if c.in_caseload}
        self.cases.blockSignals(True)
        self.cases.clear()
        for choice in choices:
            item = QListWidgetItem(f"{choice.file_number} – {choice.person}")
            item.setData(Qt.ItemDataRole.UserRole, choice.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if choice.in_caseload else Qt.CheckState.Unchecked)
            self.cases.addItem(item)
        self.cases.blockSignals(False)
        self._apply_filter()
        self._update_scope_note()

    def _apply_filter(self) -> None:
        needle = self.filter.text().strip().casefold()
        for row in range(self.cases.count()):
            item = self.cases.item(row)
            item.setHidden(bool(needle) and needle not in item.text().casefold())

    def checked_ids(self) -> list[str]:
        return [
            self.cases.item(r).data(Qt.ItemDataRole.UserRole)
            for r in range(self.cases.count())
            if self.cases.item(r).checkState() == Qt.CheckState.Checked
        ]

    def select_caseload(self) -> None:
        for row in range(self.cases.count()):
            item = self.cases.item(row)
            item.setCheckState(
                Qt.CheckState.Checked
                if item.data(Qt.ItemDataRole.UserRole) in self._caseload
                else Qt.CheckState.Unchecked
            )

    def _office_url_typed(self) -> str:
        text = self.url.text().strip()
        return self._office_url if text == self._office_display else text

    def is_caseload(self) -> bool:
        """The choice is the active caseload (the replica then follows it at every sync)."""
        return set(self.checked_ids()) == self._caseload

    def _update_scope_note(self) -> None:
        n = len(self.checked_ids())
        count = ngettext("{n} Fall gewählt", "{n} Fälle gewählt", n).format(n=n)
        if self.is_caseload():
            self.scope_note.setText(
                _(
                    "{count}: Ihr aktueller Fallbestand. Neu zugewiesene Fälle kommen beim Synchronisieren dazu."
                ).format(count=count)
            )
        else:
            self.scope_note.setText(_("{count}: genau diese Fälle werden mitgenommen.").format(count=count))

    # --- checkout -----------------------------------------------------------------------------------------

    def _pick_target(self) -> None:
        name, _filter = QFileDialog.getSaveFileName(
            self, _("Replik speichern unter"), self.target.text(), _("KIM-Datenbank (*.sqlite3)")
        )
        if name:
            self.target.setText(name)

    @property
    def running(self) -> bool:
        return self.worker is not None and self.worker.isRunning()

    def start(self) -> None:
        if self.running:
            return
        url, target = self._office_url_typed(), self.target.text().strip()
        username, password = self.username.text().strip(), self.password.text()
        missing = [
            (self.url, not url, _("Bitte die Adresse der Bürodatenbank angeben.")),
            (self.username, not username, _("Bitte Ihren Benutzernamen angeben.")),
            (self.password, not password, _("Bitte Ihr Passwort eingeben: es verschlüsselt die Replik.")),
            (self.target, not target, _("Bitte eine Datei für die Replik wählen.")),
        ]
        for widget, empty, text in missing:
            if empty:
                self._show_error(text)
                widget.setFocus()
                return
        if not self.is_caseload() and not self.checked_ids():
            self._show_error(_("Bitte mindestens einen Fall ankreuzen."))
            self.cases.setFocus()
            return
        case_ids = None if self.is_caseload() else self.checked_ids()
        if not self.cases.count():  # another office: its caseload is only known there
            case_ids = None
        display = self.url.text().strip()
        if "***" not in display:
            QSettings().setValue(SERVER_URL_KEY, display if url == self._office_url else url)
        QSettings().setValue(REPLICA_PATH_KEY, target)
        QSettings().setValue("security/last_user", username.lower())
        kwargs = {"remote_url": url, "replica": target, "username": username, "password": password,
                  "case_ids": case_ids, "name": self.name.text().strip() or None}  # fmt: skip
        self.password.clear()
        self.error = self.result = None
        self.message.setStyleSheet("")
        self.message.setText(
            _("Die Fälle werden kopiert und verschlüsselt … (nicht abbrechbar, dauert meist wenige Sekunden)")
        )
        self.worker = _CheckoutWorker(kwargs, self)
        self.worker.succeeded.connect(self._succeeded)
        self.worker.failed.connect(self._failed)
        self.worker.finished.connect(lambda: self._set_running(False))
        self._set_running(True)
        self.worker.start()

    def _set_running(self, running: bool) -> None:
        for widget in (self.start_button, self.close_button, self.cases, self.browse, self.caseload_button):
            widget.setEnabled(not running)
        self.progress.setRange(0, 0 if running else 1)
        self.progress.setVisible(running)

    def _show_error(self, text: str) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(theme.error_style())

    def _succeeded(self, result) -> None:
        self.result = result
        self.progress.setValue(1)
        command, args = restart_command(result.path)
        self.message.setStyleSheet(theme.ok_style())
        self.message.setText(
            ngettext(
                "{n} Fall mitgenommen ({p} Personen) in {path}.",
                "{n} Fälle mitgenommen ({p} Personen) in {path}.",
                result.cases,
            ).format(n=result.cases, p=result.persons, path=result.path)
            + "\n"
            + _(
                "Unterwegs starten Sie KIM Desktop mit dieser Datei: jetzt mit „Mit der Replik neu starten“ "
                "oder später mit: {command}"
            ).format(command=" ".join([Path(command).name, *args]))
        )
        self.start_button.setVisible(False)
        self.restart_button.setVisible(True)
        self.restart_button.setDefault(True)
        self.restart_button.setFocus()
        self.checked_out.emit(result)

    def _failed(self, exc: BaseException) -> None:
        self.error = exc
        self.progress.setValue(0)
        self._show_error(error_text(exc))

    def restart_on_replica(self) -> bool:
        """Close this window and start KIM Desktop on the replica (only when the window really closed)."""
        if self.result is None:
            return False
        window = self.parent()
        self.accept()
        if window is not None and not window.close():
            return False  # unsaved changes kept the window open
        program, args = restart_command(self.result.path)
        from PySide6.QtGui import QGuiApplication

        if QGuiApplication.platformName() == "offscreen":  # no screen to show a new window on (tests, CI)
            return False
        started = QProcess.startDetached(program, args)[0]
        if not started:
            log.warning("restart on the replica failed")
        return bool(started)

    def reject(self) -> None:
        if self.running:
            return  # checkout cannot be stopped half-way; it ends by itself
        super().reject()

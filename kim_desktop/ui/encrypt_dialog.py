"""The unencrypted single-user database: a visible warning and „Datenbank verschlüsseln …“.

``services.login.encrypt_database`` converts the file in place (an encrypted copy, checked, then swapped in).
The program has the database open, so the dialog first closes every connection the window holds; afterwards
KIM Desktop must be started again and asks for user name and password.
"""

from __future__ import annotations

import logging
import threading

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
)

from .. import APP_NAME
from ..errors import ValidationError
from ..i18n import _, ngettext
from . import theme
from .login_dialog import error_text
from .widgets import FieldError, add_field

log = logging.getLogger(__name__)


class UnencryptedBanner(QLabel):
    """The yellow bar above the pages while the database is not encrypted."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("unencryptedBanner")
        self.setText(
            _(
                "Diese Datenbank ist nicht verschlüsselt (Einzelplatz ohne Passwort). "
                "Verschlüsseln: Datei › Datenbank verschlüsseln …"
            )
        )
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setAccessibleName(_("Warnung: Datenbank nicht verschlüsselt"))
        self.setAccessibleDescription(self.text())
        self.setStyleSheet(
            theme.banner_style("QLabel#unencryptedBanner", "padding: 6px 10px; font-weight: bold;")
        )
        self.hide()


class _Relay(QObject):
    done = Signal(object)
    failed = Signal(object)


class EncryptDialog(QDialog):
    """Password twice and the user name of the first account; runs the conversion in the background."""

    def __init__(self, db_path, *, before=None, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle(_("Datenbank verschlüsseln"))
        self._db_path = db_path
        self._before = before  # called on the GUI thread just before the conversion (close connections)
        self.result_info = None
        self.busy = False
        self._relay = _Relay(self)
        self._relay.done.connect(self._done)
        self._relay.failed.connect(self._failed)

        intro = QLabel(
            _(
                "Die Datenbank wird mit SQLCipher verschlüsselt. Danach öffnet sie sich nur noch mit "
                "Benutzername und Passwort. Dieses Konto erhält alle Rollen, wenn es neu angelegt wird. "
                "Das Passwort bitte sicher aufbewahren: ohne ein Passwort ist die Datenbank nicht mehr lesbar."
            )
        )
        intro.setWordWrap(True)
        form = QFormLayout()
        self.username = QLineEdit("admin")
        self.username.setMaxLength(40)
        self.errors = {"username": add_field(form, _("&Benutzername:"), self.username)}
        self.display_name = QLineEdit()
        self.display_name.setMaxLength(200)
        self.errors["display_name"] = add_field(form, _("&Anzeigename (optional):"), self.display_name)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.errors["password"] = add_field(form, _("&Passwort (mind. 10 Zeichen):"), self.password)
        self.repeat = QLineEdit()
        self.repeat.setEchoMode(QLineEdit.EchoMode.Password)
        self.errors["repeat"] = add_field(form, _("Passwort &wiederholen:"), self.repeat)
        self.error = FieldError()
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.setAccessibleName(_("Fehlermeldung"))

        self.buttons = QDialogButtonBox()
        self.ok_button = self.buttons.addButton(_("&Verschlüsseln"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok_button.setAccessibleName(_("Datenbank jetzt verschlüsseln"))
        self.cancel_button = self.buttons.addButton(_("Abbre&chen"), QDialogButtonBox.ButtonRole.RejectRole)
        self.cancel_button.setAccessibleName(_("Abbrechen"))
        self.buttons.accepted.connect(self.attempt)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(460)
        self.password.setFocus()

    def attempt(self) -> None:
        if self.busy:
            return
        from ..services import login

        for error in self.errors.values():
            error.show_message(None)
        self.error.show_message(None)
        username = self.username.text().strip() or login.DEFAULT_FIRST_USER
        try:
            login.validate_new_password(self.password.text(), self.repeat.text(), username)
        except ValidationError as exc:
            self.errors["password"].show_message(" ".join(exc.field_errors.values()))
            self.password.setFocus()
            return
        self.busy = True
        for widget in (self.username, self.display_name, self.password, self.repeat, self.ok_button):
            widget.setEnabled(False)
        self.cancel_button.setEnabled(False)
        self.setCursor(Qt.CursorShape.WaitCursor)
        if self._before is not None:
            self._before()
        password, display = self.password.text(), self.display_name.text().strip() or None

        def work() -> None:
            try:
                result = login.encrypt_database(self._db_path, username, password, display)
            except BaseException as exc:  # one German line in the dialog
                self._relay.failed.emit(exc)
                return
            self._relay.done.emit(result)

        threading.Thread(target=work, name="kim-encrypt", daemon=True).start()

    def _done(self, result) -> None:
        self.busy = False
        self.unsetCursor()
        self.result_info = result
        self.accept()

    def _failed(self, exc: BaseException) -> None:
        self.busy = False
        self.unsetCursor()
        for widget in (self.username, self.display_name, self.password, self.repeat, self.ok_button):
            widget.setEnabled(True)
        self.cancel_button.setEnabled(True)
        if isinstance(exc, ValidationError):
            for field, message in exc.field_errors.items():
                (self.errors.get(field) or self.error).show_message(message)
        else:
            self.error.show_message(error_text(exc))

    def reject(self) -> None:
        if not self.busy:
            super().reject()


def encrypt_from_window(window) -> bool:
    """„Datei › Datenbank verschlüsseln …“: close the window's connections, convert, then ask for a restart."""
    from PySide6.QtWidgets import QApplication, QMessageBox

    ctx = window.ctx
    path = getattr(getattr(ctx, "database", None), "location", None)
    path = getattr(path, "path", None)
    if ctx is None or path is None:
        QMessageBox.information(
            window, APP_NAME, _("Verschlüsselung gilt nur für eine lokale Datenbankdatei.")
        )
        return False
    if not window._confirm_leave():
        return False

    def close_connections() -> None:
        source = getattr(window.list_page.model, "_source", None)
        if source is not None and hasattr(source, "close"):
            source.close()
        window._pool.waitForDone(5000)
        ctx.database.dispose()

    closed = {"done": False}

    def before() -> None:
        close_connections()
        closed["done"] = True

    dialog = EncryptDialog(path, before=before, parent=window)
    if not dialog.exec() or dialog.result_info is None:
        if closed["done"]:  # the conversion failed and the file stayed plain: list through the services again
            from ..i18n import current_language
            from ..services.person_list import SessionPersonList

            source = SessionPersonList(ctx)
            window.set_list_source(source, source.residence_labels(current_language()))
        return False
    result = dialog.result_info
    message = _(
        "Die Datenbank ist jetzt verschlüsselt; Anmeldung als „{user}“. KIM Desktop wird beendet – bitte neu "
        "starten und mit Benutzername und Passwort anmelden."
    ).format(user=result.username)
    if result.plain_backups:
        message += "\n\n" + ngettext(
            "Achtung: {n} ältere Sicherung im Ordner „backups“ ist noch unverschlüsselt; bitte prüfen und löschen.",
            "Achtung: {n} ältere Sicherungen im Ordner „backups“ sind noch unverschlüsselt; bitte prüfen und löschen.",
            len(result.plain_backups),
        ).format(n=len(result.plain_backups))
    QMessageBox.information(window, APP_NAME, message)
    if window.person_page is not None:
        window.person_page._dirty = False
    QApplication.instance().exit(0)
    return True

"""Sign-in to an encrypted database: user name and password, opened in the background.

The dialog stays open while ``services.login.open_context`` unwraps the key (Argon2id) and opens the
database in a worker thread; a refused login shows the service's one German line inside the dialog (the same
line for an unknown user, a wrong password and a locked slot) and the user can try again. "Abbrechen"
rejects the dialog; ``ui.app`` then ends the program with exit code 0.
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
from ..errors import UserError, ValidationError
from ..i18n import _
from . import theme
from .widgets import FieldError, add_field

log = logging.getLogger(__name__)


class _Relay(QObject):
    opened = Signal(object)
    failed = Signal(object)


def error_text(exc: BaseException) -> str:
    """One German line for any failure of a login attempt (never a traceback, never personal data)."""
    if isinstance(exc, ValidationError):
        return " ".join(exc.field_errors.values())
    if isinstance(exc, UserError):
        return exc.message
    log.error("login failed unexpectedly: %s", type(exc).__name__)
    return _("Die Datenbank kann nicht geöffnet werden; Details stehen im Protokoll.")


class LoginDialog(QDialog):
    """Asks for user name and password; ``ctx`` holds the opened ``ServiceContext`` after ``accept``."""

    def __init__(self, db, location_text: str = "", *, username: str = "", opener=None, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle(_("Anmelden – {app}").format(app=APP_NAME))
        self.setModal(True)
        self._db = db
        self._opener = (
            opener  # callable(db, username, password) -> ServiceContext (default: login.open_context)
        )
        self.ctx = None
        self.busy = False
        self._relay = _Relay(self)
        self._relay.opened.connect(self._opened)
        self._relay.failed.connect(self._failed)

        intro = QLabel(_("Diese Datenbank ist verschlüsselt. Bitte melden Sie sich an."))
        intro.setWordWrap(True)
        self.location = QLabel(location_text)
        self.location.setTextFormat(Qt.TextFormat.PlainText)
        self.location.setWordWrap(True)
        self.location.setAccessibleName(_("Datenbank"))
        self.location.setStyleSheet("color: palette(placeholder-text);")

        form = QFormLayout()
        self.username = QLineEdit(username)
        self.username.setMaxLength(40)
        add_field(form, _("&Benutzername:"), self.username)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setMaxLength(200)
        add_field(form, _("&Passwort:"), self.password)

        self.error = FieldError(self.password)
        self.error.setAccessibleName(_("Fehlermeldung"))
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.setMinimumWidth(360)

        self.buttons = QDialogButtonBox()
        self.login_button = self.buttons.addButton(_("&Anmelden"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.login_button.setAccessibleName(_("Anmelden"))
        self.login_button.setDefault(True)
        self.cancel_button = self.buttons.addButton(_("Abbre&chen"), QDialogButtonBox.ButtonRole.RejectRole)
        self.cancel_button.setAccessibleName(_("Abbrechen und KIM Desktop beenden"))
        self.buttons.accepted.connect(self.attempt)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.location)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(460)
        self.setTabOrder(self.username, self.password)
        self.setTabOrder(self.password, self.login_button)
        self.setTabOrder(self.login_button, self.cancel_button)
        (self.password if username else self.username).setFocus()

    # --- the attempt --------------------------------------------------------------------------------------

    def attempt(self) -> None:
        if self.busy:
            return
        username = self.username.text().strip()
        password = self.password.text()
        if not username:
            self.show_error(_("Bitte den Benutzernamen eingeben."))
            self.username.setFocus()
            return
        if not password:
            self.show_error(_("Bitte das Passwort eingeben."))
            self.password.setFocus()
            return
        self._set_busy(True)
        self.error.show_message(_("Anmeldung wird geprüft …"))
        self.error.setStyleSheet("")
        threading.Thread(target=self._work, args=(username, password), name="kim-login", daemon=True).start()

    def _work(self, username: str, password: str) -> None:
        try:
            if self._opener is not None:
                ctx = self._opener(self._db, username, password)
            else:
                from ..services import login

                ctx = login.open_context(self._db, username=username, password=password)
        except BaseException as exc:  # delivered to the GUI thread as one German line
            self._relay.failed.emit(exc)
            return
        self._relay.opened.emit(ctx)

    def _opened(self, ctx) -> None:
        self._set_busy(False)
        self.ctx = ctx
        self.password.clear()
        self.accept()

    def _failed(self, exc: BaseException) -> None:
        self._set_busy(False)
        self.show_error(error_text(exc))
        self.password.clear()
        self.password.setFocus()

    def show_error(self, message: str) -> None:
        self.error.setStyleSheet(theme.error_style())
        self.error.show_message(message)
        self._fit()

    def _fit(self) -> None:
        """Grow to show the whole wrapped message (a wrapped label's height depends on the width)."""
        layout = self.layout()
        layout.activate()
        needed = (
            layout.totalHeightForWidth(self.width())
            if layout.hasHeightForWidth()
            else layout.sizeHint().height()
        )
        if needed > self.height():
            self.resize(self.width(), needed)

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        for widget in (self.username, self.password, self.login_button):
            widget.setEnabled(not busy)
        if busy:
            self.setCursor(Qt.CursorShape.WaitCursor)
        else:
            self.unsetCursor()

    def reject(self) -> None:
        if self.busy:  # the worker would open the database after the program decided to end
            return
        super().reject()

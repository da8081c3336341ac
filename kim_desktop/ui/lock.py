"""The screen lock: after some minutes without input (or Strg+L) the window shows no personal data.

Locking switches the main window's central area to a lock page (the pages with persons, cases and the
calendar are hidden, not just covered, so a screenshot of the window shows no names), clears the status
message, disables every window action and hides the other open windows of the program: non-modal dialogs
come back after unlocking; a modal dialog (a question, a picker) is cancelled, because it blocks the input the
lock page needs. Windows that try to appear while locked are hidden again at once.

Unlocking an encrypted database needs the signed-in user's password (``services.login.verify_password``,
the key slot decides); after repeated wrong passwords the same growing delay as at login
(``services.users.lock_duration``) applies. The unencrypted single-user database has no password: a button
unlocks. Lock and unlock are recorded in the audit trail (actions ``lock`` and ``unlock``, no personal data).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from PySide6.QtCore import QEvent, QObject, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from .. import APP_NAME
from ..i18n import _
from .widgets import FieldError

log = logging.getLogger(__name__)

SETTINGS_KEY = "security/lock_minutes"
DEFAULT_MINUTES = 10
SAFE_PROPERTY = "kimShownWhileLocked"

_INPUT_EVENTS = frozenset(
    {
        QEvent.Type.KeyPress,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.MouseMove,
        QEvent.Type.Wheel,
        QEvent.Type.TouchBegin,
        QEvent.Type.TabletPress,
    }
)


def lock_minutes() -> int:
    """Minutes without input before the lock (QSettings ``security/lock_minutes``; 0 switches it off)."""
    try:
        value = int(QSettings().value(SETTINGS_KEY, DEFAULT_MINUTES))
    except (TypeError, ValueError):
        value = DEFAULT_MINUTES
    return max(0, value)


class LockPage(QWidget):
    """What the locked window shows: who is signed in, the password field (or a button) and one message."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("lockPage")
        self.setAutoFillBackground(True)
        box = QFrame()
        box.setObjectName("lockBox")
        box.setFrameShape(QFrame.Shape.StyledPanel)
        box.setMaximumWidth(520)

        self.title = QLabel(_("KIM Desktop ist gesperrt"))
        self.title.setObjectName("lockTitle")
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        self.title.setFont(font)
        self.title.setAccessibleName(_("KIM Desktop ist gesperrt"))
        self.who = QLabel()
        self.who.setTextFormat(Qt.TextFormat.PlainText)
        self.who.setWordWrap(True)
        self.who.setAccessibleName(_("Angemeldet"))
        self.hint = QLabel()
        self.hint.setWordWrap(True)

        self.password_label = QLabel(_("&Passwort:"))
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setAccessibleName(_("Passwort zum Entsperren"))
        self.password_label.setBuddy(self.password)
        self.unlock_button = QPushButton(_("&Entsperren"))
        self.unlock_button.setAccessibleName(_("Entsperren"))
        self.unlock_button.setDefault(True)
        self.unlock_button.setAutoDefault(True)
        self.error = FieldError(self.password)
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.setAccessibleName(_("Fehlermeldung"))

        row = QHBoxLayout()
        row.addWidget(self.password_label)
        row.addWidget(self.password, 1)
        row.addWidget(self.unlock_button)
        inner = QVBoxLayout(box)
        inner.setContentsMargins(24, 20, 24, 20)
        inner.setSpacing(10)
        inner.addWidget(self.title)
        inner.addWidget(self.who)
        inner.addWidget(self.hint)
        inner.addLayout(row)
        inner.addWidget(self.error)

        outer = QVBoxLayout(self)
        outer.addStretch(1)
        centre = QHBoxLayout()
        centre.addStretch(1)
        centre.addWidget(box, 10)
        centre.addStretch(1)
        outer.addLayout(centre)
        outer.addStretch(2)
        self.setTabOrder(self.password, self.unlock_button)
        self.password.returnPressed.connect(self.unlock_button.click)

    def prepare(self, *, with_password: bool, display_name: str) -> None:
        self.who.setText(_("Angemeldet: {name}").format(name=display_name))
        if with_password:
            self.hint.setText(_("Zum Entsperren bitte Ihr Passwort eingeben."))
        else:
            self.hint.setText(
                _("Diese Datenbank hat kein Passwort (Einzelplatz). Zum Weiterarbeiten „Entsperren“ wählen.")
            )
        self.password_label.setVisible(with_password)
        self.password.setVisible(with_password)
        self.password.clear()
        self.error.show_message(None)
        (self.password if with_password else self.unlock_button).setFocus()


class ScreenLock(QObject):
    """Owns the central area of the main window (``content`` or the lock page) and the inactivity timer."""

    def __init__(self, window, content: QWidget) -> None:
        super().__init__(window)
        self.window = window
        self.content = content
        self.page = LockPage()
        self.screens = QStackedWidget()
        self.screens.setObjectName("screens")
        self.screens.addWidget(content)
        self.screens.addWidget(self.page)
        window.setCentralWidget(self.screens)
        self.locked = False
        self.failures = 0
        self._retry_at: datetime | None = None
        self._hidden_windows: list[QWidget] = []
        self._enabled: dict[QAction, bool] = {}
        self._title = ""
        self._focus: QWidget | None = None

        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self.lock)
        self.retry_timer = QTimer(self)
        self.retry_timer.setSingleShot(True)
        self.retry_timer.timeout.connect(self._retry_allowed)
        self.page.unlock_button.clicked.connect(self.try_unlock)

        self.action = QAction(_("Bildsc&hirm sperren"), window)
        self.action.setShortcut(QKeySequence("Ctrl+L"))
        self.action.setStatusTip(_("Bildschirm sperren: keine Personendaten mehr sichtbar"))
        self.action.triggered.connect(self.lock)
        window.addAction(self.action)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    # --- the timer -------------------------------------------------------------------------------------

    def start(self, minutes: int | None = None) -> None:
        """Arm the inactivity timer (``minutes`` None: from the settings; 0: no automatic lock)."""
        minutes = lock_minutes() if minutes is None else minutes
        if minutes <= 0:
            self.timer.stop()
            return
        self.timer.setInterval(minutes * 60 * 1000)
        self.timer.start()

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt API)
        kind = event.type()
        if kind in _INPUT_EVENTS:
            if not self.locked and self.timer.interval() > 0 and self.timer.isActive():
                self.timer.start()
        elif (
            kind == QEvent.Type.Show
            and self.locked
            and isinstance(obj, QWidget)
            and obj.isWindow()
            and obj is not self.window
            and not obj.property(SAFE_PROPERTY)
        ):
            QTimer.singleShot(0, lambda w=obj: self._conceal(w))
        return False

    # --- locking ---------------------------------------------------------------------------------------

    @property
    def with_password(self) -> bool:
        ctx = self.window.ctx
        return ctx is not None and bool(getattr(ctx.database, "encrypted", False))

    def lock(self) -> None:
        if self.locked:
            return
        self.locked = True
        self.timer.stop()
        window = self.window
        self._focus = QApplication.focusWidget()
        self._title = window.windowTitle()
        window.setWindowTitle(_("{app} – gesperrt").format(app=APP_NAME))
        for widget in QApplication.topLevelWidgets():
            if widget is window or not widget.isVisible():
                continue
            if isinstance(widget, QDialog) and widget.isModal():
                widget.reject()  # ends its exec(): the modal loop would block the lock page
            else:
                widget.hide()
                if isinstance(widget, QDialog):
                    self._hidden_windows.append(widget)
        self._enabled = {action: action.isEnabled() for action in window.actions()}
        for action in self._enabled:
            action.setEnabled(False)
        window.menuBar().setEnabled(False)
        for bar in window.findChildren(QWidget, "navigation"):
            bar.setEnabled(False)
        window.statusBar().clearMessage()
        self.screens.setCurrentWidget(self.page)
        self.content.hide()
        actor = window.ctx.actor if window.ctx is not None else None
        self.page.prepare(
            with_password=self.with_password,
            display_name=actor.display_name if actor is not None else _("Einzelplatz"),
        )
        self._update_retry_state()
        self._audit("lock")
        log.info("screen locked")

    def _conceal(self, widget: QWidget) -> None:
        if not self.locked or not widget.isVisible():
            return
        if isinstance(widget, QDialog) and widget.isModal():
            widget.reject()
        else:
            widget.hide()

    def try_unlock(self) -> None:
        if not self.locked:
            return
        if not self.with_password:
            self.unlock()
            return
        if self._retry_at is not None and datetime.now(UTC) < self._retry_at:
            self._update_retry_state()
            return
        password = self.page.password.text()
        if not password:
            self.page.error.show_message(_("Bitte das Passwort eingeben."))
            self.page.password.setFocus()
            return
        from ..services import login

        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            ok = login.verify_password(self.window.ctx, password)
        except Exception as exc:  # a damaged key file: say so, stay locked
            from ..errors import UserError

            QApplication.restoreOverrideCursor()
            self.page.password.clear()
            if isinstance(exc, UserError):
                self.page.error.show_message(exc.message)
                return
            raise
        QApplication.restoreOverrideCursor()
        self.page.password.clear()
        if ok:
            self.unlock()
            return
        from ..services.users import lock_duration

        self.failures += 1
        self._audit("login_failed", {"screen_lock": True, "failures": self.failures})
        duration = lock_duration(self.failures)
        if duration:
            self._retry_at = datetime.now(UTC) + duration
            self.retry_timer.start(int(duration.total_seconds() * 1000))
        self._update_retry_state(_("Das Passwort ist falsch."))
        self.page.password.setFocus()

    def _update_retry_state(self, message: str | None = None) -> None:
        waiting = self._retry_at is not None and datetime.now(UTC) < self._retry_at
        self.page.password.setEnabled(not waiting)
        self.page.unlock_button.setEnabled(not waiting)
        if waiting:
            seconds = max(1, int((self._retry_at - datetime.now(UTC)).total_seconds() + 0.999))
            wait = _("Zu viele Fehlversuche: Entsperren ist erst in {n} Sekunden wieder möglich.").format(
                n=seconds
            )
            message = f"{message} {wait}" if message else wait
        self.page.error.show_message(message)

    def _retry_allowed(self) -> None:
        self._retry_at = None
        if self.locked:
            self._update_retry_state()
            self.page.password.setFocus()

    def unlock(self) -> None:
        if not self.locked:
            return
        self.locked = False
        self.failures = 0
        self._retry_at = None
        self.retry_timer.stop()
        window = self.window
        self.screens.setCurrentWidget(self.content)
        self.content.show()
        for action, enabled in self._enabled.items():
            action.setEnabled(enabled)
        self._enabled = {}
        window.menuBar().setEnabled(True)
        for bar in window.findChildren(QWidget, "navigation"):
            bar.setEnabled(True)
        window.setWindowTitle(self._title or APP_NAME)
        from shiboken6 import isValid

        hidden, self._hidden_windows = self._hidden_windows, []
        for widget in hidden:
            if isValid(widget):
                widget.show()
        if self._focus is not None and isValid(self._focus) and self._focus.isVisible():
            self._focus.setFocus()
        self._focus = None
        self._audit("unlock")
        self.start()
        log.info("screen unlocked")

    def _audit(self, action: str, detail: dict | None = None) -> None:
        ctx = self.window.ctx
        if ctx is None:
            return
        from ..services import audit

        try:
            with ctx.write() as session:
                user_id = ctx.actor.user_id
                audit.record(
                    session,
                    action,
                    user_id=user_id,
                    entity_type="user_account" if user_id else None,
                    entity_id=user_id,
                    detail=detail,
                )
        except Exception as exc:  # the lock must work even when the database is busy or gone
            log.warning("audit of %s failed: %s", action, type(exc).__name__)

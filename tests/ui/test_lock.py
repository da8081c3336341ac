"""The screen lock: inactivity timer, Strg+L, no personal data on screen while locked, unlocking.

No real waiting: the timer gets a tiny interval and ``qtbot.waitUntil`` polls for the lock.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialog, QLabel, QVBoxLayout
from sqlalchemy import select

from kim_desktop.db.models import AuditEvent


def _visible_texts(window) -> list[str]:
    return [label.text() for label in window.findChildren(QLabel) if label.isVisible()]


def _audit_actions(ctx) -> list[str]:
    with ctx.read() as session:
        return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_inactivity_locks_and_hides_every_page_and_dialog(qtbot, sign_in, encrypted_db, screenshot_dir):
    window = sign_in("leitung")
    lock = window.screen_lock
    window.open_person(encrypted_db["mueller"])
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.person_page, timeout=5000)
    assert window.person_page.title.isVisible() and "Müller" in window.person_page.title.text()
    # a non-modal dialog showing person data (like the appointment dialog)
    dialog = QDialog(window)
    QVBoxLayout(dialog).addWidget(QLabel("Müller, Hans"))
    dialog.show()
    qtbot.waitExposed(dialog)

    assert lock.timer.isActive() and lock.timer.interval() == 10 * 60 * 1000  # the default: 10 minutes
    lock.timer.start(30)
    qtbot.waitUntil(lambda: lock.locked, timeout=3000)

    assert window.screen_lock.screens.currentWidget() is lock.page
    assert not window.stack.isVisible()
    assert not window.person_page.isVisible() and not window.list_page.isVisible()
    assert not window.list_page.table.isVisible()
    assert not dialog.isVisible()
    assert "Müller" not in window.windowTitle() and "gesperrt" in window.windowTitle()
    texts = " ".join(_visible_texts(window))
    assert "Müller" not in texts and "Zyska" not in texts
    assert "Angemeldet: Lea Leitung" in texts
    assert (
        lock.page.password.isVisible()
        and lock.page.password.echoMode() == lock.page.password.EchoMode.Password
    )
    assert not window.find_action.isEnabled() and not window.menuBar().isEnabled()
    image = window.grab()
    image.save(str(screenshot_dir / "lock-page.png"))
    assert not image.isNull()

    # a window that tries to appear while locked is hidden again
    late = QDialog(window)
    late.show()
    qtbot.waitUntil(lambda: not late.isVisible(), timeout=2000)

    ctx = window.ctx
    assert _audit_actions(ctx)[-1] == "lock"

    # wrong password: a German message, still locked
    qtbot.keyClicks(lock.page.password, "falsches-passwort")
    qtbot.keyClick(lock.page.password, Qt.Key.Key_Return)
    assert lock.locked
    assert lock.page.error.isVisible() and lock.page.error.text() == "Das Passwort ist falsch."
    assert not window.person_page.isVisible()

    # the right one: everything comes back, the dialog too
    qtbot.keyClicks(lock.page.password, encrypted_db["passwords"]["leitung"])
    qtbot.mouseClick(lock.page.unlock_button, Qt.MouseButton.LeftButton)
    assert not lock.locked
    assert window.person_page.isVisible() and dialog.isVisible()
    assert window.find_action.isEnabled() and window.menuBar().isEnabled()
    assert window.windowTitle() == "KIM Desktop"
    assert lock.timer.isActive()
    assert _audit_actions(ctx)[-3:] == ["lock", "login_failed", "unlock"]
    dialog.close()


def test_repeated_wrong_passwords_bring_the_growing_delay(qtbot, sign_in, encrypted_db):
    from kim_desktop.services.users import FREE_FAILURES

    window = sign_in("empfang")
    lock = window.screen_lock
    lock.lock()
    for _attempt in range(FREE_FAILURES):
        lock.page.password.setText("falsch-falsch")
        lock.try_unlock()
        assert lock.page.password.isEnabled()
    lock.page.password.setText("falsch-falsch")
    lock.try_unlock()
    assert lock.locked
    assert not lock.page.password.isEnabled() and not lock.page.unlock_button.isEnabled()
    assert "Zu viele Fehlversuche" in lock.page.error.text() and "30 Sekunden" in lock.page.error.text()
    # even the right password waits for the delay
    lock.page.password.setText(encrypted_db["passwords"]["empfang"])
    lock.try_unlock()
    assert lock.locked
    # the delay is over (the retry timer fires): the right password unlocks
    lock.retry_timer.timeout.emit()
    assert lock.page.password.isEnabled()
    lock.page.password.setText(encrypted_db["passwords"]["empfang"])
    lock.try_unlock()
    assert not lock.locked


def test_ctrl_l_locks_and_the_single_user_database_unlocks_with_a_button(qtbot, window, ui_ctx):
    window.list_page.table.setFocus()
    qtbot.keyClick(window.list_page.table, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    lock = window.screen_lock
    assert lock.locked
    assert not window.list_page.isVisible()
    assert not lock.page.password.isVisible()
    assert lock.page.unlock_button.isVisible()
    assert "kein Passwort" in lock.page.hint.text()
    file_menu = window.menuBar().actions()[0].menu()
    assert lock.action in file_menu.actions() and lock.action.shortcut().toString() == "Ctrl+L"
    qtbot.mouseClick(lock.page.unlock_button, Qt.MouseButton.LeftButton)
    assert not lock.locked and window.list_page.isVisible()
    assert _audit_actions(ui_ctx)[-2:] == ["lock", "unlock"]


def test_a_modal_question_is_cancelled_by_the_lock(qtbot, window, ui):
    from PySide6.QtWidgets import QMessageBox

    results = []

    def ask():
        box = QMessageBox(QMessageBox.Icon.Question, "KIM Desktop", "Frage zu Müller, Hans?",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, window)  # fmt: skip
        results.append(box.exec())

    record = ui.on_modal(qtbot, lambda dialog: window.screen_lock.lock())
    ask()
    assert record["dialog"] is not None
    assert window.screen_lock.locked
    assert results and results[0] != QMessageBox.StandardButton.Yes
    assert not [w for w in QApplication.topLevelWidgets() if w.isVisible() and w is not window]
    window.screen_lock.unlock()


def test_lock_minutes_come_from_the_settings(qtbot, window):
    from PySide6.QtCore import QSettings

    from kim_desktop.ui.lock import SETTINGS_KEY, lock_minutes

    settings = QSettings()
    before = settings.value(SETTINGS_KEY)
    try:
        settings.setValue(SETTINGS_KEY, 3)
        assert lock_minutes() == 3
        window.screen_lock.start()
        assert window.screen_lock.timer.interval() == 3 * 60 * 1000
        settings.setValue(SETTINGS_KEY, 0)
        window.screen_lock.start()
        assert not window.screen_lock.timer.isActive()
    finally:
        if before is None:
            settings.remove(SETTINGS_KEY)
        else:
            settings.setValue(SETTINGS_KEY, before)

"""Signing in to an encrypted database: the login dialog, the window after it, the start without a display.

Real SQLCipher files with key slots (small Argon2id parameters, fixture ``fast_kdf``), real widgets offscreen,
the real program as a subprocess for the smoke test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit

from kim_desktop.services.users import AuthenticationError

ROOT = Path(__file__).resolve().parents[2]


def _dialog(qtbot, encrypted_db):
    from kim_desktop.ui.login_dialog import LoginDialog

    dialog = LoginDialog(encrypted_db["path"], str(encrypted_db["path"]))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def test_wrong_password_shows_the_message_in_the_dialog_then_the_right_one_signs_in(
    qtbot, encrypted_db, screenshot_dir
):
    dialog = _dialog(qtbot, encrypted_db)
    assert dialog.password.echoMode() == QLineEdit.EchoMode.Password
    assert dialog.username.accessibleName() == "Benutzername"
    assert dialog.password.accessibleName() == "Passwort"
    assert not dialog.error.isVisible()

    qtbot.keyClicks(dialog.username, "leitung")
    qtbot.keyClicks(dialog.password, "falsches-passwort")
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not dialog.busy and dialog.error.isVisible(), timeout=10000)
    assert dialog.error.text() == AuthenticationError().message
    assert dialog.ctx is None and dialog.isVisible()
    assert dialog.password.text() == "" and dialog.password.hasFocus()
    dialog.grab().save(str(screenshot_dir / "login-wrong-password.png"))

    qtbot.keyClicks(dialog.password, encrypted_db["passwords"]["leitung"])
    qtbot.mouseClick(dialog.login_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.ctx is not None, timeout=10000)
    try:
        assert dialog.result() == dialog.DialogCode.Accepted
        assert dialog.ctx.database.encrypted
        assert dialog.ctx.actor.display_name == "Lea Leitung"
        assert "admin" in dialog.ctx.actor.roles
    finally:
        dialog.ctx.database.dispose()


def test_empty_fields_are_refused_without_a_login_attempt(qtbot, encrypted_db):
    dialog = _dialog(qtbot, encrypted_db)
    dialog.attempt()
    assert not dialog.busy
    assert dialog.error.text() == "Bitte den Benutzernamen eingeben."
    dialog.username.setText("leitung")
    dialog.attempt()
    assert dialog.error.text() == "Bitte das Passwort eingeben."


def test_window_after_login_names_the_user_and_shows_no_warning(qtbot, sign_in):
    window = sign_in("leitung")
    assert window.user_label.text() == "Angemeldet: Lea Leitung"
    assert window.user_label.isVisible()
    assert not window.security_banner.isVisible()
    assert not window.encrypt_action.isVisible()
    assert window.list_page.model.rowCount() == 3
    assert window.users_action.isVisible()


def test_unencrypted_database_shows_the_warning_and_the_encrypt_action(qtbot, window, screenshot_dir):
    banner = window.security_banner
    assert banner.isVisible()
    assert "nicht verschlüsselt" in banner.text()
    assert "Datei › Datenbank verschlüsseln" in banner.text()
    assert banner.accessibleName() == "Warnung: Datenbank nicht verschlüsselt"
    assert window.encrypt_action.isVisible() and window.encrypt_action.isEnabled()
    assert window.user_label.text() == "Angemeldet: Einzelplatz"
    file_menu = window.menuBar().actions()[0].menu()
    assert window.encrypt_action in file_menu.actions()
    window.grab().save(str(screenshot_dir / "unencrypted-warning.png"))


def test_encrypt_dialog_converts_the_database_and_login_works_afterwards(qtbot, ctx, tmp_db_path, fast_kdf):
    from kim_desktop.db.engine import is_encrypted_file
    from kim_desktop.services import login, persons
    from kim_desktop.ui.encrypt_dialog import EncryptDialog

    persons.create_person(ctx, {"family_name": "Demir", "given_names": "Elif", "city": "Köln"})
    dialog = EncryptDialog(tmp_db_path, before=ctx.database.dispose)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.username.text() == "admin"
    dialog.password.setText("ein-neues-passwort")
    dialog.repeat.setText("ein-anderes-passwort")
    dialog.attempt()
    assert not dialog.busy
    assert dialog.errors["password"].text() == "Die beiden Passwörter stimmen nicht überein."
    assert not is_encrypted_file(tmp_db_path)

    dialog.repeat.setText("ein-neues-passwort")
    dialog.attempt()
    qtbot.waitUntil(lambda: dialog.result_info is not None or not dialog.busy, timeout=20000)
    assert dialog.result_info is not None, dialog.error.text()
    assert is_encrypted_file(tmp_db_path)
    opened = login.open_context(tmp_db_path, username="admin", password="ein-neues-passwort")
    try:
        assert opened.database.encrypted
        with opened.read() as session:
            assert [row.family_name for row in persons.list_persons(session, 0, 10)] == ["Demir"]
    finally:
        opened.database.dispose()


# --- the program itself -------------------------------------------------------------------------------------


def _run(args, env_extra, tmp_path, timeout=120):
    env = {k: v for k, v in os.environ.items() if k not in ("KIM_USER", "KIM_DB_PASSWORD")}
    env.update(
        QT_QPA_PLATFORM="offscreen", KIM_DESKTOP_NO_LOG_FILE="1", XDG_CONFIG_HOME=str(tmp_path / "cfg")
    )
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, "-m", "kim_desktop", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=str(ROOT),
    )


def test_smoke_start_of_an_encrypted_database(encrypted_db, tmp_path):
    path = str(encrypted_db["path"])
    done = _run(
        ["--db", path, "--exit-after-start"],
        {"KIM_USER": "empfang", "KIM_DB_PASSWORD": encrypted_db["passwords"]["empfang"]},
        tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr

    done = _run(["--db", path, "--exit-after-start"], {}, tmp_path)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("Fehler: Die Datenbank ist verschlüsselt.")

    done = _run(
        ["--db", path, "--exit-after-start"],
        {"KIM_USER": "empfang", "KIM_DB_PASSWORD": "falsch-falsch"},
        tmp_path,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == ["Fehler: " + AuthenticationError().message]


CANCEL_SCRIPT = r"""
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from kim_desktop.ui.app import run_gui

app = QApplication([sys.argv[0]])
seen = []

def cancel():
    dialog = QApplication.activeModalWidget()
    if dialog is None:
        QTimer.singleShot(20, cancel)
        return
    seen.append(type(dialog).__name__)
    dialog.cancel_button.click()

QTimer.singleShot(0, cancel)
code = run_gui(db=sys.argv[1])
print(seen[0] if seen else "-", code, len(QApplication.topLevelWidgets()))
sys.exit(code)
"""


def test_cancel_in_the_login_dialog_ends_the_program_with_exit_code_0(encrypted_db, tmp_path):
    script = tmp_path / "cancel_login.py"
    script.write_text(CANCEL_SCRIPT, encoding="utf-8")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", KIM_DESKTOP_NO_LOG_FILE="1")
    env["XDG_CONFIG_HOME"] = str(tmp_path / "cfg")
    done = subprocess.run(
        [sys.executable, str(script), str(encrypted_db["path"])],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=str(ROOT),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    name, code, _windows = done.stdout.split()
    assert name == "LoginDialog" and code == "0"

"""The setup assistant of the first start, on real widgets and real database files (offscreen)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QWizard

from kim_desktop.ui.setup_wizard import MODE_KEY, SERVER_URL_KEY, SetupWizard

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "ein-gutes-passwort-1"


@pytest.fixture
def settings_dir(tmp_path):
    """QSettings in the test's folder (the developer's own settings stay untouched)."""
    folder = tmp_path / "settings"
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(folder))
    QSettings().clear()
    yield folder
    QSettings().clear()
    default = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, default)


@pytest.fixture
def wizard(qtbot, tmp_path, settings_dir, fast_kdf):
    w = SetupWizard(tmp_path / "data" / "kim.sqlite3")
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    yield w
    if w.ctx is not None:
        w.ctx.database.dispose()


def fill_office(w: SetupWizard) -> None:
    page = w.office
    page.inputs["organisation"].setText("Kreis Beispiel")
    page.inputs["unit"].setText("Kommunales Integrationszentrum")
    page.inputs["street"].setText("Musterweg 1")
    page.inputs["postcode"].setText("42651")
    page.inputs["city"].setText("Beispielstadt")
    page.inputs["email"].setText("kim@kreis-beispiel.de")
    page.dpo.setPlainText("Datenschutz Kreis Beispiel\ndatenschutz@kreis-beispiel.de")


def go_to(w: SetupWizard, page_id: int) -> None:
    for _step in range(10):
        if w.currentId() == page_id:
            return
        before = w.currentId()
        w.next()
        assert w.currentId() != before, f"stuck on page {before}: {w.currentPage().findChildren(type(w))}"
    raise AssertionError(f"page {page_id} not reached")


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_finish_creates_an_encrypted_database_with_the_answers(qtbot, wizard, tmp_path):
    w = wizard
    assert w.currentId() == w.WELCOME
    w.next()
    assert w.currentId() == w.OFFICE
    assert not w.button(QWizard.WizardButton.NextButton).isEnabled()  # the organisation is required
    fill_office(w)
    assert w.button(QWizard.WizardButton.NextButton).isEnabled()
    go_to(w, w.USER)
    w.user.username.setText("maria")
    w.user.display_name.setText("Maria Beispiel")
    w.user.password.setText(PASSWORD)
    w.user.repeat.setText(PASSWORD)
    go_to(w, w.RULES)
    w.rules.years.setValue(5)
    w.rules.form_a.setChecked(True)
    go_to(w, w.FINISH)
    summary = w.finish.summary.text()
    assert "Kreis Beispiel" in summary and "verschlüsselt" in summary and "Briefform: A" in summary
    w.button(QWizard.WizardButton.FinishButton).click()
    qtbot.waitUntil(lambda: w.ctx is not None, timeout=10000)

    from kim_desktop.db.engine import is_encrypted_file
    from kim_desktop.services import login, office, protection_settings

    ctx = w.ctx
    path = tmp_path / "data" / "kim.sqlite3"
    assert ctx.database.encrypted and is_encrypted_file(path)
    assert ctx.actor.display_name == "Maria Beispiel"
    with ctx.read() as session:
        profile = office.load_profile(session)
        assert office.letter_form(session) == "A"
    assert profile["organisation"] == "Kreis Beispiel"
    assert profile["postcode"] == "42651"
    assert profile["dpo_contact"] == "Datenschutz Kreis Beispiel\ndatenschutz@kreis-beispiel.de"
    assert protection_settings.load(ctx).retention_years == 5
    assert QSettings().value(MODE_KEY) == "single"
    ctx.database.dispose()
    w.ctx = None
    again = login.open_context(path, username="maria", password=PASSWORD)  # the password opens it
    assert "admin" in again.actor.roles
    again.database.dispose()


def test_password_rules_are_checked_on_the_user_page(wizard):
    w = wizard
    fill_office(w)
    go_to(w, w.USER)
    w.user.password.setText(PASSWORD)
    w.user.repeat.setText(PASSWORD + "x")
    w.next()
    assert w.currentId() == w.USER
    assert w.user.error.text() == "Die beiden Passwörter stimmen nicht überein."
    w.user.password.setText("kurz")
    w.user.repeat.setText("kurz")
    w.next()
    assert w.currentId() == w.USER
    assert "mindestens 10 Zeichen" in w.user.error.text()


def test_office_page_refuses_a_bad_postcode(wizard):
    w = wizard
    fill_office(w)
    w.office.inputs["postcode"].setText("123")
    go_to(w, w.OFFICE)
    w.next()
    assert w.currentId() == w.OFFICE
    assert "5 Ziffern" in w.office.error.text()


def test_cancel_leaves_nothing_behind(wizard, tmp_path):
    w = wizard
    fill_office(w)
    go_to(w, w.USER)
    w.user.password.setText(PASSWORD)
    w.user.repeat.setText(PASSWORD)
    go_to(w, w.FINISH)
    w.reject()
    assert w.ctx is None
    assert files_in(tmp_path / "data") == []


def test_without_password_makes_a_plain_database_with_demo_data(qtbot, wizard, tmp_path):
    w = wizard
    fill_office(w)
    go_to(w, w.USER)
    w.user.no_password.setChecked(True)
    assert w.user.warning.isVisible() and not w.user.password.isEnabled()
    go_to(w, w.DEMO)
    w.demo.demo.setChecked(True)
    go_to(w, w.FINISH)
    assert "OHNE Verschlüsselung" in w.finish.summary.text()
    w.accept()
    assert w.ctx is not None
    from kim_desktop.db.engine import is_encrypted_file
    from kim_desktop.services.persons import count_persons

    path = tmp_path / "data" / "kim.sqlite3"
    assert not w.ctx.database.encrypted and not is_encrypted_file(path)
    with w.ctx.read() as session:
        assert count_persons(session) >= 400


def test_server_choice_is_kept_and_no_database_is_made(wizard, tmp_path):
    w = wizard
    fill_office(w)
    go_to(w, w.DATABASE)
    w.database.server.setChecked(True)
    w.next()
    assert w.currentId() == w.DATABASE  # an address is needed
    assert "postgresql://" in w.database.error.text()
    w.database.url.setText("postgresql://kim@server.kreis.local/kim")
    w.next()
    assert w.currentId() == w.FINISH  # user, rules and demo belong to the server's setup
    assert "Büro-Server" in w.finish.summary.text()
    w.accept()
    assert w.ctx is None
    assert QSettings().value(MODE_KEY) == "server"
    assert QSettings().value(SERVER_URL_KEY) == "postgresql://kim@server.kreis.local/kim"
    assert files_in(tmp_path / "data") == []


def test_first_start_shows_the_assistant_and_exits_without_a_file(tmp_path):
    """``KIM_DESKTOP_EXIT_AT_SETUP=1``: the program reaches the assistant (no database yet) and ends."""
    env = dict(
        os.environ, QT_QPA_PLATFORM="offscreen", KIM_DESKTOP_NO_LOG_FILE="1", KIM_DESKTOP_EXIT_AT_SETUP="1"
    )
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    db = tmp_path / "neu" / "kim.sqlite3"
    code = (
        "import sys, kim_desktop.ui.setup_wizard as w\n"
        "shown = []\n"
        "orig = w.SetupWizard.show\n"
        "w.SetupWizard.show = lambda self: (shown.append(1), orig(self))\n"
        "from kim_desktop.cli import main\n"
        "rc = main(['--db', sys.argv[1]])\n"
        "print('shown' if shown else 'not shown')\n"
        "sys.exit(rc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(db)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=str(ROOT),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("shown") and "not shown" not in done.stdout
    assert not db.exists()

"""Laptop replica in the GUI (issue 9): checkout dialog, status bar, sync action, conflict inbox, stale saves,
the Datenbank tab of the settings.

The office is a real KIM SQLite file (``tests/sync_office.py``: anna and bernd with open cases), the replica a
real encrypted file; the sync runs in the dialog's worker thread against it. One test repeats checkout and
sync against the real PostgreSQL server (marker ``postgres``).
"""

from __future__ import annotations

import os
import re
import uuid
from collections import defaultdict

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QAbstractButton, QLabel, QWidget
from sync_office import PASSWORD, Office

from kim_desktop.db.engine import open_database
from kim_desktop.services import login, persons, sync
from kim_desktop.services.context import Actor, ServiceContext


@pytest.fixture(autouse=True)
def own_settings(tmp_path, fast_kdf):
    """QSettings in the test's folder (remembered server address and replica path); cheap key derivation."""
    folder = tmp_path / "settings"
    default = QSettings().fileName()
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(folder))
    QSettings().clear()
    yield
    QSettings().clear()
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, os.path.dirname(os.path.dirname(default)))


@pytest.fixture
def office(tmp_path):
    office = Office(tmp_path / "office.sqlite3")
    yield office
    office.close()


def _open_window(qtbot, ctx, location: str):
    from kim_desktop.i18n import current_language
    from kim_desktop.ui.app import list_source_for
    from kim_desktop.ui.main_window import MainWindow

    window = MainWindow(location)
    source = list_source_for(ctx)
    window._test_source = source
    window.show()
    qtbot.waitExposed(window)
    window.set_list_source(source, source.residence_labels(current_language()))
    window.attach_services(ctx)
    return window


@pytest.fixture
def open_window(qtbot, ui):
    opened = []

    def make(ctx, location: str):
        window = _open_window(qtbot, ctx, location)
        opened.append(window)
        return window

    yield make
    for window in opened:
        ui.close_window(window)


def checkout_in_dialog(qtbot, ctx, parent, target, *, uncheck: int = 0):
    from kim_desktop.ui.checkout_dialog import CheckoutDialog

    dialog = CheckoutDialog(ctx, parent)
    qtbot.addWidget(dialog)
    dialog.username.setText("anna")
    dialog.username.editingFinished.emit()
    dialog.password.setText(PASSWORD)
    dialog.target.setText(str(target))
    for row in range(uncheck):
        dialog.cases.item(row).setCheckState(Qt.CheckState.Unchecked)
    dialog.show()
    dialog.start()
    qtbot.waitUntil(lambda: dialog.result is not None or dialog.error is not None, timeout=20000)
    qtbot.waitUntil(lambda: not dialog.running, timeout=5000)
    assert dialog.error is None, dialog.message.text()
    return dialog


def take_along(qtbot, office, target, open_window):
    """The office window, "Für unterwegs mitnehmen …" for anna, then the replica opened as anna."""
    office_window = open_window(office.ctx, str(office.path))
    assert office_window.checkout_action.isVisible() and not office_window.sync_action.isVisible()
    dialog = checkout_in_dialog(qtbot, office.ctx, office_window, target)
    dialog.close()
    laptop = login.open_context(target, username="anna", password=PASSWORD)
    return laptop


def run_sync(qtbot, window):
    window.sync_action.trigger()
    dialog = window.sync_controller.dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.result is not None or dialog.error is not None, timeout=20000)
    qtbot.waitUntil(lambda: not dialog.running, timeout=5000)
    return dialog


def accelerators(root: QWidget) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for widget in root.findChildren(QWidget):
        if not widget.isVisible():
            continue
        if isinstance(widget, QAbstractButton) or isinstance(widget, QLabel) and widget.buddy() is not None:
            match = re.search(r"&([^&\s])", widget.text().replace("&&", ""))
            if match:
                found[match.group(1).lower()].append(widget.text())
    return {k: v for k, v in found.items() if len(v) > 1}


def test_checkout_dialog_makes_the_encrypted_replica_of_the_caseload(
    qtbot, office, tmp_path, open_window, screenshot_dir
):
    from kim_desktop.ui.checkout_dialog import CheckoutDialog, restart_command

    window = open_window(office.ctx, str(office.path))
    dialog = CheckoutDialog(office.ctx, window)
    qtbot.addWidget(dialog)
    dialog.username.setText("anna")
    dialog.username.editingFinished.emit()
    dialog.show()
    qtbot.waitExposed(dialog)
    # anna's three open cases are ticked, bernd's case is offered but not ticked
    ticked = dialog.checked_ids()
    assert sorted(ticked) == sorted(office.cases) and dialog.cases.count() == 4
    assert dialog.is_caseload() and "aktueller Fallbestand" in dialog.scope_note.text()
    assert not accelerators(dialog)
    unnamed = [type(w).__name__ for w in dialog.findChildren(QWidget) if w.isVisible()
               and w.focusPolicy() & Qt.FocusPolicy.TabFocus and not w.accessibleName()]  # fmt: skip
    assert not unnamed
    dialog.grab().save(str(screenshot_dir / "sync_checkout_dialog.png"))
    # without a password nothing happens
    target = tmp_path / "unterwegs.sqlite3"
    dialog.target.setText(str(target))
    dialog.start()
    assert "Passwort" in dialog.message.text() and not target.exists()
    dialog.password.setText(PASSWORD)
    dialog.start()
    qtbot.waitUntil(lambda: dialog.result is not None or dialog.error is not None, timeout=20000)
    qtbot.waitUntil(lambda: not dialog.running, timeout=5000)
    assert dialog.error is None, dialog.message.text()
    assert dialog.result.cases == 3 and login.is_encrypted(target)
    assert "3 Fälle mitgenommen" in dialog.message.text()
    assert dialog.restart_button.isVisible() and not dialog.start_button.isVisible()
    assert restart_command(target)[1][-2:] == ["--db", str(target)]
    assert QSettings().value("sync/server_url") == str(office.path)
    assert dialog.password.text() == ""  # the password does not stay in the form
    dialog.grab().save(str(screenshot_dir / "sync_checkout_done.png"))
    # the replica opens offline with anna's password and knows it is one
    laptop = login.open_context(target, username="anna", password=PASSWORD)
    try:
        from kim_desktop.services.sync_status import database_status

        status = database_status(laptop)
        assert (status.mode, status.unsynced, status.conflicts) == ("replica", 0, 0)
        assert status.server_url == str(office.path)
    finally:
        laptop.database.dispose()


def test_checkout_of_chosen_cases_and_a_wrong_password(qtbot, office, tmp_path, open_window):
    from kim_desktop.ui.checkout_dialog import CheckoutDialog

    window = open_window(office.ctx, str(office.path))
    dialog = CheckoutDialog(office.ctx, window)
    qtbot.addWidget(dialog)
    dialog.username.setText("anna")
    dialog.username.editingFinished.emit()
    dialog.password.setText("falsches-Passwort-1")
    dialog.target.setText(str(tmp_path / "falsch.sqlite3"))
    dialog.start()
    qtbot.waitUntil(lambda: dialog.error is not None, timeout=20000)
    qtbot.waitUntil(lambda: not dialog.running, timeout=5000)
    assert "Passwort" in dialog.message.text() or "Anmeldung" in dialog.message.text()
    assert not (tmp_path / "falsch.sqlite3").exists()
    dialog.close()
    chosen = checkout_in_dialog(qtbot, office.ctx, window, tmp_path / "zwei.sqlite3", uncheck=1)
    assert chosen.result.cases == 2
    assert "genau diese Fälle" in chosen.scope_note.text()


def test_status_bar_change_sync_and_settings_tab(qtbot, office, tmp_path, open_window, screenshot_dir):
    laptop = take_along(qtbot, office, tmp_path / "laptop.sqlite3", open_window)
    try:
        window = open_window(laptop, str(tmp_path / "laptop.sqlite3"))
        widget = window.sync_controller.widget
        assert widget.mode_label.text() == "Laptop-Replik"
        assert widget.changes_label.text() == "alles übertragen"
        assert widget.last_sync_label.text() == "Noch nicht synchronisiert"
        assert window.sync_action.isVisible() and window.sync_action.shortcut().toString() == "F9"
        assert window.conflicts_action.isVisible() and not window.checkout_action.isVisible()
        pid = office.persons[0]
        persons.update_person(laptop, pid, {"phone": "0221 4711"})
        window.sync_controller.refresh_status()
        assert widget.changes_label.text() == "1 geänderter Eintrag nicht übertragen"
        qtbot.wait(50)  # the status bar lays out the longer text
        window.statusBar().grab().save(str(screenshot_dir / "sync_status_bar_unsynced.png"))

        dialog = run_sync(qtbot, window)
        assert dialog.error is None, dialog.message.text()
        assert dialog.result.pushed >= 1 and dialog.result.conflicts == 0
        assert re.match(r"\d+ Änderungen? gesendet, \d+ empfangen, 0 Konflikte", dialog.message.text())
        assert office.person(pid).phone == "0221 4711"
        assert widget.changes_label.text() == "alles übertragen"
        assert re.fullmatch(
            r"Zuletzt synchronisiert: \d\d\.\d\d\.\d{4}, \d\d:\d\d", widget.last_sync_label.text()
        )
        assert not accelerators(dialog)
        dialog.grab().save(str(screenshot_dir / "sync_dialog_done.png"))
        dialog.close()

        from kim_desktop.ui.database_tab import DatabaseTab

        tab = DatabaseTab(laptop)
        qtbot.addWidget(tab)
        assert tab.fields["mode"].text() == "Laptop-Replik" and tab.fields["encrypted"].text() == "ja"
        assert tab.fields["server"].text() == str(office.path)
        assert tab.fields["unsynced"].text() == "alles übertragen"
        single = DatabaseTab(office.ctx)
        qtbot.addWidget(single)
        assert single.fields["mode"].text() == "Einzelplatz" and single.fields["encrypted"].text() == "nein"
        single.show()
        assert not single.fields["server"].isVisible()
    finally:
        laptop.database.dispose()


def test_sync_refuses_another_office_in_german(qtbot, office, tmp_path, open_window):
    laptop = take_along(qtbot, office, tmp_path / "laptop.sqlite3", open_window)
    other = Office(tmp_path / "andere.sqlite3", n_cases=1)
    sync.office_id_of(other.ctx.database, create=True)
    try:
        window = open_window(laptop, str(tmp_path / "laptop.sqlite3"))
        window.sync_action.trigger()
        dialog = window.sync_controller.dialog
        qtbot.waitUntil(lambda: not dialog.running, timeout=20000)
        dialog.url.setText(other.url)
        dialog.start()
        qtbot.waitUntil(lambda: dialog.error is not None, timeout=20000)
        qtbot.waitUntil(lambda: not dialog.running, timeout=5000)
        assert "anderen Dienststelle" in dialog.message.text()
    finally:
        other.close()
        laptop.database.dispose()


def test_conflict_shows_in_the_inbox_and_resolving_removes_it(
    qtbot, office, tmp_path, open_window, screenshot_dir
):
    from kim_desktop.ui.conflict_inbox import ConflictInbox

    laptop = take_along(qtbot, office, tmp_path / "laptop.sqlite3", open_window)
    try:
        window = open_window(laptop, str(tmp_path / "laptop.sqlite3"))
        pid = office.persons[0]
        persons.update_person(laptop, pid, {"city": "Bonn"})
        persons.update_person(office.ctx, pid, {"city": "Düren"})
        dialog = run_sync(qtbot, window)
        assert dialog.result.conflicts == 1 and "1 Konflikt" in dialog.message.text()
        assert dialog.conflicts_button.isVisible()
        dialog.close()
        widget = window.sync_controller.widget
        assert widget.conflicts_button.isVisible() and widget.conflicts_button.text() == "1 Konflikt"
        qtbot.wait(50)
        assert widget.last_sync_label.width() >= widget.last_sync_label.sizeHint().width()  # never clipped
        window.statusBar().grab().save(str(screenshot_dir / "sync_status_bar_conflict.png"))

        inbox = ConflictInbox(laptop, window)
        qtbot.addWidget(inbox)
        inbox.show()
        qtbot.waitExposed(inbox)
        assert inbox.model.rowCount() == 1
        row = [inbox.model.index(0, c).data() for c in range(5)]
        assert row == ["Person: Klientin0, Test", "Ort", "Köln", "Bonn", "Düren"]
        assert (inbox.local_text.toPlainText(), inbox.remote_text.toPlainText()) == ("Bonn", "Düren")
        assert not accelerators(inbox)
        named = [
            w
            for w in inbox.findChildren(QWidget)
            if w.isVisible() and w.focusPolicy() & Qt.FocusPolicy.TabFocus
        ]
        assert named and all(w.accessibleName() for w in named)
        inbox.grab().save(str(screenshot_dir / "sync_conflict_inbox.png"))
        inbox.combined.setPlainText("Bonn-Düren")
        inbox.take_combined.click()
        assert inbox.model.rowCount() == 0 and inbox.summary.text() == "Keine offenen Konflikte."
        assert "nächste Synchronisierung" in inbox.status.text()
        inbox.close()
        window.sync_controller.refresh_status()
        assert not widget.conflicts_button.isVisible()
        assert widget.changes_label.text() == "1 geänderter Eintrag nicht übertragen"

        again = run_sync(qtbot, window)
        assert again.error is None and again.result.conflicts == 0
        assert office.person(pid).city == "Bonn-Düren"
        again.close()
    finally:
        laptop.database.dispose()


def test_inbox_takes_the_server_value(qtbot, office, tmp_path, open_window):
    from kim_desktop.ui.conflict_inbox import ConflictInbox

    laptop = take_along(qtbot, office, tmp_path / "laptop.sqlite3", open_window)
    try:
        pid = office.persons[1]
        persons.update_person(laptop, pid, {"street": "Weg 1"})
        persons.update_person(office.ctx, pid, {"street": "Ring 2"})
        assert sync.sync(laptop, office.url).conflicts == 1
        inbox = ConflictInbox(laptop)
        qtbot.addWidget(inbox)
        assert inbox.model.index(0, 1).data() == "Straße"
        inbox.take_remote.click()
        assert inbox.model.rowCount() == 0
        assert persons.get_person(laptop, pid).street == "Ring 2"
    finally:
        laptop.database.dispose()


def test_stale_save_shows_both_versions_and_keeps_own_values(qtbot, office, open_window, ui):
    from kim_desktop.ui.stale_dialog import StaleSaveDialog

    window = open_window(office.ctx, str(office.path))
    pid = office.persons[0]
    window.open_person(pid)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.person_page, timeout=5000)
    page = window.person_page
    # bernd saves the same person in another session meanwhile
    bernd = ServiceContext(
        open_database(office.url), Actor(office.bernd, "Bernd Muster", frozenset({"case_management"}))
    )
    try:
        persons.update_person(bernd, pid, {"city": "Aachen"})
    finally:
        bernd.database.dispose()
    page.inputs["city"].setText("Bonn")
    page._changed("city")
    seen = {}

    def inspect(dialog):
        seen["text"] = dialog.findChildren(QLabel)[0].text()
        table = dialog.table
        seen["rows"] = [[table.item(r, c).text() for c in range(3)] for r in range(table.rowCount())]
        seen["accelerators"] = accelerators(dialog)
        dialog.reapply_button.click()

    record = ui.when_modal(qtbot, lambda d: isinstance(d, StaleSaveDialog), inspect)
    assert not page.save()
    assert record["error"] is None
    assert seen["text"].startswith("Diese Akte wurde inzwischen von Bernd Muster geändert")
    assert ["Ort", "Bonn", "Aachen"] in seen["rows"]
    assert not seen["accelerators"]
    # reloaded on the new version with the own value kept in the form; saving now works
    assert page.inputs["city"].text() == "Bonn" and page.dirty
    assert page.save()
    assert office.person(pid).city == "Bonn"


def test_discard_reloads_the_stored_version(qtbot, office, open_window, ui):
    from kim_desktop.ui.stale_dialog import StaleSaveDialog

    window = open_window(office.ctx, str(office.path))
    pid = office.persons[1]
    window.open_person(pid)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.person_page, timeout=5000)
    page = window.person_page
    persons.update_person(office.ctx, pid, {"phone": "0241 1"})
    page.inputs["phone"].setText("0228 2")
    page._changed("phone")
    record = ui.when_modal(
        qtbot, lambda d: isinstance(d, StaleSaveDialog), lambda d: d.discard_button.click()
    )
    assert not page.save()
    assert record["error"] is None
    assert page.inputs["phone"].text() == "0241 1" and not page.dirty
    assert office.person(pid).phone == "0241 1"


# --- the office server ----------------------------------------------------------------------------------


@pytest.fixture
def pg_office(tmp_path):
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from kim_desktop.db.engine import resolve_location

    url = os.environ.get("KIM_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("KIM_TEST_POSTGRES_URL ist nicht gesetzt: in CI müssen die PostgreSQL-Tests laufen.")
        pytest.skip("KIM_TEST_POSTGRES_URL not set (PostgreSQL tests run in CI)")
    admin = create_engine(
        resolve_location(url).url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5}
    )
    name = f"kim_syncgui_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    office = Office(
        None, url=make_url(resolve_location(url).url).set(database=name).render_as_string(hide_password=False)
    )
    yield office
    office.close()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.mark.postgres
def test_checkout_and_sync_against_the_office_server(qtbot, pg_office, tmp_path, open_window):
    office = pg_office
    office_window = open_window(office.ctx, "Büro-Server")
    assert office_window.sync_controller.widget.mode_label.text() == "Büro-Server"
    target = tmp_path / "laptop.sqlite3"
    dialog = checkout_in_dialog(qtbot, office.ctx, office_window, target)
    assert dialog.result.cases == 3
    dialog.close()
    laptop = login.open_context(target, username="anna", password=PASSWORD)
    try:
        window = open_window(laptop, str(target))
        pid = office.persons[0]
        persons.update_person(laptop, pid, {"city": "Bonn"})
        persons.update_person(office.ctx, pid, {"city": "Düren", "phone": "0221 9"})
        synced = run_sync(qtbot, window)
        assert synced.error is None, synced.message.text()
        assert synced.result.conflicts == 1 and synced.result.pulled >= 1
        assert persons.get_person(laptop, pid).phone == "0221 9"
        from kim_desktop.ui.conflict_inbox import ConflictInbox

        inbox = ConflictInbox(laptop, window)
        qtbot.addWidget(inbox)
        inbox.take_local.click()
        assert inbox.model.rowCount() == 0
        again = run_sync(qtbot, window)
        assert again.error is None and office.person(pid).city == "Bonn"
    finally:
        laptop.database.dispose()

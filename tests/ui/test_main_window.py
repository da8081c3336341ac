"""The main window driven like a user would: keyboard, search-as-you-type, person page, duplicate dialog.

Real widgets (offscreen), real services, a real SQLite file with 250 persons (see ``conftest.py``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QComboBox,
    QGroupBox,
    QLabel,
    QLineEdit,
    QMessageBox,
    QWidget,
)

from kim_desktop.i18n import current_language, set_language
from kim_desktop.services.persons import count_persons, get_person

ROOT = Path(__file__).resolve().parents[2]


# --- helpers --------------------------------------------------------------------------------------------


def type_text(qtbot, widget, text: str) -> None:
    """Key presses for ``text``; QTest only knows ASCII, so umlauts go in as key events with their text."""
    for ch in text:
        if ch.isascii():
            qtbot.keyClicks(widget, ch)
        else:
            for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
                QApplication.sendEvent(widget, QKeyEvent(kind, 0, Qt.KeyboardModifier.NoModifier, ch))


def type_into(qtbot, widget, text: str) -> None:
    """Replace the content of a line edit by typing, as a user would (select all, type)."""
    widget.setFocus()
    widget.selectAll()
    if text:
        type_text(qtbot, widget, text)
    else:
        qtbot.keyClick(widget, Qt.Key.Key_Delete)


def search(qtbot, window, text: str, expected_rows: int | None = None) -> None:
    page = window.list_page
    type_into(qtbot, page.search, text)
    if expected_rows is not None:
        qtbot.waitUntil(
            lambda: page.model.searching == bool(text.strip()) and page.model.rowCount() == expected_rows,
            timeout=5000,
        )


def press_save(qtbot, window) -> None:
    """Strg+S where the user is (the focused field)."""
    target = QApplication.focusWidget() or window
    qtbot.keyClick(target, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)


def open_mueller(qtbot, window):
    search(qtbot, window, "mueller", expected_rows=1)
    table = window.list_page.table
    table.setFocus()
    assert table.currentIndex().row() == 0
    qtbot.keyClick(table, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.person_page, timeout=5000)
    return window.person_page


def screenshot(qtbot, window, path: Path) -> None:
    """Save what the user sees, after pending layout work (a grab does not process events itself)."""
    qtbot.wait(100)
    assert window.grab().save(str(path)), path


def mueller_id(window) -> str:
    return window.person_page.person_id


def services_view(ctx, person_id):
    return get_person(ctx, person_id)


# --- list and search ------------------------------------------------------------------------------------


def test_start_shows_all_persons(qtbot, window, ui, screenshot_dir):
    page = window.list_page
    assert page.model.rowCount() == ui.PERSON_COUNT
    assert page.count_label.text() == "250 Personen"
    assert QApplication.focusWidget() is page.search
    assert page.table.currentIndex().row() == 0
    screenshot(qtbot, window, screenshot_dir / "ui_list.png")


def test_search_as_you_type(qtbot, window, ui, screenshot_dir):
    page = window.list_page
    search(qtbot, window, "mueller", expected_rows=1)
    assert page.model.index(0, 0).data() == "Müller"
    assert page.model.index(0, 1).data() == "Hans"
    assert page.count_label.text() == "1 Treffer"

    search(qtbot, window, "schmit", expected_rows=20)  # phonetic: Schmidt first, then Schneider
    assert page.model.index(0, 0).data() == "Schmidt"
    assert page.count_label.text() == "20 Treffer"
    screenshot(qtbot, window, screenshot_dir / "ui_search.png")

    search(qtbot, window, "xyzzyq", expected_rows=0)
    assert page.count_label.text() == "Keine Treffer"

    search(qtbot, window, "", expected_rows=ui.PERSON_COUNT)
    assert not page.model.searching
    assert page.count_label.text() == "250 Personen"


def test_search_by_birth_date(qtbot, window):
    search(qtbot, window, "14.07.1979", expected_rows=1)
    assert window.list_page.model.index(0, 0).data() == "Müller"


def test_stale_results_are_ignored(qtbot, window):
    """Hits of an older query that arrive after a newer one was typed are dropped."""
    page = window.list_page
    search(qtbot, window, "Kaya", expected_rows=10)
    kaya_sequence = page._sequence
    kaya_rows = [page.model.row_at(r) for r in range(10)]
    qtbot.keyClicks(page.search, " Omar")
    qtbot.waitUntil(lambda: page.model.rowCount() == 1, timeout=5000)
    assert page.model.index(0, 1).data() == "Omar"
    page.apply_hits(kaya_sequence, kaya_rows)  # the slow answer to the old query arrives late
    assert page.model.rowCount() == 1
    assert page.count_label.text() == "1 Treffer"


# --- person page ----------------------------------------------------------------------------------------


def test_open_with_enter_edit_and_save(qtbot, window, ui_ctx):
    page = open_mueller(qtbot, window)
    assert page.title.text() == "Müller, Hans"
    assert page.inputs["family_name"].text() == "Müller"
    assert QApplication.focusWidget() is page.inputs["family_name"]
    person_id = mueller_id(window)

    type_into(qtbot, page.inputs["city"], "Düsseldorf")
    assert page.dirty and page.status.text() == "Ungespeicherte Änderungen"
    press_save(qtbot, window)
    assert page.status.text() == "Gespeichert."
    assert not page.dirty
    assert services_view(ui_ctx, person_id).city == "Düsseldorf"

    # back in the list (still showing the search hits), the row shows the change
    qtbot.keyClick(page.inputs["city"], Qt.Key.Key_Escape)
    assert window.stack.currentWidget() is window.list_page
    model = window.list_page.model
    assert model.searching
    qtbot.waitUntil(lambda: model.index(0, 3).data() == "Düsseldorf", timeout=5000)
    assert model.rowCount() == 1 and window.list_page.count_label.text() == "1 Treffer"


def test_save_action_saves_too(qtbot, window, ui_ctx):
    page = open_mueller(qtbot, window)
    type_into(qtbot, page.inputs["phone"], "0221 12345")
    window.save_action.trigger()
    assert services_view(ui_ctx, page.person_id).phone == "0221 12345"


def test_invalid_birth_date_shows_inline_error_and_does_not_save(qtbot, window, ui_ctx, screenshot_dir):
    page = open_mueller(qtbot, window)
    birth = page.inputs["birth_date"]
    error = page.errors["birth_date"]
    type_into(qtbot, birth, "31.02.1990")
    qtbot.keyClick(birth, Qt.Key.Key_Tab)  # leaving the field validates it
    assert error.isVisible()
    assert error.text() == "Den 31.02.1990 gibt es nicht."
    # the message sits directly under its field, left-aligned with it
    top_left = error.mapTo(page, QPoint(0, 0))
    field = birth.mapTo(page, QPoint(0, 0))
    assert top_left.y() >= field.y() + birth.height() and top_left.x() == field.x()
    screenshot(qtbot, window, screenshot_dir / "ui_person_error.png")

    type_into(qtbot, page.inputs["city"], "Bonn")
    press_save(qtbot, window)
    assert page.status.text() == "Bitte prüfen Sie die markierten Felder."
    assert QApplication.focusWidget() is birth, "focus goes to the first wrong field"
    assert page.dirty
    stored = services_view(ui_ctx, page.person_id)
    assert stored.birth_date.german() == "14.07.1979" and stored.city == "Köln"

    type_into(qtbot, birth, "14.07.1979")
    qtbot.keyClick(birth, Qt.Key.Key_Tab)
    assert not error.isVisible()


def test_empty_family_name_is_refused(qtbot, window, ui_ctx):
    page = open_mueller(qtbot, window)
    type_into(qtbot, page.inputs["family_name"], "")
    press_save(qtbot, window)
    assert page.errors["family_name"].isVisible()
    assert page.errors["family_name"].text() == "Bitte geben Sie den Familiennamen ein."
    assert services_view(ui_ctx, page.person_id).family_name == "Müller"


def test_markup_is_stored_and_shown_literally(qtbot, window, ui_ctx):
    page = open_mueller(qtbot, window)
    type_into(qtbot, page.inputs["family_name"], "<b>fett</b>")
    press_save(qtbot, window)
    assert page.status.text() == "Gespeichert."
    assert services_view(ui_ctx, page.person_id).family_name == "<b>fett</b>"
    assert page.title.textFormat() == Qt.TextFormat.PlainText
    assert page.title.text() == "<b>fett</b>, Hans"
    assert page.subtitle.textFormat() == Qt.TextFormat.PlainText


def test_new_person_with_ctrl_n(qtbot, window, ui_ctx, ui):
    qtbot.keyClick(window.list_page.search, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.person_page, timeout=5000)
    page = window.person_page
    assert page.title.text() == "Neue Person"
    assert QApplication.focusWidget() is page.inputs["family_name"]
    qtbot.keyClicks(page.inputs["family_name"], "Neumann")
    qtbot.keyClick(page.inputs["family_name"], Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is page.inputs["given_names"], "Tab goes on to the given names"
    qtbot.keyClicks(page.inputs["given_names"], "Greta")
    type_into(qtbot, page.inputs["birth_date"], "12.03.1985")
    press_save(qtbot, window)
    assert page.status.text() == "Gespeichert."
    assert page.title.text() == "Neumann, Greta"
    assert page.person_id is not None
    assert window.list_page.model.total == ui.PERSON_COUNT + 1
    with ui_ctx.read() as session:
        assert count_persons(session) == ui.PERSON_COUNT + 1

    qtbot.keyClick(page.inputs["family_name"], Qt.Key.Key_Escape)
    assert window.stack.currentWidget() is window.list_page
    assert window.list_page.count_label.text() == "251 Personen"


def _enter_duplicate_of_mueller(qtbot, window):
    qtbot.keyClick(window.list_page.search, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.person_page, timeout=5000)
    page = window.person_page
    type_into(qtbot, page.inputs["family_name"], "Mueller")
    type_into(qtbot, page.inputs["given_names"], "Hans")
    type_into(qtbot, page.inputs["birth_date"], "14.07.1979")
    return page


def test_duplicate_dialog_cancel_creates_nothing(qtbot, window, ui_ctx, ui):
    page = _enter_duplicate_of_mueller(qtbot, window)
    record = ui.on_modal(qtbot, lambda dialog: ui.click_button(dialog, "Abbrechen"))
    press_save(qtbot, window)
    assert record["error"] is None
    assert record["title"] == "Mögliche Dublette"
    assert "Diese Person ist möglicherweise schon erfasst (1 Treffer)." in record["text"]
    assert "• Müller, Hans (14.07.1979), Köln" in record["text"]
    assert isinstance(record["dialog"], QMessageBox)
    assert record["dialog"].textFormat() == Qt.TextFormat.PlainText
    assert page.person_id is None and page.dirty, "the form keeps what was typed"
    with ui_ctx.read() as session:
        assert count_persons(session) == ui.PERSON_COUNT
    assert window.list_page.model.total == ui.PERSON_COUNT


def test_duplicate_dialog_confirm_creates_person(qtbot, window, ui_ctx, ui):
    page = _enter_duplicate_of_mueller(qtbot, window)
    record = ui.on_modal(qtbot, lambda dialog: ui.click_button(dialog, "Neue Person anlegen"))
    press_save(qtbot, window)
    assert record["error"] is None and record["title"] == "Mögliche Dublette"
    assert page.status.text() == "Gespeichert."
    with ui_ctx.read() as session:
        assert count_persons(session) == ui.PERSON_COUNT + 1


def test_escape_returns_to_list(qtbot, window):
    page = open_mueller(qtbot, window)
    qtbot.keyClick(page.inputs["family_name"], Qt.Key.Key_Escape)
    assert window.stack.currentWidget() is window.list_page
    assert QApplication.focusWidget() is window.list_page.table


def test_escape_with_unsaved_changes_asks_first(qtbot, window, ui, ui_ctx):
    page = open_mueller(qtbot, window)
    type_into(qtbot, page.inputs["city"], "Aachen")

    def press(button):
        return lambda dialog: dialog.button(button).click()

    record = ui.on_modal(qtbot, press(QMessageBox.StandardButton.Cancel))
    qtbot.keyClick(page.inputs["city"], Qt.Key.Key_Escape)
    assert record["dialog"] is not None and record["error"] is None
    assert window.stack.currentWidget() is page and page.dirty

    record = ui.on_modal(qtbot, press(QMessageBox.StandardButton.Discard))
    qtbot.keyClick(page.inputs["city"], Qt.Key.Key_Escape)
    assert record["dialog"] is not None
    assert window.stack.currentWidget() is window.list_page
    assert services_view(ui_ctx, page.person_id).city == "Köln"


# --- English UI -----------------------------------------------------------------------------------------


def _german_only_texts() -> dict[str, str]:
    """German msgids whose English translation differs (so seeing them in the English UI is a leak)."""
    from babel.messages.pofile import read_po

    po = ROOT / "resources" / "translations" / "en" / "LC_MESSAGES" / "kim_desktop.po"
    with po.open("rb") as handle:
        catalog = read_po(handle)
    texts = {}
    for message in catalog:
        if message.id and isinstance(message.id, str) and message.string and message.string != message.id:
            if "{" in message.id:
                continue
            texts[message.id] = message.string
            texts[message.id.replace("&", "")] = message.string
    return texts


def _visible_texts(window) -> list[str]:
    texts = [window.windowTitle()]
    for widget in window.findChildren(QWidget):
        if not widget.isVisible():
            continue
        if isinstance(widget, QLabel | QAbstractButton):
            texts.append(widget.text())
        if isinstance(widget, QGroupBox):
            texts.append(widget.title())
        if isinstance(widget, QLineEdit):
            texts.append(widget.placeholderText())
        if isinstance(widget, QComboBox):
            texts += [widget.itemText(i) for i in range(min(widget.count(), 12))]
        texts += [widget.accessibleName(), widget.toolTip()]
    for action in window.menuBar().actions():
        texts.append(action.text())
        texts += [a.text() for a in action.menu().actions()]
    model = window.list_page.model
    texts += [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    return [t for t in texts if t]


def test_english_ui(qtbot, db_path, ui_ctx, ui, screenshot_dir):
    german = _german_only_texts()
    before = current_language()
    try:
        set_language("en")
        window = ui.build_window(qtbot, db_path, ui_ctx)
        try:
            page = window.list_page
            assert page.count_label.text() == "250 persons"
            assert page.search_label.text() == "&Search:"
            assert page.model.headerData(0, Qt.Orientation.Horizontal) == "Family name"
            screenshot(qtbot, window, screenshot_dir / "ui_english_list.png")
            leaks = [t for t in _visible_texts(window) if t in german]
            assert not leaks, f"German texts in the English list page: {leaks}"

            search(qtbot, window, "mueller", expected_rows=1)
            assert page.count_label.text() == "1 match"
            window.list_page.table.setFocus()
            qtbot.keyClick(window.list_page.table, Qt.Key.Key_Return)
            qtbot.waitUntil(lambda: window.stack.currentWidget() is window.person_page, timeout=5000)
            person = window.person_page
            type_into(qtbot, person.inputs["birth_date"], "31.02.1990")
            qtbot.keyClick(person.inputs["birth_date"], Qt.Key.Key_Tab)
            assert person.errors["birth_date"].text() == "The date 31.02.1990 does not exist."
            assert person.subtitle.text() == "Date of birth: 14.07.1979 · File number: no case"
            screenshot(qtbot, window, screenshot_dir / "ui_english_person.png")
            leaks = [t for t in _visible_texts(window) if t in german]
            assert not leaks, f"German texts in the English person page: {leaks}"
        finally:
            ui.close_window(window)
    finally:
        set_language(before)
    assert current_language() == before


# --- the command line start (own process: one QApplication per process) --------------------------------


def _start(tmp_path, db, *extra):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", KIM_DESKTOP_NO_LOG_FILE="1")
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")  # no language setting of the developer's own profile
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    return subprocess.run(
        [sys.executable, "-m", "kim_desktop", "--db", str(db), "--exit-after-start", *extra],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=str(ROOT),
    )


def test_cli_start_on_existing_database(tmp_path, db_path):
    done = _start(tmp_path, db_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr


def test_cli_start_creates_new_database(tmp_path):
    path = tmp_path / "neu" / "kim.sqlite3"
    done = _start(tmp_path, path)
    assert done.returncode == 0, done.stderr
    assert path.is_file()
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "content", [b"this is not a database\n" * 200, b"SQLite format 3\x00" + b"\xff" * 4000]
)
def test_cli_start_on_corrupt_file(tmp_path, content):
    path = tmp_path / "kaputt.sqlite3"
    path.write_bytes(content)
    done = _start(tmp_path, path)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("Fehler:")
    assert path.read_bytes() == content, "a broken file is never modified"

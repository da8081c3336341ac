"""Keyboard and screen-reader accessibility of the main window, the person page and the duplicate dialog.

What is checked, on real widgets in both UI languages:

- every visible control that takes Tab focus has a name for screen readers (``accessibleName()``, set by
  the code; for Qt's own message box buttons the name Qt's accessibility bridge derives from the text);
- Tab reaches every control: search field → “Neue Person” → table on the list page, every field and both
  buttons on the person page;
- Alt+letter accelerators are unique among what is on screen (menu bar included) and move the focus to
  the field of the label;
- 150 % scaling does not clip the form (see ``test_person_page_at_150_percent``).
"""

from __future__ import annotations

import re
from collections import defaultdict

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QCheckBox,
    QComboBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

from kim_desktop.i18n import _, current_language, set_language

CONTROLS = (
    QLineEdit,
    QAbstractButton,
    QAbstractItemView,
    QComboBox,
    QCheckBox,
    QPlainTextEdit,
    QTextEdit,
    QAbstractSpinBox,
)


@pytest.fixture(params=["de", "en"])
def language(request):
    before = current_language()
    set_language(request.param)
    yield request.param
    set_language(before)


@pytest.fixture
def lang_window(qtbot, db_path, ui_ctx, ui, language):
    """The main window built in the UI language of the test."""
    window = ui.build_window(qtbot, db_path, ui_ctx)
    yield window
    ui.close_window(window)


def open_first_person(qtbot, window):
    table = window.list_page.table
    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.person_page, timeout=5000)
    return window.person_page


def tab_focusable_controls(root: QWidget) -> list[QWidget]:
    return [
        w
        for w in root.findChildren(QWidget)
        if w.isVisible() and isinstance(w, CONTROLS) and w.focusPolicy() & Qt.FocusPolicy.TabFocus
    ]


def describe(widget: QWidget) -> str:
    return f"{type(widget).__name__}({widget.objectName() or getattr(widget, 'text', lambda: '')()!r})"


def bridge_name(widget: QWidget) -> str:
    """The name Qt's accessibility bridge hands to screen readers."""
    interface = QAccessible.queryAccessibleInterface(widget)
    return interface.text(QAccessible.Text.Name) if interface is not None else ""


def tab_chain(qtbot, start: QWidget, limit: int = 80) -> list[QWidget]:
    """Press Tab from ``start`` until the focus comes back (or ``limit`` presses); the focused widgets."""
    start.setFocus(Qt.FocusReason.TabFocusReason)
    assert QApplication.focusWidget() is start
    chain = [start]
    for _step in range(limit):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        current = QApplication.focusWidget()
        if current is start:
            break
        chain.append(current)
    return chain


def mnemonics(window) -> dict[str, list[str]]:
    """Alt+letter accelerators that are live right now: menu bar titles, visible labels and buttons."""
    found: dict[str, list[str]] = defaultdict(list)

    def add(text: str, owner: str) -> None:
        match = re.search(r"&([^&\s])", text.replace("&&", ""))
        if match:
            found[match.group(1).lower()].append(owner)

    for action in window.menuBar().actions():
        add(action.text(), f"menu {action.text()!r}")
    for widget in window.centralWidget().findChildren(QWidget):
        if not widget.isVisible():
            continue
        if isinstance(widget, QLabel) and widget.buddy() is not None:
            add(widget.text(), f"label {widget.text()!r}")
        elif isinstance(widget, QAbstractButton):
            add(widget.text(), f"button {widget.text()!r}")
    return found


# --- names for screen readers ---------------------------------------------------------------------------


def test_list_page_controls_have_accessible_names(lang_window):
    controls = tab_focusable_controls(lang_window)
    page = lang_window.list_page
    assert {page.search, page.new_button, page.table} <= set(controls)
    unnamed = [describe(w) for w in controls if not w.accessibleName().strip()]
    assert not unnamed, f"controls without accessible name: {unnamed}"


def test_person_page_controls_have_accessible_names(qtbot, lang_window):
    page = open_first_person(qtbot, lang_window)
    controls = tab_focusable_controls(page)
    assert set(page.inputs.values()) <= set(controls)
    assert len(controls) >= len(page.inputs) + 6 + 2  # + 3 language rows x 2 combos + 2 buttons
    unnamed = [describe(w) for w in controls if not w.accessibleName().strip()]
    assert not unnamed, f"controls without accessible name: {unnamed}"
    names = [w.accessibleName() for w in controls]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    assert not duplicates, f"two controls with the same name cannot be told apart: {duplicates}"
    # names are readable words: no accelerator ampersands, no trailing colon or asterisk
    assert not [n for n in names if "&" in n or n.endswith((":", "*"))]


def test_inline_error_is_exposed_to_screen_readers(qtbot, lang_window):
    """A screen-reader user tabbing into a wrong field hears the message, not only sees it in red."""
    page = open_first_person(qtbot, lang_window)
    birth = page.inputs["birth_date"]
    birth.setFocus()
    birth.setText("31.02.1990")
    birth.editingFinished.emit()
    message = page.errors["birth_date"].text()
    assert message and "31.02.1990" in message
    assert message in birth.accessibleDescription()
    birth.setText("")
    birth.editingFinished.emit()
    assert "31.02.1990" not in birth.accessibleDescription()


def test_duplicate_dialog_is_accessible(qtbot, lang_window, ui, screenshot_dir, language):
    window = lang_window
    window.new_person()
    page = window.person_page
    for name, value in (("family_name", "Müller"), ("given_names", "Hans"), ("birth_date", "14.07.1979")):
        page.inputs[name].setText(value)
    seen = {}

    def inspect(dialog):
        seen["controls"] = {
            describe(w): (w.accessibleName() or bridge_name(w)) for w in tab_focusable_controls(dialog)
        }
        qtbot.waitUntil(lambda: dialog.isActiveWindow(), timeout=2000)
        dialog.grab().save(str(screenshot_dir / f"ui_duplicate_dialog_{language}.png"))
        focused = QApplication.focusWidget()
        seen["focus_in_dialog"] = focused.window() is dialog
        seen["initial_focus"] = focused.text()
        seen["chain"] = [describe(w) for w in tab_chain(qtbot, focused, limit=10)]
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Escape)
        seen["clicked"] = dialog.clickedButton().text() if dialog.clickedButton() else None

    record = ui.on_modal(qtbot, inspect)
    window.save_action.trigger()
    assert record["error"] is None, record["error"]
    assert record["dialog"] is not None
    controls = seen["controls"]
    assert len(controls) == 3, controls  # Dieselbe Person öffnen, Neue Person anlegen, Abbrechen
    assert all(name.strip() for name in controls.values()), controls
    assert seen["focus_in_dialog"], "the keyboard focus starts in the dialog"
    assert set(seen["chain"]) == set(controls), "Tab reaches every button (and stays in the dialog)"
    assert seen["initial_focus"] == _("&Abbrechen"), "a quick Enter must not create a duplicate"
    assert seen["clicked"] == _("&Abbrechen"), "Esc answers the question with “Abbrechen”"
    assert page.person_id is None and window.list_page.model.total == ui.PERSON_COUNT


# --- keyboard reachability ------------------------------------------------------------------------------


def test_tab_chain_on_list_page(qtbot, lang_window):
    page = lang_window.list_page
    chain = tab_chain(qtbot, page.search)
    assert page.table in chain and page.new_button in chain
    assert chain.index(page.new_button) < chain.index(page.table)


def test_tab_chain_on_person_page(qtbot, lang_window):
    page = open_first_person(qtbot, lang_window)
    chain = tab_chain(qtbot, page.inputs["family_name"])
    missing = [name for name, widget in page.inputs.items() if widget not in chain]
    assert not missing, f"not reachable with Tab: {missing}"
    assert page.save_button in chain and page.back_button in chain
    for combo_pair in page.language_rows:
        assert all(combo in chain for combo in combo_pair)
    # the form is walked top to bottom, left column first
    order = [
        chain.index(page.inputs[n]) for n in ("family_name", "given_names", "birth_date", "street", "note")
    ]
    assert order == sorted(order)


def test_accelerators_are_unique_and_work(qtbot, lang_window):
    window = lang_window
    clashes = {k: v for k, v in mnemonics(window).items() if len(v) > 1}
    assert not clashes, f"list page: Alt+letter used twice: {clashes}"

    page = open_first_person(qtbot, window)
    clashes = {k: v for k, v in mnemonics(window).items() if len(v) > 1}
    assert not clashes, f"person page: Alt+letter used twice: {clashes}"

    for label in page.findChildren(QLabel):
        buddy = label.buddy()
        match = re.search(r"&([^&\s])", label.text())
        if buddy is None or not match or not label.isVisible():
            continue
        window.list_page.setFocus()
        page.save_button.setFocus()
        key = getattr(Qt.Key, f"Key_{match.group(1).upper()}", None)
        if key is None:  # umlauts: no Qt.Key_ constant to press in a test
            continue
        qtbot.keyClick(page.save_button, key, Qt.KeyboardModifier.AltModifier)
        assert QApplication.focusWidget() is buddy, f"Alt+{match.group(1)} ({label.text()!r})"


def test_menu_accelerators_unique_within_each_menu(lang_window):
    for top in lang_window.menuBar().actions():
        letters = []
        for action in top.menu().actions():
            match = re.search(r"&([^&\s])", action.text())
            if match:
                letters.append(match.group(1).lower())
        assert len(letters) == len(set(letters)), (
            f"{top.text()!r}: {[a.text() for a in top.menu().actions()]}"
        )


# --- scaling --------------------------------------------------------------------------------------------


def test_person_page_at_150_percent(tmp_path, db_path, ui, screenshot_dir, language):
    """150 % scaling on a 1280×800 laptop screen, i.e. 853×533 logical pixels for the whole window.

    Criterion (what a user would call “cut off”): with the window at that size
    - the window's minimum size fits on the screen (it can be shown at all);
    - no field of the person page is narrower than its ``minimumSizeHint`` (text and combo arrows fit);
    - the form needs no horizontal scrolling (its minimum width fits the scroll area's viewport), so the
      right-hand column is visible; vertical scrolling is expected and fine.
    Rendered in a separate process because ``QT_SCALE_FACTOR`` must be set before the QApplication exists.
    """
    png = screenshot_dir / f"ui_person_150_{language}.png"
    metrics = ui.scaled_render(tmp_path, db_path, png, scale="1.5", size=(853, 533), language=language)
    assert metrics["device_pixel_ratio"] == 1.5
    assert metrics["window"] == [853, 533]
    min_w, min_h = (
        max(metrics["window_minimum"][0], metrics["window_minimum"][2]),
        max(metrics["window_minimum"][1], metrics["window_minimum"][3]),
    )
    assert min_w <= 853 and min_h <= 533
    assert metrics["clipped"] == []
    assert metrics["form_minimum"][0] <= metrics["viewport"][0], metrics
    assert metrics["horizontal_scroll"] == 0
    assert metrics["error_visible"]
    assert png.is_file() and png.stat().st_size > 10_000

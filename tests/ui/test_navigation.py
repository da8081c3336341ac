"""Moving around the main window like a user: Strg+1/2/3, person page → intake → case page and back,
a person's case list, Escape, merging two records, and "Dieselbe Person öffnen" in the duplicate dialog.

Real widgets (offscreen), real services, a real SQLite file with 250 persons (see ``conftest.py``).
Modal dialogs (intake, person picker, merge, questions) are answered from timers while they run.
"""

from __future__ import annotations

from datetime import date, timedelta

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QAbstractButton, QApplication, QMessageBox, QRadioButton
from sqlalchemy import func, select

from kim_desktop.db.models import Case, Consent, Person
from kim_desktop.services import cases, persons
from kim_desktop.services.persons import count_persons, get_person
from kim_desktop.ui.intake_dialog import IntakeDialog
from kim_desktop.ui.main_window import MainWindow
from kim_desktop.ui.merge_dialog import MergeDialog
from kim_desktop.ui.person_picker import PersonPicker

TODAY = date.today()


# --- helpers --------------------------------------------------------------------------------------------


def german(d: date) -> str:
    return d.strftime("%d.%m.%Y")


def type_text(qtbot, widget, text: str) -> None:
    """Key presses for ``text``; QTest only knows ASCII, so umlauts go in as key events with their text."""
    widget.setFocus()
    for ch in text:
        if ch.isascii():
            qtbot.keyClicks(widget, ch)
        else:
            for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
                QApplication.sendEvent(widget, QKeyEvent(kind, 0, Qt.KeyboardModifier.NoModifier, ch))


def press(qtbot, key, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    """A key press where the user is (the focused widget)."""

    def focused() -> bool:
        widget = QApplication.focusWidget()
        return widget is not None and widget.isVisible() and widget.window().isActiveWindow()

    qtbot.waitUntil(lambda: QApplication.activeModalWidget() is None, timeout=3000)
    if not focused():
        # Offscreen, closing a dialog does not hand the activation back to the main window (a window
        # manager does): activate it, and the focus returns to where it was before the dialog.
        main = next(w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible())
        main.activateWindow()
        qtbot.waitUntil(focused, timeout=3000)
    qtbot.keyClick(QApplication.focusWidget(), key, modifier)


def ctrl(qtbot, key) -> None:
    press(qtbot, key, Qt.KeyboardModifier.ControlModifier)


def button(root, name: str) -> QAbstractButton:
    found = [
        b
        for b in root.findChildren(QAbstractButton)
        if b.isVisible() and (b.accessibleName() == name or b.text().replace("&", "") == name)
    ]
    assert len(found) == 1, (
        name,
        [(b.text(), b.accessibleName()) for b in root.findChildren(QAbstractButton)],
    )
    return found[0]


def screenshot(qtbot, widget, path) -> None:
    qtbot.wait(100)
    assert widget.grab().save(str(path)), path


def person_id(ctx, family: str, given: str | None = None) -> str:
    stmt = select(Person.id).where(Person.family_name == family, Person.deleted_at.is_(None))
    if given is not None:
        stmt = stmt.where(Person.given_names == given)
    with ctx.read() as session:
        return session.scalar(stmt)


def open_person(qtbot, window, pid: str):
    window.open_person(pid)
    qtbot.waitUntil(
        lambda: window.person_page is not None and window.stack.currentWidget() is window.person_page
    )
    assert window.person_page.person_id == pid
    return window.person_page


def open_mueller_from_list(qtbot, window, ui):
    """Search "mueller" in the list and open the hit with Enter."""
    page = window.list_page
    page.search.setFocus()
    qtbot.keyClicks(page.search, "mueller")
    ui.wait_for_list(qtbot, window, 1, searching=True)
    page.table.setFocus()
    qtbot.keyClick(page.table, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.person_page, timeout=5000)
    return window.person_page


def case_rows(page) -> list[str]:
    return [page.case_list.item(i).text() for i in range(page.case_list.count())]


# --- Strg+1 / Strg+2 / Strg+3 ---------------------------------------------------------------------------


def test_ctrl_numbers_switch_between_the_main_views(qtbot, window, ui, screenshot_dir):
    assert window.stack.currentWidget() is window.list_page
    assert QApplication.focusWidget() is window.list_page.search

    ctrl(qtbot, Qt.Key.Key_1)
    assert window.workplace_page is not None and window.stack.currentWidget() is window.workplace_page
    assert window.workplace_page.title.text() == "Mein Arbeitsplatz"
    assert window.workplace_page.isAncestorOf(QApplication.focusWidget()), "the focus moves onto the page"

    ctrl(qtbot, Qt.Key.Key_3)
    assert window.caseload_page is not None and window.stack.currentWidget() is window.caseload_page
    assert window.caseload_page.title.text() == "Fälle"
    assert window.caseload_page.isAncestorOf(QApplication.focusWidget())

    ctrl(qtbot, Qt.Key.Key_2)
    assert window.stack.currentWidget() is window.list_page
    assert QApplication.focusWidget() is window.list_page.table
    assert window.list_page.count_label.text() == "250 Personen"

    # the pages are built once and reused (Strg+L locks the screen now, see test_lock.py)
    workplace = window.workplace_page
    ctrl(qtbot, Qt.Key.Key_1)
    assert window.stack.currentWidget() is workplace
    ctrl(qtbot, Qt.Key.Key_2)
    assert window.stack.currentWidget() is window.list_page

    # the menu "Ansicht" names the shortcuts
    view_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Ansicht")
    shortcuts = {a.text(): a.shortcut().toString() for a in view_menu.actions() if not a.isSeparator()}
    assert shortcuts["&Mein Arbeitsplatz"] == "Ctrl+1"
    assert shortcuts["&Personenliste"] == ""
    assert shortcuts["&Fälle"] == "Ctrl+3"
    assert window.persons_action.shortcut().toString() == "Ctrl+2"


def test_ctrl_number_asks_before_leaving_unsaved_person(qtbot, window, ui, ui_ctx):
    page = open_mueller_from_list(qtbot, window, ui)
    type_text(qtbot, page.inputs["city"], " Nord")
    assert page.dirty
    record = ui.on_modal(qtbot, lambda dialog: dialog.button(QMessageBox.StandardButton.Cancel).click())
    ctrl(qtbot, Qt.Key.Key_1)
    assert record["dialog"] is not None and record["error"] is None
    assert window.stack.currentWidget() is page and page.dirty

    record = ui.on_modal(qtbot, lambda dialog: dialog.button(QMessageBox.StandardButton.Discard).click())
    ctrl(qtbot, Qt.Key.Key_3)
    assert window.stack.currentWidget() is window.caseload_page
    assert get_person(ui_ctx, page.person_id).city == "Köln"


# --- person page → intake → case page ------------------------------------------------------------------


def test_intake_from_person_page_opens_the_new_case(qtbot, window, ui, ui_ctx, screenshot_dir):
    page = open_mueller_from_list(qtbot, window, ui)
    pid = page.person_id
    assert case_rows(page) == ["Noch kein Fall"]
    assert page.intake_button.isEnabled()
    seen = {}

    def fill(dialog) -> None:
        seen["person"] = dialog.person_label.text()
        seen["ok_before"] = dialog.confirm_anyway.isVisible()
        for box in dialog.criteria.values():
            box.setFocus()
            qtbot.keyClick(box, Qt.Key.Key_Space)
        seen["status"] = dialog.eligibility_status.text()
        seen["anyway_after"] = dialog.confirm_anyway.isVisible()
        seen["consent_date"] = dialog.given_on.text()
        qtbot.waitUntil(dialog.isActiveWindow, timeout=2000)
        dialog.grab().save(str(screenshot_dir / "ui_nav_intake_dialog.png"))
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)

    record = ui.when_modal(qtbot, lambda d: isinstance(d, IntakeDialog), fill)
    qtbot.mouseClick(page.intake_button, Qt.MouseButton.LeftButton)
    assert record["error"] is None, record["error"]
    assert record["title"] == "Fall eröffnen (Klärung)"
    assert seen["person"] == "Klient*in: Müller, Hans"
    assert seen["ok_before"], "before ticking the criteria, 'Trotzdem eröffnen' is offered"
    assert seen["status"] == "Alle Kriterien sind erfüllt." and not seen["anyway_after"]
    assert seen["consent_date"] == german(TODAY)

    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.case_page, timeout=5000)
    case_page = window.case_page
    with ui_ctx.read() as session:
        case = session.scalar(select(Case).where(Case.person_id == pid))
        assert case is not None and case.phase == "intake"
        assert case.eligibility == dict.fromkeys(case.eligibility, True) and len(case.eligibility) >= 3
        consents = session.scalar(select(func.count()).select_from(Consent).where(Consent.person_id == pid))
        assert consents == 1
        file_number = case.file_number
    assert case_page.case.id == case.id
    assert case_page.title.text() == f"{file_number} · Müller, Hans"
    assert "[ Klärung ]" in case_page.phase_bar.text()
    assert case_page.journal_model.index(0, 3).data().startswith("Über das Fallmanagement informiert.")
    screenshot(qtbot, window, screenshot_dir / "ui_nav_case_after_intake.png")

    # with the consent recorded, the case can go on to Assessment right away
    qtbot.mouseClick(case_page.next_button, Qt.MouseButton.LeftButton)
    assert case_page.case.phase == "assessment"

    # Escape goes back to the person page, which now lists the case
    case_page.tabs.setFocus()
    press(qtbot, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.person_page, timeout=5000)
    assert case_rows(window.person_page) == [f"{file_number} · Assessment · eröffnet {german(TODAY)}"]
    assert file_number in window.person_page.subtitle.text()


def test_intake_cancel_stays_on_person_page(qtbot, window, ui, ui_ctx):
    page = open_mueller_from_list(qtbot, window, ui)
    record = ui.when_modal(qtbot, lambda d: isinstance(d, IntakeDialog), lambda d: d.cancel_button.click())
    qtbot.mouseClick(page.intake_button, Qt.MouseButton.LeftButton)
    assert record["dialog"] is not None and record["error"] is None
    assert window.stack.currentWidget() is page
    with ui_ctx.read() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 0


def test_new_person_cannot_open_a_case_before_saving(qtbot, window):
    window.new_person()
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.person_page)
    page = window.person_page
    assert not page.intake_button.isEnabled() and not page.merge_button.isEnabled()
    assert case_rows(page) == ["Noch kein Fall"]


# --- the person's case list ----------------------------------------------------------------------------


def test_person_page_lists_cases_and_enter_opens_one(qtbot, window, ui, ui_ctx):
    pid = person_id(ui_ctx, "Müller")
    older = cases.open_case(
        ui_ctx, pid, opened_on=TODAY - timedelta(days=400), consent_on=TODAY - timedelta(days=400)
    )
    cases.change_phase(ui_ctx, older.id, "closed", on=TODAY - timedelta(days=30), closure_reason="wegzug")
    newer = cases.open_case(ui_ctx, pid, opened_on=TODAY - timedelta(days=3))
    page = open_mueller_from_list(qtbot, window, ui)
    assert case_rows(page) == [
        f"{newer.file_number} · Klärung · eröffnet {german(TODAY - timedelta(days=3))}",
        f"{older.file_number} · Abschluss · eröffnet {german(TODAY - timedelta(days=400))}",
    ]

    # keyboard: Tab-reachable list, arrow down, Enter
    page.case_list.setFocus()
    page.case_list.setCurrentRow(0)
    qtbot.keyClick(page.case_list, Qt.Key.Key_Down)
    qtbot.keyClick(page.case_list, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.case_page is not None and window.stack.currentWidget() is window.case_page)
    assert window.case_page.case.id == older.id
    assert window.case_page.reopen_button.isVisible(), "the closed case shows 'Wieder öffnen'"

    # Escape: back to the same person page; the other case opens with a double-click
    press(qtbot, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.person_page)
    assert window.person_page.person_id == pid
    item = window.person_page.case_list.item(0)
    rect = window.person_page.case_list.visualItemRect(item)
    viewport = window.person_page.case_list.viewport()
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=rect.center())  # QTest's double click needs
    qtbot.mouseDClick(viewport, Qt.MouseButton.LeftButton, pos=rect.center())  # the first click before it
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.case_page)
    assert window.case_page.case.id == newer.id
    assert window.case_page.next_button.isVisible()


def test_escape_on_case_page_goes_back_where_it_came_from(qtbot, window, ui, ui_ctx):
    pid = person_id(ui_ctx, "Müller")
    case = cases.open_case(ui_ctx, pid, opened_on=TODAY)

    # from the case list "Fälle"
    ctrl(qtbot, Qt.Key.Key_3)
    caseload = window.caseload_page
    qtbot.waitUntil(lambda: caseload.proxy.rowCount() == 1)
    caseload.table.setFocus()
    caseload.table.selectRow(0)
    qtbot.keyClick(caseload.table, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.case_page is not None and window.stack.currentWidget() is window.case_page)
    assert window.case_page.case.id == case.id
    press(qtbot, Qt.Key.Key_Escape)
    assert window.stack.currentWidget() is caseload

    # from "Mein Arbeitsplatz" (opened there programmatically: no reminder is due for this case)
    ctrl(qtbot, Qt.Key.Key_1)
    window.open_case(case.id)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.case_page)
    window.case_page.journal_view.setFocus()
    press(qtbot, Qt.Key.Key_Escape)
    assert window.stack.currentWidget() is window.workplace_page

    # Escape also works from a form field of the case page
    window.open_case(case.id)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.case_page)
    window.case_page.entry_text.setFocus()
    press(qtbot, Qt.Key.Key_Escape)
    assert window.stack.currentWidget() is window.workplace_page

    # the "Zurück" button does the same
    window.open_case(case.id)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.case_page)
    qtbot.mouseClick(window.case_page.back_button, Qt.MouseButton.LeftButton)
    assert window.stack.currentWidget() is window.workplace_page

    # "Person anzeigen" opens the person; Escape there returns to the list
    window.open_case(case.id)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.case_page)
    qtbot.mouseClick(window.case_page.person_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.person_page)
    assert window.person_page.person_id == pid
    press(qtbot, Qt.Key.Key_Escape)
    assert window.stack.currentWidget() is window.list_page


# --- merging two records --------------------------------------------------------------------------------


def _second_mueller(ctx) -> str:
    """The same man entered a second time, spelled "Mueller", with a street and a different phone."""
    values = {
        "family_name": "Mueller", "given_names": "Hans", "birth_date": "14.07.1979", "city": "Köln",
        "street": "Aachener Str. 12", "address_extra": "c/o Meyer & Söhne", "phone": "0221 555",
    }  # fmt: skip
    return persons.create_person(ctx, values, allow_duplicate=True).id


def test_merge_flow_from_person_page(qtbot, window, ui, ui_ctx, screenshot_dir):
    other = _second_mueller(ui_ctx)
    window.list_page.refresh()
    qtbot.waitUntil(lambda: window.list_page.model.total == ui.PERSON_COUNT + 1)
    keep = person_id(ui_ctx, "Müller", "Hans")
    case = cases.open_case(ui_ctx, other, opened_on=TODAY)  # the second record has a case: it moves over
    page = open_person(qtbot, window, keep)
    assert case_rows(page) == ["Noch kein Fall"]
    seen = {}

    def confirm(box) -> None:
        seen["question"] = box.text()
        box.button(QMessageBox.StandardButton.Yes).click()

    def merge(dialog) -> None:
        seen["merge_title"] = dialog.windowTitle()
        radios = dialog.findChildren(QRadioButton)
        seen["rows"] = {field: group.checkedId() for field, group in dialog.choices.items()}
        seen["radio_texts"] = sorted(r.text() for r in radios)
        seen["accelerators"] = sorted(
            b.text() for b in dialog.findChildren(QAbstractButton) if "&" in b.text().replace("&&", "")
        )
        # take the other record's phone number
        dialog.choices["phone"].button(1).click()
        qtbot.waitUntil(dialog.isActiveWindow, timeout=2000)
        dialog.grab().save(str(screenshot_dir / "ui_nav_merge_dialog.png"))
        seen["question_record"] = ui.when_modal(
            qtbot, lambda d: isinstance(d, QMessageBox) and d.parent() is dialog, confirm
        )
        button(dialog, "Zusammenführen").click()

    def pick(picker) -> None:
        seen["picker_title"] = picker.windowTitle()
        qtbot.waitUntil(picker.isActiveWindow, timeout=2000)
        seen["picker_focus"] = QApplication.focusWidget() is picker.search  # type right away
        qtbot.keyClicks(QApplication.focusWidget(), "mueller")
        qtbot.waitUntil(lambda: picker.results.count() == 1, timeout=3000)  # the kept record is left out
        seen["hits"] = [picker.results.item(i).text() for i in range(picker.results.count())]
        picker.grab().save(str(screenshot_dir / "ui_nav_person_picker.png"))
        seen["merge_record"] = ui.when_modal(qtbot, lambda d: isinstance(d, MergeDialog), merge)
        qtbot.keyClick(picker.search, Qt.Key.Key_Return)  # Enter: to the hits …
        assert QApplication.focusWidget() is picker.results and picker.results.currentRow() == 0
        qtbot.keyClick(picker.results, Qt.Key.Key_Return)  # … Enter again: choose

    record = ui.when_modal(qtbot, lambda d: isinstance(d, PersonPicker), pick)
    qtbot.mouseClick(page.merge_button, Qt.MouseButton.LeftButton)
    for r in (record, seen.get("merge_record"), seen.get("question_record")):
        assert r is not None and r["dialog"] is not None and r["error"] is None, r
    assert seen["picker_title"] == "Person auswählen"
    assert seen["picker_focus"], "the picker opens with the focus in its search field"
    assert seen["hits"] == ["Mueller, Hans (14.07.1979), Köln"]
    assert seen["merge_title"] == "Personen zusammenführen"
    assert (
        seen["question"]
        == "Die beiden Datensätze werden dauerhaft zu einer Person zusammengeführt. Fortfahren?"
    )
    # differing fields: the names, street, address extra and phone; empty ones default to the other's value
    assert seen["rows"] == {"family_name": 0, "street": 1, "address_extra": 1, "phone": 1}
    assert "c/o Meyer && Söhne" in seen["radio_texts"], "an '&' in a value is shown, not made an accelerator"
    assert seen["accelerators"] == ["&Zusammenführen"]

    # the other record is gone from the list, the kept page shows its name as another spelling
    qtbot.waitUntil(lambda: window.list_page.model.total == ui.PERSON_COUNT, timeout=5000)
    with ui_ctx.read() as session:
        assert count_persons(session) == ui.PERSON_COUNT
        assert session.get(Person, other).merged_into_id == keep
        assert session.get(Case, case.id).person_id == keep
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.person_page and page.person_id == keep)
    assert page.inputs["other_spellings"].toPlainText() == "Mueller, Hans"
    assert page.inputs["family_name"].text() == "Müller"
    assert page.inputs["phone"].text() == "0221 555"
    assert page.inputs["street"].text() == "Aachener Str. 12"
    assert case_rows(page) == [f"{case.file_number} · Klärung · eröffnet {german(TODAY)}"]
    assert window.statusBar().currentMessage() == "Die Datensätze wurden zusammengeführt."
    screenshot(qtbot, window, screenshot_dir / "ui_nav_after_merge.png")

    # the list: "mueller" finds one person now
    ctrl(qtbot, Qt.Key.Key_2)
    window.list_page.search.setFocus()
    qtbot.keyClicks(window.list_page.search, "mueller")
    ui.wait_for_list(qtbot, window, 1, searching=True)
    assert window.list_page.model.index(0, 0).data() == "Müller"


def test_merge_answer_no_keeps_both_records(qtbot, window, ui, ui_ctx):
    other = _second_mueller(ui_ctx)
    keep = person_id(ui_ctx, "Müller", "Hans")
    page = open_person(qtbot, window, keep)
    seen = {}

    def merge(dialog) -> None:
        seen["question"] = ui.when_modal(
            qtbot, lambda d: isinstance(d, QMessageBox),
            lambda box: box.button(QMessageBox.StandardButton.No).click(),
        )  # fmt: skip
        button(dialog, "Zusammenführen").click()
        # after "Nein" the dialog is still open: cancel it
        qtbot.waitUntil(lambda: seen["question"]["dialog"] is not None, timeout=3000)
        qtbot.waitUntil(lambda: QApplication.activeModalWidget() is dialog, timeout=3000)
        seen["still_open"] = dialog.isVisible()
        button(dialog, "Abbrechen").click()

    def pick(picker) -> None:
        picker.search.setText("mueller")
        picker.run_search()
        picker.results.setCurrentRow(0)
        seen["merge"] = ui.when_modal(qtbot, lambda d: isinstance(d, MergeDialog), merge)
        button(picker, "Auswählen").click()

    record = ui.when_modal(qtbot, lambda d: isinstance(d, PersonPicker), pick)
    qtbot.mouseClick(page.merge_button, Qt.MouseButton.LeftButton)
    assert record["error"] is None and seen["merge"]["error"] is None, (record, seen)
    assert seen["still_open"]
    with ui_ctx.read() as session:
        assert count_persons(session) == ui.PERSON_COUNT + 1
        assert session.get(Person, other).merged_into_id is None
    assert page.inputs["other_spellings"].toPlainText() == ""


def test_person_picker_without_choice_does_nothing(qtbot, window, ui, ui_ctx):
    keep = person_id(ui_ctx, "Müller", "Hans")
    page = open_person(qtbot, window, keep)

    def pick(picker) -> None:
        button(picker, "Auswählen").click()  # nothing chosen: the picker stays open
        assert picker.isVisible() and picker.person_id is None
        button(picker, "Abbrechen").click()

    record = ui.when_modal(qtbot, lambda d: isinstance(d, PersonPicker), pick)
    qtbot.mouseClick(page.merge_button, Qt.MouseButton.LeftButton)
    assert record["dialog"] is not None and record["error"] is None
    assert window.stack.currentWidget() is page


# --- duplicate dialog: "Dieselbe Person öffnen" ---------------------------------------------------------


def test_duplicate_dialog_opens_the_existing_person(qtbot, window, ui, ui_ctx):
    existing = person_id(ui_ctx, "Müller", "Hans")
    qtbot.keyClick(window.list_page.search, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.person_page)
    page = window.person_page
    assert page.title.text() == "Neue Person"
    type_text(qtbot, page.inputs["family_name"], "Mueller")
    type_text(qtbot, page.inputs["given_names"], "Hans")
    type_text(qtbot, page.inputs["birth_date"], "14.07.1979")
    record = ui.on_modal(qtbot, lambda dialog: ui.click_button(dialog, "Dieselbe Person öffnen"))
    ctrl(qtbot, Qt.Key.Key_S)
    assert record["error"] is None and record["title"] == "Mögliche Dublette"
    qtbot.waitUntil(lambda: page.person_id == existing, timeout=5000)
    assert window.stack.currentWidget() is page
    assert page.title.text() == "Müller, Hans"
    assert page.inputs["family_name"].text() == "Müller"
    assert not page.dirty, "nothing typed is left as an unsaved change"
    with ui_ctx.read() as session:
        assert count_persons(session) == ui.PERSON_COUNT
    assert window.list_page.model.total == ui.PERSON_COUNT
    # Escape goes back to the list without an "unsaved changes" question
    press(qtbot, Qt.Key.Key_Escape)
    assert window.stack.currentWidget() is window.list_page


def test_no_dialog_left_open():
    assert QApplication.activeModalWidget() is None
    assert not [w for w in QApplication.topLevelWidgets() if w.isVisible() and w.isModal()]


def test_merge_dialog_rows_sit_under_their_heading(qtbot, ui_ctx):
    """With few differing fields the rows start right under the heading row (spare height goes below)."""
    other = _second_mueller(ui_ctx)
    keep = person_id(ui_ctx, "Müller", "Hans")
    dialog = MergeDialog(ui_ctx, keep, other)
    qtbot.addWidget(dialog)
    dialog.resize(760, 520)
    dialog.show()
    qtbot.waitExposed(dialog)
    from PySide6.QtWidgets import QLabel

    # labels grow with their grid row and centre their text, radio buttons keep their height: compare centres
    heading = next(w for w in dialog.findChildren(QLabel) if w.text() == "<b>Feld</b>")
    first = dialog.choices["family_name"].button(0)
    gap = first.mapTo(dialog, first.rect().center()).y() - heading.mapTo(dialog, heading.rect().center()).y()
    assert 0 < gap <= 2 * first.height(), f"{gap} px between the heading and the first row"
    names = [b.accessibleName() for b in dialog.findChildren(QRadioButton)]
    assert "Adresszusatz: c/o Meyer & Söhne übernehmen" in names and all(names)

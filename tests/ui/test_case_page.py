"""The case page (Fallakte) driven like a user would: journal form, phase bar, Hilfeplan, closure, Wiedervorlagen,
Systemlücke, Fallübergabe, a journal of thousands of entries, and keyboard/screen-reader accessibility.

Real widgets (offscreen) in the real main window, real services, a real SQLite file (see ``conftest.py``).
Cases are built through the services; modal dialogs are answered with ``ui.on_modal`` / ``when_modal``.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from PySide6.QtCore import QEvent, QModelIndex, Qt, QTimer
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QComboBox,
    QDialog,
    QInputDialog,
    QMessageBox,
    QPlainTextEdit,
    QWidget,
)
from sqlalchemy import select
from test_accessibility import bridge_name, describe, mnemonics, tab_focusable_controls

from kim_desktop.db.models import Case, FollowUp, Goal, JournalEntry, Person, StructuralFinding, UserAccount
from kim_desktop.i18n import current_language, set_language
from kim_desktop.services import cases, journal
from kim_desktop.ui.case_page import JOURNAL_PAGE, ClosureDialog

TODAY = date.today()
TAB_NAMES = ("Verlauf", "Assessment", "Hilfeplan", "Wiedervorlagen", "Phasenverlauf")


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


def replace_text(qtbot, widget, text: str) -> None:
    widget.setFocus()
    widget.selectAll()
    qtbot.keyClick(widget, Qt.Key.Key_Delete)
    type_text(qtbot, widget, text)


def button(root: QWidget, name: str) -> QAbstractButton:
    """The button with accessible name (or text without '&') ``name`` under ``root``."""
    found = [
        b
        for b in root.findChildren(QAbstractButton)
        if b.accessibleName() == name or b.text().replace("&", "") == name
    ]
    assert len(found) == 1, (
        name,
        [(b.text(), b.accessibleName()) for b in root.findChildren(QAbstractButton)],
    )
    return found[0]


def choose(combo: QComboBox, data) -> None:
    index = combo.findData(data)
    assert index >= 0, (data, [combo.itemData(i) for i in range(combo.count())])
    combo.setCurrentIndex(index)


def on_popup(qtbot, handler, *, timeout_ms: int = 5000) -> dict:
    """Call ``handler(menu)`` once a popup (``QMenu.exec``) is open."""
    record = {"menu": None, "actions": None, "error": None}
    waited = {"ms": 0}

    def poll() -> None:
        menu = QApplication.activePopupWidget()
        if menu is None:
            waited["ms"] += 20
            if waited["ms"] < timeout_ms:
                QTimer.singleShot(20, poll)
            return
        record["menu"] = menu
        record["actions"] = [a.text() for a in menu.actions()]
        try:
            handler(menu)
        except Exception as exc:  # noqa: BLE001
            record["error"] = exc
            menu.close()

    QTimer.singleShot(0, poll)
    return record


def screenshot(qtbot, widget, path) -> None:
    qtbot.wait(100)
    assert widget.grab().save(str(path)), path


def person_id_by_name(ctx, family: str) -> str:
    with ctx.read() as session:
        return session.scalar(
            select(Person.id).where(Person.family_name == family, Person.deleted_at.is_(None))
        )


def make_user(ctx, username: str, display_name: str) -> str:
    with ctx.write() as session:
        user = UserAccount(username=username, display_name=display_name, active=True)
        session.add(user)
        session.flush()
        return user.id


def new_case(
    ctx, family: str = "Müller", *, consent: bool = False, phase: str = "intake", manager=None
) -> str:
    person_id = person_id_by_name(ctx, family)
    opened = TODAY - timedelta(days=20)
    case_id = cases.open_case(
        ctx, person_id, opened_on=opened, access_channel="jobcenter", case_manager_id=manager,
        consent_on=opened if consent or phase != "intake" else None,
    ).id  # fmt: skip
    order = ("assessment", "planning", "implementation", "monitoring")
    for step in order[: order.index(phase) + 1] if phase in order else ():
        if step == "implementation":
            journal.add_goal(ctx, case_id, "Deutschkurs B1 abschließen")
        cases.change_phase(ctx, case_id, step)
    return case_id


def open_case_page(qtbot, window, case_id: str):
    window.open_case(case_id)
    qtbot.waitUntil(lambda: window.case_page is not None and window.stack.currentWidget() is window.case_page)
    return window.case_page


def journal_texts(page) -> list[str]:
    model = page.journal_model
    return [model.index(r, 3).data() for r in range(model.rowCount())]


# --- opening --------------------------------------------------------------------------------------------


def test_title_shows_file_number_and_name(qtbot, window, ui_ctx, screenshot_dir):
    case_id = new_case(ui_ctx)
    page = open_case_page(qtbot, window, case_id)
    file_number = cases.get_case(ui_ctx, case_id).file_number
    assert file_number.startswith(f"KIM-{TODAY.year}-")
    assert page.title.text() == f"{file_number} · Müller, Hans"
    assert page.title.textFormat() == Qt.TextFormat.PlainText
    assert "[ Klärung ]" in page.phase_bar.text()
    assert [page.tabs.tabText(i) for i in range(page.tabs.count())] == [
        "Verlauf", "Assessment", "Hilfeplan", "Wiedervorlagen", "Phasenverlauf", "Termine", "Vermittlungen"]
    assert [page.tabs.tabText(i) for i in range(5)] == list(TAB_NAMES)
    assert page.next_button.isVisible() and page.next_button.text() == "&Weiter zu: Assessment"
    assert not page.reopen_button.isVisible()
    # opened by the intake service: the history shows the opening
    assert page.history_list.count() == 1 and "neu → Klärung" in page.history_list.item(0).text()


def test_case_page_standalone_set_context_and_load(qtbot, ui_ctx):
    """The page also works without the main window (set_context + load), as the docs promise."""
    from kim_desktop.ui.case_page import CasePage

    case_id = new_case(ui_ctx, "Zyska")
    page = CasePage()
    qtbot.addWidget(page)
    page.set_context(ui_ctx)
    page.load(case_id)
    page.show()
    assert page.title.text().endswith(" · Zyska, Zoë")
    assert page.entry_type.count() == 9 and page.entry_type.currentData() == "persoenlich"
    assert page.journal_count.text() == "0 Einträge"


# --- journal --------------------------------------------------------------------------------------------


def test_add_journal_entry_through_the_form(qtbot, window, ui_ctx, screenshot_dir):
    case_id = new_case(ui_ctx, consent=True)
    page = open_case_page(qtbot, window, case_id)
    assert page.journal_count.text() == "0 Einträge"
    assert page.entry_date.text() == german(TODAY)

    choose(page.entry_type, "telefon")
    page.entry_duration.setFocus()
    page.entry_duration.selectAll()
    qtbot.keyClicks(page.entry_duration, "45")
    assert page.entry_duration.value() == 45
    page.entry_confidential.setFocus()
    qtbot.keyClick(page.entry_confidential, Qt.Key.Key_Space)
    assert page.entry_confidential.isChecked()
    type_text(qtbot, page.entry_text, "Telefonat wegen Sprachkurs; Anmeldung für Kurs läuft.")
    qtbot.mouseClick(button(page, "Verlaufseintrag speichern"), Qt.MouseButton.LeftButton)

    assert page.entry_error.text() == ""
    assert page.status.text() == "Eintrag gespeichert."
    assert page.journal_count.text() == "1 Eintrag"
    model = page.journal_model
    assert model.rowCount() == 1
    row = [model.index(0, c).data() for c in range(5)]
    assert row == [
        german(TODAY),
        "Telefonat",
        "45 Min.",
        "Telefonat wegen Sprachkurs; Anmeldung für Kurs läuft.",
        "vertraulich",
    ]
    # the form is emptied for the next entry
    assert page.entry_text.toPlainText() == "" and not page.entry_confidential.isChecked()
    assert page.entry_duration.value() == 0
    with ui_ctx.read() as session:
        stored = session.scalars(select(JournalEntry).where(JournalEntry.case_id == case_id)).all()
    assert len(stored) == 1
    assert (stored[0].contact_type, stored[0].duration_min, stored[0].confidential) == ("telefon", 45, True)

    # a second entry: not confidential, default Kontaktart
    choose(page.entry_type, "persoenlich")
    type_text(qtbot, page.entry_text, "Gespräch im Büro über Wohnungssuche")
    qtbot.mouseClick(button(page, "Verlaufseintrag speichern"), Qt.MouseButton.LeftButton)
    assert page.journal_count.text() == "2 Einträge"
    assert set(journal_texts(page)) == {
        "Gespräch im Büro über Wohnungssuche",
        "Telefonat wegen Sprachkurs; Anmeldung für Kurs läuft.",
    }


def test_empty_entry_shows_inline_error_and_saves_nothing(qtbot, window, ui_ctx):
    case_id = new_case(ui_ctx)
    page = open_case_page(qtbot, window, case_id)
    type_text(qtbot, page.entry_text, "   ")
    qtbot.mouseClick(button(page, "Verlaufseintrag speichern"), Qt.MouseButton.LeftButton)
    assert page.entry_error.text() == "Bitte schreiben Sie kurz, worum es ging."
    assert page.entry_error.isVisible()
    assert page.journal_count.text() == "0 Einträge" and page.journal_model.rowCount() == 0
    with ui_ctx.read() as session:
        assert journal.journal_count(session, case_id) == 0

    # a future date is refused inline as well
    replace_text(qtbot, page.entry_date, german(TODAY + timedelta(days=3)))
    type_text(qtbot, page.entry_text, "Termin")
    qtbot.mouseClick(button(page, "Verlaufseintrag speichern"), Qt.MouseButton.LeftButton)
    assert page.entry_error.text(), "a date in the future gets a message"
    with ui_ctx.read() as session:
        assert journal.journal_count(session, case_id) == 0

    # fixing it clears the message
    replace_text(qtbot, page.entry_date, german(TODAY))
    qtbot.mouseClick(button(page, "Verlaufseintrag speichern"), Qt.MouseButton.LeftButton)
    assert page.entry_error.text() == ""
    assert page.journal_count.text() == "1 Eintrag"


def test_delete_entry_and_undo_with_ctrl_z(qtbot, window, ui_ctx):
    case_id = new_case(ui_ctx)
    journal.add_journal_entry(ui_ctx, case_id, text="Erstgespräch", entry_date=TODAY - timedelta(days=2))
    journal.add_journal_entry(ui_ctx, case_id, text="Rückruf beim Jobcenter", entry_date=TODAY)
    page = open_case_page(qtbot, window, case_id)
    assert journal_texts(page) == ["Rückruf beim Jobcenter", "Erstgespräch"]  # newest first

    delete = button(page, "Ausgewählten Verlaufseintrag löschen")
    qtbot.mouseClick(delete, Qt.MouseButton.LeftButton)
    assert page.status.text() == "Bitte zuerst einen Eintrag auswählen."
    assert page.journal_count.text() == "2 Einträge"

    view = page.journal_view
    view.setFocus()
    view.selectRow(0)
    qtbot.mouseClick(delete, Qt.MouseButton.LeftButton)
    assert journal_texts(page) == ["Erstgespräch"]
    assert page.journal_count.text() == "1 Eintrag"
    assert page.status.text() == "Eintrag gelöscht. Rückgängig mit Strg+Z."
    assert page.undo_button.isVisible()

    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert journal_texts(page) == ["Rückruf beim Jobcenter", "Erstgespräch"]
    assert page.journal_count.text() == "2 Einträge"
    assert page.status.text() == "Eintrag wiederhergestellt."
    assert not page.undo_button.isVisible()
    with ui_ctx.read() as session:
        assert journal.journal_count(session, case_id) == 2

    # a second Strg+Z has nothing left to undo
    qtbot.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert page.journal_count.text() == "2 Einträge"

    # the "Rückgängig" button does the same as Strg+Z
    view.selectRow(1)
    qtbot.mouseClick(delete, Qt.MouseButton.LeftButton)
    assert journal_texts(page) == ["Rückruf beim Jobcenter"]
    qtbot.mouseClick(page.undo_button, Qt.MouseButton.LeftButton)
    assert journal_texts(page) == ["Rückruf beim Jobcenter", "Erstgespräch"]


# --- phases ---------------------------------------------------------------------------------------------


def test_advance_without_consent_warns_and_phase_stays(qtbot, window, ui_ctx, ui):
    case_id = new_case(ui_ctx, consent=False)
    page = open_case_page(qtbot, window, case_id)
    record = ui.on_modal(qtbot, lambda dialog: dialog.button(QMessageBox.StandardButton.Ok).click())
    qtbot.mouseClick(page.next_button, Qt.MouseButton.LeftButton)
    assert record["error"] is None and isinstance(record["dialog"], QMessageBox)
    assert record["title"] == "Fallakte"
    assert record["text"] == "Vor dem Assessment muss die Einwilligung in das Fallmanagement erfasst sein."
    assert page.case.phase == "intake"
    assert "[ Klärung ]" in page.phase_bar.text()
    assert cases.get_case(ui_ctx, case_id).phase == "intake"
    assert page.history_list.count() == 1


def test_advance_with_consent_and_go_back_via_phase_menu(qtbot, window, ui_ctx, screenshot_dir):
    case_id = new_case(ui_ctx, consent=True)
    page = open_case_page(qtbot, window, case_id)
    page.next_button.setFocus()
    qtbot.keyClick(page.next_button, Qt.Key.Key_Space)  # keyboard, like a user tabbing to it
    assert page.case.phase == "assessment"
    assert "[ Assessment ]" in page.phase_bar.text() and "[ Klärung ]" not in page.phase_bar.text()
    assert page.phase_bar.accessibleDescription() == "Aktuelle Phase: Assessment"
    assert page.status.text() == "Phase geändert: Assessment"
    assert page.next_button.text() == "&Weiter zu: Hilfeplanung"
    assert page.history_list.count() == 2
    assert page.history_list.item(1).text() == f"{german(TODAY)}: Klärung → Assessment"

    # the phase menu: back to Klärung, with the note "zurückgesetzt"
    def back_to_intake(menu) -> None:
        target = next(a for a in menu.actions() if a.text() == "Zurück zu: Klärung")
        menu.setActiveAction(target)
        qtbot.keyClick(menu, Qt.Key.Key_Return)

    record = on_popup(qtbot, back_to_intake)
    qtbot.mouseClick(page.phase_button, Qt.MouseButton.LeftButton)
    assert record["error"] is None, record["error"]
    assert record["actions"] == ["Zurück zu: Klärung", "Weiter zu: Hilfeplanung"]
    assert page.case.phase == "intake"
    assert "[ Klärung ]" in page.phase_bar.text()
    assert page.history_list.item(2).text() == f"{german(TODAY)}: Assessment → Klärung (zurückgesetzt)"
    assert cases.get_case(ui_ctx, case_id).phase == "intake"

    # the same through the method the menu calls (forward again, then back with a note)
    assert page._phase_change("assessment")
    assert page._phase_change("intake", note="Neubewertung")
    assert "(Neubewertung)" in page.history_list.item(4).text()


def test_phase_menu_offers_every_earlier_phase(qtbot, window, ui_ctx):
    case_id = new_case(ui_ctx, phase="monitoring")
    page = open_case_page(qtbot, window, case_id)
    assert not page.next_button.isVisible(), "after Monitoring only closing is left"
    record = on_popup(qtbot, lambda menu: menu.close())
    qtbot.mouseClick(page.phase_button, Qt.MouseButton.LeftButton)
    assert record["actions"] == [
        "Zurück zu: Klärung", "Zurück zu: Assessment", "Zurück zu: Hilfeplanung", "Zurück zu: Umsetzung",
    ]  # fmt: skip
    assert page.case.phase == "monitoring"


# --- Hilfeplan ------------------------------------------------------------------------------------------


def test_goal_and_step_through_the_plan_tab(qtbot, window, ui_ctx, screenshot_dir):
    case_id = new_case(ui_ctx, phase="planning")
    page = open_case_page(qtbot, window, case_id)
    page.tabs.setCurrentIndex(TAB_NAMES.index("Hilfeplan"))
    tree = page.plan_tree
    assert tree.topLevelItemCount() == 0

    # a goal needs a title
    qtbot.mouseClick(button(page, "Ziel hinzufügen"), Qt.MouseButton.LeftButton)
    assert page.plan_error.text() == "Ein Ziel braucht einen Text."
    assert tree.topLevelItemCount() == 0

    review = TODAY + timedelta(days=60)
    type_text(qtbot, page.goal_title, "Deutschkurs B1 abschließen")
    choose(page.goal_area, page.goal_area.itemData(1))
    type_text(qtbot, page.goal_review, german(review))
    qtbot.mouseClick(button(page, "Ziel hinzufügen"), Qt.MouseButton.LeftButton)
    assert page.plan_error.text() == ""
    assert page.status.text() == "Ziel hinzugefügt."
    assert tree.topLevelItemCount() == 1
    goal = tree.topLevelItem(0)
    assert [goal.text(c) for c in range(4)] == ["Deutschkurs B1 abschließen", "", german(review), "offen"]
    assert page.goal_title.text() == ""

    # a step without a chosen goal is refused
    tree.setCurrentItem(None)
    type_text(qtbot, page.step_text, "Anmeldung bei der VHS")
    qtbot.mouseClick(button(page, "Schritt hinzufügen"), Qt.MouseButton.LeftButton)
    assert page.plan_error.text() == "Bitte zuerst das Ziel auswählen, zu dem der Schritt gehört."

    tree.setCurrentItem(tree.topLevelItem(0))
    choose(page.step_who, "client")
    due = TODAY + timedelta(days=14)
    type_text(qtbot, page.step_due, german(due))
    qtbot.mouseClick(button(page, "Schritt hinzufügen"), Qt.MouseButton.LeftButton)
    assert page.plan_error.text() == ""
    goal = tree.topLevelItem(0)
    assert goal.childCount() == 1
    step = goal.child(0)
    assert [step.text(c) for c in range(4)] == ["Anmeldung bei der VHS", "Klient*in", german(due), "offen"]

    # a second step while a step is selected goes to the same goal
    tree.setCurrentItem(step)
    type_text(qtbot, page.step_text, "Kinderbetreuung klären")
    choose(page.step_who, "case_manager")
    qtbot.mouseClick(button(page, "Schritt hinzufügen"), Qt.MouseButton.LeftButton)
    goal = tree.topLevelItem(0)
    assert goal.childCount() == 2 and goal.child(1).text(1) == "Case Manager/in"

    # "als erledigt markieren" needs a step, not a goal
    tree.setCurrentItem(goal)
    qtbot.mouseClick(button(page, "Gewählten Schritt als erledigt markieren"), Qt.MouseButton.LeftButton)
    assert page.plan_error.text() == "Bitte zuerst einen Schritt auswählen."
    tree.setCurrentItem(goal.child(0))
    qtbot.mouseClick(button(page, "Gewählten Schritt als erledigt markieren"), Qt.MouseButton.LeftButton)
    assert page.status.text() == "Schritt erledigt."
    goal = tree.topLevelItem(0)
    assert goal.child(0).text(3) == f"erledigt am {german(TODAY)}"
    assert goal.child(1).text(3) == "offen"

    # the goal lets the case go on to Umsetzung
    qtbot.mouseClick(page.next_button, Qt.MouseButton.LeftButton)
    assert page.case.phase == "implementation"
    screenshot(qtbot, window, screenshot_dir / "ui_case_plan.png")


# --- closure and reopening ------------------------------------------------------------------------------


def test_closure_dialog_closes_and_reopen_returns(qtbot, window, ui_ctx, screenshot_dir, ui):
    case_id = new_case(ui_ctx, phase="implementation")  # with one goal "Deutschkurs B1 abschließen"
    journal.add_goal(ui_ctx, case_id, "Wohnung finden")
    page = open_case_page(qtbot, window, case_id)
    seen = {}

    def second_try(dialog) -> None:
        seen["error"] = dialog.error.text()
        choose(dialog.reason, "ziele_erreicht")
        ratings = list(dialog.ratings.values())
        choose(ratings[0], "achieved")
        choose(ratings[1], "partly")
        dialog.note.setPlainText("Ziele gemeinsam ausgewertet.")
        dialog.grab().save(str(screenshot_dir / "ui_case_closure_dialog.png"))
        button(dialog, "Fall abschließen").click()

    def first_try(dialog) -> None:
        seen["title"] = dialog.windowTitle()
        seen["goals"] = len(dialog.ratings)
        seen["names"] = [c.accessibleName() for c in dialog.ratings.values()]
        seen["date"] = dialog.on.text()
        seen["second"] = ui.when_modal(
            qtbot, lambda d: isinstance(d, ClosureDialog) and d.error.text(), second_try
        )
        button(dialog, "Fall abschließen").click()  # without a reason

    record = ui.when_modal(qtbot, lambda d: isinstance(d, ClosureDialog), first_try)
    qtbot.mouseClick(page.close_button, Qt.MouseButton.LeftButton)
    assert record["error"] is None, record["error"]
    assert seen["second"]["error"] is None, seen["second"]["error"]
    assert seen["title"] == "Fall abschließen" and seen["goals"] == 2
    assert seen["names"] == ["Bewertung: Deutschkurs B1 abschließen", "Bewertung: Wohnung finden"]
    assert seen["date"] == german(TODAY)
    assert "Bitte wählen Sie einen Abschlussgrund." in seen["error"]

    assert page.case.phase == "closed"
    assert page.status.text() == "Der Fall ist abgeschlossen."
    assert "[ Abschluss ]" in page.phase_bar.text()
    assert f"abgeschlossen am {german(TODAY)}: Ziele erreicht" in page.phase_bar.text()
    assert page.reopen_button.isVisible()
    assert not page.close_button.isVisible() and not page.next_button.isVisible()
    assert not page.phase_button.isVisible() and not page.handover_button.isVisible()
    with ui_ctx.read() as session:
        stored = session.get(Case, case_id)
        assert (stored.closure_reason, stored.goal_achievement) == ("ziele_erreicht", "partial")
        assert sorted(session.scalars(select(Goal.status).where(Goal.case_id == case_id))) == [
            "achieved",
            "partly",
        ]
    page.tabs.setCurrentIndex(TAB_NAMES.index("Phasenverlauf"))
    screenshot(qtbot, window, screenshot_dir / "ui_case_closed.png")
    assert page.history_list.item(page.history_list.count() - 1).text() == (
        f"{german(TODAY)}: Umsetzung → Abschluss (Ziele gemeinsam ausgewertet.)"
    )

    qtbot.mouseClick(page.reopen_button, Qt.MouseButton.LeftButton)
    assert page.case.phase == "implementation", "reopening returns to the phase before closure"
    assert page.status.text() == "Der Fall ist wieder geöffnet."
    assert "[ Umsetzung ]" in page.phase_bar.text() and "abgeschlossen am" not in page.phase_bar.text()
    assert not page.reopen_button.isVisible() and page.close_button.isVisible()
    assert (
        page.history_list.item(page.history_list.count() - 1)
        .text()
        .endswith("Abschluss → Umsetzung (Fall wieder geöffnet)")
    )
    with ui_ctx.read() as session:
        assert session.get(Case, case_id).closure_reason is None


def test_closure_dialog_cancel_changes_nothing(qtbot, window, ui_ctx, ui):
    case_id = new_case(ui_ctx, consent=True)
    page = open_case_page(qtbot, window, case_id)
    record = ui.on_modal(qtbot, lambda dialog: button(dialog, "Abbrechen").click())
    qtbot.mouseClick(page.close_button, Qt.MouseButton.LeftButton)
    assert isinstance(record["dialog"], ClosureDialog) and record["error"] is None
    assert page.case.phase == "intake" and not page.reopen_button.isVisible()


# --- Wiedervorlagen -------------------------------------------------------------------------------------


def test_follow_up_added_and_completed(qtbot, window, ui_ctx, screenshot_dir):
    case_id = new_case(ui_ctx, consent=True)
    page = open_case_page(qtbot, window, case_id)
    page.tabs.setCurrentIndex(TAB_NAMES.index("Wiedervorlagen"))
    items = page.follow_up_list
    assert [items.item(i).text() for i in range(items.count())] == ["Keine Wiedervorlagen"]

    add = button(page, "Wiedervorlage anlegen")
    type_text(qtbot, page.follow_up_title, "Rückruf Jobcenter wegen Bescheid")
    qtbot.mouseClick(add, Qt.MouseButton.LeftButton)
    assert page.follow_up_error.text() == "Bitte geben Sie an, wann die Wiedervorlage fällig ist."
    assert items.item(0).text() == "Keine Wiedervorlagen"

    due = TODAY + timedelta(days=7)
    type_text(qtbot, page.follow_up_due, german(due))
    qtbot.mouseClick(add, Qt.MouseButton.LeftButton)
    assert page.follow_up_error.text() == ""
    assert page.status.text() == "Wiedervorlage angelegt."
    assert [items.item(i).text() for i in range(items.count())] == [
        f"{german(due)} – Rückruf Jobcenter wegen Bescheid (offen)"
    ]
    assert page.follow_up_title.text() == "" and page.follow_up_due.text() == ""
    screenshot(qtbot, window, screenshot_dir / "ui_case_follow_ups.png")

    done = button(page, "Gewählte Wiedervorlage abhaken")
    items.setCurrentItem(None)
    qtbot.mouseClick(done, Qt.MouseButton.LeftButton)
    assert page.follow_up_error.text() == "Bitte zuerst eine offene Wiedervorlage auswählen."

    items.setCurrentRow(0)
    qtbot.mouseClick(done, Qt.MouseButton.LeftButton)
    assert page.status.text() == "Wiedervorlage erledigt."
    assert items.item(0).text() == f"{german(due)} – Rückruf Jobcenter wegen Bescheid (erledigt)"
    with ui_ctx.read() as session:
        row = session.scalar(select(FollowUp).where(FollowUp.case_id == case_id))
        assert row.done_at is not None
    # a done one cannot be completed twice
    items.setCurrentRow(0)
    qtbot.mouseClick(done, Qt.MouseButton.LeftButton)
    assert page.follow_up_error.text() == "Bitte zuerst eine offene Wiedervorlage auswählen."


# --- Systemlücke ----------------------------------------------------------------------------------------


def test_report_structural_finding(qtbot, window, ui_ctx, screenshot_dir, ui):
    case_id = new_case(ui_ctx, consent=True)
    page = open_case_page(qtbot, window, case_id)
    seen = {}

    def fill(dialog) -> None:
        seen["error"] = dialog.findChildren(QPlainTextEdit)[0].accessibleName()
        errors = [w.text() for w in dialog.findChildren(type(page.status)) if w.text().startswith("Bitte")]
        seen["message"] = errors
        choose(dialog.findChildren(QComboBox)[0], "wohnraum")
        text = dialog.findChildren(QPlainTextEdit)[0]
        type_text(qtbot, text, "Kaum bezahlbarer Wohnraum für große Familien im Kreis.")
        dialog.grab().save(str(screenshot_dir / "ui_case_finding_dialog.png"))
        button(dialog, "Melden").click()

    def empty_first(dialog) -> None:
        seen["title"] = dialog.windowTitle()
        seen["categories"] = dialog.findChildren(QComboBox)[0].count()
        seen["second"] = ui.when_modal(
            qtbot, lambda d: d is dialog and any(w.text().startswith("Bitte") for w in d.findChildren(type(page.status))),
            fill,
        )  # fmt: skip
        button(dialog, "Melden").click()  # no description yet

    record = ui.when_modal(qtbot, lambda d: isinstance(d, QDialog), empty_first)
    qtbot.mouseClick(button(page, "Systemlücke anonym melden"), Qt.MouseButton.LeftButton)
    assert record["error"] is None, record["error"]
    assert seen["second"]["error"] is None, seen["second"]["error"]
    assert seen["title"] == "Systemlücke melden" and seen["categories"] == 8
    assert seen["message"] == ["Bitte beschreiben Sie die Systemlücke kurz (ohne Namen)."]
    assert page.status.text() == "Systemlücke gemeldet."
    with ui_ctx.read() as session:
        findings = session.scalars(select(StructuralFinding)).all()
    assert len(findings) == 1
    finding = findings[0]
    assert (finding.category, finding.case_id, finding.observed_on) == ("wohnraum", case_id, TODAY)
    assert finding.description == "Kaum bezahlbarer Wohnraum für große Familien im Kreis."
    # a finding is anonymous: nothing is written into the journal of the case
    assert page.journal_count.text() == "0 Einträge"


# --- Fallübergabe ---------------------------------------------------------------------------------------


def test_handover_writes_journal_note(qtbot, window, ui_ctx, ui):
    maria = make_user(ui_ctx, "mmueller", "Maria Müller")
    jonas = make_user(ui_ctx, "jweber", "Jonas Weber")
    case_id = new_case(ui_ctx, consent=True, manager=maria)
    page = open_case_page(qtbot, window, case_id)
    seen = {}

    def pick(dialog) -> None:
        seen["items"] = dialog.comboBoxItems()
        seen["label"] = dialog.labelText()
        dialog.setTextValue("Jonas Weber")
        dialog.accept()

    record = ui.when_modal(qtbot, lambda d: isinstance(d, QInputDialog), pick)
    qtbot.mouseClick(page.handover_button, Qt.MouseButton.LeftButton)
    assert record["error"] is None, record["error"]
    assert record["title"] == "Fallübergabe"
    assert seen["items"] == ["Jonas Weber"], "the current case manager is not offered"
    assert seen["label"] == "Übergeben an:"
    assert page.status.text() == "Der Fall wurde übergeben."
    assert page.case.case_manager_id == jonas
    assert journal_texts(page) == ["Fallübergabe von Maria Müller an Jonas Weber."]
    assert page.journal_count.text() == "1 Eintrag"
    with ui_ctx.read() as session:
        assert session.get(Case, case_id).case_manager_id == jonas
        entry = session.scalar(select(JournalEntry).where(JournalEntry.case_id == case_id))
        assert entry.system_generated and entry.contact_type == "notiz"

    # the automatic note cannot be deleted
    page.tabs.setCurrentIndex(0)
    page.journal_view.selectRow(0)
    qtbot.mouseClick(button(page, "Ausgewählten Verlaufseintrag löschen"), Qt.MouseButton.LeftButton)
    assert page.status.text() == "Automatische Einträge (z. B. Fallübergabe) können nicht gelöscht werden."
    assert page.journal_count.text() == "1 Eintrag"


def test_handover_without_other_manager_says_so(qtbot, window, ui_ctx, ui):
    maria = make_user(ui_ctx, "mmueller", "Maria Müller")
    case_id = new_case(ui_ctx, consent=True, manager=maria)
    page = open_case_page(qtbot, window, case_id)
    record = ui.on_modal(qtbot, lambda dialog: dialog.button(QMessageBox.StandardButton.Ok).click())
    qtbot.mouseClick(page.handover_button, Qt.MouseButton.LeftButton)
    assert record["title"] == "Fallübergabe"
    assert record["text"] == "Es gibt keine weitere aktive Case Manager/in, an die übergeben werden kann."
    assert page.case.case_manager_id == maria


# --- a long journal -------------------------------------------------------------------------------------


def test_long_journal_loads_in_pages(qtbot, window, ui_ctx):
    case_id = new_case(ui_ctx, consent=True)
    person_id = person_id_by_name(ui_ctx, "Müller")
    total = 2500
    with ui_ctx.write() as session:
        session.add_all(
            JournalEntry(
                case_id=case_id,
                person_id=person_id,
                entry_date=TODAY - timedelta(days=i // 3),
                contact_type="telefon",
                text=f"Eintrag {i:04d}",
                confidential=False,
            )
            for i in range(total)
        )
    page = open_case_page(qtbot, window, case_id)
    model, view = page.journal_model, page.journal_view
    assert model.total == total
    assert page.journal_count.text() == "2500 Einträge"
    assert model.rowCount() == JOURNAL_PAGE == 200
    assert model.canFetchMore(QModelIndex())

    view.setFocus()
    view.scrollToBottom()  # what scrolling down does: the view asks the model for more at the end
    qtbot.waitUntil(lambda: model.rowCount() >= 2 * JOURNAL_PAGE, timeout=5000)
    assert model.rowCount() == 400

    bar = view.verticalScrollBar()
    for _round in range(30):
        if not model.canFetchMore(QModelIndex()):
            break
        bar.setValue(bar.maximum())
        qtbot.wait(10)
    assert model.rowCount() == total and not model.canFetchMore(QModelIndex())
    texts = journal_texts(page)
    assert len(set(texts)) == total, "no entry twice, none left out"
    dates = [model.entry(r).entry_date for r in range(total)]
    assert dates == sorted(dates, reverse=True), "newest first across pages"
    model.fetchMore(QModelIndex())  # nothing left: a no-op
    assert model.rowCount() == total


# --- accessibility --------------------------------------------------------------------------------------


@pytest.fixture(params=["de", "en"])
def accel_language(request):
    before = current_language()
    set_language(request.param)
    yield request.param
    set_language(before)


@pytest.fixture(params=["de", "en"])
def language(request):
    before = current_language()
    set_language(request.param)
    yield request.param
    set_language(before)


def _window_with_case(qtbot, db_path, ui_ctx, ui):
    """The main window with a Hilfeplanung case (goal, step, journal entry) open on the case page."""
    window = ui.build_window(qtbot, db_path, ui_ctx)
    case_id = new_case(ui_ctx, phase="planning")
    goal_id = journal.add_goal(ui_ctx, case_id, "Deutschkurs B1 abschließen")
    journal.add_step(ui_ctx, goal_id, "Anmeldung bei der VHS")
    journal.add_journal_entry(ui_ctx, case_id, text="Erstgespräch mit Dolmetscherin", duration_min=60)
    return window, open_case_page(qtbot, window, case_id), case_id


def _close(ui_ctx, case_id: str) -> None:
    journal.add_goal(ui_ctx, case_id, "Wohnung finden")
    with ui_ctx.read() as session:
        goals = [g.id for g, _steps in journal.goals(session, case_id)]
    cases.change_phase(
        ui_ctx, case_id, "closed", closure_reason="sonstiges", goal_ratings={gid: "partly" for gid in goals}
    )


def _each_tab(page):
    for index in range(page.tabs.count()):
        page.tabs.setCurrentIndex(index)
        assert page.tabs.currentWidget().isVisible()
        yield index, page.tabs.tabText(index)


def _check_names(page, state: str) -> None:
    for _index, tab in _each_tab(page):
        # a spin box's inner line edit hands its focus (and its name) to the spin box: not a control of its own
        controls = [w for w in tab_focusable_controls(page) if w.focusProxy() is None]
        assert page.back_button in controls and page.next_button.isVisible() == (page.next_button in controls)
        unnamed = [describe(w) for w in controls if not w.accessibleName().strip()]
        assert not unnamed, f"{state}, tab {tab!r}: controls without accessible name: {unnamed}"
        names = [w.accessibleName() for w in controls]
        assert not [n for n in names if "&" in n or n.endswith((":", "*"))], names


def _check_accelerators(window, page, state: str) -> None:
    for _index, tab in _each_tab(page):
        clashes = {k: v for k, v in mnemonics(window).items() if len(v) > 1}
        assert not clashes, f"{state}, tab {tab!r}: Alt+letter used twice: {clashes}"


def test_case_page_controls_have_accessible_names(qtbot, db_path, ui_ctx, ui, screenshot_dir, language):
    window, page, case_id = _window_with_case(qtbot, db_path, ui_ctx, ui)
    try:
        _check_names(page, "open case")
        for index, _tab in _each_tab(page):
            screenshot(qtbot, window, screenshot_dir / f"ui_case_tab{index + 1}_{language}.png")
        _close(ui_ctx, case_id)
        page.load(case_id)
        assert page.reopen_button.isVisible()
        _check_names(page, "closed case")
    finally:
        ui.close_window(window)


def test_case_page_accelerators_unique_per_tab(qtbot, db_path, ui_ctx, ui, accel_language):
    window, page, case_id = _window_with_case(qtbot, db_path, ui_ctx, ui)
    try:
        _check_accelerators(window, page, "open case")
        # the journal tab with the "Rückgängig" button shown
        page.tabs.setCurrentIndex(0)
        page.journal_view.selectRow(0)
        page.delete_entry()
        assert page.undo_button.isVisible()
        _check_accelerators(window, page, "after deleting")
        page.undo_delete()
        _close(ui_ctx, case_id)
        page.load(case_id)
        assert page.reopen_button.isVisible()
        _check_accelerators(window, page, "closed case")
    finally:
        ui.close_window(window)


def test_closure_dialog_is_accessible(qtbot, ui_ctx):
    goals = [("g1", "Deutschkurs B1 abschließen"), ("g2", "Arbeit&Beruf: Anerkennung")]
    dialog = ClosureDialog(None, {"ziele_erreicht": "Ziele erreicht"}, goals)
    qtbot.addWidget(dialog)
    dialog.show()
    # a goal's "&" is shown as typed, not turned into an Alt+B accelerator of its rating label
    from PySide6.QtWidgets import QLabel

    label = next(w for w in dialog.findChildren(QLabel) if w.buddy() is dialog.ratings["g2"])
    assert label.text() == "Arbeit&&Beruf: Anerkennung"
    assert dialog.ratings["g2"].accessibleName() == "Bewertung: Arbeit&Beruf: Anerkennung"
    controls = tab_focusable_controls(dialog)
    assert {dialog.reason, dialog.on, dialog.note, *dialog.ratings.values()} <= set(controls)
    # dialog buttons: the name Qt's bridge derives from the text is fine (as for the message boxes)
    assert not [describe(w) for w in controls if not (w.accessibleName() or bridge_name(w)).strip()]
    clashes = {k: v for k, v in _dialog_mnemonics(dialog).items() if len(v) > 1}
    assert not clashes, clashes


def _dialog_mnemonics(dialog) -> dict[str, list[str]]:
    import re
    from collections import defaultdict

    from PySide6.QtWidgets import QLabel

    found: dict[str, list[str]] = defaultdict(list)
    for widget in dialog.findChildren(QWidget):
        if not widget.isVisible():
            continue
        text = widget.text() if isinstance(widget, QLabel | QAbstractButton) else ""
        if isinstance(widget, QLabel) and widget.buddy() is None:
            continue
        match = re.search(r"&([^&\s])", text.replace("&&", ""))
        if match:
            found[match.group(1).lower()].append(text)
    return found


def test_alt_accelerators_reach_their_fields(qtbot, window, ui_ctx):
    """Alt+letter of a label moves the focus to its field (journal and plan tab)."""
    case_id = new_case(ui_ctx, consent=True)
    page = open_case_page(qtbot, window, case_id)
    targets = {
        0: [(Qt.Key.Key_K, page.entry_type), (Qt.Key.Key_U, page.entry_duration), (Qt.Key.Key_E, page.entry_text),
            (Qt.Key.Key_T, page.entry_date), (Qt.Key.Key_O, page.entry_location)],
        2: [(Qt.Key.Key_E, page.goal_title), (Qt.Key.Key_T, page.step_text), (Qt.Key.Key_V, page.step_who)],
        3: [(Qt.Key.Key_T, page.follow_up_title), (Qt.Key.Key_F, page.follow_up_due)],
    }  # fmt: skip
    for tab, keys in targets.items():
        page.tabs.setCurrentIndex(tab)
        for key, widget in keys:
            page.tabs.setFocus()
            qtbot.keyClick(page.tabs, key, Qt.KeyboardModifier.AltModifier)
            focused = QApplication.focusWidget()
            assert focused is widget or widget.isAncestorOf(focused), (tab, key, describe(focused))


def test_no_message_box_left_open():
    """Guard: none of the tests above left a modal dialog behind."""
    assert QApplication.activeModalWidget() is None
    assert not [w for w in QApplication.topLevelWidgets() if isinstance(w, QDialog) and w.isVisible()]


def test_assessment_columns_fit_their_headers_and_choices(qtbot, window, ui_ctx):
    """The life area, "Handlungsbedarf" and "Priorität" columns are not cut off."""
    case_id = new_case(ui_ctx, phase="assessment")
    page = open_case_page(qtbot, window, case_id)
    page.tabs.setCurrentIndex(TAB_NAMES.index("Assessment"))
    qtbot.wait(50)
    table = page.assessment_table
    header = table.horizontalHeader()
    assert table.rowCount() == 9
    for column in range(table.columnCount()):
        needed = header.sectionSizeFromContents(column).width()
        assert header.sectionSize(column) >= needed, header.model().headerData(
            column, Qt.Orientation.Horizontal
        )
    for column in (1, 2):
        for row in range(table.rowCount()):
            combo = table.cellWidget(row, column)
            assert combo.width() >= combo.minimumSizeHint().width(), (row, column, combo.currentText())
    labels = [table.item(r, 0).text() for r in range(table.rowCount())]
    metrics = table.fontMetrics()
    assert max(metrics.horizontalAdvance(t) for t in labels) <= header.sectionSize(0)


def test_opening_another_case_starts_with_empty_forms(qtbot, window, ui_ctx):
    """Half-typed input of one case never ends up in another person's file (the page is reused)."""
    first = new_case(ui_ctx, "Müller", consent=True)
    second = new_case(ui_ctx, "Zyska", consent=True)
    journal.add_journal_entry(ui_ctx, first, text="Erstgespräch")
    page = open_case_page(qtbot, window, first)
    type_text(qtbot, page.entry_text, "Vertrauliche Angaben zu Herrn Müller")
    page.entry_confidential.setChecked(True)
    page.entry_duration.setValue(30)
    page.goal_title.setText("Ziel für Herrn Müller")
    page.step_text.setText("Schritt für Herrn Müller")
    page.follow_up_title.setText("Rückruf Herr Müller")
    page.journal_view.selectRow(0)
    page.delete_entry()
    page.entry_text.setPlainText("")
    qtbot.mouseClick(button(page, "Verlaufseintrag speichern"), Qt.MouseButton.LeftButton)  # an inline error
    assert page.entry_error.text() and page.undo_button.isVisible()
    type_text(qtbot, page.entry_text, "Vertrauliche Angaben zu Herrn Müller")

    window.go_back()
    page = open_case_page(qtbot, window, second)
    assert page.title.text().endswith("Zyska, Zoë")
    assert page.entry_text.toPlainText() == ""
    assert not page.entry_confidential.isChecked() and page.entry_duration.value() == 0
    assert page.entry_date.text() == german(TODAY)
    assert page.goal_title.text() == page.step_text.text() == page.follow_up_title.text() == ""
    assert page.entry_error.text() == ""
    assert not page.undo_button.isVisible()
    # Strg+Z here does not bring back the entry deleted in the other case
    page.journal_view.setFocus()
    qtbot.keyClick(page.journal_view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    with ui_ctx.read() as session:
        assert journal.journal_count(session, first) == 0
    # saving in this case stores nothing of the other one
    qtbot.mouseClick(button(page, "Verlaufseintrag speichern"), Qt.MouseButton.LeftButton)
    with ui_ctx.read() as session:
        assert journal.journal_count(session, second) == 0

    # reloading the same case (after a phase change) keeps what is being typed
    type_text(qtbot, page.entry_text, "Notiz in Arbeit")
    qtbot.mouseClick(page.next_button, Qt.MouseButton.LeftButton)
    assert page.case.phase == "assessment"
    assert page.entry_text.toPlainText() == "Notiz in Arbeit"

"""The start page "Mein Arbeitsplatz", the case list "Fälle" (with the life area and overdue filters) and the
dialog "Fall eröffnen (Klärung)" (with its household section).

Real widgets (offscreen), real services, a fresh SQLite file per test (the ``ctx`` fixture).
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, timedelta

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)
from sqlalchemy import select

from kim_desktop.db.models import Case, Consent, JournalEntry, PersonRelation, Setting, UserAccount
from kim_desktop.services import cases, followups, households, journal, persons
from kim_desktop.ui.caseload_page import ID_ROLE, CaseloadPage
from kim_desktop.ui.intake_dialog import DEFAULT_ELIGIBILITY_CRITERIA, IntakeDialog
from kim_desktop.ui.workplace_page import WorkplacePage

TODAY = date.today()
CONTROLS = (QLineEdit, QAbstractButton, QAbstractItemView, QComboBox, QPlainTextEdit, QTextEdit, QAbstractSpinBox)


# --- data -----------------------------------------------------------------------------------------------


def german(d: date) -> str:
    return d.strftime("%d.%m.%Y")


def make_person(ctx, family: str, given: str, **values) -> str:
    values = {"family_name": family, "given_names": given, "birth_date": "1985", **values}
    return persons.create_person(ctx, values, allow_duplicate=True).id


def make_user(ctx, username: str, display_name: str, *, active: bool = True) -> str:
    with ctx.write() as session:
        user = UserAccount(username=username, display_name=display_name, active=active)
        session.add(user)
        session.flush()
        return user.id


def open_case(ctx, person_id: str, *, phase: str = "intake", manager: str | None = None, days_ago: int = 30) -> str:
    opened = TODAY - timedelta(days=days_ago)
    case_id = cases.open_case(ctx, person_id, opened_on=opened, case_manager_id=manager, access_channel="jobcenter").id
    if phase != "intake":
        cases.record_consent(ctx, person_id, given_on=opened, case_id=case_id)
    order = ("assessment", "planning", "implementation", "monitoring")
    for step in order[: order.index(phase) + 1] if phase in order else ():
        if step == "implementation":
            journal.add_goal(ctx, case_id, title="Deutschkurs B1 abschließen")
        cases.change_phase(ctx, case_id, step)
    return case_id


@pytest.fixture
def office(ctx):
    """Two case managers, five clients in different phases, a due and an overdue follow-up."""
    maria = make_user(ctx, "mmueller", "Maria Müller")
    jonas = make_user(ctx, "jweber", "Jonas Weber")
    make_user(ctx, "altlast", "Ehemalige Kollegin", active=False)
    ids = {}
    ids["demir"] = make_person(
        ctx, "Demir", "Elif", residence_status="duldung", residence_valid_until=german(TODAY + timedelta(days=14))
    )
    ids["nowak"] = make_person(ctx, "Nowak", "Jana")
    ids["oeztuerk"] = make_person(ctx, "Öztürk", "Omar")
    ids["petrovic"] = make_person(ctx, "Petrović", "Ivan")
    ids["haddad"] = make_person(ctx, "Haddad", "Farid")
    case = {
        "demir": open_case(ctx, ids["demir"], days_ago=10),
        "nowak": open_case(ctx, ids["nowak"], phase="assessment", days_ago=60),
        "oeztuerk": open_case(ctx, ids["oeztuerk"], phase="planning", manager=maria, days_ago=90),
        "petrovic": open_case(ctx, ids["petrovic"], phase="implementation", manager=jonas, days_ago=200),
        "haddad": open_case(ctx, ids["haddad"], phase="assessment", manager=maria, days_ago=5),
    }
    overdue = followups.add_follow_up(
        ctx, "Rückruf Jobcenter wegen Bescheid", TODAY - timedelta(days=3), case_id=case["nowak"]
    )
    soon = followups.add_follow_up(ctx, "Anerkennung: Unterlagen nachreichen", TODAY + timedelta(days=5), case_id=case["oeztuerk"])
    loose = followups.add_follow_up(ctx, "Team: Fallbesprechung vorbereiten", TODAY)
    return {"persons": ids, "cases": case, "users": {"maria": maria, "jonas": jonas},
            "follow_ups": {"overdue": overdue, "soon": soon, "loose": loose}}  # fmt: skip


def show(qtbot, widget: QWidget, size=(1000, 640)) -> QWidget:
    qtbot.addWidget(widget)
    widget.resize(*size)
    widget.show()
    qtbot.waitExposed(widget)
    widget.activateWindow()
    qtbot.waitUntil(widget.isActiveWindow, timeout=2000)
    return widget


@pytest.fixture
def no_message_boxes(monkeypatch):
    """A modal message box would block the test: record what would have been shown instead."""
    shown = []
    for name in ("warning", "information", "critical"):
        monkeypatch.setattr(QMessageBox, name, staticmethod(lambda *args, _n=name: shown.append((_n, args[2]))))
    return shown


def rows(model) -> list[list[str]]:
    return [
        [model.index(r, c).data() for c in range(model.columnCount())] for r in range(model.rowCount())
    ]


# --- Mein Arbeitsplatz ----------------------------------------------------------------------------------


def row_of(page: WorkplacePage, kind: str, text: str = "") -> int:
    for r in range(page.model.rowCount()):
        reminder = page.model.reminder(r)
        if reminder.kind == kind and text in reminder.title:
            return r
    raise AssertionError(f"no {kind} reminder {text!r} in {rows(page.model)}")


def test_workplace_shows_overdue_follow_up_and_expiring_residence(qtbot, ctx, office):
    page = show(qtbot, WorkplacePage())
    page.set_context(ctx)
    model = page.model

    r = row_of(page, "follow_up", "Rückruf Jobcenter")
    due, kind, title = (model.index(r, c).data() for c in range(3))
    assert due == f"{german(TODAY - timedelta(days=3))} – überfällig"
    assert kind == "Wiedervorlage" and title == "Rückruf Jobcenter wegen Bescheid – Nowak, Jana"
    assert model.index(r, 0).data(Qt.ItemDataRole.FontRole).bold()
    assert "überfällig" in model.index(r, 0).data(Qt.ItemDataRole.AccessibleTextRole)
    assert r == 0, "overdue items come first"

    r = row_of(page, "residence")
    assert model.index(r, 0).data() == german(TODAY + timedelta(days=14))
    assert model.index(r, 1).data() == "Aufenthalt läuft ab"
    assert "Demir, Elif" in model.index(r, 2).data()
    assert model.index(r, 0).data(Qt.ItemDataRole.FontRole) is None, "not overdue: not bold"
    assert model.index(row_of(page, "follow_up", "Team:"), 0).data().endswith("– heute")
    assert page.count_label.text() == "4 Einträge, davon 1 überfällig"

    # Enter on the residence reminder opens that case
    page.table.setFocus()
    page.table.selectRow(r)
    with qtbot.waitSignal(page.case_requested, timeout=2000) as blocker:
        qtbot.keyClick(page.table, Qt.Key.Key_Return)
    assert blocker.args == [office["cases"]["demir"]]
    # the follow-up without a case can neither be opened nor does it emit anything
    page.table.selectRow(row_of(page, "follow_up", "Team:"))
    assert not page.open_button.isEnabled()
    with qtbot.assertNotEmitted(page.case_requested), qtbot.assertNotEmitted(page.person_requested):
        qtbot.keyClick(page.table, Qt.Key.Key_Return)


def test_workplace_reminder_without_case_opens_the_person(qtbot, ctx, office, monkeypatch):
    from kim_desktop.services.followups import Reminder, Workplace

    person_id = office["persons"]["haddad"]
    fake = Workplace([Reminder("consent", TODAY, "Einwilligung läuft ab: Haddad, Farid", None, person_id)], {})
    monkeypatch.setattr(followups, "workplace", lambda session, **kw: fake)
    page = show(qtbot, WorkplacePage())
    page.set_context(ctx)
    assert page.open_button.text() == "Person ö&ffnen"
    with qtbot.waitSignal(page.person_requested, timeout=2000) as blocker:
        page.open_button.click()
    assert blocker.args == [person_id]


def test_completing_a_follow_up_removes_it(qtbot, ctx, office, no_message_boxes):
    page = show(qtbot, WorkplacePage())
    page.set_context(ctx)
    page.table.selectRow(row_of(page, "residence"))
    assert not page.complete_button.isEnabled(), "only Wiedervorlagen can be ticked off"
    page.table.selectRow(row_of(page, "follow_up", "Rückruf Jobcenter"))
    assert page.complete_button.isEnabled()
    before = page.model.rowCount()
    page.complete_button.click()
    assert page.model.rowCount() == before - 1
    assert not [r for r in range(page.model.rowCount()) if "Rückruf" in page.model.reminder(r).title]
    assert page.count_label.text() == "3 Einträge"
    with ctx.read() as session:
        open_titles = [r.title for r in followups.reminders(session) if r.kind == "follow_up"]
    assert "Rückruf Jobcenter wegen Bescheid" not in open_titles
    assert no_message_boxes == []


def test_workplace_counts_cases_by_phase(qtbot, ctx, office):
    page = show(qtbot, WorkplacePage())
    page.set_context(ctx)
    counts = {phase: button.property("count") for phase, button in page.phase_buttons.items()}
    assert counts == {
        "open": 5, "intake": 1, "assessment": 2, "planning": 1, "implementation": 1, "monitoring": 0, "closed": 0,
    }  # fmt: skip
    assert page.phase_buttons["assessment"].text() == "Assessment: 2"
    assert page.phase_buttons["assessment"].accessibleName() == "Assessment: 2 Fälle anzeigen"
    with qtbot.waitSignal(page.phase_requested, timeout=2000) as blocker:
        page.phase_buttons["planning"].click()
    assert blocker.args == ["planning"]
    assert page.today.table.empty_text == "Heute keine Termine."


def test_workplace_without_anything_due(qtbot, ctx):
    page = show(qtbot, WorkplacePage())
    page.set_context(ctx)
    assert page.model.rowCount() == 0
    assert page.empty_label.isVisible() and page.empty_label.text() == "Zurzeit ist nichts fällig."
    assert not page.complete_button.isEnabled() and not page.open_button.isEnabled()


# --- Fälle ----------------------------------------------------------------------------------------------


def test_caseload_filters_by_phase_manager_and_text(qtbot, ctx, office):
    page = show(qtbot, CaseloadPage())
    page.set_context(ctx)
    assert page.phase.currentData() == "open" and page.manager.currentData() == "all"
    assert [page.manager.itemText(i) for i in range(page.manager.count())] == ["alle", "Jonas Weber", "Maria Müller"]
    assert page.proxy.rowCount() == 5
    # newest first; the columns as the counsellor reads them
    first = [page.proxy.index(0, c).data() for c in range(5)]
    assert first[1:] == ["Haddad, Farid", "Assessment", "Maria Müller", german(TODAY - timedelta(days=5))]
    assert first[0].startswith("KIM-")
    assert page.proxy.index(1, 3).data() == "nicht zugeordnet"

    page.show_phase("assessment")
    assert page.phase.currentText() == "Assessment"
    names = sorted(page.proxy.index(r, 1).data() for r in range(page.proxy.rowCount()))
    assert names == ["Haddad, Farid", "Nowak, Jana"]

    page.manager.setCurrentIndex(page.manager.findText("Maria Müller"))
    assert [page.proxy.index(r, 1).data() for r in range(page.proxy.rowCount())] == ["Haddad, Farid"]
    assert page.count_label.text() == "1 Fall"

    page.show_phase("open")
    assert page.proxy.rowCount() == 2
    page.manager.setCurrentIndex(0)
    qtbot.keyClicks(page.filter, "oeztuerk")  # folded like the person search
    assert [page.proxy.index(r, 1).data() for r in range(page.proxy.rowCount())] == ["Öztürk, Omar"]
    assert page.count_label.text() == "1 von 5 Fällen"
    page.filter.clear()
    file_number = page.proxy.index(2, 0).data()
    page.filter.setText(file_number.lower())
    assert page.proxy.rowCount() == 1 and page.proxy.index(0, 0).data() == file_number

    page.filter.clear()
    page.show_phase("monitoring")
    assert page.proxy.rowCount() == 0 and page.count_label.text() == "Keine Fälle für diese Auswahl."
    page.show_phase(None)
    assert page.phase.currentText() == "alle" and page.proxy.rowCount() == 5


def test_caseload_sorts_by_date_and_name(qtbot, ctx, office):
    page = show(qtbot, CaseloadPage())
    page.set_context(ctx)
    dates = [page.proxy.index(r, 4).data() for r in range(5)]
    as_dates = [date(int(d[6:]), int(d[3:5]), int(d[:2])) for d in dates]
    assert as_dates == sorted(as_dates, reverse=True)
    page.table.sortByColumn(1, Qt.SortOrder.AscendingOrder)
    names = [page.proxy.index(r, 1).data() for r in range(5)]
    assert names == ["Demir, Elif", "Haddad, Farid", "Nowak, Jana", "Öztürk, Omar", "Petrović, Ivan"]  # DIN 5007
    page.table.sortByColumn(2, Qt.SortOrder.AscendingOrder)  # phase: in the order of the cycle
    assert [page.proxy.index(r, 2).data() for r in range(5)][0] == "Klärung"
    assert [page.proxy.index(r, 2).data() for r in range(5)][-1] == "Umsetzung"


def test_caseload_enter_and_double_click_open_the_case(qtbot, ctx, office):
    page = show(qtbot, CaseloadPage())
    page.set_context(ctx)
    page.filter.setText("Nowak")
    qtbot.keyClick(page.filter, Qt.Key.Key_Return)  # Enter in the filter moves to the table
    assert page.table.hasFocus() and page.selected_case_id() == office["cases"]["nowak"]
    with qtbot.waitSignal(page.case_requested, timeout=2000) as blocker:
        qtbot.keyClick(page.table, Qt.Key.Key_Return)
    assert blocker.args == [office["cases"]["nowak"]]

    page.filter.clear()
    index = page.proxy.index(3, 1)
    rect = page.table.visualRect(index)
    emitted = []
    page.case_requested.connect(emitted.append)
    qtbot.mouseClick(page.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(page.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert emitted == [index.data(ID_ROLE)], "a double-click opens the case once"


def test_caseload_keeps_selection_on_reload(qtbot, ctx, office):
    page = show(qtbot, CaseloadPage())
    page.set_context(ctx)
    page.table.selectRow(3)
    chosen = page.selected_case_id()
    open_case(ctx, make_person(ctx, "Abel", "Anna"), days_ago=1)
    page.refresh()
    assert page.proxy.rowCount() == 6 and page.selected_case_id() == chosen


def shown_names(page: CaseloadPage) -> list[str]:
    return sorted(page.proxy.index(r, 1).data() for r in range(page.proxy.rowCount()))


def test_caseload_filters_by_life_area_and_overdue_items(qtbot, ctx, office):
    c = office["cases"]
    yesterday = TODAY - timedelta(days=1)
    journal.set_assessment(ctx, c["haddad"], "sprache", needs="Deutschkurs gesucht")
    goal = journal.add_goal(ctx, c["petrovic"], "Sprachkurs B1", life_area="sprache", agreed_on=TODAY - timedelta(days=20))
    journal.add_step(ctx, goal, "Anmeldung bei der VHS", due_on=yesterday)
    journal.add_goal(ctx, c["oeztuerk"], "Anerkennung", life_area="arbeit", agreed_on=TODAY - timedelta(days=20),
                     review_on=yesterday)  # fmt: skip
    page = show(qtbot, CaseloadPage(), size=(1300, 480))
    page.set_context(ctx)
    assert page.life_area.currentData() == "all" and not page.overdue_only.isChecked()
    labels = [page.life_area.itemText(i) for i in range(page.life_area.count())]
    assert labels[:3] == ["alle", "Aufenthalt", "Sprache"] and len(labels) == 10
    assert page.proxy.rowCount() == 5

    page.life_area.setCurrentIndex(page.life_area.findData("sprache"))  # an assessment or a goal in the area
    assert shown_names(page) == ["Haddad, Farid", "Petrović, Ivan"]
    page.life_area.setCurrentIndex(page.life_area.findText("Arbeit/Ausbildung/Anerkennung"))
    assert shown_names(page) == ["Öztürk, Omar"]
    page.life_area.setCurrentIndex(page.life_area.findData("gesundheit"))
    assert page.count_label.text() == "Keine Fälle für diese Auswahl."

    page.life_area.setCurrentIndex(0)
    page.overdue_only.setFocus()
    qtbot.keyClick(page.overdue_only, Qt.Key.Key_Space)  # keyboard: Space ticks the box
    assert page.overdue_only.isChecked()
    # overdue follow-up (Nowak), goal review (Öztürk), step (Petrović); Demir's residence reminder is no item
    assert shown_names(page) == ["Nowak, Jana", "Petrović, Ivan", "Öztürk, Omar"]
    assert page.count_label.text() == "3 Fälle"
    page.life_area.setCurrentIndex(page.life_area.findData("sprache"))
    assert shown_names(page) == ["Petrović, Ivan"]
    page.manager.setCurrentIndex(page.manager.findText("Maria Müller"))
    assert page.proxy.rowCount() == 0

    page.manager.setCurrentIndex(0)
    page.refresh()  # keeps the filters
    assert page.life_area.currentData() == "sprache" and page.overdue_only.isChecked()
    assert shown_names(page) == ["Petrović, Ivan"]
    followups.complete_follow_up(ctx, office["follow_ups"]["overdue"])
    page.life_area.setCurrentIndex(0)
    assert shown_names(page) == ["Petrović, Ivan", "Öztürk, Omar"]
    page.overdue_only.setChecked(False)
    assert page.proxy.rowCount() == 5


def test_caseload_filter_captions_and_accelerators(qtbot, ctx, office):
    page = show(qtbot, CaseloadPage(), size=(1300, 480))
    page.set_context(ctx)
    captions = {label.text(): label.buddy() for label in page.findChildren(QLabel) if label.buddy() is not None}
    assert captions["&Lebensbereich:"] is page.life_area
    assert page.overdue_only.text() == "&nur mit überfälligen Punkten"
    assert page.overdue_only.accessibleName() == "nur mit überfälligen Punkten"
    assert sorted(mnemonics(page)) == ["c", "f", "l", "n", "p"]
    assert all(len(owners) == 1 for owners in mnemonics(page).values()), mnemonics(page)


# --- Fall eröffnen --------------------------------------------------------------------------------------


def consents(ctx, person_id: str) -> list[Consent]:
    with ctx.read() as session:
        rows = list(session.scalars(select(Consent).where(Consent.person_id == person_id)))
        session.expunge_all()
        return rows


def intake(qtbot, ctx, person_id: str, name: str = "Nowak, Jana") -> IntakeDialog:
    return show(qtbot, IntakeDialog(ctx, person_id, name), size=(560, 620))


def test_intake_opens_case_with_consent(qtbot, ctx, no_message_boxes):
    person_id = make_person(ctx, "Nowak", "Jana")
    dialog = intake(qtbot, ctx, person_id)
    assert dialog.windowTitle() == "Fall eröffnen (Klärung)"
    assert dialog.person_label.text() == "Klient*in: Nowak, Jana"
    assert dialog.opened_on.text() == german(TODAY) and dialog.given_on.text() == german(TODAY)
    assert [box.text() for box in dialog.criteria.values()] == [c["label"] for c in DEFAULT_ELIGIBILITY_CRITERIA]
    for box in dialog.criteria.values():
        box.setChecked(True)
    assert dialog.eligibility_status.text() == "Alle Kriterien sind erfüllt."
    assert not dialog.confirm_anyway.isVisible()
    dialog.access_channel.setCurrentIndex(dialog.access_channel.findData("auslaenderbehoerde"))
    dialog.consent_form.setCurrentIndex(dialog.consent_form.findData("oral"))
    dialog.opened_on.setFocus()
    qtbot.keyClick(dialog.opened_on, Qt.Key.Key_Return)  # Enter confirms

    assert dialog.result() == IntakeDialog.DialogCode.Accepted and dialog.case_id
    assert no_message_boxes == []
    view = cases.get_case(ctx, dialog.case_id)
    assert view.phase == "intake" and view.opened_on == TODAY and view.access_channel == "auslaenderbehoerde"
    assert view.eligibility == {c["code"]: True for c in DEFAULT_ELIGIBILITY_CRITERIA}
    [consent] = consents(ctx, person_id)
    assert (consent.kind, consent.form, consent.given_on, consent.case_id) == (
        "case_management", "oral", TODAY, dialog.case_id,
    )  # fmt: skip
    with ctx.read() as session:
        notes = [e.text for e in session.scalars(select(JournalEntry).where(JournalEntry.case_id == dialog.case_id))]
    assert notes == [f"Über das Fallmanagement informiert. Einwilligung mündlich erteilt am {german(TODAY)}."]
    assert cases.change_phase(ctx, dialog.case_id, "assessment").phase == "assessment"


def test_intake_refuses_future_opening_date_inline(qtbot, ctx, no_message_boxes):
    person_id = make_person(ctx, "Nowak", "Jana")
    dialog = intake(qtbot, ctx, person_id)
    for box in dialog.criteria.values():
        box.setChecked(True)
    dialog.opened_on.setText(german(TODAY + timedelta(days=1)))
    dialog.ok_button.click()

    message = "Ein Fall kann nicht in der Zukunft eröffnet werden."
    error = dialog.errors["opened_on"]
    assert error.isVisible() and error.text() == message
    assert message in dialog.opened_on.accessibleDescription()
    assert dialog.opened_on.hasFocus()
    assert dialog.isVisible() and dialog.case_id is None and no_message_boxes == []
    with ctx.read() as session:
        assert session.scalars(select(Case)).all() == []
    assert consents(ctx, person_id) == [], "nothing is stored when the case cannot be opened"

    dialog.opened_on.setText("01.03.1980")  # the service's rule: not before the birth (1985)
    dialog.ok_button.click()
    assert error.isVisible() and error.text() == "Das Eröffnungsdatum liegt vor der Geburt."
    assert dialog.case_id is None and no_message_boxes == []

    dialog.opened_on.setText("31.02.2026")
    dialog.ok_button.click()
    assert error.text() == "Den 31.02.2026 gibt es nicht."
    qtbot.keyClicks(dialog.opened_on, "x")  # typing clears the message
    assert not error.isVisible()


def test_intake_needs_confirmation_when_criteria_are_not_met(qtbot, ctx, no_message_boxes):
    person_id = make_person(ctx, "Nowak", "Jana")
    dialog = intake(qtbot, ctx, person_id)
    first = next(iter(dialog.criteria.values()))
    first.setChecked(True)
    assert "Nicht alle Kriterien sind erfüllt (2 offen)" in dialog.eligibility_status.text()
    assert dialog.confirm_anyway.isVisible()
    dialog.ok_button.click()
    assert dialog.case_id is None and dialog.errors["eligibility"].isVisible()
    assert dialog.confirm_anyway.hasFocus()

    dialog.confirm_anyway.setChecked(True)
    assert not dialog.errors["eligibility"].isVisible()
    dialog.ok_button.click()
    assert dialog.case_id and no_message_boxes == []
    codes = [c["code"] for c in DEFAULT_ELIGIBILITY_CRITERIA]
    assert cases.get_case(ctx, dialog.case_id).eligibility == {codes[0]: True, codes[1]: False, codes[2]: False}


def test_intake_without_consent_stays_in_klaerung(qtbot, ctx, no_message_boxes):
    from kim_desktop.errors import UserError

    person_id = make_person(ctx, "Nowak", "Jana")
    dialog = intake(qtbot, ctx, person_id)
    for box in dialog.criteria.values():
        box.setChecked(True)
    dialog.consent_missing.setChecked(True)
    assert not dialog.given_on.isEnabled() and not dialog.consent_form.isEnabled()
    dialog.given_on.setText("kein Datum")  # ignored while disabled
    dialog.ok_button.click()
    assert dialog.case_id and consents(ctx, person_id) == []
    with pytest.raises(UserError, match="Einwilligung"):
        cases.change_phase(ctx, dialog.case_id, "assessment")


def test_intake_checks_consent_dates_before_opening(qtbot, ctx, no_message_boxes):
    person_id = make_person(ctx, "Nowak", "Jana")
    dialog = intake(qtbot, ctx, person_id)
    for box in dialog.criteria.values():
        box.setChecked(True)
    dialog.given_on.setText(german(TODAY + timedelta(days=2)))
    dialog.informed_on.setText(german(TODAY + timedelta(days=1)))
    dialog.ok_button.click()
    assert dialog.errors["given_on"].text() == "Eine Einwilligung kann nicht in der Zukunft liegen."
    assert dialog.errors["informed_on"].text() == "Das Datum liegt in der Zukunft."
    assert dialog.informed_on.hasFocus()
    dialog.informed_on.setText(german(TODAY))
    dialog.given_on.setText(german(TODAY - timedelta(days=1)))
    dialog.ok_button.click()
    assert dialog.errors["given_on"].text() == "Die Einwilligung kann nicht vor der Information liegen."
    with ctx.read() as session:
        assert session.scalars(select(Case)).all() == []


def test_intake_uses_configured_criteria(qtbot, ctx):
    with ctx.write() as session:
        session.add(
            Setting(
                key="eligibility_criteria",
                value=[{"code": "wohnsitz", "label": "Wohnsitz im Kreis & Umgebung"}, {"code": "kein Label"}, "Unsinn"],
            )
        )
    dialog = intake(qtbot, ctx, make_person(ctx, "Nowak", "Jana"))
    assert list(dialog.criteria) == ["wohnsitz", "kein Label"]
    box = dialog.criteria["wohnsitz"]
    assert box.text() == "Wohnsitz im Kreis && Umgebung" and box.accessibleName() == "Wohnsitz im Kreis & Umgebung"


@pytest.fixture
def household(ctx):
    """Jana Nowak with her husband and daughter in one household; Ivan and Elif on file without one; Omar in
    another household."""
    ids = {
        "jana": make_person(ctx, "Nowak", "Jana"),
        "piotr": make_person(ctx, "Nowak", "Piotr", birth_date="1983"),
        "zofia": make_person(ctx, "Nowak", "Zofia", birth_date="15.04.2015"),
        "ivan": make_person(ctx, "Petrović", "Ivan", birth_date="1955"),
        "elif": make_person(ctx, "Demir", "Elif", birth_date="1990"),
        "omar": make_person(ctx, "Öztürk", "Omar"),
        "aylin": make_person(ctx, "Öztürk", "Aylin"),
    }
    households.add_member(ctx, ids["jana"], ids["piotr"], "spouse")
    households.add_member(ctx, ids["jana"], ids["zofia"], "child")
    households.add_member(ctx, ids["omar"], ids["aylin"], "spouse")
    return ids


def member_texts(dialog: IntakeDialog) -> list[tuple[str, bool]]:
    items = [dialog.members.item(r) for r in range(dialog.members.count())]
    return [(item.text(), item.checkState() == Qt.CheckState.Checked) for item in items]


def choose(monkeypatch, *person_ids):
    """Replace the (modal) person picker by a queue of choices; ``None`` means the picker was cancelled."""
    queue = list(person_ids)
    monkeypatch.setattr(IntakeDialog, "_choose_person", lambda self: queue.pop(0))


def accept_all_criteria(dialog: IntakeDialog) -> None:
    for box in dialog.criteria.values():
        box.setChecked(True)


def test_intake_household_members_become_case_members(qtbot, ctx, household, monkeypatch, no_message_boxes):
    dialog = intake(qtbot, ctx, household["jana"])
    assert member_texts(dialog) == [
        ("Nowak, Piotr (1983) – Ehepartner/in", True),
        ("Nowak, Zofia (15.04.2015) – Kind", True),
    ], "known members, checked by default"
    assert not dialog.members_empty.isVisible() and dialog.members.isVisible()
    assert dialog.household_hint.text().startswith("Neue Personen legen Sie bitte zuerst auf der Personenseite an")
    assert [dialog.relation.itemText(i) for i in range(dialog.relation.count())] == [
        "Ehepartner/in", "Kind", "Elternteil", "Geschwister", "Vormund/in", "andere",
    ]  # fmt: skip
    assert not dialog.discard_member_button.isEnabled()

    # keyboard: the daughter is not part of this case (Space on the item)
    dialog.members.setFocus()
    dialog.members.setCurrentRow(1)
    qtbot.keyClick(dialog.members, Qt.Key.Key_Space)
    assert member_texts(dialog)[1] == ("Nowak, Zofia (15.04.2015) – Kind", False)

    # Jana's father, already on file, joins the household
    choose(monkeypatch, household["ivan"])
    dialog.relation.setCurrentIndex(dialog.relation.findData("parent"))
    dialog.add_member_button.click()
    assert member_texts(dialog)[2] == ("Petrović, Ivan (1955) – Elternteil (neu im Haushalt)", True)
    assert dialog.pending_members() == [(household["ivan"], "parent")]
    assert dialog.discard_member_button.isEnabled(), "the new entry is selected and can be discarded"
    with ctx.read() as session:
        assert len(households.household_of(session, household["jana"])) == 2, "nothing stored before OK"

    accept_all_criteria(dialog)
    dialog.ok_button.click()
    assert dialog.result() == IntakeDialog.DialogCode.Accepted and dialog.case_id
    assert no_message_boxes == []
    with ctx.read() as session:
        assert set(households.case_members(session, dialog.case_id)) == {
            household["jana"], household["piotr"], household["ivan"]
        }
        case = session.get(Case, dialog.case_id)
        assert case.household_id == households.household_id_of(session, household["jana"])
        assert [(m.name, m.relation) for m in households.household_of(session, household["jana"])] == [
            ("Nowak, Piotr", "spouse"), ("Nowak, Zofia", "child"), ("Petrović, Ivan", "parent"),
        ]  # fmt: skip
        relation = session.scalar(
            select(PersonRelation.relation).where(
                PersonRelation.person_id == household["ivan"], PersonRelation.related_person_id == household["jana"]
            )
        )
    assert relation == "child"


def test_intake_for_a_person_without_household(qtbot, ctx, household, monkeypatch, no_message_boxes):
    dialog = intake(qtbot, ctx, household["elif"], "Demir, Elif")
    assert dialog.members_empty.isVisible()
    assert dialog.members_empty.text() == "Für diese Person sind noch keine Haushaltsmitglieder erfasst."
    assert not dialog.members.isVisible() and not dialog.members_caption.isVisible()
    accept_all_criteria(dialog)
    dialog.ok_button.click()
    with ctx.read() as session:
        assert households.case_members(session, dialog.case_id) == [household["elif"]]
        assert session.get(Case, dialog.case_id).household_id is None
        assert households.household_id_of(session, household["elif"]) is None


def test_intake_household_refusals_and_discard(qtbot, ctx, household, monkeypatch, no_message_boxes):
    dialog = intake(qtbot, ctx, household["jana"])
    error = dialog.errors["household"]
    choose(monkeypatch, None, household["piotr"], household["omar"], household["elif"])
    dialog.add_member_button.click()  # picker cancelled: nothing happens
    assert dialog.members.count() == 2 and not error.isVisible()

    dialog.add_member_button.click()  # already listed: selected, not added twice
    assert dialog.members.count() == 2 and dialog.members.currentRow() == 0
    assert error.isVisible() and error.text() == "Diese Person ist bereits aufgeführt."

    dialog.add_member_button.click()  # Omar lives in another household
    assert error.text().startswith("Die beiden Personen gehören zu verschiedenen Haushalten.")
    assert "verschiedenen Haushalten" in dialog.add_member_button.accessibleDescription()
    assert dialog.members.count() == 2

    dialog.add_member_button.click()  # Elif can be added … and discarded again
    assert not error.isVisible()
    assert member_texts(dialog)[-1] == ("Demir, Elif (1990) – Ehepartner/in (neu im Haushalt)", True)
    dialog.discard_member_button.click()
    assert dialog.members.count() == 2 and dialog.pending_members() == []
    dialog.members.setCurrentRow(0)
    assert not dialog.discard_member_button.isEnabled(), "stored members are not discarded here"

    accept_all_criteria(dialog)
    dialog.ok_button.click()
    with ctx.read() as session:
        assert set(households.case_members(session, dialog.case_id)) == {
            household["jana"], household["piotr"], household["zofia"]
        }
        assert households.household_id_of(session, household["elif"]) is None


def test_intake_without_household_keeps_all_pending_members_in_one_household(qtbot, ctx, household, monkeypatch):
    """Elif has no household: once Omar (household Öztürk) is chosen, Jana (household Nowak) is refused."""
    dialog = intake(qtbot, ctx, household["elif"], "Demir, Elif")
    choose(monkeypatch, household["omar"], household["jana"], household["ivan"])
    dialog.relation.setCurrentIndex(dialog.relation.findData("sibling"))
    dialog.add_member_button.click()
    dialog.add_member_button.click()
    assert "verschiedenen Haushalten" in dialog.errors["household"].text()
    dialog.add_member_button.click()
    assert [t for t, _c in member_texts(dialog)] == [
        "Öztürk, Omar (1985) – Geschwister (neu im Haushalt)",
        "Petrović, Ivan (1955) – Geschwister (neu im Haushalt)",
    ]
    accept_all_criteria(dialog)
    dialog.ok_button.click()
    with ctx.read() as session:
        household_id = households.household_id_of(session, household["omar"])
        assert households.household_id_of(session, household["elif"]) == household_id
        assert households.household_id_of(session, household["ivan"]) == household_id
        assert len(households.case_members(session, dialog.case_id)) == 3


def test_intake_household_store_failure_opens_no_case(qtbot, ctx, household, monkeypatch, no_message_boxes):
    dialog = intake(qtbot, ctx, household["jana"])
    choose(monkeypatch, household["elif"])
    dialog.add_member_button.click()
    households.add_member(ctx, household["omar"], household["elif"], "sibling")  # meanwhile, elsewhere
    accept_all_criteria(dialog)
    dialog.ok_button.click()
    assert dialog.case_id is None and dialog.isVisible()
    assert dialog.errors["household"].text().startswith("Die beiden Personen gehören zu verschiedenen Haushalten.")
    assert dialog.members.currentItem().data(Qt.ItemDataRole.UserRole) == household["elif"]
    with ctx.read() as session:
        assert session.scalars(select(Case)).all() == []
    dialog.discard_member_button.click()
    dialog.ok_button.click()
    assert dialog.case_id and no_message_boxes == []


def test_intake_household_by_keyboard_with_the_person_picker(qtbot, ctx, household, no_message_boxes):
    """Alt+B chooses the relation, Alt+H opens the real picker: type, Enter, Enter."""
    dialog = intake(qtbot, ctx, household["jana"])
    seen = {}

    def operate_picker():
        picker = QApplication.activeModalWidget()
        if picker is None or picker is dialog or not picker.isVisible() or not picker.isActiveWindow():
            QTimer.singleShot(20, operate_picker)
            return
        try:
            seen["title"] = picker.windowTitle()
            seen["caption"] = [label.text() for label in picker.findChildren(QLabel) if label.buddy() is picker.search]
            seen["name"] = picker.search.accessibleName()
            picker.search.setFocus()
            qtbot.keyClicks(picker.search, "Petrovic")  # folded like the person search
            qtbot.keyClick(picker.search, Qt.Key.Key_Return)  # runs the search, moves to the hits
            qtbot.waitUntil(lambda: picker.results.hasFocus() and picker.results.currentItem() is not None, timeout=2000)
            qtbot.keyClick(picker.results, Qt.Key.Key_Return)  # takes the first hit
        finally:
            if picker.isVisible():  # never leave a modal dialog open: the test would hang
                picker.reject()

    qtbot.keyClick(dialog, Qt.Key.Key_B, Qt.KeyboardModifier.AltModifier)
    assert dialog.relation.hasFocus()
    qtbot.keyClick(dialog.relation, Qt.Key.Key_Down)  # Ehepartner/in → Kind
    qtbot.keyClick(dialog.relation, Qt.Key.Key_Down)  # → Elternteil
    assert dialog.relation.currentData() == "parent"
    QTimer.singleShot(0, operate_picker)
    qtbot.keyClick(dialog, Qt.Key.Key_H, Qt.KeyboardModifier.AltModifier)  # clicks the button (animated)
    qtbot.waitUntil(lambda: dialog.members.count() == 3, timeout=3000)
    assert seen == {
        "title": "Haushaltsmitglied auswählen", "caption": ["&Suche nach der Person:"], "name": "Suche nach der Person",
    }  # fmt: skip
    assert member_texts(dialog)[-1] == ("Petrović, Ivan (1955) – Elternteil (neu im Haushalt)", True)
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow, timeout=2000)
    qtbot.keyClick(dialog, Qt.Key.Key_U, Qt.KeyboardModifier.AltModifier)  # Alt+U: the member list
    assert dialog.members.hasFocus()


def mnemonics(root: QWidget) -> dict[str, list[str]]:
    """Alt+letter accelerators of the visible labels (with a buddy) and buttons."""
    found: dict[str, list[str]] = defaultdict(list)
    for widget in root.findChildren(QWidget):
        if not widget.isVisible():
            continue
        if isinstance(widget, QLabel) and widget.buddy() is not None or isinstance(widget, QAbstractButton):
            match = re.search(r"&([^&\s])", widget.text().replace("&&", ""))
            if match:
                found[match.group(1).lower()].append(widget.text())
    return found


def test_intake_accelerators_are_unique(qtbot, ctx, household):
    dialog = intake(qtbot, ctx, household["jana"])
    dialog.confirm_anyway.setVisible(True)
    found = mnemonics(dialog)
    assert {key: owners for key, owners in found.items() if len(owners) > 1} == {}
    assert {"u", "b", "h", "v"} <= set(found), found


# --- accessibility and screenshots ----------------------------------------------------------------------


def focusable_controls(root: QWidget) -> list[QWidget]:
    return [
        w
        for w in root.findChildren(QWidget)
        if w.isVisible() and isinstance(w, CONTROLS) and w.focusPolicy() & Qt.FocusPolicy.TabFocus
    ]


def test_every_control_has_an_accessible_name(qtbot, ctx, office):
    workplace = show(qtbot, WorkplacePage())
    workplace.set_context(ctx)
    caseload = show(qtbot, CaseloadPage())
    caseload.set_context(ctx)
    dialog = intake(qtbot, ctx, office["persons"]["nowak"])
    households.add_member(ctx, office["persons"]["demir"], office["persons"]["haddad"], "spouse")
    household_dialog = intake(qtbot, ctx, office["persons"]["demir"], "Demir, Elif")
    assert household_dialog.members.isVisible()
    for root, minimum in ((workplace, 10), (caseload, 6), (dialog, 12), (household_dialog, 13)):
        controls = focusable_controls(root)
        assert len(controls) >= minimum, [type(w).__name__ for w in controls]
        unnamed = [f"{type(w).__name__}({getattr(w, 'text', lambda: '')()!r})" for w in controls]
        unnamed = [d for w, d in zip(controls, unnamed, strict=True) if not w.accessibleName().strip()]
        assert not unnamed, f"{type(root).__name__}: controls without accessible name: {unnamed}"
        names = [w.accessibleName() for w in controls]
        assert not [n for n in names if "&" in n or n.endswith((":", "*"))], names
        assert len(names) == len(set(names)), f"{type(root).__name__}: names must tell controls apart: {names}"


def test_screenshots(qtbot, ctx, office, screenshot_dir):
    workplace = show(qtbot, WorkplacePage(), size=(1100, 560))
    workplace.set_context(ctx)
    caseload = show(qtbot, CaseloadPage(), size=(1300, 420))
    caseload.set_context(ctx)
    households.add_member(ctx, office["persons"]["nowak"], office["persons"]["petrovic"], "parent")
    dialog = intake(qtbot, ctx, office["persons"]["nowak"])
    for box in list(dialog.criteria.values())[:2]:
        box.setChecked(True)
    dialog.opened_on.setText(german(TODAY + timedelta(days=1)))
    dialog.ok_button.click()
    assert dialog.errors["opened_on"].isVisible() and dialog.errors["eligibility"].isVisible(), "all errors at once"
    dialog.adjustSize()
    qtbot.wait(50)
    for widget, name in ((workplace, "workplace"), (caseload, "caseload"), (dialog, "intake_dialog")):
        path = screenshot_dir / f"ui_{name}.png"
        assert widget.grab().save(str(path))
        assert path.stat().st_size > 5_000

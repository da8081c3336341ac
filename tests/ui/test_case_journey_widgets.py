"""The start page "Mein Arbeitsplatz", the case list "Fälle" and the dialog "Fall eröffnen (Klärung)".

Real widgets (offscreen), real services, a fresh SQLite file per test (the ``ctx`` fixture).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QComboBox,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)
from sqlalchemy import select

from kim_desktop.db.models import Case, Consent, JournalEntry, Setting, UserAccount
from kim_desktop.services import cases, followups, persons
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
            from kim_desktop.services import journal

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
    assert page.appointments_label.text() == "Termine folgen mit dem Kalender."


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
    for root, minimum in ((workplace, 10), (caseload, 4), (dialog, 10)):
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
    caseload = show(qtbot, CaseloadPage(), size=(1100, 420))
    caseload.set_context(ctx)
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

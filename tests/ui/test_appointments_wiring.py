"""The calendar and the appointment functions reached from the main window (menus, Ctrl+4, pages)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from kim_desktop.services import appointments, cases, persons


def test_calendar_page_by_shortcut_and_new_appointment_from_the_person_page(qtbot, window, ui_ctx):
    from kim_desktop.ui.appointment_dialog import AppointmentDialog
    from kim_desktop.ui.calendar_page import CalendarPage

    window.calendar_action.trigger()
    qtbot.waitUntil(lambda: isinstance(window.stack.currentWidget(), CalendarPage), timeout=5000)
    assert window.calendar_action.shortcut().toString() == "Ctrl+4"

    person = persons.create_person(ui_ctx, {"family_name": "Haidari", "given_names": "Zahra", "sex": "f"})
    case = cases.open_case(ui_ctx, person.id, consent_on=date.today())
    monday = date.today() + timedelta(days=7 - date.today().weekday())
    start = datetime.combine(monday, datetime.min.time()).replace(hour=10)
    appointment_id = appointments.create_appointment(
        ui_ctx, appointments.AppointmentData(type="beratung", starts_at=start, ends_at=start + timedelta(hours=1),
                                             case_id=case.id)  # fmt: skip
    )
    window.open_person(person.id)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.person_page, timeout=5000)
    panel = window.person_page.appointments
    qtbot.waitUntil(lambda: panel.person_id == person.id, timeout=5000)
    assert panel.model.rowCount() == 1 and panel.model.item(0).id == appointment_id

    window.new_appointment_action.trigger()
    qtbot.waitUntil(lambda: isinstance(getattr(window, "appointment_dialog", None), AppointmentDialog), timeout=5000)
    dialog = window.appointment_dialog
    assert dialog.isVisible() and person.id in dialog.participant_ids()
    dialog.discard_changes()
    dialog.close()

    window.open_case(case.id)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.case_page, timeout=5000)
    tabs = window.case_page.tabs
    assert tabs.tabText(tabs.count() - 1) == "Termine"
    assert window.case_page.appointments.case_id == case.id


def test_menus_offer_the_appointment_functions(window):
    texts = {a.text().replace("&", "") for menu in window.menuBar().actions() for a in menu.menu().actions()}
    for expected in ("Neuer Termin …", "Freien Termin finden …", "Einladungen für einen Tag …", "Anrufliste …",
                     "Dolmetscher/innen …", "Orte und Sprechzeiten …", "Kalender"):  # fmt: skip
        assert expected in texts

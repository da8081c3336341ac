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
    assert "Termine" in [tabs.tabText(i) for i in range(tabs.count())]
    assert window.case_page.appointments.case_id == case.id


def test_menus_offer_the_appointment_functions(window):
    texts = {a.text().replace("&", "") for menu in window.menuBar().actions() for a in menu.menu().actions()}
    for expected in ("Neuer Termin …", "Freien Termin finden …", "Einladungen für einen Tag …", "Anrufliste …",
                     "Dolmetscher/innen …", "Orte und Sprechzeiten …", "Kalender"):  # fmt: skip
        assert expected in texts


def test_ics_export_dialog_and_busy_time_import(qtbot, ctx, tmp_path, ui):
    from icalendar import Calendar

    from kim_desktop.db.models import Appointment
    from kim_desktop.ui.ics_dialogs import IcsExportDialog, import_busy_time, write_file

    person = persons.create_person(ctx, {"family_name": "Haidari", "given_names": "Zahra"})
    case = cases.open_case(ctx, person.id, consent_on=date.today())
    start = datetime.combine(date.today() + timedelta(days=3), datetime.min.time()).replace(hour=10)
    appointments.create_appointment(
        ctx, appointments.AppointmentData(type="beratung", starts_at=start, ends_at=start + timedelta(hours=1),
                                          case_id=case.id)  # fmt: skip
    )
    dialog = IcsExportDialog(ctx)
    qtbot.addWidget(dialog)
    assert dialog.initials.isChecked()  # the safe choice is the default
    data, count = dialog.data()
    calendar = Calendar.from_ical(data)
    events = calendar.walk("VEVENT")
    assert count == 1 and len(events) == 1
    assert "Haidari" not in data.decode("utf-8") and "Z. H." in str(events[0]["SUMMARY"])
    target = tmp_path / "kalender.ics"
    write_file(target, data)
    assert target.read_bytes() == data and not list(tmp_path.glob(".kim-*"))

    outlook = tmp_path / "outlook.ics"
    busy_start = (date.today() + timedelta(days=5)).strftime("%Y%m%d")
    outlook.write_bytes(
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//DE\r\nBEGIN:VEVENT\r\nUID:x-1@example\r\n"
        b"DTSTAMP:20261101T000000Z\r\nDTSTART:" + busy_start.encode() + b"T090000Z\r\nDTEND:"
        + busy_start.encode() + b"T100000Z\r\nSUMMARY:Private Sache\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    record = ui.on_modal(qtbot, lambda box: box.accept())
    summary = import_busy_time(ctx, None, path=outlook)
    qtbot.waitUntil(lambda: record["dialog"] is not None, timeout=5000)
    assert summary.startswith("1 belegte Zeiten übernommen")
    with ctx.read() as session:
        from sqlalchemy import select

        busy = session.scalars(select(Appointment).where(Appointment.busy_only.is_(True))).all()
        assert len(busy) == 1 and busy[0].title == "Belegt (importiert)"

    broken = tmp_path / "kaputt.ics"
    broken.write_bytes(b"das ist kein Kalender")
    record = ui.on_modal(qtbot, lambda box: box.accept())
    assert import_busy_time(ctx, None, path=broken) is None
    qtbot.waitUntil(lambda: record["dialog"] is not None, timeout=5000)
    assert record["title"] == "Import nicht möglich"


def test_person_page_shows_the_restriction_banner(qtbot, window, ui_ctx):
    from kim_desktop.services import retention

    person = persons.create_person(ui_ctx, {"family_name": "Eingeschränkt", "given_names": "Alex"})
    retention.restrict(ui_ctx, person.id, "Richtigkeit der Daten wird geprüft")
    window.open_person(person.id)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.person_page, timeout=5000)
    rights = window.person_page.rights
    qtbot.waitUntil(lambda: rights.banner.isVisible(), timeout=5000)
    assert "Art. 18" in rights.banner.text() and "Richtigkeit der Daten wird geprüft" in rights.banner.text()
    other = persons.create_person(ui_ctx, {"family_name": "Frei", "given_names": "Kim"})
    window.open_person(other.id)
    qtbot.waitUntil(lambda: not rights.banner.isVisible(), timeout=5000)

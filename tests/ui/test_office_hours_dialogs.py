"""Dolmetscherpool, Orte und Sprechzeiten, Freien Termin suchen: real dialogs offscreen on a real SQLite file."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, datetime, timedelta

import pytest
from PySide6.QtCore import Qt, QTime
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QComboBox,
    QDialog,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTabBar,
    QWidget,
)

from kim_desktop.db.models import Appointment, UserAccount
from kim_desktop.services import appointments as ap
from kim_desktop.services import office_hours as oh
from kim_desktop.services.context import Actor, ServiceContext
from kim_desktop.ui.interpreters_dialog import InterpretersDialog
from kim_desktop.ui.office_hours_dialog import OfficeHoursDialog
from kim_desktop.ui.slot_finder_dialog import SlotFinderDialog


@pytest.fixture
def staff(ctx):
    with ctx.write() as session:
        anna = UserAccount(username="anna", display_name="Anna Becker")
        ben = UserAccount(username="ben", display_name="Ben Yıldız")
        session.add_all([anna, ben])
        session.flush()
        return {"anna": anna.id, "ben": ben.id}


def open_dialog(qtbot, dialog):
    qtbot.addWidget(dialog)
    dialog.resize(900, 600)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def test_add_an_interpreter_with_two_languages(qtbot, ctx):
    dialog = open_dialog(qtbot, InterpretersDialog(ctx))
    assert dialog.model.rowCount() == 0 and dialog.focusWidget() is dialog.family_name
    # Nothing entered: messages under the fields, nothing stored.
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.errors["family_name"].isVisible() and "Familiennamen" in dialog.errors["family_name"].text()
    assert dialog.errors["languages"].text() == "Bitte mindestens eine Sprache angeben."
    qtbot.keyClicks(dialog.family_name, "Ahmadi")
    qtbot.keyClicks(dialog.given_names, "Farid")
    picker = dialog.languages
    qtbot.keyClicks(picker.filter, "dari")
    assert [
        picker.list.item(i).text() for i in range(picker.list.count()) if not picker.list.item(i).isHidden()
    ] == ["Dari"]
    qtbot.keyClick(picker.filter, Qt.Key.Key_Return)  # ticks the one language shown
    picker.filter.clear()
    qtbot.keyClicks(picker.filter, "pasch")
    qtbot.keyClick(picker.filter, Qt.Key.Key_Return)
    assert picker.selected_codes() == ["fa_AF", "ps"] and "Dari, Paschtu" in picker.summary.text()
    qtbot.keyClicks(dialog.phone, "0170 1234567")
    qtbot.keyClicks(dialog.email, "farid.ahmadi@")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert "name@beispiel.de" in dialog.errors["email"].text() and dialog.focusWidget() is dialog.email
    qtbot.keyClicks(dialog.email, "example.org")
    dialog.availability.setPlainText("Di und Do vormittags")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.status.text() == "Gespeichert." and not dialog.dirty
    with ctx.read() as session:
        (row,) = oh.list_interpreters(session)
    assert (row.family_name, row.given_names, row.languages) == ("Ahmadi", "Farid", ("fa_AF", "ps"))
    assert row.email == "farid.ahmadi@example.org" and row.availability == "Di und Do vormittags"
    model = dialog.model
    assert [model.index(0, c).data() for c in range(5)] == [
        "Ahmadi, Farid", "Dari, Paschtu", "0170 1234567", "farid.ahmadi@example.org", "Di und Do vormittags"
    ]  # fmt: skip
    assert dialog.table.currentIndex().row() == 0 and dialog.remove_button.isEnabled()


def test_removing_a_booked_interpreter_asks_and_releases_the_bookings(qtbot, ctx, ui):
    interpreter_id = oh.save_interpreter(ctx, oh.InterpreterData("Noori", "Sima", ["fa_AF"]))
    start = datetime.combine(date.today() + timedelta(days=7), datetime.min.time()).replace(hour=10)
    booked = ap.create_appointment(
        ctx,
        ap.AppointmentData(
            type="beratung", starts_at=start, ends_at=start + timedelta(hours=1), interpreter_id=interpreter_id,
            interpreter_language="fa_AF",
        ),
    )  # fmt: skip
    dialog = open_dialog(qtbot, InterpretersDialog(ctx))
    assert dialog.current.id == interpreter_id
    record = ui.on_modal(qtbot, lambda box: ui.click_button(box, "Abbrechen"))
    assert not dialog.remove()
    assert record["error"] is None and record["title"] == "Buchungen freigeben?"
    assert "Noori, Sima ist noch für 1 künftigen Termin gebucht." in record["text"]
    with ctx.read() as session:
        assert session.get(Appointment, booked).interpreter_id == interpreter_id
    record = ui.on_modal(qtbot, lambda box: ui.click_button(box, "Buchungen freigeben und entfernen"))
    qtbot.mouseClick(dialog.remove_button, Qt.MouseButton.LeftButton)
    assert record["error"] is None and record["title"] == "Buchungen freigeben?"
    with ctx.read() as session:
        row = session.get(Appointment, booked)
        assert row.interpreter_id is None and row.interpreter_language == "fa_AF"  # to be rebooked
        assert oh.list_interpreters(session, include_inactive=True) == []
    assert dialog.model.rowCount() == 0
    assert "1 Buchung wurde freigegeben" in dialog.status.text()


def test_removing_an_unbooked_interpreter_asks_once(qtbot, ctx, ui):
    oh.save_interpreter(ctx, oh.InterpreterData("Kaya", "Elif", ["tr"]))
    dialog = open_dialog(qtbot, InterpretersDialog(ctx))
    record = ui.on_modal(qtbot, lambda box: ui.click_button(box, "Entfernen"))
    assert dialog.remove()
    assert record["title"] == "Aus dem Pool entfernen?" and dialog.status.text() == "Aus dem Pool entfernt."


def test_add_a_location_with_a_room_and_office_hours(qtbot, ctx, staff, ui):
    dialog = open_dialog(qtbot, OfficeHoursDialog(ctx))
    places = dialog.locations_tab
    places.new_record()
    qtbot.keyClicks(places.inputs["name"], "Rathaus Coesfeld")  # QTest types ASCII only
    places.inputs["kind"].setCurrentIndex(places.inputs["kind"].findData("branch"))
    qtbot.keyClicks(places.inputs["street"], "Markt 1")
    qtbot.keyClicks(places.inputs["postcode"], "4865")
    qtbot.keyClicks(places.inputs["city"], "Coesfeld")
    qtbot.mouseClick(places.save_button, Qt.MouseButton.LeftButton)
    assert places.errors["postcode"].text() == "Die Postleitzahl hat fünf Ziffern (Beispiel: 48249)."
    qtbot.keyClicks(places.inputs["postcode"], "3")
    qtbot.mouseClick(places.save_button, Qt.MouseButton.LeftButton)
    assert places.status.text() == "Gespeichert."
    building = places.current_id()
    # A room: the building is chosen, the address fields are not used.
    places.new_record()
    qtbot.keyClicks(places.inputs["name"], "Raum 2.14")
    places.inputs["kind"].setCurrentIndex(places.inputs["kind"].findData("room"))
    assert places.inputs["parent_id"].isEnabled() and not places.inputs["street"].isEnabled()
    qtbot.mouseClick(places.save_button, Qt.MouseButton.LeftButton)
    assert "bitte das Gebäude wählen" in places.errors["parent_id"].text()
    places.inputs["parent_id"].setCurrentIndex(places.inputs["parent_id"].findData(building))
    qtbot.mouseClick(places.save_button, Qt.MouseButton.LeftButton)
    room = places.current_id()
    assert [places.model.index(r, 0).data().strip() for r in range(places.model.rowCount())] == [
        "Rathaus Coesfeld",
        "Raum 2.14",
    ]
    with ctx.read() as session:
        assert [r.label for r in oh.list_locations(session)] == [
            "Rathaus Coesfeld",
            "Rathaus Coesfeld, Raum 2.14",
        ]
        assert oh.list_locations(session)[0].address == "Markt 1, 48653 Coesfeld"

    # Office hours on Thursday in the room, for Anna; the new places are offered without reopening.
    dialog.tabs.setCurrentWidget(dialog.office_hours_tab)
    hours = dialog.office_hours_tab
    assert hours.inputs["location_id"].findData(room) > 0
    hours.new_record()
    hours.inputs["weekday"].setCurrentIndex(3)
    hours.inputs["start_time"].setTime(QTime(9, 0))
    hours.inputs["end_time"].setTime(QTime(12, 0))
    hours.inputs["location_id"].setCurrentIndex(hours.inputs["location_id"].findData(room))
    hours.inputs["case_manager_id"].setCurrentIndex(hours.inputs["case_manager_id"].findData(staff["anna"]))
    qtbot.keyClicks(hours.inputs["valid_from"], "01.09.2026")
    qtbot.mouseClick(hours.save_button, Qt.MouseButton.LeftButton)
    assert hours.status.text() == "Gespeichert."
    assert [hours.model.index(0, c).data() for c in range(7)] == [
        "Donnerstag", "09:00", "12:00", "Rathaus Coesfeld, Raum 2.14", "Anna Becker", "01.09.2026", "unbefristet"
    ]  # fmt: skip
    # The same person cannot hold overlapping office hours elsewhere.
    hours.new_record()
    hours.inputs["weekday"].setCurrentIndex(3)
    hours.inputs["start_time"].setTime(QTime(11, 0))
    hours.inputs["end_time"].setTime(QTime(13, 0))
    hours.inputs["location_id"].setCurrentIndex(hours.inputs["location_id"].findData(building))
    hours.inputs["case_manager_id"].setCurrentIndex(hours.inputs["case_manager_id"].findData(staff["anna"]))
    qtbot.mouseClick(hours.save_button, Qt.MouseButton.LeftButton)
    assert "überschneidet sich" in hours.errors["start_time"].text() and hours.model.rowCount() == 1
    hours._dirty = False  # leave without the unsaved-changes question

    # Deactivating the building while an appointment is booked in its room asks first.
    dialog.tabs.setCurrentWidget(places)
    places.select(building)
    start = datetime.combine(date.today() + timedelta(days=5), datetime.min.time()).replace(hour=10)
    ap.create_appointment(
        ctx,
        ap.AppointmentData(
            type="beratung", starts_at=start, ends_at=start + timedelta(hours=1), location_id=room
        ),
    )
    record = ui.on_modal(qtbot, lambda box: ui.click_button(box, "Trotzdem deaktivieren"))
    qtbot.mouseClick(places.active_button, Qt.MouseButton.LeftButton)
    assert record["error"] is None and "noch 1 künftiger Termin" in record["text"]
    assert places.model.rowCount() == 0 and "deaktiviert" in places.status.text()


def test_slot_finder_lists_free_times_and_returns_the_chosen_one(qtbot, ctx, staff):
    building = oh.save_location(
        ctx, oh.LocationData("Rathaus Dülmen", "branch", postcode="48249", city="Dülmen")
    )
    room = oh.save_location(ctx, oh.LocationData("Raum 2.14", "room", building))
    for weekday in range(5):
        oh.save_office_hours(ctx, oh.OfficeHoursData(room, weekday, "9:00", "12:00", staff["anna"]))
    dari = oh.save_interpreter(ctx, oh.InterpreterData("Ahmadi", "Farid", ["prs"]))
    anna = ServiceContext(ctx.database, Actor(staff["anna"], "Anna Becker", frozenset({"case_management"})))
    dialog = open_dialog(qtbot, SlotFinderDialog(anna, case_id=None, person_id=None))
    assert dialog.manager.currentData() == staff["anna"]  # the user's own calendar by default
    assert not dialog.create_button.isEnabled()
    dialog.weekday.setCurrentIndex(dialog.weekday.findData(3))
    dialog.location.setCurrentIndex(dialog.location.findData(building))
    dialog.duration.setValue(45)
    dialog.language.setEditText("dari")  # typed, not picked: found by name
    qtbot.mouseClick(dialog.search_button, Qt.MouseButton.LeftButton)
    slots = dialog.slots
    assert dialog.language.currentData() == "fa_AF" and len(slots) == 10
    now = datetime.now()
    assert all(s.starts_at.weekday() == 3 and s.starts_at > now - timedelta(minutes=15) for s in slots)
    assert all(
        s.ends_at - s.starts_at == timedelta(minutes=45) and s.starts_at.minute % 15 == 0 for s in slots
    )
    assert {(s.location_id, s.case_manager_id, s.interpreter_id) for s in slots} == {
        (room, staff["anna"], dari)
    }
    assert dialog.model.index(0, 2).data() == "Rathaus Dülmen, Raum 2.14"
    assert dialog.model.index(0, 4).data() == "Farid Ahmadi"
    assert dialog.status.text() == "10 freie Termine gefunden."
    dialog.table.selectRow(2)
    qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.chosen_slot == slots[2] and dialog.chosen_language == "fa_AF"


def test_slot_finder_says_why_nothing_was_found(qtbot, ctx, staff):
    dialog = open_dialog(qtbot, SlotFinderDialog(ctx))
    assert dialog.manager.currentData() is None  # single-user office: nobody to default to
    dialog.language.setEditText("Xyzisch")
    dialog.search()
    assert "keine Sprache der Liste" in dialog.errors["language"].text()
    dialog.language.setEditText("Somali")
    dialog.search()
    assert dialog.status.text().startswith("Im Dolmetscherpool ist niemand für Somali.")
    dialog.language.setCurrentIndex(0)
    dialog.search()
    assert dialog.status.text().startswith("Keine freien Termine in den nächsten 60 Tagen.")
    # Enter on the empty list chooses nothing; "Termin anlegen" stays off.
    assert not dialog.create_button.isEnabled() and dialog.chosen_slot is None


# --- keyboard and screen readers ----------------------------------------------------------------------------


def _controls(dialog) -> list[QWidget]:
    kinds = (QLineEdit, QAbstractButton, QAbstractItemView, QComboBox, QPlainTextEdit, QAbstractSpinBox)
    return [
        w
        for w in dialog.findChildren(QWidget)
        if w.isVisible()
        and isinstance(w, kinds)
        and w.focusPolicy() & Qt.FocusPolicy.TabFocus
        and not isinstance(w.parent(), (QAbstractSpinBox, QComboBox))  # their inner line edits
        and not isinstance(w, QTabBar)
    ]


def _accelerators(dialog) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for widget in dialog.findChildren(QWidget):
        if not widget.isVisible():
            continue
        texts = []
        if (isinstance(widget, QLabel) and widget.buddy() is not None) or isinstance(widget, QAbstractButton):
            texts = [widget.text()]
        elif isinstance(widget, QTabBar):
            texts = [widget.tabText(i) for i in range(widget.count())]
        for text in texts:
            match = re.search(r"&([^&\s])", text.replace("&&", ""))
            if match:
                found[match.group(1).lower()].append(text)
    return found


def _check_accessible(dialog) -> None:
    controls = _controls(dialog)
    unnamed = [
        f"{type(w).__name__}({getattr(w, 'text', lambda: '')()!r})"
        for w in controls
        if not w.accessibleName()
    ]
    assert not unnamed, f"controls without accessible name: {unnamed}"
    names = [w.accessibleName() for w in controls]
    assert not [n for n in names if "&" in n or n.endswith((":", "*"))], names
    assert not sorted({n for n in names if names.count(n) > 1}), names
    clashes = {key: owners for key, owners in _accelerators(dialog).items() if len(owners) > 1}
    assert not clashes, f"Alt+letter used twice: {clashes}"
    # Every label with an accelerator leads to a control that takes the focus.
    for label in dialog.findChildren(QLabel):
        if label.isVisible() and "&" in label.text():
            assert label.buddy() is not None and label.buddy().focusPolicy() & Qt.FocusPolicy.TabFocus, (
                label.text()
            )


def test_dialogs_are_keyboard_reachable_and_named(qtbot, ctx, staff):
    oh.save_interpreter(ctx, oh.InterpreterData("Kaya", "Elif", ["tr"]))
    oh.save_location(ctx, oh.LocationData("Rathaus Dülmen", "branch"))
    interpreters = open_dialog(qtbot, InterpretersDialog(ctx))
    _check_accessible(interpreters)
    places = open_dialog(qtbot, OfficeHoursDialog(ctx))
    _check_accessible(places)
    places.tabs.setCurrentIndex(1)
    _check_accessible(places)
    finder = open_dialog(qtbot, SlotFinderDialog(ctx))
    finder.search()
    _check_accessible(finder)


def _tab_chain(qtbot, start: QWidget, limit: int = 60) -> list[QWidget]:
    from PySide6.QtWidgets import QApplication

    start.setFocus(Qt.FocusReason.TabFocusReason)
    chain = [start]
    for _step in range(limit):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        current = QApplication.focusWidget()
        if current is start:
            break
        chain.append(current)
    return chain


def test_tab_reaches_every_control_in_reading_order(qtbot, ctx):
    oh.save_interpreter(ctx, oh.InterpreterData("Kaya", "Elif", ["tr"]))
    dialog = open_dialog(qtbot, InterpretersDialog(ctx))
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow, timeout=2000)
    chain = _tab_chain(qtbot, dialog.table)
    assert set(_controls(dialog)) <= set(chain)
    order = [dialog.table, dialog.show_paused, dialog.family_name, dialog.given_names, dialog.phone, dialog.email,
             dialog.availability, dialog.active, dialog.languages.filter, dialog.languages.list, dialog.new_button,
             dialog.remove_button, dialog.save_button, dialog.close_button]  # fmt: skip
    assert [w for w in chain if w in order] == order

"""One appointment from start to finish in the GUI: the appointment dialog, the journal entry after it took
place, the appointments panel of a person or case, the call list (printed to a real PDF) and "Heute" on the
start page. Real SQLite file, real widgets offscreen; the live check is called directly (no waiting)."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime, timedelta

import pytest
from pypdf import PdfReader
from PySide6.QtCore import QDate, Qt, QTime
from PySide6.QtGui import QGuiApplication
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QComboBox,
    QDateTimeEdit,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QWidget,
)
from sqlalchemy import func, select

from kim_desktop.db.models import Appointment, Interpreter, JournalEntry, Location, UserAccount
from kim_desktop.services import appointments as ap
from kim_desktop.services import cases, households, persons
from kim_desktop.ui.appointment_dialog import AppointmentDialog, QuarterTimeEdit
from kim_desktop.ui.appointments_panel import AppointmentsPanel
from kim_desktop.ui.call_list_dialog import CallListDialog, call_list_document, call_list_text, print_document

THURSDAY = datetime(2026, 12, 3, 10, 0)  # a normal working day (CET: UTC+1)


@pytest.fixture
def office(ctx):
    """Two case managers, a building with a room, an interpreter for Dari, a client with partner and a case."""
    with ctx.write() as session:
        anna = UserAccount(username="anna", display_name="Anna Becker")
        ben = UserAccount(username="ben", display_name="Ben Yıldız")
        building = Location(
            name="Rathaus Dülmen", kind="branch", street="Markt 1", postcode="48249", city="Dülmen"
        )
        session.add_all([anna, ben, building])
        session.flush()
        room = Location(name="Raum 2.14", kind="room", parent_id=building.id)
        dari = Interpreter(
            family_name="Ahmadi", given_names="Farid", languages=["fa_AF", "fa"], phone="0170 1234567"
        )
        arabic = Interpreter(family_name="Haddad", given_names="Rana", languages=["ar"])
        session.add_all([room, dari, arabic])
        session.flush()
        ids = {"anna": anna.id, "ben": ben.id, "building": building.id, "room": room.id, "dari": dari.id,
               "arabic": arabic.id}  # fmt: skip
    person = persons.create_person(
        ctx, {"family_name": "Haidari", "given_names": "Zahra", "sex": "f", "phone": "0157 7654321",
              "street": "Lindenweg 7", "postcode": "48249", "city": "Dülmen"},
    )  # fmt: skip
    partner = persons.create_person(
        ctx, {"family_name": "Haidari", "given_names": "Reza", "phone": "0157 1111111"}
    )
    households.add_member(ctx, person.id, partner.id, "spouse")
    case = cases.open_case(ctx, person.id, consent_on=date(2026, 1, 5))
    ids.update(person=person.id, partner=partner.id, case=case.id)
    return ids


def stored(ctx):
    with ctx.read() as session:
        return session.scalars(select(Appointment).where(Appointment.deleted_at.is_(None))).all()


def book(ctx, office, start: datetime, minutes: int = 60, **overrides) -> str:
    values = dict(
        type="beratung", starts_at=start, ends_at=start + timedelta(minutes=minutes), case_id=office["case"],
        case_manager_id=office["anna"], location_id=office["room"],
    )  # fmt: skip
    values.update(overrides)
    return ap.create_appointment(ctx, ap.AppointmentData(**values))


def open_dialog(qtbot, ctx, **kwargs) -> AppointmentDialog:
    dialog = AppointmentDialog(ctx, **kwargs)
    # Closing with unsaved edits asks first; the test's teardown must not wait for that question.
    qtbot.addWidget(dialog, before_close_func=lambda d: d.discard_changes())
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def choose(combo: QComboBox, data) -> None:
    index = combo.findData(data)
    assert index >= 0, (data, [combo.itemText(i) for i in range(combo.count())])
    combo.setCurrentIndex(index)


def set_times(dialog: AppointmentDialog, day: date, start: tuple[int, int], end: tuple[int, int]) -> None:
    dialog.date.setDate(QDate(day.year, day.month, day.day))
    dialog.start.setTime(QTime(*start))
    dialog.end.setTime(QTime(*end))


# --- the dialog ------------------------------------------------------------------------------------------


def test_create_through_the_dialog_stores_participants_and_utc_times(qtbot, ctx, office):
    dialog = open_dialog(qtbot, ctx, case_id=office["case"], starts_at=THURSDAY)
    assert dialog.windowTitle() == "Neuer Termin"
    assert dialog.participant_ids() == [office["person"]]  # the client is preselected, the partner offered
    assert dialog.participants.count() == 2 and "Ehepartner" in dialog.participants.item(1).text()
    choose(dialog.type, "hausbesuch")
    set_times(dialog, date(2026, 12, 3), (10, 0), (10, 30))
    dialog.set_duration(90)
    assert dialog.end.time() == QTime(11, 30) and dialog.duration_buttons[90].isChecked()
    dialog.start.setTime(QTime(9, 30))  # moving the start keeps the duration
    assert dialog.end.time() == QTime(11, 0)
    choose(dialog.location, office["building"])
    choose(dialog.manager, office["anna"])
    dialog.participants.item(1).setCheckState(dialog.participants.item(0).checkState())  # the partner too
    dialog.language.setCurrentIndex(dialog.language.findText("Dari"))
    assert [dialog.interpreter.itemData(i) for i in range(dialog.interpreter.count())] == [
        None,
        office["dari"],
    ]
    assert dialog.interpreter.itemText(0) == "noch offen"
    choose(dialog.interpreter, office["dari"])
    dialog.title.setText("Wohnungssuche")
    dialog.note.setPlainText("Mietvertrag mitbringen")
    assert dialog.dirty and dialog.windowTitle() == "Neuer Termin *"
    # Each edit restarts the debounced check (the test calls the check itself instead of waiting).
    assert dialog._check_timer.isSingleShot() and dialog._check_timer.interval() == 300
    assert dialog._check_timer.isActive()
    # Any person on file can take part (the "Person hinzufügen …" picker ends here).
    guest = persons.create_person(ctx, {"family_name": "Nowak", "given_names": "Ewa"}).id
    assert dialog.add_participant(guest) and dialog.participant_ids()[-1] == guest
    dialog.participants.item(2).setCheckState(Qt.CheckState.Unchecked)  # and can be taken off again
    assert not dialog.invitation_button.isEnabled()

    assert dialog.save()
    assert dialog.appointment_id and not dialog.dirty and dialog.windowTitle() == "Termin bearbeiten"
    assert dialog.invitation_button.isEnabled() and dialog.message.text() == "Termin gespeichert."
    with ctx.read() as session:
        row = session.get(Appointment, dialog.appointment_id)
        assert (row.type, row.title, row.note, row.status) == (
            "hausbesuch",
            "Wohnungssuche",
            "Mietvertrag mitbringen",
            "planned",
        )
        assert row.starts_at.replace(tzinfo=None) == datetime(2026, 12, 3, 8, 30)  # 09:30 CET in UTC
        assert row.ends_at.replace(tzinfo=None) == datetime(2026, 12, 3, 10, 0)
        assert (row.case_id, row.case_manager_id, row.location_id) == (
            office["case"],
            office["anna"],
            office["building"],
        )
        assert (row.interpreter_id, row.interpreter_language) == (office["dari"], "fa_AF")
        assert sorted(ap.participants(session, row.id)) == sorted([office["person"], office["partner"]])

    # Editing the saved appointment again from a fresh dialog shows what was stored.
    again = open_dialog(qtbot, ctx, appointment_id=dialog.appointment_id)
    assert again.start.time() == QTime(9, 30) and again.end.time() == QTime(11, 0)
    assert again.interpreter.currentData() == office["dari"] and again.language.currentText() == "Dari"
    assert sorted(again.participant_ids()) == sorted([office["person"], office["partner"]])
    assert not again.dirty and again.version == 1


def test_end_before_start_shows_the_message_and_stores_nothing(qtbot, ctx, office):
    dialog = open_dialog(qtbot, ctx, case_id=office["case"], starts_at=THURSDAY)
    set_times(dialog, date(2026, 12, 3), (10, 0), (9, 30))
    assert dialog.run_check() is None  # the live check speaks of the field, not of conflicts
    assert dialog.errors["ends_at"].text() == "Das Ende liegt vor dem Beginn. Bitte die Uhrzeiten prüfen."
    assert not dialog.save()
    assert dialog.errors["ends_at"].isVisible()
    assert "Das Ende liegt vor dem Beginn" in dialog.end.accessibleDescription()
    assert dialog.appointment_id is None and stored(ctx) == []
    dialog.end.setTime(QTime(10, 45))
    dialog.run_check()
    assert not dialog.errors["ends_at"].isVisible()


def test_typed_language_not_in_the_list_is_a_field_message(qtbot, ctx, office):
    dialog = open_dialog(qtbot, ctx, case_id=office["case"], starts_at=THURSDAY)
    dialog.language.setEditText("Klingonisch")
    assert not dialog.save()
    assert "nicht in der Liste" in dialog.errors["interpreter_language"].text() and stored(ctx) == []
    dialog.language.setEditText("arabisch")  # case does not matter
    assert dialog.language_code() == ("ar", None)


def test_conflict_is_shown_in_words_and_kept_on_purpose(qtbot, ctx, office):
    first = book(ctx, office, THURSDAY)
    dialog = open_dialog(qtbot, ctx, case_id=office["case"], starts_at=THURSDAY + timedelta(minutes=30))
    choose(dialog.manager, office["anna"])
    choose(dialog.location, office["room"])
    result = dialog.run_check()
    assert sorted(c.kind for c in result.conflicts) == ["case_manager", "room"]
    assert not dialog.conflicts_label.isHidden() and not dialog.keep_conflicts.isHidden()
    text = dialog.conflicts_label.text()
    assert text.startswith("2 Überschneidungen:")
    assert (
        "Die Fachkraft hat zur selben Zeit einen anderen Termin: Beratung am 03.12.2026 von 10:00 bis 11:00 Uhr."
        in text
    )
    assert "Der Raum ist zur selben Zeit belegt" in text

    assert not dialog.save()  # refused until the overlap is accepted
    assert "Überschneidung bewusst in Kauf nehmen" in dialog.message.text() and len(stored(ctx)) == 1
    assert dialog.focusWidget() is dialog.keep_conflicts
    dialog.keep_conflicts.setChecked(True)
    assert dialog.save()
    with ctx.read() as session:
        kept = session.get(Appointment, dialog.appointment_id)
        assert kept.conflict_accepted and kept.id != first
    # A different overlap is a new decision: the tick does not carry over.
    dialog.start.setTime(QTime(15, 0))
    dialog.run_check()
    assert dialog.keep_conflicts.isHidden() and not dialog.keep_conflicts.isChecked()


def test_holiday_weekend_and_language_warnings_appear_in_words(qtbot, ctx, office):
    dialog = open_dialog(qtbot, ctx, case_id=office["case"], starts_at=datetime(2026, 12, 25, 10, 0))
    dialog.run_check()
    assert dialog.weekday.text() == "Freitag"
    assert not dialog.warnings_label.isHidden()
    assert "Der 25.12.2026 ist ein Feiertag in NRW (Erster Weihnachtstag)." in dialog.warnings_label.text()
    dialog.date.setDate(QDate(2026, 12, 5))
    dialog.run_check()
    assert "Der Termin liegt am Wochenende." in dialog.warnings_label.text()
    dialog.date.setDate(QDate(2026, 12, 3))
    dialog.run_check()
    assert (
        dialog.warnings_label.isHidden()
        and dialog.ok_label.text() == "Keine Überschneidungen, keine Hinweise."
    )
    # An interpreter whose profile lacks the language (kept from an earlier booking) is pointed out.
    dialog.language.setCurrentIndex(dialog.language.findText("Arabisch"))
    dialog._fill_interpreters("ar", keep=office["dari"])
    assert "spricht diese Sprache laut Profil nicht" in dialog.interpreter.currentText()
    dialog.run_check()
    assert "Die dolmetschende Person hat diese Sprache nicht im Profil." in dialog.warnings_label.text()


def test_stale_version_is_reported_and_reloaded(qtbot, ctx, office):
    appointment_id = book(ctx, office, THURSDAY)
    dialog = open_dialog(qtbot, ctx, appointment_id=appointment_id)
    ap.move_appointment(ctx, appointment_id, THURSDAY + timedelta(hours=2))  # someone else, meanwhile
    dialog.title.setText("Meine Änderung")
    assert not dialog.save()
    assert dialog.message_box is not None and dialog.message_box.isVisible()
    assert "inzwischen von jemand anderem geändert" in dialog.message_box.text()
    assert "neu geladen" in dialog.message_box.text()
    assert dialog.start.time() == QTime(12, 0) and dialog.title.text() == "" and not dialog.dirty
    dialog.message_box.accept()
    dialog.title.setText("Zweiter Versuch")
    assert dialog.save()
    with ctx.read() as session:
        assert ap.data_of(session, appointment_id).title == "Zweiter Versuch"


def test_held_offers_the_prefilled_journal_entry(qtbot, ctx, office):
    appointment_id = book(ctx, office, THURSDAY, interpreter_id=office["dari"], interpreter_language="fa_AF")
    dialog = open_dialog(qtbot, ctx, appointment_id=appointment_id)
    choose(dialog.status, "held")
    assert dialog.save()
    journal = dialog.journal_dialog
    assert journal is not None and journal.isVisible()
    prefilled = journal.text.toPlainText()
    assert prefilled.startswith("Beratung am 03.12.2026, 10:00–11:00 Uhr, Ort: Raum 2.14, mit Dolmetschung.")
    assert prefilled.endswith("Inhalt des Gesprächs: ")
    assert journal.duration.value() == 60

    assert not journal.save()  # the text must be completed
    assert journal.errors["text"].text() == "Bitte ergänzen Sie den Inhalt des Gesprächs."
    journal.text.setPlainText(prefilled + "Wohnungssuche besprochen, Unterlagen für den WBS erklärt.")
    with qtbot.waitSignal(dialog.journal_saved, timeout=2000):
        assert journal.save()
    assert not journal.isVisible()
    with ctx.read() as session:
        entry = session.scalars(select(JournalEntry).where(JournalEntry.case_id == office["case"])).one()
        assert entry.text == (prefilled + "Wohnungssuche besprochen, Unterlagen für den WBS erklärt.").strip()
        assert entry.entry_date == date(2026, 12, 3) or entry.entry_date == date.today()
        assert (entry.duration_min, entry.interpreter_language, entry.interpreter_id) == (
            60,
            "fa_AF",
            office["dari"],
        )
        assert ap.data_of(session, appointment_id).status == "held"
    assert dialog.message.text() == "Termin gespeichert, Verlaufseintrag angelegt."

    # Saving again without a status change offers nothing; "Stattgefunden …" offers it on purpose.
    dialog.journal_dialog = None
    dialog.title.setText("Nachtrag")
    assert dialog.save() and dialog.journal_dialog is None
    assert dialog.mark_held() is dialog.journal_dialog and dialog.journal_dialog is not None
    dialog.journal_dialog.reject()


def test_status_buttons_cancel_and_no_show(qtbot, ctx, office):
    appointment_id = book(ctx, office, THURSDAY)
    dialog = open_dialog(qtbot, ctx, appointment_id=appointment_id)
    assert dialog.cancel_button.isEnabled()
    dialog.cancel_button.click()
    with ctx.read() as session:
        assert ap.data_of(session, appointment_id).status == "cancelled"
    assert dialog.status.currentData() == "cancelled" and not dialog.cancel_button.isEnabled()
    dialog.no_show_button.click()
    with ctx.read() as session:
        assert ap.data_of(session, appointment_id).status == "no_show"
        assert ap.no_show_count(session, office["person"]) == 1


def test_appointment_without_case_offers_no_journal(qtbot, ctx, office):
    dialog = open_dialog(qtbot, ctx, person_id=office["partner"], starts_at=THURSDAY)
    assert dialog.participant_ids() == [office["partner"]]
    assert dialog.mark_held() is None and dialog.appointment_id is not None
    assert "keinem Fall" in dialog.message.text()
    with ctx.read() as session:
        assert ap.data_of(session, dialog.appointment_id).status == "held"
        assert session.scalar(select(func.count()).select_from(JournalEntry)) == 0


def test_quarter_hour_steps(qtbot):
    edit = QuarterTimeEdit()
    qtbot.addWidget(edit)
    edit.setTime(QTime(10, 7))
    edit.setCurrentSection(QDateTimeEdit.Section.MinuteSection)
    edit.stepBy(1)
    assert edit.time() == QTime(10, 15)
    edit.stepBy(3)
    assert edit.time() == QTime(11, 0)
    edit.stepBy(-1)
    assert edit.time() == QTime(10, 45)


def test_dialog_is_labelled_for_screen_readers_and_keyboard(qtbot, ctx, office):
    dialog = open_dialog(qtbot, ctx, case_id=office["case"], starts_at=THURSDAY)
    controls = [
        w for w in dialog.findChildren(QWidget)
        if isinstance(w, QAbstractButton | QComboBox | QAbstractSpinBox | QLineEdit | QPlainTextEdit | QAbstractItemView)
        and not w.isHidden() and w.window() is dialog and w.objectName() != "qt_spinbox_lineedit"
        and not isinstance(w.parent(), QComboBox | QAbstractSpinBox)
    ]  # fmt: skip
    assert controls and all(w.accessibleName() for w in controls), [
        (type(w).__name__, w.objectName()) for w in controls if not w.accessibleName()
    ]
    assert dialog.language.lineEdit().accessibleName() == "Dolmetschung – Sprache"
    accelerators = [
        t.split("&")[1][0].lower()
        for t in [label.text() for label in dialog.findChildren(QLabel) if label.buddy() is not None]
        + [b.text() for b in dialog.findChildren(QAbstractButton)]
        if "&" in t
    ]
    assert len(accelerators) == len(set(accelerators)), sorted(accelerators)
    for name, widget in dialog.inputs.items():
        assert widget.focusPolicy() & Qt.FocusPolicy.TabFocus, name
    assert dialog.conflicts_label.focusPolicy() & Qt.FocusPolicy.TabFocus  # the check is read out, too


# --- the panel -------------------------------------------------------------------------------------------


def test_panel_lists_appointments_newest_first_and_counts_no_shows(qtbot, ctx, office):
    old = book(ctx, office, datetime(2026, 1, 15, 10, 0))
    missed = book(ctx, office, datetime(2026, 2, 12, 10, 0))
    ap.set_status(ctx, missed, "no_show")
    future = book(ctx, office, datetime(2030, 3, 7, 9, 0), title="Abschlussgespräch")
    other_person = book(
        ctx, office, datetime(2026, 3, 5, 10, 0), case_id=None, person_ids=[office["partner"]]
    )

    panel = AppointmentsPanel(ctx, person_id=office["person"])
    qtbot.addWidget(panel)
    panel.show()
    assert [panel.model.item(r).id for r in range(panel.model.rowCount())] == [future, missed, old]
    assert other_person not in [panel.model.item(r).id for r in range(panel.model.rowCount())]
    assert panel.no_show_label.text() == "nicht erschienen: 1"
    assert panel.model.index(1, 4).data() == "nicht erschienen"
    assert panel.model.index(0, 2).data() == "Beratung: Abschlussgespräch"
    assert (
        panel.model.index(0, 0).data() == "Do. 07.03.2030" and panel.model.index(0, 1).data() == "09:00–10:00"
    )
    assert panel.selected_item().id == future  # the next appointment is selected

    # Enter opens the selected appointment; saving there refreshes the list and tells the page.
    panel.table.setCurrentIndex(panel.model.index(2, 0))
    panel.table.activated.emit(panel.model.index(2, 0))
    dialog = panel.dialog
    assert dialog is not None and dialog.appointment_id == old
    with qtbot.waitSignal(panel.changed, timeout=2000):
        assert dialog.set_status_and_save("no_show")
    assert panel.no_show_label.text() == "nicht erschienen: 2" and panel.selected_item().id == old
    dialog.reject()
    assert panel.dialog is None

    # A case panel lists the case's appointments; "Neuer Termin …" starts one for the case.
    case_panel = AppointmentsPanel(ctx, case_id=office["case"])
    qtbot.addWidget(case_panel)
    assert case_panel.model.rowCount() == 3 and case_panel.no_show_label.text() == "nicht erschienen: 2"
    new = case_panel.new_appointment(starts_at=datetime(2030, 4, 4, 10, 0))
    assert new.case_id == office["case"] and new.participant_ids() == [office["person"]]
    new.discard_changes()
    new.reject()


def test_empty_panel_says_so(qtbot, ctx, office):
    panel = AppointmentsPanel(ctx, person_id=office["partner"])
    qtbot.addWidget(panel)
    assert panel.model.rowCount() == 0 and panel.table.empty_text == "Noch keine Termine."
    assert not panel.open_button.isEnabled() and not panel.invitation_button.isEnabled()
    assert panel.new_button.isEnabled() and panel.no_show_label.text() == "nicht erschienen: 0"
    unbound = AppointmentsPanel()
    qtbot.addWidget(unbound)
    assert not unbound.new_button.isEnabled()


# --- the call list ---------------------------------------------------------------------------------------


def test_call_list_copies_and_prints_to_pdf(qtbot, ctx, office, tmp_path):
    book(
        ctx, office, THURSDAY, person_ids=[office["person"], office["partner"]], interpreter_language="fa_AF"
    )
    cancelled = book(ctx, office, THURSDAY + timedelta(hours=3))
    ap.set_status(ctx, cancelled, "cancelled")
    dialog = CallListDialog(ctx, THURSDAY.date())
    qtbot.addWidget(dialog)
    assert dialog.model.rowCount() == 2 and dialog.count.text() == "2 Anrufe"
    assert [dialog.model.index(r, 1).data() for r in range(2)] == ["Haidari, Reza", "Haidari, Zahra"]
    assert dialog.model.index(1, 2).data() == "0157 7654321" and dialog.model.index(1, 5).data() == "Dari"

    text = dialog.copy()
    assert QGuiApplication.clipboard().text() == text
    lines = text.splitlines()
    assert lines[0] == "Uhrzeit\tName\tTelefon\tTerminart\tOrt\tDolmetschung"
    assert lines[2] == "10:00\tHaidari, Zahra\t0157 7654321\tBeratung\tRaum 2.14\tDari"

    pdf = tmp_path / "anrufliste.pdf"
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(pdf))
    print_document(dialog.document(), printer)
    # Normalised: the PDF keeps the "fl" ligature and puts tabs and line breaks between words.
    content = " ".join(unicodedata.normalize("NFKC", page.extract_text()) for page in PdfReader(pdf).pages)
    content = " ".join(content.split())
    assert "Anrufliste für Donnerstag, 03.12.2026" in content
    assert "Haidari, Zahra" in content and "0157 7654321" in content and "0157 1111111" in content

    dialog.date.setDate(QDate(2026, 12, 4))
    assert dialog.model.rowCount() == 0 and not dialog.print_button.isEnabled()
    assert dialog.count.text() == "Niemand anzurufen."


def test_call_list_text_escapes_cells_and_markup():
    entry = ap.CallListEntry("09:00", "<b>Tab\tName</b>", "0151\n123", "Beratung", "Raum 1", "")
    assert call_list_text([entry]).splitlines()[1] == "09:00\t<b>Tab Name</b>\t0151 123\tBeratung\tRaum 1\t"
    document = call_list_document(date(2026, 12, 3), [entry])
    assert "<b>Tab" in document.toPlainText()  # shown as text, not as markup


# --- the start page --------------------------------------------------------------------------------------


def test_start_page_shows_todays_appointments(qtbot, ctx, office):
    from kim_desktop.ui.workplace_page import WorkplacePage

    today = date.today()
    first = book(
        ctx, office, datetime.combine(today, datetime.min.time()).replace(hour=9), case_manager_id=None
    )
    book(ctx, office, datetime.combine(today + timedelta(days=1), datetime.min.time()).replace(hour=9))
    page = WorkplacePage()
    qtbot.addWidget(page)
    page.show()
    page.set_context(ctx)  # the local single user sees every appointment of the day
    model = page.today.model
    assert model.rowCount() == 1
    assert [model.index(0, c).data() for c in range(4)] == [
        "09:00–10:00", "Haidari, Zahra (Beratung)", "Raum 2.14", "geplant",
    ]  # fmt: skip
    page.today.table.activated.emit(model.index(0, 0))
    assert page.today.dialog is not None and page.today.dialog.appointment_id == first
    page.today.dialog.reject()
    ap.set_status(ctx, first, "confirmed")
    page.refresh()
    assert model.index(0, 3).data() == "bestätigt"

"""Einladungen für einen Tag: the run happens in a worker thread, the dialog shows progress, cancel and result."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from pypdf import PdfReader
from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import QAbstractButton, QApplication, QComboBox, QDateEdit, QLabel, QLineEdit, QWidget
from sqlalchemy import func, select

from kim_desktop.db.models import Appointment, AppointmentParticipant, Document
from kim_desktop.services import bulk_letters, cases, persons
from kim_desktop.ui.bulk_letters_dialog import BulkLettersDialog

DAY = date(2026, 6, 2)  # CEST: local = UTC + 2


def add_day(ctx, n: int, *, without_address: int = 0) -> list[str]:
    """``n`` persons with an appointment each on DAY (09:00, 09:15, … local); the last ones without address."""
    ids = []
    for i in range(n):
        values = {"family_name": f"Testperson{i:03d}", "given_names": "Alex", "sex": "f"}
        if i < n - without_address:
            values.update(street="Kirchplatz 2", postcode="48653", city="Coesfeld")
        ids.append(persons.create_person(ctx, values, allow_duplicate=True).id)
    case_id = cases.open_case(ctx, ids[0], consent_on=DAY).id
    with ctx.write() as session:
        for i, person_id in enumerate(ids):
            starts = datetime(2026, 6, 2, 7, 0, tzinfo=UTC) + timedelta(minutes=15 * i)
            appointment = Appointment(
                case_id=case_id, type="beratung", starts_at=starts, ends_at=starts + timedelta(minutes=15)
            )
            session.add(appointment)
            session.flush()
            session.add(AppointmentParticipant(appointment_id=appointment.id, person_id=person_id))
    return ids


@pytest.fixture
def dialog(qtbot, ctx, tmp_path):
    dlg = BulkLettersDialog(ctx)
    qtbot.addWidget(dlg)
    dlg.date.setDate(QDate(DAY.year, DAY.month, DAY.day))
    dlg.folder.setText(str(tmp_path / "einladungen"))
    dlg.show()
    qtbot.waitExposed(dlg)
    yield dlg
    if dlg.running:  # never leave a worker thread behind
        dlg.cancel_run()
        qtbot.waitUntil(lambda: not dlg.running, timeout=10000)


def wait_done(qtbot, dlg) -> None:
    qtbot.waitUntil(lambda: not dlg.running and dlg.result is not None, timeout=30000)


def documents(ctx) -> int:
    with ctx.read() as session:
        return session.scalar(select(func.count()).select_from(Document))


def test_defaults_and_labels(qtbot, ctx):
    dlg = BulkLettersDialog(ctx)
    qtbot.addWidget(dlg)
    assert dlg.date.date() == QDate.currentDate() and dlg.date.calendarPopup()
    assert dlg.language.itemData(0) == "de" and dlg.language.count() >= 1
    assert not dlg.cancel.isEnabled() and dlg.start.isEnabled()
    controls = [
        w
        for w in dlg.findChildren(QWidget)
        if isinstance(w, QAbstractButton | QComboBox | QDateEdit | QLineEdit)
    ]
    controls = [w for w in controls if w.parent() is not dlg.date and w.objectName() != "qt_spinbox_lineedit"]
    assert all(w.accessibleName() for w in controls), [
        type(w).__name__ for w in controls if not w.accessibleName()
    ]
    buddies = {label.buddy() for label in dlg.findChildren(QLabel) if label.buddy() is not None}
    assert {dlg.date, dlg.language, dlg.folder} <= buddies
    keys = [t.split("&")[1][0].lower() for t in [lbl.text() for lbl in dlg.findChildren(QLabel)] + [b.text() for b in dlg.findChildren(QAbstractButton)] if "&" in t]  # fmt: skip
    assert len(keys) == len(set(keys)) >= 8, keys


def test_keyboard_reaches_every_control(qtbot, dialog):
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow, timeout=2000)
    dialog.date.setFocus(Qt.FocusReason.TabFocusReason)
    chain = [QApplication.focusWidget()]
    for _step in range(20):  # Tab walks through day, month and year of the date field first
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        if QApplication.focusWidget() is chain[0] and len(set(chain)) > 1:
            break
        chain.append(QApplication.focusWidget())
    inner = {dialog.date: dialog.date, **{child: dialog.date for child in dialog.date.findChildren(QWidget)}}
    reached = [inner.get(w, w) for w in chain]
    order = [
        reached.index(w) for w in (dialog.date, dialog.language, dialog.folder, dialog.browse, dialog.start)
    ]
    assert order == sorted(order), reached
    assert dialog.close_button in reached
    for key, target in ((Qt.Key.Key_P, dialog.language), (Qt.Key.Key_Z, dialog.folder)):
        qtbot.keyClick(dialog.start, key, Qt.KeyboardModifier.AltModifier)
        assert QApplication.focusWidget() is target


def test_run_writes_the_letters_and_shows_the_result(qtbot, ctx, dialog, tmp_path):
    add_day(ctx, 4, without_address=1)
    dialog._update_count()
    assert dialog.count.text() == "4 Einladungen"
    finished = []
    dialog.finished_run.connect(finished.append)
    assert dialog.start_run()
    assert (
        dialog.running
        and dialog.cancel.isEnabled()
        and not dialog.start.isEnabled()
        and not dialog.folder.isEnabled()
    )
    wait_done(qtbot, dialog)
    result = dialog.result
    assert finished == [result] and not result.cancelled
    assert len(result.written) == 3 and len(result.skipped) == 1
    assert dialog.progress.text() == "4 von 4"
    assert dialog.status.text().startswith(
        f"3 Einladungen erstellt in {tmp_path / 'einladungen'}. 1 übersprungen"
    )
    assert dialog.skipped.isVisible() and "keine vollständige Anschrift" in dialog.skipped.toPlainText()
    assert "Testperson003" not in dialog.skipped.toPlainText()  # references without personal data
    assert dialog.start.isEnabled() and dialog.close_button.isEnabled() and not dialog.cancel.isEnabled()
    assert dialog.open_folder.isEnabled()
    for path in result.written:
        assert "Testperson" in "".join(page.extract_text() for page in PdfReader(path).pages)
    assert documents(ctx) == 3
    dialog.resize(dialog.sizeHint())
    dialog.grab().save("/tmp/bulk.png")


def test_cancel_stops_after_the_letter_in_progress(qtbot, ctx, dialog, monkeypatch, screenshot_dir):
    add_day(ctx, 12)
    real = bulk_letters.letters.make_letter
    gate, calls = threading.Event(), {"n": 0, "waiting": False}

    def make_letter(*args, **kwargs):  # the third letter waits until the test has pressed "Abbrechen"
        calls["n"] += 1
        if calls["n"] == 3:
            calls["waiting"] = True
            gate.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(bulk_letters.letters, "make_letter", make_letter)
    dialog.start_run()
    qtbot.waitUntil(lambda: calls["waiting"], timeout=10000)
    # The GUI thread is free while the worker works: the progress so far is shown, the button reacts.
    qtbot.waitUntil(lambda: dialog.progress.text() == "2 von 12", timeout=5000)
    dialog.cancel.click()
    assert not dialog.cancel.isEnabled() and "abgebrochen" in dialog.status.text()
    gate.set()
    wait_done(qtbot, dialog)
    result = dialog.result
    assert result.cancelled and len(result.written) == 3 and calls["n"] == 3
    assert dialog.status.text().startswith("Abgebrochen. 3 Einladungen erstellt")
    assert sorted(p.name for p in result.written[0].parent.iterdir()) == sorted(
        p.name for p in result.written
    )
    assert all(PdfReader(p).pages for p in result.written)
    assert documents(ctx) == 3
    dialog.grab().save(str(screenshot_dir / "bulk_letters_cancelled.png"))


def test_closing_during_a_run_cancels_it(qtbot, ctx, dialog, monkeypatch):
    add_day(ctx, 6)
    real = bulk_letters.letters.make_letter
    gate, calls = threading.Event(), {"n": 0}

    def make_letter(*args, **kwargs):
        calls["n"] += 1
        gate.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(bulk_letters.letters, "make_letter", make_letter)
    dialog.start_run()
    qtbot.waitUntil(lambda: calls["n"] == 1, timeout=10000)
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)  # Esc, "Schließen" and the window's close button: reject()
    dialog.reject()
    assert dialog.isVisible() and dialog.running
    gate.set()
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=10000)
    assert not dialog.running and dialog.result.cancelled and len(dialog.result.written) == 1


def test_a_folder_that_is_a_file_is_explained(qtbot, ctx, dialog, tmp_path):
    add_day(ctx, 1)
    blocker = tmp_path / "datei.pdf"
    blocker.write_bytes(b"x")
    dialog.folder.setText(str(blocker))
    dialog.start_run()
    qtbot.waitUntil(lambda: not dialog.running, timeout=10000)
    assert dialog.result is None and "Zielordner ist eine Datei" in dialog.status.text()
    assert dialog.start.isEnabled() and documents(ctx) == 0
    dialog.folder.setText("  ")
    assert not dialog.start_run() and "Zielordner" in dialog.status.text()


def test_a_day_without_appointments(qtbot, ctx, dialog):
    assert dialog.count.text() == "keine Termine"
    dialog.start_run()
    wait_done(qtbot, dialog)
    assert dialog.status.text() == "An diesem Tag gibt es keine Termine: keine Einladungen erstellt."
    assert not dialog.skipped.isVisible() and not dialog.open_folder.isEnabled()

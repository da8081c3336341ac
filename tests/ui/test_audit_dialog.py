"""„Wer hat diese Akte gesehen oder geändert?“ and „Auskunft Art. 15 …“ with real widgets (offscreen): the two
tabs, the period filter, the CSV export for the data protection officer through the file dialog, the buttons on
the person page and the case page; every look at the trail audited."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, timedelta

from PySide6.QtCore import QDate
from PySide6.QtWidgets import QFileDialog, QMessageBox
from sqlalchemy import select

from kim_desktop.db.models import AuditEvent, Person
from kim_desktop.services import cases, persons
from kim_desktop.ui.audit_dialog import AuditDialog


def mueller(ctx) -> str:
    with ctx.read() as session:
        return session.scalar(select(Person.id).where(Person.family_name == "Müller"))


def trail_reads(ctx, action: str = "read") -> list[AuditEvent]:
    with ctx.read() as session:
        return list(
            session.scalars(
                select(AuditEvent).where(AuditEvent.entity_type == "audit_trail", AuditEvent.action == action)
            )
        )


def cells(model) -> list[list[str]]:
    return [
        [model.data(model.index(r, c)) for c in range(model.columnCount())] for r in range(model.rowCount())
    ]


def test_dialog_shows_access_and_changes_filters_and_exports(qtbot, ui_ctx, tmp_path, ui):
    person_id = mueller(ui_ctx)
    persons.get_person(ui_ctx, person_id)
    persons.update_person(ui_ctx, person_id, {"street": "Domplatz 1", "postcode": "50667"})
    dialog = AuditDialog(ui_ctx, person_id=person_id)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.windowTitle() == "Wer hat diese Akte gesehen oder geändert?"
    assert [dialog.tabs.tabText(i).replace("&", "") for i in range(2)] == ["Zugriffe", "Änderungen"]
    access = cells(dialog.access_model)
    assert any(row[2] == "gelesen" and row[3] == "Person" for row in access)
    assert any(row[2] == "geändert" for row in access)
    changes = cells(dialog.change_model)
    assert ["Straße", "", "Domplatz 1"] in [row[3:] for row in changes]
    assert len(trail_reads(ui_ctx)) == 1

    dialog.period.setCurrentIndex(dialog.period.findData("7"))  # reloads at once
    assert dialog.change_model.rowCount() == len(changes)
    dialog.period.setCurrentIndex(dialog.period.findData("custom"))
    assert dialog.first.isEnabled() and dialog.show_button.isEnabled()
    future = QDate.currentDate().addDays(10)
    dialog.first.setDate(future)
    dialog.last.setDate(future.addDays(5))
    dialog.show_button.click()
    assert dialog.access_model.rowCount() == 0 and dialog.change_model.rowCount() == 0
    assert dialog.bounds() == (date.today() + timedelta(days=10), date.today() + timedelta(days=15))
    dialog.period.setCurrentIndex(dialog.period.findData("all"))
    assert len(trail_reads(ui_ctx)) == 4

    target = tmp_path / "fuer-dsb"

    def answer(file_dialog):
        assert isinstance(file_dialog, QFileDialog)
        file_dialog.selectFile(str(target))
        file_dialog.accept()

    record = ui.on_modal(qtbot, answer)
    saved = dialog.export()
    assert record["error"] is None, record["error"]
    assert saved == tmp_path / "fuer-dsb.csv"
    rows = list(csv.reader(io.StringIO(saved.read_bytes().decode("utf-8-sig")), delimiter=";"))
    assert rows[0][0] == "Art" and any(r[6] == "Straße" and r[8] == "Domplatz 1" for r in rows)
    [export] = trail_reads(ui_ctx, "export")
    assert export.person_id == person_id


def test_person_page_opens_the_trail_and_saves_the_art15_zip(qtbot, window, ui_ctx, tmp_path, ui):
    person_id = mueller(ui_ctx)
    persons.update_person(ui_ctx, person_id, {"street": "Domplatz 1", "postcode": "50667"})
    window.open_person(person_id)
    qtbot.waitUntil(lambda: window.person_page is not None and window.person_page.person_id == person_id)
    page = window.person_page
    assert page.audit_button.isEnabled() and page.access_export_button.isEnabled()

    seen = {}

    def look(dialog):
        seen["title"] = dialog.windowTitle()
        seen["rows"] = dialog.access_model.rowCount()
        dialog.accept()

    record = ui.when_modal(qtbot, lambda d: isinstance(d, AuditDialog), look)
    page.audit_button.click()
    assert record["error"] is None, record["error"]
    assert seen["title"] == "Wer hat diese Akte gesehen oder geändert?" and seen["rows"] > 0

    target = tmp_path / "auskunft"

    def save(file_dialog):
        file_dialog.selectFile(str(target))
        file_dialog.accept()
        ui.when_modal(qtbot, lambda d: isinstance(d, QMessageBox), lambda box: box.accept())

    record = ui.when_modal(qtbot, lambda d: isinstance(d, QFileDialog), save)
    page.access_export_button.click()
    assert record["error"] is None, record["error"]
    with zipfile.ZipFile(tmp_path / "auskunft.zip") as archive:
        assert {"auskunft.pdf", "daten.json"} <= set(archive.namelist())
    with ui_ctx.read() as session:
        assert session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "subject_access")).one()


def test_case_page_opens_the_trail_of_the_case(qtbot, window, ui_ctx, ui):
    case_id = cases.open_case(ui_ctx, mueller(ui_ctx), consent_on=date.today()).id
    window.open_case(case_id)
    qtbot.waitUntil(lambda: window.case_page is not None and window.stack.currentWidget() is window.case_page)
    seen = {}

    def look(dialog):
        seen["case"] = dialog.case_id
        seen["changes"] = dialog.change_model.rowCount()
        dialog.accept()

    record = ui.when_modal(qtbot, lambda d: isinstance(d, AuditDialog), look)
    window.case_page.audit_button.click()
    assert record["error"] is None, record["error"]
    assert seen["case"] == case_id and seen["changes"] > 0
    [read] = trail_reads(ui_ctx)
    assert read.case_id == case_id

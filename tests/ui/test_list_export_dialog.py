"""Datei › Liste exportieren: persons or cases to XLSX/CSV through the real service, role-filtered."""

from __future__ import annotations

import openpyxl

from kim_desktop.services import persons
from kim_desktop.ui.list_export_dialog import ListExportDialog


def test_exports_persons_as_xlsx_and_cases_as_csv(qtbot, ctx, tmp_path):
    persons.create_person(ctx, {"family_name": "Exportina", "given_names": "Eva", "birth_date": "1991"})
    dialog = ListExportDialog(ctx)
    qtbot.addWidget(dialog)
    assert not dialog.phase.isEnabled()
    assert dialog.export_to(tmp_path / "personen.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "personen.xlsx").active
    values = [cell for row in sheet.iter_rows(values_only=True) for cell in row]
    assert "Exportina" in values
    assert "1 Zeile" in dialog.status.text()
    dialog.cases.setChecked(True)
    dialog.csv.setChecked(True)
    assert dialog.phase.isEnabled()
    dialog.phase.setCurrentIndex(dialog.phase.findData("open"))
    assert dialog.export_to(tmp_path / "faelle.csv")
    assert (tmp_path / "faelle.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_unwritable_target_gives_a_german_message(qtbot, ctx, tmp_path):
    dialog = ListExportDialog(ctx)
    qtbot.addWidget(dialog)
    target = tmp_path / "ordner.xlsx"
    target.mkdir()
    assert dialog.export_to(target) is False
    assert dialog.status.isVisible() or dialog.status.text()
    assert "Traceback" not in dialog.status.text()

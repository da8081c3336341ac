"""Personen importieren: the real dialog from choosing a file through the dry run to the import and its undo."""

from __future__ import annotations

from PySide6.QtWidgets import QAbstractButton, QApplication, QComboBox, QLineEdit, QMessageBox, QTableView
from sqlalchemy import func, select

from kim_desktop.db.models import ImportBatch, Person
from kim_desktop.services import cases, persons
from kim_desktop.ui.import_dialog import (
    PAGE_FILE,
    PAGE_MAPPING,
    PAGE_PREVIEW,
    ImportBatchesDialog,
    ImportDialog,
)

CSV = (
    "Name;Vorname;Geburtsdatum;Staatsangehörigkeit;Aufenthaltsstatus;Bemerkung;Zweiter Name\r\n"
    "Haddad;Rana;12.05.1990;Syrien;Gestattung;;\r\n"
    "Petrenko;Olena;1979;ukrainisch;§ 24;;\r\n"
    ";Ohne Namen;1990;;;;\r\n"
    "Karimi;Reza;31.02.1985;;;;\r\n"
    "Rahimi;Omid;1995;Afghanistan;Aufenthaltserlaubnis;;\r\n"
    "Müller;Hans;14.07.1979;;;;\r\n"
)


def count(ctx, model=Person) -> int:
    with ctx.read() as session:
        return session.scalar(select(func.count()).select_from(model))


def wait_idle(qtbot, dialog) -> None:
    qtbot.waitUntil(lambda: not dialog.running, timeout=30000)


def test_import_through_the_dialog_and_undo(qtbot, ctx, tmp_path, monkeypatch):
    persons.create_person(ctx, {"family_name": "Müller", "given_names": "Hans", "birth_date": "14.07.1979"})
    source = tmp_path / "klientinnen.csv"
    source.write_bytes(CSV.encode("cp1252"))
    dialog = ImportDialog(ctx)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    imported = []
    dialog.imported.connect(imported.append)

    # step 1: the file (typed, read on "Weiter")
    assert not dialog.next.isEnabled()
    dialog.path.setText(str(source))
    assert dialog.next.isEnabled() and dialog.table is None
    qtbot.mouseClick(dialog.next, qtbot_button())
    assert dialog.table is not None
    dialog.go_back()
    assert dialog.pages.currentIndex() == PAGE_FILE
    assert "Windows-1252" in dialog.file_info.text() and "6 Datenzeilen" in dialog.file_info.text()
    qtbot.mouseClick(dialog.next, qtbot_button())
    assert dialog.pages.currentIndex() == PAGE_MAPPING

    # step 2: mapping; "Name" is recognised, two columns on one field are warned about and block "Weiter"
    assert dialog.current_mapping().columns["Name"] == "family_name"
    assert dialog.current_mapping().columns["Bemerkung"] == "note"
    dialog.set_field("Zweiter Name", "family_name")
    assert dialog.mapping_warning.isVisible()
    assert "„Name“, „Zweiter Name“" in dialog.mapping_warning.text()
    assert not dialog.next.isEnabled()
    dialog.set_field("Zweiter Name", "")
    assert not dialog.mapping_warning.isVisible() and dialog.next.isEnabled()
    assert dialog.save_mapping_as("Liste Jobcenter")
    assert dialog.saved.currentText() == "Liste Jobcenter"

    # step 3: dry run in the worker, nothing written
    qtbot.mouseClick(dialog.next, qtbot_button())
    assert dialog.pages.currentIndex() == PAGE_PREVIEW
    wait_idle(qtbot, dialog)
    assert dialog.preview is not None and dialog.preview.dry_run
    assert "3 Personen würden übernommen" in dialog.counts.text()
    assert "1 mögliche Dublette" in dialog.counts.text() and "2 Zeilen abgelehnt" in dialog.counts.text()
    assert dialog.rejected_table.rowCount() == 2
    assert dialog.rejected_table.item(0, 0).text() == "4"
    assert dialog.rejected_table.item(0, 1).text() == "Der Nachname fehlt."
    assert (
        dialog.flagged_table.rowCount() == 1
        and "Aufenthaltserlaubnis" in dialog.flagged_table.item(0, 3).text()
    )
    assert dialog.duplicate_table.item(0, 4).text().startswith("Müller, Hans")
    assert count(ctx) == 1

    # the import itself
    assert dialog.import_button.isEnabled()
    qtbot.mouseClick(dialog.import_button, qtbot_button())
    wait_idle(qtbot, dialog)
    assert dialog.result is not None and not dialog.result.dry_run
    assert "3 Personen übernommen" in dialog.counts.text()
    assert imported and imported[0].batch_id == dialog.result.batch_id
    assert count(ctx) == 4 and count(ctx, ImportBatch) == 1
    assert not dialog.import_button.isEnabled()  # one import per run
    rejects = tmp_path / "abgelehnt.csv"
    assert dialog.save_rejects_to(rejects)
    assert rejects.read_bytes().decode("utf-8-sig").splitlines()[0].endswith(";Zeile;Grund")

    # "Import rückgängig machen" from the list of earlier imports
    batches = ImportBatchesDialog(ctx, dialog)
    qtbot.addWidget(batches)
    batches.show()
    assert batches.list.rowCount() == 1 and batches.list.item(0, 1).text() == "klientinnen.csv"
    assert not batches.undo.isEnabled()
    batches.list.selectRow(0)
    assert batches.undo.isEnabled()
    assert batches.review.rowCount() == 1  # Rahimi: "Aufenthaltserlaubnis" names no single status
    assert (batches.review.item(0, 0).text(), batches.review.item(0, 1).text()) == ("6", "Rahimi")
    chosen = []
    batches.open_person.connect(chosen.append)
    batches._review_activated(batches.review.model().index(0, 0))
    with ctx.read() as session:
        assert chosen == [session.scalars(select(Person.id).where(Person.family_name == "Rahimi")).one()]
    batches.show()
    monkeypatch.setattr(QMessageBox, "question", lambda *args, **kwargs: QMessageBox.StandardButton.Yes)
    qtbot.mouseClick(batches.undo, qtbot_button())
    assert "3 Personen entfernt" in batches.status.text()
    assert count(ctx) == 1
    assert "rückgängig gemacht" in batches.list.item(0, 6).text()


def test_undo_refused_in_the_dialog_when_worked_on(qtbot, ctx, tmp_path):
    from kim_desktop.services import person_import

    source = tmp_path / "a.csv"
    source.write_text("Nachname;Vorname\r\nAdler;Ada\r\nBrandt;Ben\r\n", encoding="utf-8")
    result = person_import.run_import(ctx, source)
    with ctx.read() as session:
        adler = session.scalars(select(Person.id).where(Person.family_name == "Adler")).one()
    cases.open_case(ctx, adler)
    batches = ImportBatchesDialog(ctx)
    qtbot.addWidget(batches)
    batches.show()
    batches.list.selectRow(0)
    assert batches.batches[0].id == result.batch_id
    assert not batches.undo_selected(confirm=False)
    assert "1 Person wurde seither bearbeitet (Zeile 2 der Datei)" in batches.status.text()
    assert count(ctx) == 2


def test_bad_file_cancel_and_accessible_names(qtbot, ctx, tmp_path):
    dialog = ImportDialog(ctx)
    qtbot.addWidget(dialog)
    dialog.show()
    empty = tmp_path / "leer.csv"
    empty.write_bytes(b"")
    assert not dialog.load_file(str(empty))
    assert dialog.status.text() == "Die Datei ist leer." and not dialog.next.isEnabled()
    source = tmp_path / "viele.csv"
    source.write_text(
        "Nachname;Vorname;Geburtsdatum\r\n" + "".join(f"Person{i:04d};Test;1990\r\n" for i in range(3000)),
        encoding="utf-8",
    )
    assert dialog.load_file(str(source))
    dialog.go_next()
    dialog.go_next()  # dry run starts
    assert dialog.running
    dialog.cancel_run()
    wait_idle(qtbot, dialog)
    if dialog.preview is None:  # cancelled in time (on a fast machine the dry run may already be done)
        assert "abgebrochen" in dialog.status.text()
    assert count(ctx) == 0
    for page in (PAGE_FILE, PAGE_MAPPING, PAGE_PREVIEW):
        dialog._show_page(page)
        for kind in (QLineEdit, QAbstractButton, QComboBox, QTableView):
            for widget in dialog.findChildren(kind):
                if widget.isVisibleTo(dialog) and widget.focusPolicy() != 0:
                    assert widget.accessibleName(), f"{type(widget).__name__} without an accessible name"


def test_screenshot(qtbot, ctx, tmp_path):
    source = tmp_path / "liste.csv"
    source.write_text(CSV, encoding="utf-8")
    dialog = ImportDialog(ctx)
    qtbot.addWidget(dialog)
    dialog.resize(900, 600)
    dialog.show()
    dialog.load_file(str(source))
    dialog.go_next()
    QApplication.processEvents()
    dialog.grab().save(str(tmp_path / "mapping.png"))
    dialog.go_next()
    wait_idle(qtbot, dialog)
    QApplication.processEvents()
    image = dialog.grab()
    assert image.save(str(tmp_path / "import.png"))
    assert image.width() >= 820


def qtbot_button():
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton


def test_file_menu_opens_import_and_undo(qtbot, window):
    from PySide6.QtCore import QTimer

    seen = []

    def close_modal():
        dialog = QApplication.activeModalWidget()
        if dialog is None:
            QTimer.singleShot(100, close_modal)
            return
        seen.append(type(dialog).__name__)
        dialog.reject()

    for count_before, action in enumerate((window.import_action, window.undo_import_action)):
        QTimer.singleShot(100, close_modal)
        action.trigger()
        qtbot.waitUntil(lambda n=count_before: len(seen) > n, timeout=10000)
    assert seen == ["ImportDialog", "ImportBatchesDialog"]
    assert window.import_action.text() == "Personen importieren (Excel, &CSV) …"

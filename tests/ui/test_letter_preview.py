"""Brief erstellen with preview, printing and saving; the archived documents on the person and case pages.

Real parts throughout: a real SQLite file with synthetic demo data, real letters rendered by ReportLab, real
PDFium previews, a real QPrinter writing a PDF file (read back with pypdf), the real file dialog, real pages
of the main window. Modal dialogs are answered with ``ui.on_modal``.
"""

from __future__ import annotations

import hashlib
import io
from datetime import date

import pytest
from pypdf import PdfReader
from PySide6.QtCore import Qt
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import QApplication, QFileDialog
from sqlalchemy import func, select, update

from kim_desktop.db.models import Appointment, AuditEvent, Case, Document, Person, Referral
from kim_desktop.errors import UserError
from kim_desktop.services import cases, demo, documents, letters, persons
from kim_desktop.ui.letter_dialog import LetterDialog, letter_languages
from kim_desktop.ui.pdf_preview import PdfPreview, paint_pdf, selected_pages, write_file_atomically


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def page_count(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def document_count(ctx) -> int:
    with ctx.read() as session:
        return session.scalar(select(func.count()).select_from(Document))


@pytest.fixture
def demo_case(ctx):
    """A case of a synthetic demo person with a complete address: (person id, case id)."""
    demo.generate_demo_data(ctx, persons=12, seed=7)
    with ctx.read() as session:
        rows = session.execute(
            select(Case.id, Person.id)
            .join(Person, Person.id == Case.person_id)
            .where(Case.deleted_at.is_(None), Person.street.is_not(None), Person.postcode.is_not(None))
            .order_by(Case.file_number)
        ).all()
    assert rows, "the demo data has cases of persons with an address"
    case_id, person_id = rows[0]
    return person_id, case_id


def open_dialog(qtbot, ctx, **ids) -> LetterDialog:
    dialog = LetterDialog(ctx, **ids)
    qtbot.addWidget(dialog)
    dialog.resize(1100, 800)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def choose(dialog: LetterDialog, key: str, language: str | None = None) -> None:
    dialog.template.setCurrentIndex(dialog.template.findData(key))
    if language is not None:
        dialog.language.setCurrentIndex(dialog.language.findData(language))
    assert dialog.choice()[0] == key


def dark_pixels(image, step: int = 4) -> int:
    """How many sampled pixels are not near-white: a rendered page has text on it."""
    return sum(
        1
        for y in range(0, image.height(), step)
        for x in range(0, image.width(), step)
        if image.pixelColor(x, y).lightness() < 160
    )


# --- the dialog and its preview --------------------------------------------------------------------------


def test_dialog_shows_the_pages_of_a_letter_for_a_demo_person(qtbot, ctx, demo_case, screenshot_dir):
    person_id, case_id = demo_case
    dialog = open_dialog(qtbot, ctx, person_id=person_id, case_id=case_id)
    assert dialog.windowTitle() == "Brief erstellen"
    choose(dialog, "privacy")
    preview = dialog.preview
    assert preview.message() == ""
    assert preview.page_count() == page_count(dialog.preview_pdf) >= 2
    assert preview.current_page() == 1
    assert preview.page_label.text() == f"Seite 1 von {preview.page_count()}"
    image = preview.page_image(1)
    assert not image.isNull() and image.width() >= 400  # fitted to the width, readable, not a thumbnail
    assert dark_pixels(image) > 200
    assert dialog.save_button.isEnabled() and dialog.print_button.isEnabled()
    dialog.grab().save(str(screenshot_dir / "ui_letter_dialog.png"))

    # a case letter: the preview follows the choice and shows the file number
    choose(dialog, "plan")
    with ctx.read() as session:
        file_number = session.get(Case, case_id).file_number
    assert file_number in pdf_text(dialog.preview_pdf)
    assert preview.current_page() == 1 and preview.page_count() == page_count(dialog.preview_pdf)
    assert document_count(ctx) == 0  # a preview is never archived


def test_preview_keyboard_pages_and_zoom(qtbot, ctx, demo_case):
    person_id, _case_id = demo_case
    dialog = open_dialog(qtbot, ctx, person_id=person_id)
    choose(dialog, "privacy")
    preview = dialog.preview
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow, timeout=2000)
    preview.scroll.setFocus()
    assert preview.is_fit_width()
    fitted = preview.zoom_percent()

    qtbot.keyClick(preview.scroll, Qt.Key.Key_PageDown)
    assert preview.current_page() == 2 and preview.page_label.text().startswith("Seite 2 von")
    qtbot.keyClick(preview.scroll, Qt.Key.Key_PageUp)
    assert preview.current_page() == 1

    qtbot.keyClick(preview.scroll, Qt.Key.Key_Plus, Qt.KeyboardModifier.ControlModifier)
    assert preview.zoom_percent() > fitted and not preview.is_fit_width()
    width_zoomed = preview.page_image(1).width()
    qtbot.keyClick(preview.scroll, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(preview.scroll, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    assert preview.zoom_percent() < fitted
    assert preview.page_image(1).width() < width_zoomed
    preview.fit_button.click()
    assert preview.is_fit_width() and preview.zoom_percent() == pytest.approx(fitted)

    # named for screen readers, reachable with Tab
    for widget in (dialog.template, dialog.language, preview.scroll, dialog.save_button, dialog.print_button,
                   dialog.close_button, preview.previous_button, preview.next_button, preview.zoom_in_button,
                   preview.zoom_out_button, preview.fit_button):  # fmt: skip
        assert widget.accessibleName().strip(), widget
        assert widget.focusPolicy() & Qt.FocusPolicy.TabFocus, widget


def test_documents_offered_fit_the_context(qtbot, ctx, demo_case):
    person_id, case_id = demo_case
    without_case = open_dialog(qtbot, ctx, person_id=person_id)
    keys = [without_case.template.itemData(i) for i in range(without_case.template.count())]
    assert keys == list(letters.PERSON_LETTERS)

    with ctx.read() as session:
        appointment = session.scalars(select(Appointment).where(Appointment.case_id.is_not(None))).first()
        referral = session.scalars(select(Referral)).first()
        appointment_ids = (appointment.id, appointment.case_id)
        referral_id = referral.id
    invitation = open_dialog(qtbot, ctx, case_id=appointment_ids[1], appointment_id=appointment_ids[0])
    keys = [invitation.template.itemData(i) for i in range(invitation.template.count())]
    assert keys[0] == "invitation" and "referral" not in keys and set(letters.CASE_LETTERS) <= set(keys)
    assert invitation.choice()[0] == "invitation"  # what the user came for is chosen already
    assert invitation.preview.page_count() >= 1 or "Anschrift" in invitation.preview.message()

    referral_dialog = open_dialog(qtbot, ctx, referral_id=referral_id)
    keys = [referral_dialog.template.itemData(i) for i in range(referral_dialog.template.count())]
    assert keys[0] == "referral" and "invitation" not in keys and "plan" not in keys
    assert referral_dialog.choice()[0] == "referral"


def test_language_combo_german_first_and_only_for_bilingual_letters(qtbot, ctx, demo_case):
    person_id, case_id = demo_case
    dialog = open_dialog(qtbot, ctx, person_id=person_id, case_id=case_id)
    combo = dialog.language
    codes = [combo.itemData(i) for i in range(combo.count())]
    assert codes[0] == "de" and combo.itemText(0) == "Deutsch"
    assert codes == list(letter_languages()) and set(codes) == set(getattr(letters, "LANGUAGES", ("de",)))
    bilingual = set(getattr(letters, "BILINGUAL_LETTERS", ()))
    for i in range(dialog.template.count()):
        key = dialog.template.itemData(i)
        dialog.template.setCurrentIndex(i)
        assert combo.isEnabled() == (key in bilingual and len(codes) > 1), key
        if key not in bilingual:
            assert dialog.choice() == (key, "de")
    if not (bilingual and "en" in codes):
        pytest.skip("no bilingual letters in this build (letters.BILINGUAL_LETTERS)")

    key = sorted(bilingual & set(letters.PERSON_LETTERS))[0]
    choose(dialog, key)
    german = dialog.preview_pdf
    dialog.language.setCurrentIndex(dialog.language.findData("en"))
    assert combo.currentText().startswith("Deutsch und ")
    assert dialog.choice() == (key, "en") and dialog.preview.message() == ""
    assert page_count(dialog.preview_pdf) > page_count(german)  # the German letter, then the translation
    assert pdf_text(german).splitlines()[0] in pdf_text(dialog.preview_pdf)
    # a German-only document switches to German; back on a bilingual one, the chosen language returns
    choose(dialog, "certificate")
    assert dialog.choice() == ("certificate", "de") and not combo.isEnabled()
    choose(dialog, key)
    assert dialog.choice() == (key, "en")


def test_missing_address_is_explained_in_the_preview(qtbot, ctx):
    person = persons.create_person(ctx, {"family_name": "Ohneanschrift", "given_names": "Ali"})
    dialog = open_dialog(qtbot, ctx, person_id=person.id)
    message = dialog.preview.message()
    assert "keine vollständige Anschrift" in message and "Straße, PLZ und Ort" in message
    assert dialog.preview.stack.currentWidget() is dialog.preview.message_label
    assert dialog.preview.page_count() == 0 and dialog.preview.page_label.text() == ""
    assert not dialog.save_button.isEnabled() and not dialog.print_button.isEnabled()
    assert dialog.save() is None and not dialog.print_letter()
    assert document_count(ctx) == 0


def test_an_unreadable_pdf_is_a_message_not_a_crash(qtbot):
    preview = PdfPreview()
    qtbot.addWidget(preview)
    preview.set_pdf(b"not a pdf at all")
    assert preview.message() == "Die Datei ist kein lesbares PDF." and preview.page_count() == 0


# --- saving and printing: archived once, when the letter leaves the program ----------------------------


def test_save_writes_a_real_pdf_and_archives_exactly_one_document(qtbot, ctx, demo_case, tmp_path, ui):
    person_id, case_id = demo_case
    dialog = open_dialog(qtbot, ctx, person_id=person_id, case_id=case_id)
    choose(dialog, "plan")
    folder = tmp_path / "briefe"
    folder.mkdir()
    target = folder / "hilfeplan"
    seen = {}

    def answer(file_dialog):
        assert isinstance(file_dialog, QFileDialog)
        seen["suggested"] = file_dialog.selectedFiles()[0]
        file_dialog.selectFile(str(target))
        file_dialog.accept()

    record = ui.on_modal(qtbot, answer)
    saved = dialog.save()
    assert record["error"] is None, record["error"]
    assert seen["suggested"].endswith(f"{date.today().isoformat()}.pdf")
    assert saved == folder / "hilfeplan.pdf" and dialog.saved_path == saved
    assert [p.name for p in folder.iterdir()] == ["hilfeplan.pdf"]  # no temporary file left behind
    pdf = saved.read_bytes()
    assert page_count(pdf) >= 1 and "Hilfeplan" in pdf_text(pdf)
    with ctx.read() as session:
        [document] = session.scalars(select(Document)).all()
        assert document.kind == "plan" and document.case_id == case_id and document.person_id == person_id
        assert document.content == pdf and document.sha256 == hashlib.sha256(pdf).hexdigest()
    assert dialog.archived_ids == [document.id]
    assert "archiviert" in dialog.status.text()

    # saving again and printing the same letter use the archived letter: still one document
    second = tmp_path / "kopie.pdf"
    assert dialog.save(second) == second and second.read_bytes() == pdf
    printer = pdf_printer(tmp_path / "gedruckt.pdf")
    assert dialog.print_letter(printer)
    assert page_count((tmp_path / "gedruckt.pdf").read_bytes()) == page_count(pdf)
    assert document_count(ctx) == 1 and dialog.archived_ids == [document.id]

    # another document is another letter in the file
    choose(dialog, "closing")
    assert dialog.save(tmp_path / "abschluss.pdf") is not None
    assert document_count(ctx) == 2


def test_print_first_archives_then_prints(qtbot, ctx, demo_case, tmp_path):
    person_id, _case_id = demo_case
    dialog = open_dialog(qtbot, ctx, person_id=person_id)
    choose(dialog, "privacy")
    archived = []
    dialog.archived.connect(archived.append)
    out = tmp_path / "druck.pdf"
    assert dialog.print_letter(pdf_printer(out))
    assert dialog.printed and len(archived) == 1 and document_count(ctx) == 1
    with ctx.read() as session:
        content = session.get(Document, archived[0]).content
    assert page_count(out.read_bytes()) == page_count(content)


def test_a_failed_save_says_so_in_german_and_keeps_the_archive(qtbot, ctx, demo_case, tmp_path, ui):
    person_id, _case_id = demo_case
    dialog = open_dialog(qtbot, ctx, person_id=person_id)
    record = ui.on_modal(qtbot, lambda box: box.accept())
    assert dialog.save(tmp_path / "gibt-es-nicht" / "brief.pdf") is None
    assert record["title"] == "Als PDF speichern"
    assert "Das PDF konnte nicht gespeichert werden" in record["text"] and "gibt-es-nicht" in record["text"]
    assert "archiviert" in dialog.status.text() and dialog.saved_path is None
    assert document_count(ctx) == 1  # it did leave for the disk: the file holds what was attempted


# --- the factored print path: real QPrinter into a real PDF file -----------------------------------------


def pdf_printer(path) -> QPrinter:
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(path))
    printer.setFullPage(True)
    return printer


def test_paint_pdf_prints_every_page_at_true_size(qtbot, ctx, demo_case, tmp_path):
    person_id, _case_id = demo_case
    pdf = letters.make_letter(ctx, "privacy", person_id=person_id, archive=False).pdf
    pages = page_count(pdf)
    out = tmp_path / "alle.pdf"
    assert paint_pdf(pdf, pdf_printer(out)) == pages
    reader = PdfReader(out)
    assert len(reader.pages) == pages
    box = reader.pages[0].mediabox
    assert float(box.width) == pytest.approx(595.3, abs=1.5) and float(box.height) == pytest.approx(
        841.9, abs=1.5
    )

    two_copies = tmp_path / "zwei.pdf"
    assert paint_pdf(pdf, pdf_printer(two_copies), [0], copies=2) == 2
    assert len(PdfReader(two_copies).pages) == 2


def test_selected_pages_follow_the_print_dialog(qtbot, tmp_path):
    printer = pdf_printer(tmp_path / "x.pdf")
    assert selected_pages(printer, 3) == [0, 1, 2]
    printer.setPrintRange(QPrinter.PrintRange.PageRange)
    printer.setFromTo(2, 3)
    assert selected_pages(printer, 3) == [1, 2]
    printer.setFromTo(2, 9)
    assert selected_pages(printer, 3) == [1, 2]
    printer.setPrintRange(QPrinter.PrintRange.CurrentPage)
    assert selected_pages(printer, 3, current_page=2) == [1]


def test_atomic_write_replaces_the_file_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "brief.pdf"
    target.write_bytes(b"old")
    write_file_atomically(target, b"%PDF-new")
    assert target.read_bytes() == b"%PDF-new" and [p.name for p in tmp_path.iterdir()] == ["brief.pdf"]
    with pytest.raises(OSError):
        write_file_atomically(tmp_path / "missing" / "brief.pdf", b"x")


# --- archived documents on the person and case pages ------------------------------------------------------


@pytest.fixture
def kowalska(ui_ctx):
    person = persons.create_person(
        ui_ctx,
        {"family_name": "Kowalska", "given_names": "Zofia", "sex": "f", "street": "Markt 3", "postcode": "48653",
         "city": "Coesfeld"},
    )  # fmt: skip
    case = cases.open_case(ui_ctx, person.id, consent_on=date.today())
    return person.id, case.id


def test_documents_section_lists_the_letter_made_and_opens_it(
    qtbot, window, ui_ctx, kowalska, tmp_path, ui, screenshot_dir
):
    person_id, case_id = kowalska
    window.open_person(person_id)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.person_page, timeout=5000)
    panel = window.person_page.documents
    assert panel.model.rowCount() == 0 and not panel.open_button.isEnabled()
    assert panel.table.empty_text == "Noch keine Dokumente archiviert."
    assert "Noch keine Dokumente" in panel.table.accessibleDescription()

    def make(dialog):
        assert isinstance(dialog, LetterDialog)
        choose(dialog, "privacy")
        assert dialog.save(tmp_path / "datenschutz.pdf") is not None
        assert panel.model.rowCount() == 1  # the list behind the dialog is already up to date
        dialog.resize(1100, 800)
        dialog.grab().save(str(screenshot_dir / "ui_letter_dialog_saved.png"))
        dialog.reject()

    record = ui.when_modal(qtbot, lambda d: isinstance(d, LetterDialog), make)
    window.person_page.letter_button.click()
    assert record["error"] is None, record["error"]
    assert "archiviert" in window.statusBar().currentMessage()
    assert panel.table.empty_text == "" and panel.open_button.isEnabled()

    model = panel.model
    assert [model.headerData(c, Qt.Orientation.Horizontal) for c in range(4)] == [
        "Datum", "Dokument", "Version", "Erstellt von",
    ]  # fmt: skip
    assert model.index(0, 0).data().startswith(date.today().strftime("%d.%m.%Y"))
    assert model.index(0, 1).data() == "Datenschutzhinweise nach Art. 13 DSGVO"
    assert model.index(0, 2).data().isdigit() and model.index(0, 3).data() == "Einzelplatz"
    window.grab().save(str(screenshot_dir / "ui_person_documents.png"))

    # Enter on the table opens the viewer with the archived PDF
    panel.table.setFocus()
    panel.table.setCurrentIndex(model.index(0, 1))
    qtbot.keyClick(panel.table, Qt.Key.Key_Return)
    viewer = panel.viewer
    assert viewer is not None and viewer.isVisible()
    assert viewer.pdf == (tmp_path / "datenschutz.pdf").read_bytes()
    assert viewer.preview.page_count() == page_count(viewer.pdf) and viewer.preview.message() == ""
    assert "unverändert" in viewer.checked.text() and "Einzelplatz" in viewer.details.text()
    viewer.resize(1100, 800)
    viewer.grab().save(str(screenshot_dir / "ui_document_viewer.png"))

    viewer.reject()

    # the case page lists the case's letters (person letters without a case are not among them)
    window.open_case(case_id)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.case_page, timeout=5000)
    assert window.case_page.documents.model.rowCount() == 0
    letters.make_letter(ui_ctx, "plan", case_id=case_id)
    window._documents_changed()
    assert window.case_page.documents.model.rowCount() == 1
    assert window.case_page.documents.model.index(0, 1).data() == "Hilfeplan"
    window.grab().save(str(screenshot_dir / "ui_case_documents.png"))
    with ui_ctx.read() as session:
        reads = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "read", AuditEvent.entity_type == "document")
        ).all()
    # opening the archived letter in the viewer was logged (previews before saving are logged as reads too,
    # without a document id: nothing was archived yet)
    assert len([r for r in reads if r.entity_id is not None]) == 1
    assert all(r.detail and r.detail.get("template") for r in reads if r.entity_id is None)


def test_viewer_saves_a_copy_and_logs_it(qtbot, ctx, tmp_path, ui):
    person = persons.create_person(
        ctx,
        {
            "family_name": "Nowak",
            "given_names": "Ewa",
            "street": "Weg 1",
            "postcode": "48249",
            "city": "Dülmen",
        },
    )
    made = letters.make_letter(ctx, "certificate", person_id=person.id)
    from kim_desktop.ui.documents_panel import DocumentsPanel

    panel = DocumentsPanel("Dokumente")
    qtbot.addWidget(panel)
    panel.set_context(ctx)
    panel.load(person_id=person.id)
    viewer = panel.open_selected()
    assert viewer is not None

    def answer(file_dialog):
        file_dialog.selectFile(str(tmp_path / "bescheinigung.pdf"))
        file_dialog.accept()

    record = ui.on_modal(qtbot, answer)
    path = viewer.save_document()
    assert record["error"] is None, record["error"]
    assert path == tmp_path / "bescheinigung.pdf" and path.read_bytes() == made.pdf
    with ctx.read() as session:
        exports = session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).all()
    assert [(e.entity_id, e.detail) for e in exports] == [(made.document_id, {"copy": True})]
    viewer.reject()


def test_printing_a_copy_through_the_print_dialog(qtbot, ctx, tmp_path, ui):
    """The real print dialog (Qt's own; here only "Print to File (PDF)"): range and copies reach the paper."""
    from PySide6.QtPrintSupport import QPrintDialog
    from PySide6.QtWidgets import QLineEdit, QRadioButton, QSpinBox

    from kim_desktop.ui.documents_panel import DocumentsPanel

    person = persons.create_person(
        ctx,
        {
            "family_name": "Nowak",
            "given_names": "Ewa",
            "street": "Weg 1",
            "postcode": "48249",
            "city": "Dülmen",
        },
    )
    made = letters.make_letter(ctx, "privacy", person_id=person.id)
    pages = page_count(made.pdf)
    assert pages >= 2
    panel = DocumentsPanel("Dokumente")
    qtbot.addWidget(panel)
    panel.set_context(ctx)
    panel.load(person_id=person.id)
    viewer = panel.open_selected()
    out = tmp_path / "papier.pdf"
    seen = {}

    def answer(dialog):
        assert isinstance(dialog, QPrintDialog)
        seen["range"] = (
            dialog.findChild(QSpinBox, "from").maximum(),
            dialog.findChild(QSpinBox, "to").value(),
        )
        dialog.findChild(QLineEdit, "filename").setText(str(out))
        dialog.findChild(QRadioButton, "printRange").setChecked(True)
        dialog.findChild(QSpinBox, "from").setValue(2)
        dialog.findChild(QSpinBox, "to").setValue(2)
        dialog.findChild(QSpinBox, "copies").setValue(3)
        dialog.accept()

    record = ui.on_modal(qtbot, answer)
    assert viewer.print_document()
    assert record["error"] is None, record["error"]
    assert seen == {"range": (pages, pages)}  # the dialog knows the document's pages
    assert len(PdfReader(out).pages) == 3  # page 2, three copies
    with ctx.read() as session:
        printed = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "print", AuditEvent.entity_id == made.document_id)
        ).all()
    assert [e.detail.get("template") for e in printed] == ["privacy", None]  # made, then ...
    assert printed[1].detail == {"copy": True}  # ... a copy from the archive
    viewer.reject()


def test_a_tampered_document_is_reported_not_shown(qtbot, ctx, tmp_path, ui):
    person = persons.create_person(
        ctx,
        {
            "family_name": "Nowak",
            "given_names": "Ewa",
            "street": "Weg 1",
            "postcode": "48249",
            "city": "Dülmen",
        },
    )
    made = letters.make_letter(ctx, "privacy", person_id=person.id)
    middle = len(made.pdf) // 2
    with ctx.write() as session:
        session.execute(
            update(Document)
            .where(Document.id == made.document_id)
            .values(content=made.pdf[:middle] + b"X" + made.pdf[middle + 1 :])
        )
    from kim_desktop.ui.documents_panel import DocumentsPanel

    panel = DocumentsPanel("Dokumente")
    qtbot.addWidget(panel)
    panel.set_context(ctx)
    panel.load(person_id=person.id)
    assert panel.model.rowCount() == 1  # the list shows it (metadata only) ...
    record = ui.on_modal(qtbot, lambda box: box.accept())
    assert panel.open_selected() is None  # ... but it does not open
    assert record["title"] == "Dokument öffnen"
    assert "beschädigt" in record["text"] and "Systembetreuung" in record["text"]
    assert panel.viewer is None and QApplication.activeModalWidget() is None
    with pytest.raises(UserError, match="beschädigt"):
        documents.open_document(ctx, made.document_id)

"""Brief erstellen from the GUI: the PDF is saved where asked and archived in the file."""

from __future__ import annotations

import io
from datetime import date

from pypdf import PdfReader
from sqlalchemy import select

from kim_desktop.db.models import Document
from kim_desktop.services import cases, persons
from kim_desktop.ui.letter_dialog import LetterDialog, document_titles


def test_document_choice_depends_on_the_context():
    assert "plan" not in document_titles(False) and "privacy" in document_titles(False)
    assert {"plan", "closing", "privacy"} <= set(document_titles(True))


def test_letter_dialog_saves_and_archives(qtbot, ctx, tmp_path):
    person = persons.create_person(
        ctx,
        {"family_name": "Kowalska", "given_names": "Zofia", "sex": "f", "street": "Markt 3", "postcode": "48653",
         "city": "Coesfeld"},
    )  # fmt: skip
    case = cases.open_case(ctx, person.id, consent_on=date.today())
    dialog = LetterDialog(ctx, person_id=person.id, case_id=case.id)
    qtbot.addWidget(dialog)
    dialog.template.setCurrentIndex(dialog.template.findData("plan"))
    dialog.path.setText(str(tmp_path / "hilfeplan"))
    assert dialog.make()
    assert dialog.saved_path == tmp_path / "hilfeplan.pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(dialog.saved_path.read_bytes())).pages)
    assert "Kowalska" in text and case.file_number in text
    with ctx.read() as session:
        assert [d.kind for d in session.scalars(select(Document))] == ["plan"]
    for widget in (dialog.template, dialog.path):
        assert widget.accessibleName()


def test_letter_dialog_explains_a_missing_address(qtbot, ctx, tmp_path):
    person = persons.create_person(ctx, {"family_name": "Ohneanschrift", "given_names": "Ali"})
    dialog = LetterDialog(ctx, person_id=person.id)
    qtbot.addWidget(dialog)
    dialog.path.setText(str(tmp_path / "x.pdf"))
    assert not dialog.make()
    assert "Anschrift" in dialog.error.text()
    assert not (tmp_path / "x.pdf").exists()

"""Brief erstellen: choose a document, make the PDF, archive it with the file and save a copy."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from ..errors import UserError
from ..i18n import _
from ..services import letter_templates, letters


def document_titles(with_case: bool) -> dict[str, str]:
    """Template key → title for the documents that fit the context (case letters need a case)."""
    titles = {key: source.title for key, source in letter_templates.default_templates().items()}
    allowed = list(letters.PERSON_LETTERS) + (list(letters.CASE_LETTERS) if with_case else [])
    return {key: titles[key] for key in allowed if key in titles}


class LetterDialog(QDialog):
    def __init__(self, ctx, *, person_id: str | None = None, case_id: str | None = None, parent=None) -> None:
        super().__init__(parent)
        self.ctx, self.person_id, self.case_id = ctx, person_id, case_id
        self.saved_path: Path | None = None
        self.setWindowTitle(_("Brief erstellen"))
        self.setMinimumWidth(520)
        form = QFormLayout(self)
        self.template = QComboBox()
        self.template.setAccessibleName(_("Dokument"))
        for key, title in document_titles(case_id is not None).items():
            self.template.addItem(title, key)
        label = QLabel(_("&Dokument:"))
        label.setBuddy(self.template)
        form.addRow(label, self.template)
        self.path = QLineEdit(str(Path.home() / "brief.pdf"))
        self.path.setAccessibleName(_("Speichern unter"))
        browse = QPushButton(_("&Durchsuchen …"))
        browse.setAccessibleName(_("Speicherort wählen"))
        browse.clicked.connect(self._browse)
        row = QWidget()
        row_layout = QHBoxLayout(row)
        row_layout.setContentsMargins(0, 0, 0, 0)
        row_layout.addWidget(self.path, 1)
        row_layout.addWidget(browse)
        path_label = QLabel(_("&Speichern unter:"))
        path_label.setBuddy(self.path)
        form.addRow(path_label, row)
        hint = QLabel(_("Der Brief wird außerdem in der Akte archiviert. Vertrauliche Verlaufseinträge erscheinen nie in Briefen."))
        hint.setWordWrap(True)
        form.addRow(hint)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b00020;")
        form.addRow(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(_("Brief &erstellen"))
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(_("Abbrechen"))
        buttons.accepted.connect(self.make)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _browse(self) -> None:
        name, _filter = QFileDialog.getSaveFileName(self, _("Brief speichern"), self.path.text(), _("PDF (*.pdf)"))
        if name:
            self.path.setText(name)

    def make(self) -> bool:
        target = Path(self.path.text().strip()).expanduser()
        if not self.path.text().strip() or target.is_dir():
            self.error.setText(_("Bitte einen Dateinamen für das PDF angeben."))
            return False
        if target.suffix.lower() != ".pdf":
            target = target.with_suffix(".pdf")
        try:
            made = letters.make_letter(
                self.ctx, self.template.currentData(), person_id=self.person_id, case_id=self.case_id
            )
        except UserError as exc:
            self.error.setText(exc.message)
            return False
        try:
            target.write_bytes(made.pdf)
        except OSError:
            self.error.setText(
                _("Das PDF wurde in der Akte archiviert, konnte aber nicht gespeichert werden: {path}").format(path=target)
            )
            return False
        self.saved_path = target
        self.accept()
        return True

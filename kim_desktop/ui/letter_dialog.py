"""Brief erstellen: choose a document (and for client letters a second language), see it, save or print it.

The preview is made without archiving (``archive=False``). The letter is archived in the file the moment it
leaves the program, i.e. when it is saved or printed, and only once: saving and then printing the same
choice uses the archived letter, so the file holds exactly what the person received.
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..errors import UserError
from ..i18n import _, language_name
from ..services import letter_templates, letters
from .pdf_preview import (
    PdfPreview,
    ask_printer,
    ask_save_path,
    fit_to_screen,
    print_on,
    safe_file_name,
    write_pdf,
)

log = logging.getLogger(__name__)


def letter_languages() -> tuple[str, ...]:
    """Letter languages, German first (``letters.LANGUAGES`` once the bilingual letters are there)."""
    languages = tuple(getattr(letters, "LANGUAGES", ("de",)))
    return ("de", *(code for code in languages if code != "de"))


def bilingual_letters() -> tuple[str, ...]:
    return tuple(getattr(letters, "BILINGUAL_LETTERS", ()))


def document_titles(
    with_case: bool, *, with_appointment: bool = False, with_referral: bool = False
) -> dict[str, str]:
    """Template key → title for the documents that fit the context: person letters always, case letters with
    a case, the invitation with an appointment, the referral letter with a referral."""
    titles = {key: source.title for key, source in letter_templates.default_templates().items()}
    allowed = (
        (["referral"] if with_referral else [])
        + (["invitation"] if with_appointment else [])
        + list(letters.PERSON_LETTERS)
        + (list(letters.CASE_LETTERS) if with_case else [])
    )
    return {key: titles[key] for key in allowed if key in titles}


def language_label(code: str) -> str:
    if code == "de":
        return language_name("de") or _("Deutsch")
    return _("Deutsch und {language}").format(language=language_name(code) or code)


class LetterDialog(QDialog):
    archived = Signal(str)  # document id, each time a letter is archived

    def __init__(
        self,
        ctx,
        *,
        person_id: str | None = None,
        case_id: str | None = None,
        appointment_id: str | None = None,
        referral_id: str | None = None,
        parent=None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.person_id, self.case_id = person_id, case_id
        self.appointment_id, self.referral_id = appointment_id, referral_id
        self.saved_path: Path | None = None
        self.printed = False
        self.archived_ids: list[str] = []
        self._archive: dict[tuple[str, str], letters.MadeLetter] = {}
        self._preview_pdf: bytes | None = None  # the letter on screen (not archived)
        self._title = ""
        self._wanted_language = "de"  # kept while a German-only document is chosen
        self.setWindowTitle(_("Brief erstellen"))

        self.template = QComboBox()
        self.template.setAccessibleName(_("Dokument"))
        titles = document_titles(
            case_id is not None,
            with_appointment=appointment_id is not None,
            with_referral=referral_id is not None,
        )
        for key, title in titles.items():
            self.template.addItem(title, key)
            self.template.setItemData(self.template.count() - 1, title, Qt.ItemDataRole.ToolTipRole)
        self.template.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.template.setMinimumContentsLength(18)
        self.language = QComboBox()
        self.language.setAccessibleName(_("Sprache des Briefs"))
        for code in letter_languages():
            self.language.addItem(language_label(code), code)
        self.language.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.language.setMinimumContentsLength(18)

        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapAllRows)  # captions above: the panel stays narrow
        template_label = QLabel(_("Do&kument:"))
        template_label.setBuddy(self.template)
        form.addRow(template_label, self.template)
        language_caption = QLabel(_("S&prache:"))
        language_caption.setBuddy(self.language)
        form.addRow(language_caption, self.language)
        self.language_hint = QLabel()
        self.language_hint.setWordWrap(True)
        form.addRow(self.language_hint)

        hint = QLabel(
            _(
                "Der Brief wird in der Akte archiviert, sobald er gespeichert oder gedruckt wird. "
                "Vertrauliche Verlaufseinträge erscheinen nie in Briefen."
            )
        )
        hint.setWordWrap(True)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setAccessibleName(_("Status"))

        self.side = side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addLayout(form)
        side_layout.addSpacing(12)
        side_layout.addWidget(hint)
        side_layout.addSpacing(12)
        side_layout.addWidget(self.status)
        side_layout.addStretch(1)
        self._fit_side_panel()

        self.preview = PdfPreview()
        self.preview.setMinimumWidth(self.fontMetrics().averageCharWidth() * 40)

        self.save_button = QPushButton(_("Als PDF &speichern …"))
        self.save_button.setAccessibleName(_("Brief als PDF speichern und archivieren"))
        self.save_button.clicked.connect(lambda: self.save())
        self.print_button = QPushButton(_("&Drucken …"))
        self.print_button.setAccessibleName(_("Brief drucken und archivieren"))
        self.print_button.clicked.connect(lambda: self.print_letter())
        buttons = QDialogButtonBox()
        buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.print_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.close_button = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.close_button.setText(_("Schließen"))
        self.close_button.setAccessibleName(_("Schließen"))
        buttons.rejected.connect(self.reject)
        for button in (self.save_button, self.print_button, self.close_button):
            button.setAutoDefault(False)

        columns = QHBoxLayout()
        columns.addWidget(side)
        columns.addWidget(self.preview, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(columns, 1)
        layout.addWidget(buttons)

        self.template.currentIndexChanged.connect(self._document_changed)
        self.language.currentIndexChanged.connect(self._language_chosen)
        preselect = "referral" if referral_id else "invitation" if appointment_id else None
        if preselect and self.template.findData(preselect) >= 0:
            self.template.blockSignals(True)
            self.template.setCurrentIndex(self.template.findData(preselect))
            self.template.blockSignals(False)
        fit_to_screen(self, 1000, 760)
        self.template.setFocus()
        self._document_changed()

    def _fit_side_panel(self) -> None:
        """The choices take about a third of the dialog: room for the longest title on a wide screen, and
        most of the room for the page on a small one (150 % on a laptop)."""
        char = self.side.fontMetrics().averageCharWidth()
        self.side.setFixedWidth(max(22 * char, min(50 * char, int(self.width() * 0.3))))

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self._fit_side_panel()
        super().resizeEvent(event)

    # --- choice and preview --------------------------------------------------------------------------

    @property
    def preview_pdf(self) -> bytes | None:
        """The PDF shown in the preview (made without archiving); ``None`` when it could not be made."""
        return self._preview_pdf

    def choice(self) -> tuple[str, str]:
        """(template key, letter language) as chosen now."""
        return self.template.currentData(), self.language.currentData() or "de"

    def _document_changed(self, _index: int = 0) -> None:
        key = self.template.currentData()
        bilingual = key in bilingual_letters() and self.language.count() > 1
        self.language.blockSignals(True)
        wanted = self._wanted_language if bilingual else "de"
        self.language.setCurrentIndex(max(0, self.language.findData(wanted)))
        self.language.blockSignals(False)
        self.language.setEnabled(bilingual)
        if bilingual:
            self.language_hint.setText(
                _("Mit zweiter Sprache: der deutsche Brief und danach die Übersetzung.")
            )
        elif self.language.count() > 1:
            self.language_hint.setText(_("Dieses Dokument gibt es nur auf Deutsch."))
        else:
            self.language_hint.clear()
        self.language_hint.setVisible(bool(self.language_hint.text()))
        self.language.setAccessibleDescription(self.language_hint.text())
        self.refresh_preview()

    def _language_chosen(self, _index: int) -> None:
        self._wanted_language = self.language.currentData() or "de"
        self.refresh_preview()

    def refresh_preview(self) -> None:
        """Make the chosen letter without archiving it and show it; a German message if it cannot be made."""
        key, language = self.choice()
        self._preview_pdf = None
        self.status.clear()
        if key is None:
            self.preview.show_message(_("Für diesen Zusammenhang gibt es keine Briefvorlage."))
        else:
            try:
                made = self._make(key, language, archive=False)
            except UserError as exc:
                self.preview.show_message(exc.message)
            except Exception as exc:  # noqa: BLE001 - the dialog stays usable; the log gets the kind, no data
                log.error("letter preview failed for template %s: %s", key, type(exc).__name__)
                self.preview.show_message(
                    _("Die Vorschau konnte nicht erstellt werden; Details stehen im Protokoll.")
                )
            else:
                self._preview_pdf = made.pdf
                self._title = made.title
                self.preview.set_pdf(made.pdf)
        ready = self._preview_pdf is not None
        self.save_button.setEnabled(ready)
        self.print_button.setEnabled(ready)

    def _make(self, key: str, language: str, *, archive: bool) -> letters.MadeLetter:
        return letters.make_letter(
            self.ctx,
            key,
            person_id=self.person_id,
            case_id=self.case_id,
            appointment_id=self.appointment_id,
            referral_id=self.referral_id,
            language=language,
            archive=archive,
        )

    # --- the letter leaves the program ---------------------------------------------------------------

    def archived_letter(self) -> letters.MadeLetter:
        """The chosen letter, archived in the file: made once per choice, then reused."""
        choice = self.choice()
        made = self._archive.get(choice)
        if made is None:
            made = self._make(*choice, archive=True)
            self._archive[choice] = made
            if made.document_id:
                self.archived_ids.append(made.document_id)
                self.archived.emit(made.document_id)
        return made

    def suggested_file_name(self) -> str:
        key, language = self.choice()
        suffix = "" if language == "de" else f" ({language})"
        return safe_file_name(f"{self._title or key}{suffix} {date.today().isoformat()}")

    def save(self, path: Path | None = None) -> Path | None:
        """Save the letter as PDF (asks where when ``path`` is None); archived with it. The path or None."""
        if self._preview_pdf is None:
            return None
        if path is None:
            path = ask_save_path(self, self.suggested_file_name())
            if path is None:
                return None
        try:
            made = self.archived_letter()
        except UserError as exc:
            QMessageBox.warning(self, _("Brief erstellen"), exc.message)
            return None
        if not write_pdf(path, made.pdf, self):
            self.status.setText(
                _("Der Brief ist in der Akte archiviert, wurde aber nicht als PDF gespeichert.")
            )
            return None
        self.saved_path = path
        self.status.setText(_("Gespeichert unter {path} und in der Akte archiviert.").format(path=path))
        return path

    def print_letter(self, printer: QPrinter | None = None) -> bool:
        """Print the letter (asks for the printer when ``printer`` is None); archived with it."""
        if self._preview_pdf is None:
            return False
        current = self.preview.current_page() or None
        if printer is None:
            try:
                printer = ask_printer(self, self._preview_pdf, title=self._title, current_page=current)
            except UserError as exc:
                QMessageBox.warning(self, _("Drucken"), exc.message)
                return False
            if printer is None:
                return False
        try:
            made = self.archived_letter()
        except UserError as exc:
            QMessageBox.warning(self, _("Brief erstellen"), exc.message)
            return False
        if not print_on(printer, made.pdf, self, current_page=current):
            self.status.setText(_("Der Brief ist in der Akte archiviert, der Druck ist aber fehlgeschlagen."))
            return False
        self.printed = True
        self.status.setText(_("An den Drucker gesendet und in der Akte archiviert."))
        return True

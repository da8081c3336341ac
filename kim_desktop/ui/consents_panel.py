"""Consents in the GUI: the "Einwilligungen" of a person on the person page.

``ConsentsPanel`` lists the consents (Einwilligung Case Management, Schweigepflichtentbindung, Datenschutzhinweise)
with their state in words, and offers: record one (``ConsentDialog``, with the scan of the signed form), revoke
one (``RevokeConsentDialog``: date and confirmation), open the scan (``ScanViewer``: a PDF in ``PdfPreview``,
an image in a label) and print the form to sign (``LetterDialog`` with the consent or release letter chosen).
Dialogs open window-modal without blocking (kept as attributes); warnings (a revoked consent to case
management, a damaged scan) appear in the panel's notice line, which screen readers announce by its name.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ..errors import UserError, ValidationError
from ..i18n import _, format_date
from ..services import consents
from .widgets import CompactListTable, FieldError, RowsTableModel, add_field, make_list_table

ROW_ROLE = Qt.ItemDataRole.UserRole
LETTER_FOR_KIND = {"case_management": "consent", "release": "release", "privacy_notice": "privacy"}


class ConsentsModel(RowsTableModel):
    COLUMNS = ("kind", "recipient", "given_on", "valid_until", "revoked_on", "state", "scan")

    def __init__(self, parent=None) -> None:
        super().__init__(
            (_("Art"), _("Empfänger/in"), _("Unterschrieben am"), _("Gültig bis"), _("Widerrufen am"), _("Status"),
             _("Scan")),
            parent,
        )  # fmt: skip



    def _text(self, row: consents.ConsentRow, column: str) -> str:
        if column == "kind":
            return row.kind_label
        if column == "recipient":
            return row.recipient
        if column in ("given_on", "valid_until", "revoked_on"):
            value = getattr(row, column)
            return format_date(value) if value else ""
        if column == "state":
            return row.state_label
        return _("ja") if row.has_scan else _("nein")

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        row = self.row_at(index.row()) if index.isValid() else None
        if row is None:
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return self._text(row, self.COLUMNS[index.column()])
        if role == Qt.ItemDataRole.ToolTipRole and row.scope:
            return row.scope
        if role == ROW_ROLE:
            return row
        return None


def _date_or_error(edit: QLineEdit, error: FieldError, *, required: bool) -> tuple[date | None, bool]:
    """The date typed into ``edit`` (German formats); shows the message next to the field on bad input."""
    from ..services.dates import parse_date

    text = edit.text().strip()
    if not text:
        if required:
            error.show_message(_("Bitte ein Datum angeben (TT.MM.JJJJ)."))
            return None, False
        return None, True
    try:
        return parse_date(text), True
    except UserError as exc:
        error.show_message(exc.message)
        return None, False


class ConsentDialog(QDialog):
    """Record a consent of a person (``saved(consent_id)`` on success)."""

    saved = Signal(str)

    def __init__(self, ctx, person_id: str, *, kind: str = "case_management", parent=None) -> None:
        super().__init__(parent)
        self.ctx, self.person_id = ctx, person_id
        self.consent_id: str | None = None
        self.setWindowTitle(_("Einwilligung erfassen"))
        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.errors: dict[str, FieldError] = {}

        self.kind = QComboBox()
        for key, label in consents.kind_labels().items():
            self.kind.addItem(label, key)
        self.kind.setCurrentIndex(max(0, self.kind.findData(kind)))
        self.errors["kind"] = add_field(form, _("Art:"), self.kind)
        self.provider = QComboBox()
        self.provider.addItem(_("– kein Träger aus dem Verzeichnis –"), None)
        from ..services.directory import providers

        with ctx.read() as session:
            for row in providers(session):
                self.provider.addItem(row.name, row.id)
        self.errors["recipient"] = add_field(
            form, _("Empfänger/in aus dem Verzeichnis:"), self.provider,
            tip=_("Für eine Schweigepflichtentbindung: die Stelle, die Daten erhalten darf."),
        )  # fmt: skip
        self.recipient_name = QLineEdit()
        self.recipient_name.setMaxLength(consents.NAME_MAX)
        self.errors["recipient_name"] = add_field(
            form, _("oder Name der Stelle:"), self.recipient_name,
            tip=_("Eine Stelle, die nicht im Verzeichnis steht, oder eine Gruppe von Stellen."),
        )  # fmt: skip
        self.given_on = QLineEdit(format_date(date.today()))
        self.errors["given_on"] = add_field(form, _("Unterschrieben am:"), self.given_on, tip=_("TT.MM.JJJJ"))
        self.valid_until = QLineEdit()
        self.errors["valid_until"] = add_field(
            form, _("Gültig bis:"), self.valid_until, tip=_("TT.MM.JJJJ; leer lassen, wenn unbefristet.")
        )
        self.scope = QPlainTextEdit()
        self.scope.setTabChangesFocus(True)
        self.scope.setFixedHeight(self.fontMetrics().lineSpacing() * 4)
        self.errors["scope"] = add_field(form, _("Umfang:"), self.scope, tip=_("Welche Daten, wofür."))
        self.special = QCheckBox(_("Umfasst besondere Kategorien (Art. 9 DSGVO, z. B. Gesundheitsdaten)"))
        self.special.setAccessibleName(_("Besondere Kategorien nach Art. 9 DSGVO"))
        form.addRow("", self.special)
        self.form = QComboBox()
        for key, label in consents.form_labels().items():
            self.form.addItem(label, key)
        self.errors["form"] = add_field(form, _("Form:"), self.form)
        self.scan = QLineEdit()
        self.scan.setPlaceholderText(_("PDF, PNG oder JPEG, höchstens 10 MB"))
        self.choose_button = QPushButton(_("Datei wählen …"))
        self.choose_button.setAccessibleName(_("Scan-Datei wählen"))
        self.choose_button.clicked.connect(lambda _c=False: self.choose_scan())
        scan_row = QWidget()
        scan_layout = QHBoxLayout(scan_row)
        scan_layout.setContentsMargins(0, 0, 0, 0)
        scan_layout.addWidget(self.scan, 1)
        scan_layout.addWidget(self.choose_button)
        self.errors["scan"] = FieldError(self.scan)
        self.scan.setAccessibleName(_("Scan des unterschriebenen Formulars"))
        scan_caption = QLabel(_("Scan:"))
        scan_caption.setBuddy(self.scan)
        form.addRow(scan_caption, scan_row)
        form.addRow("", self.errors["scan"])
        self.errors["case_id"] = FieldError()
        form.addRow(self.errors["case_id"])

        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setAccessibleName(_("Status"))
        buttons = QDialogButtonBox()
        self.save_button = buttons.addButton(_("Speichern"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.save_button.setAccessibleName(_("Einwilligung speichern"))
        cancel = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        cancel.setText(_("Abbrechen"))
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addWidget(buttons)
        self.kind.currentIndexChanged.connect(lambda _i: self._kind_changed())
        self._kind_changed()
        self.kind.setFocus()

    def _kind_changed(self) -> None:
        release = self.kind.currentData() == "release"
        for widget in (self.provider, self.recipient_name):
            widget.setEnabled(release)

    def choose_scan(self) -> None:
        path, _filter = QFileDialog.getOpenFileName(
            self, _("Scan wählen"), "", _("Scans (*.pdf *.png *.jpg *.jpeg)")
        )
        if path:
            self.scan.setText(path)

    def save(self) -> bool:
        for error in self.errors.values():
            error.show_message(None)
        self.status.clear()
        given_on, ok_given = _date_or_error(self.given_on, self.errors["given_on"], required=True)
        valid_until, ok_until = _date_or_error(self.valid_until, self.errors["valid_until"], required=False)
        if not (ok_given and ok_until):
            return False
        release = self.kind.currentData() == "release"
        scan = self.scan.text().strip()
        try:
            self.consent_id = consents.record_consent(
                self.ctx, self.person_id, kind=self.kind.currentData(), given_on=given_on, valid_until=valid_until,
                recipient_provider_id=self.provider.currentData() if release else None,
                recipient_name=self.recipient_name.text() if release else None,
                scope=self.scope.toPlainText(), includes_special_categories=self.special.isChecked(),
                form=self.form.currentData(), scan=Path(scan) if scan else None,
            )  # fmt: skip
        except ValidationError as exc:
            for field, message in exc.field_errors.items():
                self.errors.get(field, self.errors["case_id"]).show_message(message)
            first = next(iter(exc.field_errors))
            if first in self.errors and self.errors[first]._field is not None:
                self.errors[first]._field.setFocus()
            return False
        except UserError as exc:
            self.status.setText(exc.message)
            return False
        self.saved.emit(self.consent_id)
        self.accept()
        return True


class RevokeConsentDialog(QDialog):
    """Ask for the day of the revocation and confirm; ``result_value`` holds the service's ``RevokeResult``."""

    revoked = Signal(str)

    def __init__(self, ctx, row: consents.ConsentRow, parent=None) -> None:
        super().__init__(parent)
        self.ctx, self.row = ctx, row
        self.result_value: consents.RevokeResult | None = None
        self.setWindowTitle(_("Einwilligung widerrufen"))
        what = row.kind_label + (f" – {row.recipient}" if row.recipient else "")
        question = QLabel(
            _(
                "{what}, unterschrieben am {day}, widerrufen? Der Widerruf gilt sofort und kann nicht "
                "rückgängig gemacht werden; für eine neue Erlaubnis ist eine neue Erklärung nötig."
            ).format(what=what, day=format_date(row.given_on))
        )
        question.setWordWrap(True)
        question.setTextFormat(Qt.TextFormat.PlainText)
        form = QFormLayout()
        self.revoked_on = QLineEdit(format_date(date.today()))
        self.error = add_field(form, _("Widerrufen am:"), self.revoked_on, tip=_("TT.MM.JJJJ"))
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setAccessibleName(_("Status"))
        buttons = QDialogButtonBox()
        self.revoke_button = buttons.addButton(_("Widerrufen"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.revoke_button.setAccessibleName(_("Widerruf bestätigen"))
        cancel = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        cancel.setText(_("Abbrechen"))
        cancel.setDefault(True)  # a revocation is final: Enter does not confirm it by accident
        buttons.accepted.connect(self.confirm)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(question)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addWidget(buttons)
        self.setAccessibleDescription(question.text())

    def confirm(self) -> bool:
        self.error.show_message(None)
        self.status.clear()
        on, ok = _date_or_error(self.revoked_on, self.error, required=True)
        if not ok:
            return False
        try:
            self.result_value = consents.revoke_consent(self.ctx, self.row.id, on)
        except ValidationError as exc:
            self.error.show_message(next(iter(exc.field_errors.values())))
            return False
        except UserError as exc:
            self.status.setText(exc.message)
            return False
        self.revoked.emit(self.row.id)
        self.accept()
        return True


class ScanViewer(QDialog):
    """The scan of a signed form: a PDF in the preview, an image in a label."""

    def __init__(self, content: bytes, mime: str | None, title: str, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        layout = QVBoxLayout(self)
        if mime == "application/pdf":
            from .pdf_preview import PdfPreview

            self.view = PdfPreview()
            self.view.set_pdf(content)
        else:
            self.view = QLabel()
            pixmap = QPixmap()
            if pixmap.loadFromData(content):
                self.view.setPixmap(pixmap)
            else:
                self.view.setText(_("Das Bild kann nicht angezeigt werden."))
            self.view.setAccessibleName(title)
            scroll = QScrollArea()
            scroll.setWidget(self.view)
            layout.addWidget(scroll, 1)
        if mime == "application/pdf":
            layout.addWidget(self.view, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.button(QDialogButtonBox.StandardButton.Close).setText(_("Schließen"))
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(800, 700)


class ConsentsPanel(QWidget):
    """The consents of a person; ``set_context`` and ``load`` as for ``AppointmentsPanel``.
    ``changed()`` is emitted after a consent was recorded or revoked here."""

    changed = Signal()

    def __init__(self, ctx=None, *, person_id: str | None = None, parent=None) -> None:
        super().__init__(parent)
        self.ctx, self.person_id = ctx, person_id
        self.dialog: QDialog | None = None
        self.letter_dialog = None
        self.scan_viewer: ScanViewer | None = None
        self._description = _("Neueste zuerst. Der Status sagt, ob die Erklärung gilt.")
        self.model = ConsentsModel(self)
        self.table = CompactListTable(4)
        self.table.setModel(self.model)
        make_list_table(self.table, _("Einwilligungen"), self._description)
        header = self.table.horizontalHeader()
        for column in range(self.model.columnCount() - 1):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.table.selectionModel().currentRowChanged.connect(lambda *_a: self._update_state())

        self.record_button = QPushButton(_("Erfassen …"))
        self.record_button.setAccessibleName(_("Einwilligung erfassen"))
        self.record_button.clicked.connect(lambda _c=False: self.record())
        self.revoke_button = QPushButton(_("Widerrufen …"))
        self.revoke_button.setAccessibleName(_("Ausgewählte Einwilligung widerrufen"))
        self.revoke_button.clicked.connect(lambda _c=False: self.revoke_selected())
        self.scan_button = QPushButton(_("Scan öffnen"))
        self.scan_button.setAccessibleName(_("Scan der ausgewählten Einwilligung öffnen"))
        self.scan_button.clicked.connect(lambda _c=False: self.open_scan())
        self.print_button = QPushButton(_("Formular drucken …"))
        self.print_button.setAccessibleName(_("Formular zum Unterschreiben erstellen"))
        self.print_button.clicked.connect(lambda _c=False: self.print_form())
        self.notice = QLabel()
        self.notice.setWordWrap(True)
        self.notice.setTextFormat(Qt.TextFormat.PlainText)
        self.notice.setAccessibleName(_("Hinweis"))
        self.notice.setVisible(False)

        side = QVBoxLayout()
        for button in (self.record_button, self.revoke_button, self.scan_button, self.print_button):
            side.addWidget(button)
        side.addStretch(1)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.table, 1)
        top.addLayout(side)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.notice)
        self.refresh()

    # --- data ------------------------------------------------------------------------------------------

    def set_context(self, ctx) -> None:
        self.ctx = ctx

    def load(self, person_id: str | None = None) -> None:
        self.person_id = person_id
        self.show_notice(None)
        self.refresh()

    def refresh(self, select_id: str | None = None) -> None:
        current = self.selected_row()
        select_id = select_id or (current.id if current else None)
        rows: list[consents.ConsentRow] = []
        if self.ctx is not None and self.person_id:
            try:
                rows = consents.list_consents(self.ctx, self.person_id)
            except UserError as exc:
                self.show_notice(exc.message)
        self.model.set_rows(rows)
        row = self.model.row_of(select_id)
        if rows:
            self.table.selectRow(max(row, 0))
        self._update_state()

    def selected_row(self) -> consents.ConsentRow | None:
        index = self.table.currentIndex()
        return self.model.row_at(index.row()) if index.isValid() else None

    def show_notice(self, text: str | None) -> None:
        self.notice.setText(text or "")
        self.notice.setVisible(bool(text))

    def _update_state(self) -> None:
        has_rows = self.model.rowCount() > 0
        self.table.empty_text = "" if has_rows else _("Noch keine Einwilligungen erfasst.")
        self.table.setAccessibleDescription(
            " ".join(t for t in (self.table.empty_text, self._description) if t)
        )
        self.table.viewport().update()
        row = self.selected_row()
        active = self.ctx is not None and bool(self.person_id)
        self.record_button.setEnabled(active)
        self.print_button.setEnabled(active)
        self.revoke_button.setEnabled(row is not None and row.revoked_on is None)
        self.scan_button.setEnabled(row is not None and row.has_scan)

    # --- actions ---------------------------------------------------------------------------------------

    def _show(self, dialog: QDialog) -> QDialog:
        dialog.finished.connect(lambda _r, d=dialog: self._closed(d))
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.open()
        self.dialog = dialog
        return dialog

    def _closed(self, dialog: QDialog) -> None:
        if self.dialog is dialog:
            self.dialog = None
        dialog.deleteLater()
        self.table.setFocus()

    def record(self, kind: str = "case_management") -> ConsentDialog | None:
        if self.ctx is None or not self.person_id:
            return None
        dialog = ConsentDialog(self.ctx, self.person_id, kind=kind, parent=self)
        dialog.saved.connect(self._saved)
        self._show(dialog)
        return dialog

    def _saved(self, consent_id: str) -> None:
        self.show_notice(None)
        self.refresh(select_id=consent_id)
        self.changed.emit()

    def revoke_selected(self) -> RevokeConsentDialog | None:
        row = self.selected_row()
        if row is None or self.ctx is None or row.revoked_on is not None:
            return None
        dialog = RevokeConsentDialog(self.ctx, row, parent=self)
        dialog.revoked.connect(lambda consent_id, d=dialog: self._revoked(consent_id, d))
        self._show(dialog)
        return dialog

    def _revoked(self, consent_id: str, dialog: RevokeConsentDialog) -> None:
        self.refresh(select_id=consent_id)
        result = dialog.result_value
        self.show_notice(result.warning if result is not None else None)
        self.changed.emit()

    def open_scan(self) -> ScanViewer | None:
        row = self.selected_row()
        if row is None or not row.has_scan or self.ctx is None:
            return None
        try:
            content = consents.open_scan(self.ctx, row.id)
        except UserError as exc:
            self.show_notice(exc.message)
            return None
        title = _("Scan: {kind} vom {day}").format(kind=row.kind_label, day=format_date(row.given_on))
        viewer = ScanViewer(content, row.scan_mime, title, parent=self)
        viewer.setWindowModality(Qt.WindowModality.WindowModal)
        viewer.finished.connect(lambda _r, v=viewer: v.deleteLater())
        viewer.open()
        self.scan_viewer = viewer
        return viewer

    def print_form(self):
        """The form to print and sign (``LetterDialog``): the one of the selected kind, else the consent."""
        if self.ctx is None or not self.person_id:
            return None
        from .letter_dialog import LetterDialog

        row = self.selected_row()
        key = LETTER_FOR_KIND.get(row.kind if row else "case_management", "consent")
        try:
            dialog = LetterDialog(
                self.ctx, person_id=self.person_id, case_id=row.case_id if row else None, parent=self
            )
        except UserError as exc:
            self.show_notice(exc.message)
            return None
        index = dialog.template.findData(key)
        if index >= 0:
            dialog.template.setCurrentIndex(index)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.open()
        self.letter_dialog = dialog
        return dialog

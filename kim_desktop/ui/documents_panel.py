"""Archived documents in the GUI: the "Dokumente" list on the person and case pages and the document viewer.

The list shows metadata only (``services.documents.list_documents``); opening a document reads it with its
SHA-256 check, so a damaged archive is reported instead of shown. Printing or saving a copy is logged.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..errors import UserError
from ..i18n import _, format_date
from ..services import documents
from ..services.documents import DocumentInfo
from .pdf_preview import PdfPreview, fit_to_screen, print_pdf, safe_file_name, save_pdf
from .widgets import CompactListTable, RowsTableModel, make_list_table


def created_text(info: DocumentInfo) -> str:
    """Local date and time of archiving, e.g. ``03.05.2026 14:07``."""
    local = info.created_at.astimezone()
    return f"{format_date(local)} {local:%H:%M}"


def size_text(size: int | None) -> str:
    if not size:
        return ""
    return _("{n} KB").format(n=max(1, round(size / 1024)))


class DocumentsModel(RowsTableModel):
    """Datum, Dokument, Version, Erstellt von; ``Qt.UserRole`` is the document id."""

    def __init__(self, parent=None) -> None:
        super().__init__((_("Datum"), _("Dokument"), _("Version"), _("Erstellt von")), parent)


    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        info: DocumentInfo | None = self.row_at(index.row()) if index.isValid() else None
        if info is None:
            return None
        if role == Qt.ItemDataRole.UserRole:
            return info.id
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{info.title} · {size_text(info.size)}"
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        column = index.column()
        if column == 0:
            return created_text(info)
        if column == 1:
            return info.title
        if column == 2:
            return str(info.template_version) if info.template_version is not None else ""
        return info.author


class DocumentsPanel(QWidget):
    """The archived documents of one person or case: a table, "Öffnen …" (also Enter and double-click)."""

    def __init__(self, table_name: str, *, rows: int = 3, parent=None) -> None:
        super().__init__(parent)
        self.ctx = None
        self.person_id: str | None = None
        self.case_id: str | None = None
        self.viewer: DocumentViewer | None = None
        self._description = _("Enter oder Doppelklick öffnet das Dokument in der Vorschau.")

        self.model = DocumentsModel(self)
        self.table = CompactListTable(rows)
        self.table.setModel(self.model)
        make_list_table(self.table, table_name, self._description)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        for column in (0, 2, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.activated.connect(self._open_index)  # Enter, double-click (platform rule)

        self.open_button = QPushButton(_("Öffnen …"))
        self.open_button.setAccessibleName(_("Ausgewähltes Dokument öffnen"))
        self.open_button.clicked.connect(self.open_selected)

        side = QVBoxLayout()
        side.addWidget(self.open_button)
        side.addStretch(1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table, 1)
        layout.addLayout(side)
        self._update_state()

    def set_context(self, ctx) -> None:
        self.ctx = ctx

    def load(self, *, person_id: str | None = None, case_id: str | None = None) -> None:
        """Show the documents of a person or a case (an audited read); neither: an empty list."""
        self.person_id, self.case_id = person_id, case_id
        self.refresh()

    def refresh(self) -> None:
        rows: list[DocumentInfo] = []
        if self.ctx is not None and (self.person_id or self.case_id):
            rows = documents.list_documents(self.ctx, person_id=self.person_id, case_id=self.case_id)
        self.model.set_rows(rows)
        if rows:
            self.table.selectRow(0)
        self._update_state()

    def _update_state(self) -> None:
        has_rows = self.model.rowCount() > 0
        self.table.empty_text = "" if has_rows else _("Noch keine Dokumente archiviert.")
        self.table.setAccessibleDescription(
            " ".join(t for t in (self.table.empty_text, self._description) if t)
        )
        self.table.viewport().update()
        self.open_button.setEnabled(has_rows)

    def selected_id(self) -> str | None:
        index = self.table.currentIndex()
        if not index.isValid() and self.model.rowCount():
            index = self.model.index(0, 0)
        return self.model.index(index.row(), 0).data(Qt.ItemDataRole.UserRole) if index.isValid() else None

    def _open_index(self, index: QModelIndex) -> None:
        if index.isValid():
            self.table.setCurrentIndex(index)
            self.open_selected()

    def open_selected(self) -> DocumentViewer | None:
        """Open the selected document in the viewer (shown window-modal, returned); a message if damaged."""
        document_id = self.selected_id()
        if document_id is None or self.ctx is None:
            return None
        try:
            info, pdf = documents.open_document(self.ctx, document_id)
        except UserError as exc:
            QMessageBox.warning(self, _("Dokument öffnen"), exc.message)
            return None
        self.viewer = DocumentViewer(self.ctx, info, pdf, self)
        self.viewer.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.viewer.finished.connect(self._viewer_closed)
        self.viewer.open()
        return self.viewer

    def _viewer_closed(self) -> None:
        self.viewer = None  # Qt deletes the dialog (WA_DeleteOnClose)


class DocumentViewer(QDialog):
    """One archived document: preview, "Drucken …" and "Als PDF speichern …" (copies are logged)."""

    def __init__(self, ctx, info: DocumentInfo, pdf: bytes, parent=None) -> None:
        super().__init__(parent)
        self.ctx, self.info, self.pdf = ctx, info, pdf
        self.setWindowTitle(_("Archiviertes Dokument: {title}").format(title=info.title))

        title = QLabel(info.title)
        title.setTextFormat(Qt.TextFormat.PlainText)
        title.setWordWrap(True)
        font = title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.2)
        title.setFont(font)
        details = _(
            "Archiviert am {created} von {author} · Vorlage „{key}“, Version {version} · {size}"
        ).format(
            created=created_text(info),
            author=info.author,
            key=info.template_key or info.kind,
            version=info.template_version if info.template_version is not None else "–",
            size=size_text(info.size),
        )
        self.details = QLabel(details)
        self.details.setTextFormat(Qt.TextFormat.PlainText)
        self.details.setWordWrap(True)
        self.checked = QLabel(_("Prüfsumme (SHA-256) geprüft: unverändert seit dem Archivieren."))
        self.checked.setWordWrap(True)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setAccessibleName(_("Status"))

        self.preview = PdfPreview()
        self.preview.set_pdf(pdf)

        self.print_button = QPushButton(_("&Drucken …"))
        self.print_button.setAccessibleName(_("Dokument drucken"))
        self.print_button.clicked.connect(lambda: self.print_document())
        self.save_button = QPushButton(_("Als PDF &speichern …"))
        self.save_button.setAccessibleName(_("Dokument als PDF speichern"))
        self.save_button.clicked.connect(lambda: self.save_document())
        buttons = QDialogButtonBox()
        buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.print_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.close_button = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.close_button.setText(_("Schließen"))
        self.close_button.setAccessibleName(_("Schließen"))
        buttons.rejected.connect(self.reject)
        for button in (self.save_button, self.print_button, self.close_button):
            button.setAutoDefault(False)

        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(self.details)
        layout.addWidget(self.checked)
        layout.addWidget(self.preview, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(buttons)
        layout.addLayout(bottom)
        fit_to_screen(self, 900, 800)
        self.preview.setFocus()

    def print_document(self) -> bool:
        if not print_pdf(
            self.pdf, self, title=self.info.title, current_page=self.preview.current_page() or None
        ):
            return False
        documents.record_output(self.ctx, self.info.id, "print")
        self.status.setText(_("An den Drucker gesendet."))
        return True

    def save_document(self):
        name = safe_file_name(f"{self.info.title} {self.info.created_at.astimezone():%Y-%m-%d}")
        path = save_pdf(self.pdf, self, name)
        if path is not None:
            documents.record_output(self.ctx, self.info.id, "export")
            self.status.setText(_("Gespeichert unter {path}.").format(path=path))
        return path

"""Small building blocks shared by the pages."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSize, Qt
from PySide6.QtGui import QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from . import theme


def make_list_table(table: QTableView, accessible_name: str, description: str | None = None) -> QTableView:
    """A read-only list of records: whole rows selected, Tab leaves the table (arrows move inside),
    fixed row height, last column stretched, columns resizable by the user."""
    table.setAccessibleName(accessible_name)
    if description:
        table.setAccessibleDescription(description)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setAlternatingRowColors(True)
    table.setTabKeyNavigation(False)
    table.setWordWrap(False)
    table.verticalHeader().setVisible(False)
    table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    header = table.horizontalHeader()
    header.setStretchLastSection(True)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    return table


class RowsTableModel(QAbstractTableModel):
    """A flat table over ``self._rows`` with the column titles in ``self._headers``; subclasses add ``data``."""

    def __init__(self, headers: tuple[str, ...], parent=None) -> None:
        super().__init__(parent)
        self._rows: list = []
        self._headers = headers

    def row_at(self, row: int):
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def set_rows(self, rows) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row_of(self, record_id: str | None) -> int:
        """The row of the record with ``.id == record_id``; -1 if it is not shown."""
        return next((n for n, row in enumerate(self._rows) if row.id == record_id), -1)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._headers)

    def headerData(self, section: int, orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        horizontal = orientation == Qt.Orientation.Horizontal
        if role == Qt.ItemDataRole.DisplayRole and horizontal and 0 <= section < len(self._headers):
            return self._headers[section]
        return None


class FieldError(QLabel):
    """The red message under a field; empty when the field is fine.

    The message is also put into the field's accessible description, so a screen reader announces it
    when the field gets the focus (the red text alone is not linked to the field for assistive tools).
    """

    def __init__(self, field: QWidget | None = None) -> None:
        super().__init__()
        self.setWordWrap(True)
        self.setStyleSheet(theme.error_style())
        self.setVisible(False)
        self._field = field
        self._description = field.accessibleDescription() if field is not None else ""

    def show_message(self, message: str | None) -> None:
        self.setText(message or "")
        self.setVisible(bool(message))
        if self._field is not None:
            self._field.setAccessibleDescription(" ".join(t for t in (message, self._description) if t))


def add_field(form: QFormLayout, label: str, widget: QWidget, *, tip: str | None = None) -> FieldError:
    """A form row: caption (buddy, accelerator), the input with its accessible name and the error line below."""
    caption = QLabel(label)
    caption.setBuddy(widget)
    widget.setAccessibleName(label.replace("&", "").rstrip(":* "))
    if tip:
        widget.setToolTip(tip)
        widget.setAccessibleDescription(tip)
    error = FieldError(widget)
    cell = QWidget()
    cell_layout = QVBoxLayout(cell)
    cell_layout.setContentsMargins(0, 0, 0, 0)
    cell_layout.setSpacing(2)
    cell_layout.addWidget(widget)
    cell_layout.addWidget(error)
    form.addRow(caption, cell)
    return error


class CompactListTable(QTableView):
    """A list table that says so when it is empty and asks for a few rows of height only."""

    def __init__(self, rows: int) -> None:
        super().__init__()
        self.empty_text = ""
        self._rows = rows

    def _height_for(self, rows: float) -> int:
        header = self.horizontalHeader().sizeHint().height()
        return round(2 * self.frameWidth() + header + rows * self.verticalHeader().defaultSectionSize())

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        return QSize(super().sizeHint().width(), self._height_for(self._rows))

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        return QSize(super().minimumSizeHint().width(), self._height_for(1.2))

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().paintEvent(event)
        if self.empty_text and self.model() is not None and self.model().rowCount() == 0:
            painter = QPainter(self.viewport())
            painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(
                self.viewport().rect().adjusted(8, 4, -8, -4),
                int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap),
                self.empty_text,
            )
            painter.end()


def run_and_report(work, succeeded, failed, *, what: str) -> None:
    """Run ``work()`` in a worker thread and report through its signals: ``succeeded(result)``, or
    ``failed(message)`` with the German message of a ``UserError`` or one line for anything unexpected
    (details, never personal data, only in the log under ``what``)."""
    import logging

    from ..errors import UserError
    from ..i18n import _

    try:
        result = work()
    except UserError as exc:
        failed.emit(exc.message)
    except Exception as exc:  # noqa: BLE001 - shown as one German line, details only in the log
        logging.getLogger("kim_desktop").exception("%s failed", what)
        failed.emit(
            _("Ein unerwarteter Fehler ist aufgetreten ({kind}); Details stehen im Protokoll.").format(
                kind=type(exc).__name__
            )
        )
    else:
        succeeded.emit(result)

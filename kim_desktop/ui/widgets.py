"""Small building blocks shared by the pages."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)


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
        self.setStyleSheet("color: #b00020;")
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

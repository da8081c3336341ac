"""The conflict inbox of a laptop replica (issue 9): fields changed here and in the office since the last sync.

Each open conflict shows the record (kind and name or file number), the field with its German label and three
values side by side: before (the common base), on this laptop, in the office. The user takes one of them or
edits a combined value; ``services.sync.resolve_conflict`` stores it as a new change of this replica, which
the next sync sends to the office. Nothing is ever overwritten without a choice.
"""

from __future__ import annotations

import logging
import re

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
)

from ..errors import UserError, ValidationError
from ..i18n import _, ngettext
from . import theme
from .widgets import RowsTableModel, make_list_table

log = logging.getLogger(__name__)

GERMAN_DATE = re.compile(r"^\s*(\d{1,2})\.(\d{1,2})\.(\d{4})\s*$")


def stored_text(value: str, raw_example: str | None) -> str | None:
    """A typed combined value as the service stores it: empty is no value; a German date becomes ISO when the
    field holds dates; "ja"/"nein" become true/false when it holds yes/no."""
    if value == "":
        return None
    match = GERMAN_DATE.match(value)
    if match and raw_example and re.match(r"^\d{4}-\d{2}-\d{2}", raw_example):
        day, month, year = match.groups()
        return f"{int(year):04d}-{int(month):02d}-{int(day):02d}"
    if raw_example in ("true", "false") and value.strip().lower() in (_("ja"), _("nein"), "ja", "nein"):
        return "true" if value.strip().lower() in (_("ja"), "ja") else "false"
    return value


class ConflictModel(RowsTableModel):
    def __init__(self, parent=None) -> None:
        super().__init__(
            (_("Akte"), _("Feld"), _("Vorher"), _("Auf diesem Laptop"), _("Im Büro")),
            parent,
        )

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        item = self.row_at(index.row())
        if item is None or role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return None
        record = f"{item.kind}: {item.title}" if item.title else item.kind
        values = (record, item.field_label, item.base, item.local, item.remote)
        return values[index.column()].replace("\n", " ⏎ ")


class ConflictInbox(QDialog):
    resolved = Signal(str)  # conflict id

    def __init__(self, ctx, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle(_("Synchronisierungskonflikte"))
        self.resize(980, 620)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setAccessibleName(_("Zusammenfassung"))
        self.model = ConflictModel(self)
        self.table = make_list_table(
            QTableView(),
            _("Offene Konflikte"),
            _("Felder, die hier und im Büro verschieden geändert wurden"),
        )
        self.table.setModel(self.model)
        self.table.selectionModel().currentRowChanged.connect(lambda _c, _p: self._show_current())
        for column, width in enumerate((230, 150, 150, 170)):
            self.table.setColumnWidth(column, width)

        details = QGroupBox(_("Gewählter Konflikt"))
        grid = QGridLayout(details)
        self.record_label = QLabel()
        self.record_label.setTextFormat(Qt.TextFormat.PlainText)
        self.record_label.setAccessibleName(_("Akte und Feld"))
        self.record_label.setStyleSheet("font-weight: bold;")
        grid.addWidget(self.record_label, 0, 0, 1, 3)
        self.base_text = self._value_box(_("Vorher (gemeinsamer Stand)"))
        self.local_text = self._value_box(_("Auf diesem Laptop"))
        self.remote_text = self._value_box(_("Im Büro"))
        for column, (title, box) in enumerate(
            (
                (_("Vorher"), self.base_text),
                (_("Auf diesem Laptop"), self.local_text),
                (_("Im Büro"), self.remote_text),
            )
        ):
            caption = QLabel(title)
            caption.setStyleSheet("font-weight: bold;")
            grid.addWidget(caption, 1, column)
            grid.addWidget(box, 2, column)
        self.take_local = QPushButton(_("&Meine übernehmen"))
        self.take_local.setAccessibleName(_("Den Wert dieses Laptops übernehmen"))
        self.take_local.clicked.connect(lambda: self.resolve(choice="local"))
        self.take_remote = QPushButton(_("&Server übernehmen"))
        self.take_remote.setAccessibleName(_("Den Wert aus dem Büro übernehmen"))
        self.take_remote.clicked.connect(lambda: self.resolve(choice="remote"))
        grid.addWidget(self.take_local, 3, 1)
        grid.addWidget(self.take_remote, 3, 2)
        combined_label = QLabel(_("&Zusammengeführter Wert:"))
        self.combined = QPlainTextEdit()
        self.combined.setTabChangesFocus(True)
        self.combined.setFixedHeight(64)
        self.combined.setAccessibleName(_("Zusammengeführter Wert"))
        combined_label.setBuddy(self.combined)
        self.take_combined = QPushButton(_("&Eigenen Wert übernehmen"))
        self.take_combined.setAccessibleName(_("Den zusammengeführten Wert übernehmen"))
        self.take_combined.clicked.connect(lambda: self.resolve(value=self.combined.toPlainText()))
        grid.addWidget(combined_label, 4, 0)
        grid.addWidget(self.combined, 5, 0, 1, 2)
        grid.addWidget(self.take_combined, 5, 2, Qt.AlignmentFlag.AlignTop)
        self.details = details

        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setAccessibleName(_("Status"))
        self.close_button = QPushButton(_("S&chließen"))
        self.close_button.setAccessibleName(_("Konflikte schließen"))
        self.close_button.clicked.connect(self.accept)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.close_button)

        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addWidget(details)
        layout.addLayout(bottom)
        self.load()

    def _value_box(self, name: str) -> QPlainTextEdit:
        box = QPlainTextEdit()
        box.setReadOnly(True)
        box.setTabChangesFocus(True)
        box.setFixedHeight(64)
        box.setAccessibleName(name)
        return box

    def load(self, select_row: int = 0) -> None:
        from ..services.sync_status import inbox

        items = inbox(self.ctx)
        self.model.set_rows(items)
        n = len(items)
        if n:
            self.summary.setText(
                ngettext(
                    "{n} Feld wurde hier und im Büro verschieden geändert. Bitte wählen Sie, welcher Wert gilt.",
                    "{n} Felder wurden hier und im Büro verschieden geändert. Bitte wählen Sie, welcher Wert gilt.",
                    n,
                ).format(n=n)
            )
            self.table.selectRow(min(select_row, n - 1))
        else:
            self.summary.setText(_("Keine offenen Konflikte."))
        self.details.setEnabled(bool(n))
        self._show_current()

    def current(self):
        return self.model.row_at(self.table.currentIndex().row())

    def _show_current(self) -> None:
        item = self.current()
        if item is None:
            for box in (self.base_text, self.local_text, self.remote_text, self.combined):
                box.clear()
            self.record_label.clear()
            return
        record = f"{item.kind}: {item.title}" if item.title else item.kind
        self.record_label.setText(_("{record} – {field}").format(record=record, field=item.field_label))
        empty = _("(leer)")
        self.base_text.setPlainText(item.base or empty)
        self.local_text.setPlainText(item.local or empty)
        self.remote_text.setPlainText(item.remote or empty)
        self.combined.setPlainText(item.local)

    def resolve(self, *, choice: str | None = None, value: str | None = None) -> bool:
        from ..services.sync import resolve_conflict

        item = self.current()
        if item is None:
            return False
        row = self.table.currentIndex().row()
        if value is not None:
            value = stored_text(value, item.local_raw or item.remote_raw)
            if value is None:
                self._error(_("Bitte einen Wert eingeben oder den Wert einer Seite übernehmen."))
                self.combined.setFocus()
                return False
            kwargs = {"value": value}
        else:
            kwargs = {"choice": choice}
        try:
            resolve_conflict(self.ctx, item.id, **kwargs)
        except ValidationError as exc:
            self._error(exc.message)
            return False
        except UserError as exc:
            self._error(exc.message)
            self.load(row)
            return False
        except Exception as exc:  # e.g. a combined value the field's type cannot hold
            log.warning("resolving a conflict failed: %s", type(exc).__name__)
            self._error(_("Dieser Wert passt nicht in das Feld; bitte prüfen Sie die Eingabe."))
            return False
        self.status.setStyleSheet(theme.ok_style())
        self.status.setText(_("Gelöst; die nächste Synchronisierung überträgt den gewählten Wert ins Büro."))
        self.resolved.emit(item.id)
        self.load(row)
        return True

    def _error(self, text: str) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(theme.error_style())

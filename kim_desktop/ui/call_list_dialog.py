"""Anrufliste: whom to remind by phone of a day's appointments (``appointments.call_list``).

The list can be copied (tab-separated, pastes into a spreadsheet as columns) and printed. The printed page
is a ``QTextDocument`` table built by ``call_list_document``; the same document goes to any ``QPrinter``,
which is how the tests print it into a PDF file. Names and phone numbers stay in the dialog, the clipboard
and on paper: nothing is logged and no temporary file is written.
"""

from __future__ import annotations

import html
from datetime import date

from PySide6.QtCore import QDate, QMarginsF, QModelIndex, QPersistentModelIndex, QSizeF, Qt
from PySide6.QtGui import QGuiApplication, QPageLayout, QPageSize, QTextDocument
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import (
    QCheckBox,
    QDateEdit,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ..i18n import _, format_date, language_name, pgettext
from ..services import appointments
from .widgets import RowsTableModel, make_list_table

FIELDS = ("time", "name", "phone", "type_label", "location", "interpreter_language")


def headers() -> tuple[str, ...]:
    return (_("Uhrzeit"), _("Name"), _("Telefon"), _("Terminart"), pgettext("Termin", "Ort"), _("Dolmetschung"))


def cells(entry: appointments.CallListEntry) -> tuple[str, ...]:
    """One row as shown, copied and printed (the interpreter language by name)."""
    return (
        entry.time,
        entry.name,
        entry.phone,
        entry.type_label,
        entry.location,
        language_name(entry.interpreter_language) if entry.interpreter_language else "",
    )


def day_title(day: date) -> str:
    return _("Anrufliste für {day}").format(day=f"{format_date(day, 'EEEE')}, {format_date(day)}")


def call_list_text(entries: list[appointments.CallListEntry]) -> str:
    """Tab-separated with a header line; tabs and line breaks inside a cell become spaces."""

    def clean(text: str) -> str:
        return " ".join(text.replace("\t", " ").split())

    lines = ["\t".join(headers())]
    lines += ["\t".join(clean(c) for c in cells(entry)) for entry in entries]
    return "\n".join(lines) + "\n"


def call_list_document(day: date, entries: list[appointments.CallListEntry]) -> QTextDocument:
    """The printable call list: a heading and a table (all text escaped)."""

    def cell(column: int, text: str) -> str:
        keep = " style='white-space: nowrap'" if FIELDS[column] in ("time", "phone") else ""
        return f"<td{keep}>{html.escape(text)}</td>"

    rows = "".join(
        "<tr>" + "".join(cell(n, c) for n, c in enumerate(cells(entry))) + "</tr>" for entry in entries
    )
    head = "".join(f"<th align='left'>{html.escape(h)}</th>" for h in headers())
    nobody = _("An diesem Tag ist niemand anzurufen.")
    empty = "" if entries else f"<p>{html.escape(nobody)}</p>"
    count = _("{n} Einträge").format(n=len(entries)) if len(entries) != 1 else _("1 Eintrag")
    document = QTextDocument()
    document.setDocumentMargin(0)
    font = document.defaultFont()
    font.setPointSize(10)
    document.setDefaultFont(font)
    document.setHtml(
        f"<h2>{html.escape(day_title(day))}</h2>"
        f"<p>{html.escape(count)}</p>"
        "<table border='1' cellspacing='0' cellpadding='4' width='100%' style='border-collapse: collapse'>"
        f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>{empty}"
    )
    return document


def print_document(document: QTextDocument, printer: QPrinter) -> None:
    """Print with 15 mm margins on the printer's paper; the table flows over pages, its header repeats.

    The document is laid out on the page's text area (in screen units, as ``QTextDocument`` lays out), so
    ``print_`` scales it to the page instead of adding its own 2 cm margins to a narrow layout.
    """
    printer.setPageMargins(QMarginsF(15, 15, 15, 15), QPageLayout.Unit.Millimeter)
    area = printer.pageLayout().paintRect(QPageLayout.Unit.Point)
    screen = QGuiApplication.primaryScreen()
    scale = (screen.logicalDotsPerInchX() if screen else 96) / 72
    document.setPageSize(QSizeF(area.width() * scale, area.height() * scale))
    document.print_(printer)


class CallListModel(RowsTableModel):
    def __init__(self, parent=None) -> None:
        super().__init__(headers(), parent)

    def set_entries(self, entries: list[appointments.CallListEntry]) -> None:
        self.beginResetModel()
        self._rows = list(entries)
        self.endResetModel()

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        entry = self.row_at(index.row()) if index.isValid() else None
        if entry is None:
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return cells(entry)[index.column()]
        return None


class CallListDialog(QDialog):
    """The call list of a day, with a date selector, "Kopieren" and "Drucken …"."""

    def __init__(self, ctx, day: date | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.entries: list[appointments.CallListEntry] = []
        self.setWindowTitle(_("Anrufliste"))
        self.setMinimumWidth(640)

        self.date = QDateEdit()
        self.date.setCalendarPopup(True)
        self.date.setDisplayFormat("dd.MM.yyyy")
        self.date.setAccessibleName(_("Tag der Termine"))
        day = day or date.today()
        self.date.setDate(QDate(day.year, day.month, day.day))
        date_label = QLabel(_("&Tag:"))
        date_label.setBuddy(self.date)
        self.weekday = QLabel()
        self.weekday.setAccessibleName(_("Wochentag"))
        self.only_mine = QCheckBox(_("Nur &meine Termine"))
        self.only_mine.setAccessibleName(_("Nur meine Termine"))
        self.only_mine.setVisible(ctx.actor.user_id is not None)
        self.only_mine.setChecked(ctx.actor.user_id is not None)
        date_row = QWidget()
        date_layout = QHBoxLayout(date_row)
        date_layout.setContentsMargins(0, 0, 0, 0)
        date_layout.addWidget(self.date)
        date_layout.addWidget(self.weekday)
        date_layout.addSpacing(12)
        date_layout.addWidget(self.only_mine)
        date_layout.addStretch(1)
        form = QFormLayout()
        form.addRow(date_label, date_row)

        self.model = CallListModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        make_list_table(self.table, _("Anrufliste"), _("Geplante und bestätigte Termine des Tages"))
        header = self.table.horizontalHeader()
        for column in range(self.model.columnCount() - 1):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.count = QLabel()
        self.count.setAccessibleName(_("Anzahl der Anrufe"))
        self.status = QLabel()
        self.status.setAccessibleName(_("Meldung"))

        self.copy_button = QPushButton(_("&Kopieren"))
        self.copy_button.setAccessibleName(_("Anrufliste in die Zwischenablage kopieren"))
        self.copy_button.setToolTip(_("Tabulatorgetrennt, lässt sich in eine Tabelle einfügen."))
        self.copy_button.clicked.connect(lambda _c=False: self.copy())
        self.print_button = QPushButton(_("&Drucken …"))
        self.print_button.setAccessibleName(_("Anrufliste drucken"))
        self.print_button.clicked.connect(lambda _c=False: self.print_list())
        self.close_button = QPushButton(_("&Schließen"))
        self.close_button.setAccessibleName(_("Schließen"))
        self.close_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(self.count)
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.copy_button)
        buttons.addWidget(self.print_button)
        buttons.addWidget(self.close_button)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self.close_button.setDefault(True)

        self.date.dateChanged.connect(lambda _d: self.refresh())
        self.only_mine.toggled.connect(lambda _c: self.refresh())
        self.refresh()
        self.date.setFocus()

    @property
    def day(self) -> date:
        return self.date.date().toPython()

    def refresh(self) -> None:
        manager = self.ctx.actor.user_id if self.only_mine.isChecked() else None
        with self.ctx.read() as session:
            self.entries = appointments.call_list(session, self.day, case_manager_id=manager)
        self.model.set_entries(self.entries)
        self.weekday.setText(format_date(self.day, "EEEE"))
        n = len(self.entries)
        self.count.setText(
            _("Niemand anzurufen.") if n == 0 else (_("1 Anruf") if n == 1 else _("{n} Anrufe").format(n=n))
        )
        self.status.clear()
        self.copy_button.setEnabled(n > 0)
        self.print_button.setEnabled(n > 0)
        if n:
            self.table.selectRow(0)

    def copy(self) -> str:
        text = call_list_text(self.entries)
        QGuiApplication.clipboard().setText(text)
        self.status.setText(_("In die Zwischenablage kopiert."))
        return text

    def document(self) -> QTextDocument:
        return call_list_document(self.day, self.entries)

    def print_list(self) -> bool:
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setDocName(day_title(self.day))
        printer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
        dialog = QPrintDialog(printer, self)
        dialog.setWindowTitle(_("Anrufliste drucken"))
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return False
        print_document(self.document(), printer)
        self.status.setText(_("Gedruckt."))
        return True

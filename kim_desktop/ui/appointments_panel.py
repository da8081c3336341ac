"""Appointments in the GUI: the "Termine" list of a person or case, and "Heute" on the start page.

``AppointmentsPanel`` lists all appointments of a person (as participant) or of a case, past and future, the
latest first, with the status in words and how often the person did not come. ``TodayAppointments`` lists
the current user's appointments of one day for the start page. Both open ``AppointmentDialog`` window-modal
without blocking (kept as ``dialog``) and refresh when it saves or closes.

The appointments service is imported on first use: it loads the holiday tables, and the start page, which
shows ``TodayAppointments``, is built before the window first appears.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from .. import APP_NAME
from ..errors import UserError
from ..i18n import _, format_date, pgettext

if TYPE_CHECKING:
    from ..services import appointments
from .widgets import CompactListTable, RowsTableModel, make_list_table

# The calendar query needs bounds: wide enough for any appointment a case can have.
FIRST_DAY = date(1990, 1, 1)
LAST_DAY = date(2100, 12, 31)
ITEM_ROLE = Qt.ItemDataRole.UserRole
INACTIVE_STATUSES = ("cancelled", "no_show")


def time_span(item: appointments.CalendarItem) -> str:
    return f"{item.starts_at:%H:%M}–{item.ends_at:%H:%M}"


def item_subject(item: appointments.CalendarItem) -> str:
    """Who or what: the people, else the title, else the type; with the type where it adds something."""
    label = item.label
    return label if label == item.type_label else f"{label} ({item.type_label})"


class AppointmentsModel(RowsTableModel):
    """Calendar items as rows; ``ITEM_ROLE`` returns the ``CalendarItem``."""

    def __init__(self, columns: tuple[str, ...], parent=None) -> None:
        titles = {
            "date": _("Datum"),
            "time": _("Uhrzeit"),
            "type": _("Terminart"),
            "subject": _("Termin"),
            "location": pgettext("Termin", "Ort"),
            "status": _("Status"),
            "people": _("Teilnehmende"),
        }
        super().__init__(tuple(titles[c] for c in columns), parent)
        self.columns = columns
        self._labels: dict[str, str] = {}
        self._now = datetime.now().astimezone()

    def set_items(self, items: list[appointments.CalendarItem]) -> None:
        from ..services.appointments import status_labels

        self._labels = self._labels or status_labels()
        self.beginResetModel()
        self._rows = list(items)
        self._now = datetime.now().astimezone()
        self.endResetModel()

    def item(self, row: int) -> appointments.CalendarItem | None:
        return self.row_at(row)


    def status_text(self, item: appointments.CalendarItem) -> str:
        text = self._labels.get(item.status, item.status)
        if item.conflict_accepted and item.status not in INACTIVE_STATUSES:
            text = _("{status}, Überschneidung in Kauf genommen").format(status=text)
        return text

    def _text(self, item: appointments.CalendarItem, column: str) -> str:
        if column == "date":
            return f"{format_date(item.starts_at, 'EE')} {format_date(item.starts_at)}"
        if column == "time":
            return time_span(item)
        if column == "type":
            return f"{item.type_label}: {item.title}" if item.title else item.type_label
        if column == "subject":
            return item_subject(item)
        if column == "location":
            return item.location
        if column == "status":
            return self.status_text(item)
        return "; ".join(item.person_names)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        item = self.item(index.row()) if index.isValid() else None
        if item is None:
            return None
        column = self.columns[index.column()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return self._text(item, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            parts = [
                item.type_label, item.title, item.location, "; ".join(item.person_names),
                (item.interpreter_language or item.interpreter) and _("mit Dolmetschung"),
            ]  # fmt: skip
            return " · ".join(p for p in parts if p)
        if role == ITEM_ROLE:
            return item
        if role == Qt.ItemDataRole.ForegroundRole and (
            item.ends_at < self._now or item.status in INACTIVE_STATUSES
        ):
            # Past and cancelled appointments recede; the date and the status word say the same.
            return QApplication.palette().color(
                QPalette.ColorGroup.Active, QPalette.ColorRole.PlaceholderText
            )
        return None


class _DialogOpener:
    """Opening ``AppointmentDialog`` from a list: window-modal, not blocking; refresh when it saves/closes."""

    dialog = None
    ctx = None
    changed: Signal

    def _open_dialog(self, **kwargs):
        from .appointment_dialog import AppointmentDialog

        if self.ctx is None:
            return None
        try:
            dialog = AppointmentDialog(self.ctx, parent=self, **kwargs)
        except UserError as exc:  # deleted meanwhile
            QMessageBox.warning(self, APP_NAME, exc.message)
            self.refresh()
            return None
        dialog.saved.connect(self._dialog_saved)
        dialog.finished.connect(lambda _r, d=dialog: self._dialog_closed(d))
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.open()
        self.dialog = dialog
        return dialog

    def _dialog_saved(self, appointment_id: str) -> None:
        self.refresh(select_id=appointment_id)
        self.changed.emit()

    def _dialog_closed(self, dialog) -> None:
        if self.dialog is dialog:
            self.dialog = None
        dialog.deleteLater()
        self.refresh()
        self.table.setFocus()


class AppointmentsPanel(_DialogOpener, QWidget):
    """The appointments of a person (as participant) or of a case.

    ``changed()`` is emitted when an appointment was saved from here (new, edited, status). ``set_context``
    and ``load`` allow building the panel before the services are attached, like ``DocumentsPanel``.
    """

    changed = Signal()

    def __init__(
        self, ctx=None, *, person_id: str | None = None, case_id: str | None = None, parent=None
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.person_id, self.case_id = person_id, case_id
        self.dialog = None
        self.letter_dialog = None
        self.no_shows = 0
        self._description = _("Neueste zuerst. Eingabetaste oder Doppelklick öffnet den Termin.")

        self.model = AppointmentsModel(("date", "time", "type", "location", "status", "people"), self)
        self.table = CompactListTable(4)
        self.table.setModel(self.model)
        make_list_table(self.table, _("Termine"), self._description)
        header = self.table.horizontalHeader()
        for column in range(self.model.columnCount() - 1):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.table.activated.connect(self._open_index)  # Enter, double-click (platform rule)
        self.table.selectionModel().currentRowChanged.connect(lambda *_a: self._update_state())

        self.new_button = QPushButton(_("Neuer Termin …"))
        self.new_button.setAccessibleName(_("Neuen Termin anlegen"))
        self.new_button.clicked.connect(lambda _c=False: self.new_appointment())
        self.open_button = QPushButton(_("Öffnen"))
        self.open_button.setAccessibleName(_("Ausgewählten Termin öffnen"))
        self.open_button.clicked.connect(lambda _c=False: self.open_selected())
        self.invitation_button = QPushButton(_("Einladung …"))
        self.invitation_button.setAccessibleName(_("Einladung zum ausgewählten Termin erstellen"))
        self.invitation_button.clicked.connect(lambda _c=False: self.create_invitation())
        self.no_show_label = QLabel()
        self.no_show_label.setAccessibleName(_("Nicht erschienen"))
        self.no_show_label.setWordWrap(True)

        side = QVBoxLayout()
        for button in (self.new_button, self.open_button, self.invitation_button):
            side.addWidget(button)
        side.addWidget(self.no_show_label)
        side.addStretch(1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table, 1)
        layout.addLayout(side)
        self.refresh()

    # --- data ------------------------------------------------------------------------------------------

    def set_context(self, ctx) -> None:
        self.ctx = ctx

    def load(self, *, person_id: str | None = None, case_id: str | None = None) -> None:
        self.person_id, self.case_id = person_id, case_id
        self.refresh()

    def refresh(self, select_id: str | None = None) -> None:
        """Reload; keeps (or moves to ``select_id``) the selection, else selects the next appointment."""
        current = self.selected_item()
        select_id = select_id or (current.id if current else None)
        items: list[appointments.CalendarItem] = []
        no_shows = 0
        if self.ctx is not None and (self.person_id or self.case_id):
            from ..services import appointments

            with self.ctx.read() as session:
                items = appointments.calendar(
                    session, FIRST_DAY, LAST_DAY, person_id=self.person_id if not self.case_id else None,
                    case_id=self.case_id,
                )  # fmt: skip
                person_id = self.person_id or appointments.case_person_id(session, self.case_id)
                no_shows = appointments.no_show_count(session, person_id) if person_id else 0
        items.sort(key=lambda i: (i.starts_at, i.id), reverse=True)
        self.model.set_items(items)
        self.no_shows = no_shows
        self.no_show_label.setText(_("nicht erschienen: {n}").format(n=no_shows))
        self.no_show_label.setVisible(self.ctx is not None and bool(self.person_id or self.case_id))
        row = self.model.row_of(select_id)
        if row < 0 and items:
            now = datetime.now().astimezone()
            upcoming = [n for n, item in enumerate(items) if item.ends_at >= now]
            row = upcoming[-1] if upcoming else 0  # the next one; else the latest past one
        if row >= 0:
            self.table.selectRow(row)
            self.table.scrollTo(self.model.index(row, 0))
        self._update_state()

    def selected_item(self) -> appointments.CalendarItem | None:
        index = self.table.currentIndex()
        return self.model.item(index.row()) if index.isValid() else None

    def _update_state(self) -> None:
        has_rows = self.model.rowCount() > 0
        self.table.empty_text = "" if has_rows else _("Noch keine Termine.")
        self.table.setAccessibleDescription(
            " ".join(t for t in (self.table.empty_text, self._description) if t)
        )
        self.table.viewport().update()
        selected = self.selected_item()
        self.new_button.setEnabled(self.ctx is not None and bool(self.person_id or self.case_id))
        self.open_button.setEnabled(selected is not None)
        self.invitation_button.setEnabled(selected is not None and selected.status not in INACTIVE_STATUSES)

    # --- actions ---------------------------------------------------------------------------------------

    def _open_index(self, index: QModelIndex) -> None:
        if index.isValid():
            self.table.setCurrentIndex(index)
            self.open_selected()

    def new_appointment(self, starts_at: datetime | None = None):
        """Open the dialog for a new appointment of this person or case (returned, not blocking)."""
        return self._open_dialog(case_id=self.case_id, person_id=self.person_id, starts_at=starts_at)

    def open_selected(self):
        item = self.selected_item()
        if item is None:
            return None
        return self._open_dialog(appointment_id=item.id, person_id=self.person_id)

    def create_invitation(self):
        """ "Brief erstellen" for the selected appointment (window-modal, returned)."""
        item = self.selected_item()
        if item is None or self.ctx is None:
            return None
        from .letter_dialog import LetterDialog

        person_id = self.person_id if self.person_id in item.person_ids else (
            item.person_ids[0] if item.person_ids else self.person_id
        )  # fmt: skip
        try:
            dialog = LetterDialog(
                self.ctx, person_id=person_id, case_id=item.case_id, appointment_id=item.id, parent=self
            )
        except UserError as exc:
            QMessageBox.warning(self, APP_NAME, exc.message)
            return None
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.open()
        self.letter_dialog = dialog
        return dialog


class TodayAppointments(_DialogOpener, QWidget):
    """The start page's "Heute": the current user's appointments of the day (all, in a one-person office
    without user accounts). Enter or double-click opens one."""

    changed = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.ctx = None
        self.dialog = None
        self.day = date.today()
        self.model = AppointmentsModel(("time", "subject", "location", "status"), self)
        self.table = CompactListTable(4)
        self.table.setModel(self.model)
        make_list_table(self.table, _("Termine heute"), _("Eingabetaste oder Doppelklick öffnet den Termin."))
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        for column in (0, 2, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.activated.connect(self._open_index)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)

    def set_context(self, ctx) -> None:
        self.ctx = ctx

    def refresh(self, ctx=None, day: date | None = None, *, select_id: str | None = None) -> None:
        if ctx is not None:
            self.ctx = ctx
        self.day = day or date.today()
        items: list[appointments.CalendarItem] = []
        if self.ctx is not None:
            from ..services import appointments

            user_id = self.ctx.actor.user_id
            with self.ctx.read() as session:
                items = appointments.calendar(
                    session, self.day, self.day, case_manager_ids=[user_id] if user_id else None
                )
            items = [i for i in items if not i.busy_only]
        current = (
            self.model.item(self.table.currentIndex().row()) if self.table.currentIndex().isValid() else None
        )
        self.model.set_items(items)
        self.table.empty_text = _("Heute keine Termine.") if not items else ""
        self.table.viewport().update()
        row = self.model.row_of(select_id or (current.id if current else None))
        if items:
            self.table.selectRow(max(row, 0))

    def _open_index(self, index: QModelIndex) -> None:
        item = self.model.item(index.row()) if index.isValid() else None
        if item is not None:
            self._open_dialog(appointment_id=item.id)

    def open_selected(self):
        item = (
            self.model.item(self.table.currentIndex().row()) if self.table.currentIndex().isValid() else None
        )
        return self._open_dialog(appointment_id=item.id) if item else None

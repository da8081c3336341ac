"""The start page "Mein Arbeitsplatz": what is due, today's appointments and the own cases by phase.

All data comes from ``services.followups.workplace`` in one read session (a few milliseconds), so the page
loads synchronously in ``refresh()``. Overdue reminders are marked in three ways: bold, the word
"überfällig" in the date column (also what a screen reader reads) and a dark red colour.
"""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from .. import APP_NAME
from ..db.models import CASE_PHASES
from ..errors import UserError
from ..i18n import _, format_date
from . import theme
from .widgets import RowsTableModel, make_list_table

REMINDER_ROLE = Qt.ItemDataRole.UserRole + 1
OVERDUE_COLOUR = theme.colour("error")  # the red of ``FieldError``; never the only sign of "überfällig"


def kind_label(kind: str) -> str:
    """The "Art" of a reminder as the column shows it."""
    return {
        "follow_up": _("Wiedervorlage"),
        "residence": _("Aufenthalt läuft ab"),
        "consent": _("Einwilligung läuft ab"),
        "goal_review": _("Ziel überprüfen"),
        "referral": _("Rückmeldung fehlt"),
    }.get(kind, kind)


class ReminderModel(RowsTableModel):
    """Reminders (``followups.Reminder``) as rows: Fällig am, Art, Betreff."""

    COLUMNS = ("due_on", "kind", "title")

    def __init__(self, parent=None) -> None:
        super().__init__((_("Fällig am"), _("Art"), _("Betreff")), parent)
        self._names: dict[str, str] = {}
        self._today = date.today()

    def set_reminders(self, reminders: list, today: date | None = None, names: dict[str, str] | None = None) -> None:
        """``names``: person id → display name, added to the subject of Wiedervorlagen (their titles are
        free text without the client's name; computed reminders name the person already)."""
        self.beginResetModel()
        self._rows = list(reminders)
        self._today = today or date.today()
        self._names = dict(names or {})
        self.endResetModel()

    def subject(self, reminder) -> str:
        name = self._names.get(reminder.person_id) if reminder.kind == "follow_up" and reminder.person_id else None
        return f"{reminder.title} – {name}" if name else reminder.title

    def reminder(self, row: int):
        return self.row_at(row)

    @property
    def overdue_count(self) -> int:
        return sum(1 for r in self._rows if r.due_on < self._today)

    def _due_text(self, due: date) -> str:
        text = format_date(due)
        if due < self._today:
            return _("{date} – überfällig").format(date=text)
        if due == self._today:
            return _("{date} – heute").format(date=text)
        return text

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        reminder = self.reminder(index.row())
        if reminder is None:
            return None
        column = self.COLUMNS[index.column()]
        overdue = reminder.due_on < self._today
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole, Qt.ItemDataRole.ToolTipRole):
            if column == "due_on":
                return self._due_text(reminder.due_on)
            if column == "kind":
                return kind_label(reminder.kind)
            return self.subject(reminder)
        if role == REMINDER_ROLE:
            return reminder
        if role == Qt.ItemDataRole.FontRole and overdue:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.ForegroundRole and overdue:
            return QColor(OVERDUE_COLOUR)
        return None


class WorkplacePage(QWidget):
    """Mein Arbeitsplatz. Signals ask the main window to navigate; ``refresh()`` reloads everything."""

    case_requested = Signal(str)  # case id
    person_requested = Signal(str)  # person id (reminders without a case)
    phase_requested = Signal(str)  # a phase code or "open"

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.ctx = None
        self.model = ReminderModel(self)

        self.title = QLabel(_("Mein Arbeitsplatz"))
        self.title.setObjectName("workplaceTitle")
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        self.title.setFont(font)
        self.date_label = QLabel()
        self.date_label.setTextFormat(Qt.TextFormat.PlainText)

        # --- today's appointments (Enter opens one) ---
        from .appointments_panel import TodayAppointments

        today_box = QGroupBox(_("Heute"))
        today_layout = QVBoxLayout(today_box)
        self.today = TodayAppointments()
        today_layout.addWidget(self.today)

        # --- own cases by phase ---
        phase_box = QGroupBox(_("Meine Fälle nach Phase"))
        phase_layout = QGridLayout(phase_box)  # two columns: "Heute" beside it keeps room for its table
        self.phase_buttons: dict[str, QPushButton] = {}
        for n, phase in enumerate(("open", *CASE_PHASES)):
            button = QPushButton()
            button.clicked.connect(lambda _c=False, p=phase: self.phase_requested.emit(p))
            phase_layout.addWidget(button, n // 2, n % 2)
            self.phase_buttons[phase] = button
        phase_layout.setRowStretch(phase_layout.rowCount(), 1)
        self._set_phase_counts({})

        overview = QHBoxLayout()
        overview.addWidget(today_box, 1)
        overview.addWidget(phase_box, 0)

        # --- reminders ---
        self.reminders_label = QLabel(_("&Erinnerungen und Wiedervorlagen:"))
        heading_font = self.reminders_label.font()
        heading_font.setBold(True)
        self.reminders_label.setFont(heading_font)
        self.table = QTableView()
        self.reminders_label.setBuddy(self.table)
        self.table.setModel(self.model)
        make_list_table(
            self.table,
            _("Erinnerungen und Wiedervorlagen"),
            _("Überfällige Einträge stehen oben und sind als überfällig gekennzeichnet. Eingabetaste öffnet den Fall."),
        )
        self.table.setColumnWidth(0, 190)
        self.table.setColumnWidth(1, 190)
        self.table.activated.connect(self._activate)  # Enter, double-click (platform rule)
        self.table.selectionModel().currentRowChanged.connect(lambda *_a: self._update_buttons())

        self.empty_label = QLabel(_("Zurzeit ist nichts fällig."))
        self.empty_label.setVisible(False)
        self.count_label = QLabel()
        self.count_label.setAccessibleName(_("Anzahl fälliger Einträge"))
        self.open_button = QPushButton(_("Fall ö&ffnen"))
        self.open_button.setAccessibleName(_("Fall zur ausgewählten Erinnerung öffnen"))
        self.open_button.clicked.connect(lambda: self._activate(self.table.currentIndex()))
        self.complete_button = QPushButton(_("&Wiedervorlage abhaken"))
        self.complete_button.setAccessibleName(_("Ausgewählte Wiedervorlage als erledigt abhaken"))
        self.complete_button.clicked.connect(self.complete_selected_follow_up)

        buttons = QHBoxLayout()
        buttons.addWidget(self.count_label)
        buttons.addStretch(1)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.complete_button)

        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.date_label)
        layout.addLayout(overview)
        layout.addSpacing(6)
        layout.addWidget(self.reminders_label)
        layout.addWidget(self.empty_label)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self._update_buttons()

    # --- data ------------------------------------------------------------------------------------------

    def set_context(self, ctx) -> None:
        self.ctx = ctx
        self.refresh()

    def refresh(self) -> None:
        """Reload reminders and counts; keeps the selected row where possible."""
        if self.ctx is None:
            return
        from ..services.followups import workplace

        today = date.today()
        from ..services.persons import rows_by_ids

        with self.ctx.read() as session:
            data = workplace(session, user_id=self.ctx.actor.user_id, today=today)
            ids = sorted({r.person_id for r in data.reminders if r.kind == "follow_up" and r.person_id})
            names = {
                p.id: f"{p.family_name}, {p.given_names}" if p.given_names else p.family_name
                for p in rows_by_ids(session, ids)
            }
        row = max(self.table.currentIndex().row(), 0)
        self.model.set_reminders(data.reminders, today, names)
        self._set_phase_counts(data.cases_by_phase)
        self.date_label.setText(format_date(today, "full"))
        self.today.refresh(self.ctx, today)
        n = self.model.rowCount()
        if n:
            self.table.selectRow(min(row, n - 1))
        self.empty_label.setVisible(n == 0)
        self._update_count()
        self._update_buttons()

    def _set_phase_counts(self, counts: dict[str, int]) -> None:
        from ..services.cases import phase_label

        for phase, button in self.phase_buttons.items():
            if phase == "open":
                n = sum(v for k, v in counts.items() if k != "closed")
                label = _("Alle offenen")
            else:
                n = counts.get(phase, 0)
                label = phase_label(phase)
            button.setText(f"{label}: {n}")
            button.setAccessibleName(
                _("{phase}: {n} Fälle anzeigen").format(phase=label, n=n)
                if n != 1
                else _("{phase}: 1 Fall anzeigen").format(phase=label)
            )
            button.setProperty("count", n)

    def _update_count(self) -> None:
        n = self.model.rowCount()
        overdue = self.model.overdue_count
        if n == 0:
            text = ""
        elif overdue:
            text = _("{n} Einträge, davon {overdue} überfällig").format(n=n, overdue=overdue)
        else:
            text = _("{n} Einträge").format(n=n) if n != 1 else _("1 Eintrag")
        self.count_label.setText(text)

    # --- actions ---------------------------------------------------------------------------------------

    def selected_reminder(self):
        index = self.table.currentIndex()
        return self.model.reminder(index.row()) if index.isValid() else None

    def _update_buttons(self) -> None:
        reminder = self.selected_reminder()
        self.complete_button.setEnabled(reminder is not None and reminder.kind == "follow_up")
        self.open_button.setEnabled(reminder is not None and bool(reminder.case_id or reminder.person_id))
        self.open_button.setText(
            _("Fall ö&ffnen") if reminder is None or reminder.case_id else _("Person ö&ffnen")
        )

    def _activate(self, index: QModelIndex) -> None:
        reminder = self.model.reminder(index.row()) if index.isValid() else None
        if reminder is None:
            return
        if reminder.case_id:
            self.case_requested.emit(reminder.case_id)
        elif reminder.person_id:
            self.person_requested.emit(reminder.person_id)

    def complete_selected_follow_up(self) -> bool:
        """Tick off the selected Wiedervorlage; ``False`` if nothing was done."""
        reminder = self.selected_reminder()
        if self.ctx is None or reminder is None or reminder.kind != "follow_up" or not reminder.follow_up_id:
            return False
        from ..services.followups import complete_follow_up

        try:
            complete_follow_up(self.ctx, reminder.follow_up_id)
        except UserError as exc:
            QMessageBox.warning(self, APP_NAME, exc.message)
            self.refresh()
            return False
        self.refresh()
        self.table.setFocus()
        return True

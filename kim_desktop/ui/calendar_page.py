"""The page "Kalender": toolbar (Heute, back/forward, period, Tag/Woche/Monat, whose calendar, list
alternative), the calendar view or its list, and a side panel with "Neuer Termin", the selected
appointment's details and the colour legend.

The page opens ``AppointmentDialog`` itself (imported when needed; without that module it only emits its
signals). ``open_requested(id)`` and ``new_requested(datetime)`` are emitted first in any case, so the main
window can react (status bar, navigation); it should not open a second dialog. ``use_dialog = False`` leaves
opening entirely to whoever listens to the signals.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPainter, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .. import APP_NAME
from ..errors import UserError
from ..i18n import _, current_language, language_name
from .calendar_view import (
    BADGE_COLOUR,
    BUSY_FILL,
    BUSY_HATCH,
    ID_ROLE,
    PALE_STATUSES,
    CalendarListModel,
    CalendarView,
    day_words,
    period_label,
    status_text,
    status_text_planned,
    type_colour,
)
from .layout_memory import remember_splitter
from .widgets import make_list_table

MINE, TEAM = "__mine__", "__team__"


def _swatch(colour: str | QColor, *, hatched: bool = False, size: int = 14) -> QPixmap:
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor(colour))
    painter = QPainter(pixmap)
    if hatched:
        painter.fillRect(pixmap.rect(), QBrush(QColor(BUSY_HATCH), Qt.BrushStyle.BDiagPattern))
    painter.setPen(QColor(colour).darker(150))
    painter.drawRect(0, 0, size - 1, size - 1)
    painter.end()
    return pixmap


def _appointment_dialog_class():
    """``AppointmentDialog`` if that module is there (it is written separately), else None."""
    try:
        from .appointment_dialog import AppointmentDialog
    except ImportError:
        return None
    return AppointmentDialog


class CalendarPage(QWidget):
    """Kalender. ``refresh()`` re-reads the case managers and the shown period."""

    open_requested = Signal(str)  # appointment id
    new_requested = Signal(object)  # datetime (naive office time) of the new appointment's start

    def __init__(self, ctx, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.use_dialog = True
        self._syncing = False

        # --- toolbar ---
        self.today_button = QPushButton(_("He&ute"))
        self.today_button.setAccessibleName(_("Heute anzeigen"))
        self.today_button.setToolTip(_("Zum heutigen Tag (Taste T im Kalender)"))
        self.prev_button = QToolButton()
        self.prev_button.setArrowType(Qt.ArrowType.LeftArrow)
        self.prev_button.setAccessibleName(_("Vorheriger Zeitraum"))
        self.prev_button.setToolTip(_("Vorheriger Zeitraum (Bild auf)"))
        self.next_button = QToolButton()
        self.next_button.setArrowType(Qt.ArrowType.RightArrow)
        self.next_button.setAccessibleName(_("Nächster Zeitraum"))
        self.next_button.setToolTip(_("Nächster Zeitraum (Bild ab)"))
        for button in (self.prev_button, self.next_button):
            button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            button.setMinimumSize(QSize(32, 28))
        self.period_label = QLabel()
        self.period_label.setObjectName("calendarPeriod")
        self.period_label.setTextFormat(Qt.TextFormat.PlainText)
        font = self.period_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.period_label.setFont(font)

        self.mode_buttons: dict[str, QPushButton] = {}
        for mode, text, name in (
            ("day", _("&Tag"), _("Tagesansicht")),
            ("week", _("&Woche"), _("Wochenansicht (Montag bis Freitag)")),
            ("month", _("&Monat"), _("Monatsansicht")),
        ):
            button = QPushButton(text)
            button.setCheckable(True)
            button.setAccessibleName(name)
            button.setToolTip(f"{name} (Alt+{text[text.index('&') + 1].upper()})")
            button.clicked.connect(lambda _c=False, m=mode: self.set_mode(m))
            self.mode_buttons[mode] = button

        self.manager_label = QLabel(_("&Kalender von:"))
        self.manager_combo = QComboBox()
        self.manager_combo.setAccessibleName(_("Kalender von"))
        self.manager_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.manager_label.setBuddy(self.manager_combo)
        self.list_toggle = QCheckBox(_("Als &Liste anzeigen"))
        self.list_toggle.setAccessibleName(_("Als Liste anzeigen"))
        self.list_toggle.setToolTip(_("Die Termine des Zeitraums als Tabelle, z. B. für Bildschirmleser"))

        # --- calendar and list ---
        self.view = CalendarView(ctx)
        self.view.setAccessibleDescription("")
        self.list_model = CalendarListModel(self)
        self.table = QTableView()
        self.table.setModel(self.list_model)
        make_list_table(
            self.table,
            _("Termine als Liste"),
            _("Die Termine des angezeigten Zeitraums. Eingabetaste öffnet den Termin."),
        )
        for column, width in enumerate((130, 100, 120, 200, 140, 140)):
            self.table.setColumnWidth(column, width)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.view)
        self.stack.addWidget(self.table)

        # --- side panel ---
        self.new_button = QPushButton(_("&Neuer Termin"))
        self.new_button.setAccessibleName(_("Neuer Termin"))
        self.new_button.setToolTip(_("Neuer Termin zur markierten Zeit (Einfg oder N im Kalender)"))
        details_box = QGroupBox(_("Ausgewählter Termin"))
        self.details = QLabel()
        self.details.setTextFormat(Qt.TextFormat.PlainText)
        self.details.setWordWrap(True)
        self.details.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setAccessibleName(_("Ausgewählter Termin"))
        self.details.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.open_button = QPushButton(_("Termin ö&ffnen"))
        self.open_button.setAccessibleName(_("Ausgewählten Termin öffnen"))
        details_layout = QVBoxLayout(details_box)
        details_layout.addWidget(self.details)
        details_layout.addWidget(self.open_button)
        self.legend_box = QGroupBox(_("Farben"))
        self.legend = QGridLayout(self.legend_box)
        self.legend.setHorizontalSpacing(6)
        self.legend.setVerticalSpacing(3)

        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(self.new_button)
        side_layout.addWidget(details_box)
        side_layout.addWidget(self.legend_box)
        side_layout.addStretch(1)
        self.side_scroll = QScrollArea()
        self.side_scroll.setWidget(side)
        self.side_scroll.setWidgetResizable(True)
        self.side_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.side_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.side_scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.side_scroll.setMinimumWidth(180)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.stack)
        self.splitter.addWidget(self.side_scroll)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 0)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([900, 230])
        remember_splitter(self.splitter, "calendar_page")

        # --- layout: two toolbar rows, so that 150 % scaling on a laptop still fits ---
        top = QHBoxLayout()
        top.addWidget(self.period_label, 1)
        top.addWidget(self.manager_label)
        top.addWidget(self.manager_combo)
        controls = QHBoxLayout()
        controls.addWidget(self.today_button)
        controls.addWidget(self.prev_button)
        controls.addWidget(self.next_button)
        controls.addSpacing(12)
        for button in self.mode_buttons.values():
            controls.addWidget(button)
        controls.addStretch(1)
        controls.addWidget(self.list_toggle)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(controls)
        layout.addWidget(self.splitter, 1)

        chain = [self.manager_combo, self.today_button, self.prev_button, self.next_button,
                 *self.mode_buttons.values(), self.list_toggle, self.view, self.table, self.new_button,
                 self.open_button]  # fmt: skip
        for first, second in zip(chain, chain[1:], strict=False):
            QWidget.setTabOrder(first, second)

        # --- wiring ---
        self.today_button.clicked.connect(self.view.go_today)
        self.prev_button.clicked.connect(lambda: self.view.go(-1))
        self.next_button.clicked.connect(lambda: self.view.go(1))
        self.manager_combo.currentIndexChanged.connect(lambda _i: self._apply_filter())
        self.list_toggle.toggled.connect(self.show_list)
        self.new_button.clicked.connect(self.new_at_cursor)
        self.open_button.clicked.connect(self.open_current)
        self.view.period_changed.connect(lambda _f, _l: self._update_period_label())
        self.view.mode_changed.connect(self._mode_changed)
        self.view.items_changed.connect(self._items_changed)
        self.view.current_changed.connect(self._current_changed)
        self.view.open_requested.connect(self.open_appointment)
        self.view.new_requested.connect(self.new_appointment)
        self.table.activated.connect(lambda index: self.open_appointment(index.data(ID_ROLE)))
        self.table.selectionModel().currentRowChanged.connect(self._table_row_changed)

        self._check_mode_button(self.view.mode)
        self._fill_managers()
        self._fill_legend()
        self._apply_filter()
        self._current_changed(None)

    # --- data ----------------------------------------------------------------------------------------------

    def _fill_managers(self) -> None:
        from ..services.codes import case_managers

        with self.ctx.read() as session:
            self._managers = case_managers(session)
        own = self.ctx.actor.user_id
        previous = self.manager_combo.currentData()
        self.manager_combo.blockSignals(True)
        self.manager_combo.clear()
        if own:
            self.manager_combo.addItem(_("Mein Kalender"), MINE)
        for manager_id, name in self._managers:
            if manager_id != own:
                self.manager_combo.addItem(name, manager_id)
        self.manager_combo.addItem(_("Team (alle)"), TEAM)
        index = self.manager_combo.findData(previous) if previous is not None else -1
        if index < 0:  # without a user account (single-user office) the own calendar is everyone's
            index = 0 if own else self.manager_combo.findData(TEAM)
        self.manager_combo.setCurrentIndex(index)
        self.manager_combo.blockSignals(False)

    def _fill_legend(self) -> None:
        from ..services.codes import code_labels

        while self.legend.count():
            widget = self.legend.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        with self.ctx.read() as session:
            types = code_labels(session, "appointment_type", current_language())
        entries = [(_swatch(type_colour(code)), label) for code, label in types.items()]
        entries.append((_swatch(BUSY_FILL, hatched=True), _("Belegt (nur Zeit)")))
        pale = QColor(type_colour("beratung"))
        pale.setAlphaF(0.2)
        entries.append(
            (_swatch(pale.name(QColor.NameFormat.HexArgb)), _("abgesagt, nicht erschienen (durchgestrichen)"))
        )
        entries.append((_swatch(BADGE_COLOUR), _("! Überschneidung bewusst behalten")))
        for row, (pixmap, text) in enumerate(entries):
            icon = QLabel()
            icon.setPixmap(pixmap)
            icon.setAlignment(Qt.AlignmentFlag.AlignTop)
            words = QLabel(text)
            words.setWordWrap(True)
            self.legend.addWidget(icon, row, 0)
            self.legend.addWidget(words, row, 1)
        self.legend.setColumnStretch(1, 1)
        self.legend_box.setAccessibleDescription(", ".join(text for _p, text in entries))

    def _apply_filter(self) -> None:
        choice = self.manager_combo.currentData()
        if choice == TEAM:
            self.view.set_filter(None, team=list(self._managers))
        elif choice == MINE:
            self.view.set_filter([self.ctx.actor.user_id])
        elif choice:
            self.view.set_filter([choice])
        else:
            self.view.set_filter(None)

    def refresh(self) -> None:
        """Re-read the case managers and the period (after changes elsewhere)."""
        self._fill_managers()
        self._apply_filter()

    # --- modes and navigation --------------------------------------------------------------------------------

    def set_mode(self, mode: str) -> None:
        self.view.set_mode(mode)
        self._check_mode_button(mode)
        self._update_period_label()

    def _mode_changed(self, mode: str) -> None:
        self._check_mode_button(mode)
        self._update_period_label()

    def _check_mode_button(self, mode: str) -> None:
        # Not an exclusive QButtonGroup: there Tab reaches only one of the three buttons.
        for key, button in self.mode_buttons.items():
            button.setChecked(key == mode)

    def _update_period_label(self) -> None:
        first, last = self.view.period
        self.period_label.setText(period_label(self.view.mode, first, last, self.view.current_day))

    def show_list(self, on: bool = True) -> None:
        """The list alternative (True) or the painted calendar (False)."""
        if self.list_toggle.isChecked() != on:
            self.list_toggle.setChecked(on)  # comes back here through ``toggled``
            return
        self.stack.setCurrentWidget(self.table if on else self.view)
        self._select_row(self.view.current_item())
        self.focus_calendar()

    def focus_calendar(self) -> None:
        """Put the keyboard focus into the calendar (or the list), e.g. when the page is shown."""
        self.stack.currentWidget().setFocus(Qt.FocusReason.OtherFocusReason)

    # --- list and details ------------------------------------------------------------------------------------

    def _items_changed(self) -> None:
        self._syncing = True
        try:
            self.list_model.set_items(self.view.items)
            self._select_row(self.view.current_item())
        finally:
            self._syncing = False
        self._update_period_label()

    def _select_row(self, item) -> None:
        row = self.list_model.row_of(item.id) if item is not None else -1
        was, self._syncing = self._syncing, True
        try:
            if row >= 0:
                self.table.selectRow(row)
            else:
                self.table.clearSelection()
        finally:
            self._syncing = was

    def _table_row_changed(self, current, _previous) -> None:
        if self._syncing or not current.isValid():
            return
        item = self.list_model.item(current.row())
        if item is not None:
            self._syncing = True
            try:
                self.view.set_current(item.id)
            finally:
                self._syncing = False

    def _current_changed(self, item) -> None:
        if not self._syncing:
            self._select_row(item)
        self.open_button.setEnabled(item is not None)
        if item is None:
            self.details.setText(_("Kein Termin ausgewählt."))
            self.details.setAccessibleDescription("")
            return
        start, end = item.starts_at, item.ends_at
        lines = [
            _("Belegt") if item.busy_only else item.type_label,
            _("{day}, {start}–{end} Uhr").format(
                day=day_words(start.date()), start=start.strftime("%H:%M"), end=end.strftime("%H:%M")
            ),  # fmt: skip
        ]
        if not item.busy_only and item.label and item.label != item.type_label:
            lines.append(item.label)
        if item.location:
            lines.append(_("Ort: {place}").format(place=item.location))
        if item.case_manager:
            lines.append(_("Fachkraft: {name}").format(name=item.case_manager))
        if item.interpreter or item.interpreter_language:
            language = language_name(item.interpreter_language) if item.interpreter_language else ""
            who = item.interpreter or _("noch offen")
            lines.append(_("Dolmetschung: {who}").format(who=f"{who} ({language})" if language else who))
        if not item.busy_only:
            lines.append(_("Status: {status}").format(status=status_text(item) or status_text_planned()))
        if item.conflict_accepted:
            lines.append("! " + _("Überschneidung bewusst behalten"))
        if item.status in PALE_STATUSES:
            lines.append(_("(zählt nicht als belegt)"))
        text = "\n".join(lines)
        self.details.setText(text)
        self.details.setAccessibleDescription(text)

    # --- open and new ----------------------------------------------------------------------------------------

    def open_current(self) -> None:
        item = self.view.current_item()
        if item is not None:
            self.open_appointment(item.id)

    def new_at_cursor(self) -> None:
        """New appointment at the calendar's focused slot, else the next full hour (today) or 9:00."""
        slot = self.view.focused_slot()
        if slot is None:
            item = self.view.current_item()
            if item is not None:
                slot = item.ends_at.replace(tzinfo=None)
            else:
                now = self.view.now().replace(tzinfo=None)
                day = self.view.current_day
                if day == now.date():
                    slot = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
                else:
                    slot = datetime.combine(day, time(9))
        self.new_appointment(slot)

    def open_appointment(self, appointment_id: str | None) -> None:
        if not appointment_id:
            return
        self.open_requested.emit(appointment_id)
        self._run_dialog(appointment_id=appointment_id)

    def new_appointment(self, starts_at: datetime) -> None:
        self.new_requested.emit(starts_at)
        self._run_dialog(starts_at=starts_at)

    def _run_dialog(self, **kwargs) -> None:
        if not self.use_dialog:
            return
        dialog_class = _appointment_dialog_class()
        if dialog_class is None:
            return
        try:
            dialog = dialog_class(self.ctx, parent=self, **kwargs)
        except UserError as exc:
            QMessageBox.warning(self, APP_NAME, exc.message)
            self.view.reload()
            return
        dialog.exec()
        self.view.reload()
        self.focus_calendar()

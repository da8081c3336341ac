"""Orte und Sprechzeiten: the office's places (buildings and their rooms) and the recurring office hours.

Two tabs with the same shape: a table above, the form of the chosen row below, "Neu" and "Speichern". A place
is never deleted, only deactivated ("Deaktivieren" asks first when future appointments are there; they keep
their place). Office hours are weekly (weekday, from–to) at a place, optionally for one case manager and
within "gültig ab/bis"; the service refuses overlaps of the same person and skips NRW holidays.
"""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import Qt, QTime, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from ..errors import UserError, ValidationError
from ..i18n import _, format_date, pgettext
from ..services import codes, office_hours
from ..services.office_hours import LocationData, LocationRow, OfficeHoursData, OfficeHoursRow
from .interpreters_dialog import ask, ask_unsaved, fit_to_screen, plain_buttons, set_status
from .widgets import FieldError, RowsTableModel, add_field, make_list_table


def _set_combo(combo: QComboBox, value) -> None:
    index = combo.findData(value)
    combo.setCurrentIndex(max(index, 0))


class LocationModel(RowsTableModel):
    def __init__(self, parent=None) -> None:
        super().__init__((_("Name"), _("Art"), _("Gehört zu"), _("Adresse"), _("Status")), parent)



    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        row: LocationRow | None = self.row_at(index.row()) if index.isValid() else None
        if row is None:
            return None
        if role == Qt.ItemDataRole.UserRole:
            return row.id
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        name = f"    {row.name}" if row.parent_id else row.name  # rooms indented under their building
        values = (
            name,
            row.kind_label,
            row.parent_name,
            row.address,
            _("aktiv") if row.active else _("deaktiviert"),
        )
        return values[index.column()]


class OfficeHoursModel(RowsTableModel):
    def __init__(self, parent=None) -> None:
        super().__init__(
            (_("Wochentag"), _("Von"), _("Bis"), pgettext("Termin", "Ort"), _("Fachkraft"), _("Gültig ab"), _("Gültig bis")),
            parent,
        )



    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        row: OfficeHoursRow | None = self.row_at(index.row()) if index.isValid() else None
        if row is None:
            return None
        if role == Qt.ItemDataRole.UserRole:
            return row.id
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        values = (
            row.weekday_label,
            row.start_time.strftime("%H:%M"),
            row.end_time.strftime("%H:%M"),
            row.location,
            row.case_manager or _("alle / ohne feste Fachkraft"),
            format_date(row.valid_from) if row.valid_from else "",
            format_date(row.valid_until) if row.valid_until else _("unbefristet"),
        )
        return values[index.column()]


class _EditorTab(QWidget):
    """A table of records and the form of the chosen one; subclasses fill in the record kind."""

    changed = Signal()
    unsaved_text = ""

    def __init__(self, ctx, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.current = None
        self._dirty = False
        self._loading = False
        self.errors: dict[str, FieldError] = {}
        self.inputs: dict[str, QWidget] = {}
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setVisible(False)

    def _assemble(self, table: QTableView, table_label: QLabel, extra_top: QWidget | None, box: QGroupBox,
                  buttons: QHBoxLayout) -> None:  # fmt: skip
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(table_label)
        top_layout.addWidget(table, 1)
        if extra_top is not None:
            top_layout.addWidget(extra_top)
        bottom = QWidget()
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 0, 0, 0)
        bottom_layout.addWidget(box)
        bottom_layout.addLayout(buttons)
        bottom_layout.addWidget(self.status)
        bottom_layout.addStretch(1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(top)
        splitter.addWidget(bottom)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)
        table.selectionModel().currentRowChanged.connect(self._row_changed)

    # subclasses: model, table, show_record(row|None), form_data(), store() -> id, reload(select_id)

    def mark_dirty(self) -> None:
        if not self._loading:
            self._dirty = True

    @property
    def dirty(self) -> bool:
        return self._dirty

    def current_id(self) -> str | None:
        return self.current.id if self.current is not None else None

    def resolve_unsaved(self) -> bool:
        if not self._dirty:
            return True
        answer = ask_unsaved(self, self.unsaved_text)
        if answer == "save":
            return self.save()
        if answer == "discard":
            self._dirty = False
            return True
        return False

    def _row_changed(self, current, previous) -> None:
        if self._loading:
            return
        if not self.resolve_unsaved():
            self._loading = True
            self.table.selectRow(previous.row() if previous.isValid() else -1)
            self._loading = False
            return
        self._show(self.model.row_at(current.row()) if current.isValid() else None)

    def _show(self, row) -> None:
        self.current = row
        self._loading = True
        self.show_record(row)
        self._loading = False
        self._dirty = False
        self.show_errors({})

    def select(self, record_id: str | None) -> None:
        row = self.model.row_of(record_id)
        self._loading = True
        if row >= 0:
            self.table.selectRow(row)
        else:
            self.table.clearSelection()
        self._loading = False
        self._show(self.model.row_at(row) if row >= 0 else None)

    def new_record(self) -> None:
        if not self.resolve_unsaved():
            return
        self._loading = True
        self.table.clearSelection()
        self.table.setCurrentIndex(self.model.index(-1, -1))
        self._loading = False
        self._show(None)
        set_status(self.status, "")
        self.first_input().setFocus()

    def show_errors(self, field_errors: dict[str, str]) -> bool:
        first = None
        for name, error in self.errors.items():
            message = field_errors.get(name)
            error.show_message(message)
            if message and first is None:
                first = name
        if first is None:
            return False
        self.inputs[first].setFocus()
        return True

    def save(self) -> bool:
        try:
            record_id = self.store()
        except ValidationError as exc:
            if not self.show_errors(exc.field_errors):
                set_status(self.status, exc.message, error=True)
            return False
        except UserError as exc:
            set_status(self.status, exc.message, error=True)
            return False
        self._dirty = False
        self.reload(record_id)
        set_status(self.status, _("Gespeichert."))
        self.changed.emit()
        return True


class LocationsTab(_EditorTab):
    """Orte: buildings (Dienststelle, Außenstelle, externer Ort) and their rooms."""

    def __init__(self, ctx, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.unsaved_text = _("Der Ort ist noch nicht gespeichert.")
        self.model = LocationModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        make_list_table(
            self.table, _("Orte"), _("Pfeiltasten wählen einen Ort; er erscheint unten im Formular.")
        )
        for column, width in enumerate((230, 110, 170, 230)):
            self.table.setColumnWidth(column, width)
        table_label = QLabel(_("Orte &und Räume:"))
        table_label.setBuddy(self.table)
        self.show_inactive = QCheckBox(_("Auch &deaktivierte anzeigen"))
        self.show_inactive.setAccessibleName(_("Auch deaktivierte Orte anzeigen"))
        self.show_inactive.toggled.connect(lambda _on: self._inactive_toggled())

        box = QGroupBox(pgettext("Termin", "Ort"))
        left, right = QFormLayout(), QFormLayout()
        for form in (left, right):
            form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.inputs = {
            "name": QLineEdit(),
            "kind": QComboBox(),
            "parent_id": QComboBox(),
            "street": QLineEdit(),
            "postcode": QLineEdit(),
            "city": QLineEdit(),
        }
        for code, label in office_hours.kind_labels().items():
            self.inputs["kind"].addItem(label, code)
        self.inputs["postcode"].setMaxLength(5)
        self.errors = {
            "name": add_field(left, _("Na&me:*"), self.inputs["name"]),
            "kind": add_field(left, _("&Art:"), self.inputs["kind"]),
            "parent_id": add_field(
                left,
                _("&Gebäude:"),
                self.inputs["parent_id"],
                tip=_("Nur für Räume: das Gebäude, in dem er liegt."),
            ),
            "street": add_field(right, _("St&raße:"), self.inputs["street"]),
            "postcode": add_field(right, _("&PLZ:"), self.inputs["postcode"]),
            "city": add_field(right, _("Or&t:"), self.inputs["city"]),
        }
        box_layout = QHBoxLayout(box)
        box_layout.addLayout(left, 1)
        box_layout.addSpacing(12)
        box_layout.addLayout(right, 1)

        self.new_button = QPushButton(_("&Neu"))
        self.new_button.setAccessibleName(_("Neuen Ort anlegen"))
        self.save_button = QPushButton(_("&Speichern"))
        self.save_button.setAccessibleName(_("Ort speichern"))
        self.active_button = QPushButton(_("Dea&ktivieren"))
        self.active_button.setAccessibleName(_("Ort deaktivieren"))
        plain_buttons(self.new_button, self.save_button, self.active_button)
        QWidget.setTabOrder(self.new_button, self.active_button)  # Tab follows the buttons as they are shown
        QWidget.setTabOrder(self.active_button, self.save_button)
        buttons = QHBoxLayout()
        buttons.addWidget(self.new_button)
        buttons.addStretch(1)
        buttons.addWidget(self.active_button)
        buttons.addWidget(self.save_button)
        self._assemble(self.table, table_label, self.show_inactive, box, buttons)

        self.new_button.clicked.connect(lambda _c=False: self.new_record())
        self.save_button.clicked.connect(lambda _c=False: self.save())
        self.active_button.clicked.connect(lambda _c=False: self.toggle_active())
        for key in ("name", "street", "postcode", "city"):
            self.inputs[key].textEdited.connect(lambda _t: self.mark_dirty())
        self.inputs["kind"].currentIndexChanged.connect(lambda _i: self._kind_changed())
        self.inputs["parent_id"].currentIndexChanged.connect(lambda _i: self.mark_dirty())
        self.reload()
        if self.model.rowCount():
            self.select(self.model.row_at(0).id)
        else:
            self._show(None)

    def first_input(self) -> QWidget:
        return self.inputs["name"]

    def _inactive_toggled(self) -> None:
        if self.resolve_unsaved():
            self.reload(self.current_id())

    def reload(self, select_id: str | None = None) -> None:
        with self.ctx.read() as session:
            rows = office_hours.list_locations(session, include_inactive=self.show_inactive.isChecked())
        self._loading = True
        self.model.set_rows(rows)
        self._loading = False
        self.select(select_id)

    def _buildings(self, exclude: str | None) -> list[LocationRow]:
        with self.ctx.read() as session:
            rows = office_hours.list_locations(session)
        return [r for r in rows if r.kind in office_hours.BUILDING_KINDS and r.id != exclude]

    def _kind_changed(self) -> None:
        is_room = self.inputs["kind"].currentData() == "room"
        self.inputs["parent_id"].setEnabled(is_room)
        for key in ("street", "postcode", "city"):
            self.inputs[key].setEnabled(not is_room)
        self.mark_dirty()

    def show_record(self, row: LocationRow | None) -> None:
        data = row.to_data() if row else LocationData(kind="office")
        parent = self.inputs["parent_id"]
        parent.clear()
        parent.addItem(_("– kein Gebäude –"), None)
        for building in self._buildings(row.id if row else None):
            parent.addItem(building.name, building.id)
        if data.parent_id and parent.findData(data.parent_id) < 0 and row is not None:
            parent.addItem(row.parent_name, data.parent_id)  # a deactivated building stays visible
        self.inputs["name"].setText(data.name)
        _set_combo(self.inputs["kind"], data.kind)
        _set_combo(parent, data.parent_id)
        self.inputs["street"].setText(data.street or "")
        self.inputs["postcode"].setText(data.postcode or "")
        self.inputs["city"].setText(data.city or "")
        self._kind_changed()
        self.active_button.setEnabled(row is not None)
        active = row is None or row.active
        self.active_button.setText(_("Dea&ktivieren") if active else _("Wieder a&ktivieren"))
        self.active_button.setAccessibleName(_("Ort deaktivieren") if active else _("Ort wieder aktivieren"))

    def form_data(self) -> LocationData:
        is_room = self.inputs["kind"].currentData() == "room"
        return LocationData(
            name=self.inputs["name"].text(),
            kind=self.inputs["kind"].currentData(),
            parent_id=self.inputs["parent_id"].currentData() if is_room else None,
            street=None if is_room else self.inputs["street"].text(),
            postcode=None if is_room else self.inputs["postcode"].text(),
            city=None if is_room else self.inputs["city"].text(),
        )

    def store(self) -> str:
        return office_hours.save_location(
            self.ctx,
            self.form_data(),
            self.current_id(),
            expected_version=self.current.version if self.current else None,
        )

    def toggle_active(self) -> bool:
        if self.current is None or not self.resolve_unsaved():
            return False
        row = self.current
        try:
            if not row.active:
                office_hours.reactivate_location(self.ctx, row.id)
                message = _("Der Ort ist wieder aktiv.")
            else:
                try:
                    office_hours.deactivate_location(self.ctx, row.id)
                except office_hours.LocationInUseError as exc:
                    if not ask(
                        self,
                        _("Ort trotzdem deaktivieren?"),
                        exc.message,
                        _("Trotzdem &deaktivieren"),
                    ):
                        return False
                    office_hours.deactivate_location(self.ctx, row.id, force=True)
                message = (
                    _("Der Ort und seine Räume sind deaktiviert.")
                    if row.kind != "room"
                    else _("Der Raum ist deaktiviert.")
                )
        except UserError as exc:
            set_status(self.status, exc.message, error=True)
            return False
        self.reload(row.id)
        set_status(self.status, message)
        self.changed.emit()
        return True


class OfficeHoursTab(_EditorTab):
    """Sprechzeiten: weekly office hours at a place, for a case manager or for everyone."""

    def __init__(self, ctx, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.unsaved_text = _("Die Sprechzeit ist noch nicht gespeichert.")
        self.model = OfficeHoursModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        make_list_table(self.table, _("Sprechzeiten"), _("Pfeiltasten wählen eine Sprechzeit."))
        for column, width in enumerate((110, 60, 60, 220, 170, 90)):
            self.table.setColumnWidth(column, width)
        table_label = QLabel(_("Regel&mäßige Sprechzeiten:"))
        table_label.setBuddy(self.table)

        box = QGroupBox(_("Sprechzeit"))
        left, right = QFormLayout(), QFormLayout()
        for form in (left, right):
            form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        weekday = QComboBox()
        for number, name in enumerate(office_hours.weekday_names()):
            weekday.addItem(name, number)
        start, end = QTimeEdit(QTime(9, 0)), QTimeEdit(QTime(12, 0))
        for edit in (start, end):
            edit.setDisplayFormat("HH:mm")
        self.inputs = {
            "weekday": weekday,
            "start_time": start,
            "end_time": end,
            "location_id": QComboBox(),
            "case_manager_id": QComboBox(),
            "valid_from": QLineEdit(),
            "valid_until": QLineEdit(),
        }
        self.inputs["valid_from"].setPlaceholderText(_("TT.MM.JJJJ (leer: schon immer)"))
        self.inputs["valid_until"].setPlaceholderText(_("TT.MM.JJJJ (leer: unbefristet)"))
        self.errors = {
            "weekday": add_field(left, _("&Wochentag:"), weekday),
            "start_time": add_field(left, _("Be&ginn:"), start),
            "end_time": add_field(left, _("&Ende:"), end),
            "location_id": add_field(right, pgettext("Termin", "O&rt:"), self.inputs["location_id"]),
            "case_manager_id": add_field(right, _("Fach&kraft:"), self.inputs["case_manager_id"]),
            "valid_from": add_field(right, _("Gültig &ab:"), self.inputs["valid_from"]),
            "valid_until": add_field(right, _("Gültig &bis:"), self.inputs["valid_until"]),
        }
        box_layout = QHBoxLayout(box)
        box_layout.addLayout(left, 2)
        box_layout.addSpacing(12)
        box_layout.addLayout(right, 3)

        self.new_button = QPushButton(_("&Neu"))
        self.new_button.setAccessibleName(_("Neue Sprechzeit anlegen"))
        self.save_button = QPushButton(_("&Speichern"))
        self.save_button.setAccessibleName(_("Sprechzeit speichern"))
        self.delete_button = QPushButton(_("&Löschen"))
        self.delete_button.setAccessibleName(_("Sprechzeit löschen"))
        plain_buttons(self.new_button, self.save_button, self.delete_button)
        QWidget.setTabOrder(self.new_button, self.delete_button)
        QWidget.setTabOrder(self.delete_button, self.save_button)
        buttons = QHBoxLayout()
        buttons.addWidget(self.new_button)
        buttons.addStretch(1)
        buttons.addWidget(self.delete_button)
        buttons.addWidget(self.save_button)
        self._assemble(self.table, table_label, None, box, buttons)

        self.new_button.clicked.connect(lambda _c=False: self.new_record())
        self.save_button.clicked.connect(lambda _c=False: self.save())
        self.delete_button.clicked.connect(lambda _c=False: self.delete())
        for key in ("weekday", "location_id", "case_manager_id"):
            self.inputs[key].currentIndexChanged.connect(lambda _i: self.mark_dirty())
        for key in ("start_time", "end_time"):
            self.inputs[key].timeChanged.connect(lambda _t: self.mark_dirty())
        for key in ("valid_from", "valid_until"):
            self.inputs[key].textEdited.connect(lambda _t: self.mark_dirty())
        self.refresh_choices()
        self.reload()
        if self.model.rowCount():
            self.select(self.model.row_at(0).id)
        else:
            self._show(None)

    def first_input(self) -> QWidget:
        return self.inputs["weekday"]

    def refresh_choices(self) -> None:
        """The places and case managers offered (after the Orte tab changed something)."""
        with self.ctx.read() as session:
            places = office_hours.list_locations(session)
            managers = codes.case_managers(session)
        self._loading = True
        location, manager = self.inputs["location_id"], self.inputs["case_manager_id"]
        keep_location, keep_manager = location.currentData(), manager.currentData()
        location.clear()
        location.addItem(_("– bitte wählen –"), None)
        for place in places:
            location.addItem(place.label, place.id)
        manager.clear()
        manager.addItem(_("– ohne feste Fachkraft –"), None)
        for manager_id, name in managers:
            manager.addItem(name, manager_id)
        _set_combo(location, keep_location)
        _set_combo(manager, keep_manager)
        self._loading = False

    def reload(self, select_id: str | None = None) -> None:
        with self.ctx.read() as session:
            rows = office_hours.list_office_hours(session)
        self._loading = True
        self.model.set_rows(rows)
        self._loading = False
        self.select(select_id)

    def show_record(self, row: OfficeHoursRow | None) -> None:
        if row is None:
            data = OfficeHoursData(weekday=0)
            start, end = QTime(9, 0), QTime(12, 0)
        else:
            data = row.to_data()
            start, end = (
                QTime(row.start_time.hour, row.start_time.minute),
                QTime(row.end_time.hour, row.end_time.minute),
            )
        location = self.inputs["location_id"]
        if row is not None and location.findData(row.location_id) < 0:
            location.addItem(_("{name} (deaktiviert)").format(name=row.location), row.location_id)
        manager = self.inputs["case_manager_id"]
        if row is not None and row.case_manager_id and manager.findData(row.case_manager_id) < 0:
            manager.addItem(row.case_manager, row.case_manager_id)
        _set_combo(self.inputs["weekday"], data.weekday)
        self.inputs["start_time"].setTime(start)
        self.inputs["end_time"].setTime(end)
        _set_combo(location, data.location_id)
        _set_combo(manager, data.case_manager_id)
        self.inputs["valid_from"].setText(
            format_date(data.valid_from) if isinstance(data.valid_from, date) else ""
        )
        self.inputs["valid_until"].setText(
            format_date(data.valid_until) if isinstance(data.valid_until, date) else ""
        )
        self.delete_button.setEnabled(row is not None)

    def form_data(self) -> OfficeHoursData:
        return OfficeHoursData(
            location_id=self.inputs["location_id"].currentData(),
            weekday=self.inputs["weekday"].currentData(),
            start_time=self.inputs["start_time"].time().toString("HH:mm"),
            end_time=self.inputs["end_time"].time().toString("HH:mm"),
            case_manager_id=self.inputs["case_manager_id"].currentData(),
            valid_from=self.inputs["valid_from"].text(),
            valid_until=self.inputs["valid_until"].text(),
        )

    def store(self) -> str:
        return office_hours.save_office_hours(
            self.ctx,
            self.form_data(),
            self.current_id(),
            expected_version=self.current.version if self.current else None,
        )

    def delete(self) -> bool:
        row = self.current
        if row is None:
            return False
        text = _("Die Sprechzeit {weekday} {start}–{end} Uhr ({place}) löschen?").format(
            weekday=row.weekday_label,
            start=row.start_time.strftime("%H:%M"),
            end=row.end_time.strftime("%H:%M"),
            place=row.location,
        )
        if not ask(
            self, _("Sprechzeit löschen?"), text, _("&Löschen"), informative=_("Gebuchte Termine bleiben.")
        ):
            return False
        try:
            office_hours.delete_office_hours(self.ctx, row.id)
        except UserError as exc:
            set_status(self.status, exc.message, error=True)
            return False
        self._dirty = False
        self.reload()
        set_status(self.status, _("Die Sprechzeit ist gelöscht."))
        self.changed.emit()
        return True


class OfficeHoursDialog(QDialog):
    """Orte und Sprechzeiten. ``changed`` is emitted after every stored change (the calendar redraws)."""

    changed = Signal()

    def __init__(self, ctx, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle(_("Orte und Sprechzeiten"))
        self.setMinimumSize(640, 460)
        self.locations_tab = LocationsTab(ctx)
        self.office_hours_tab = OfficeHoursTab(ctx)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.locations_tab, _("&Orte"))
        self.tabs.addTab(self.office_hours_tab, _("Sprech&zeiten"))
        self.tabs.setAccessibleName(_("Orte und Sprechzeiten"))
        self.tabs.currentChanged.connect(self._tab_changed)
        self._tab = 0
        self.locations_tab.changed.connect(self._locations_changed)
        self.office_hours_tab.changed.connect(self.changed)
        self.buttons = QDialogButtonBox()
        self.close_button = self.buttons.addButton(_("Schl&ießen"), QDialogButtonBox.ButtonRole.RejectRole)
        self.close_button.setAccessibleName(_("Schließen"))
        plain_buttons(self.close_button)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.buttons)
        fit_to_screen(self, 900, 640)

    def _locations_changed(self) -> None:
        self.office_hours_tab.refresh_choices()
        self.office_hours_tab.reload(self.office_hours_tab.current_id())
        self.changed.emit()

    def _tab_changed(self, index: int) -> None:
        previous = (self.locations_tab, self.office_hours_tab)[self._tab]
        if index != self._tab and not previous.resolve_unsaved():
            self.tabs.blockSignals(True)
            self.tabs.setCurrentIndex(self._tab)
            self.tabs.blockSignals(False)
            return
        self._tab = index

    def reject(self) -> None:
        for tab in (self.locations_tab, self.office_hours_tab):
            if not tab.resolve_unsaved():
                self.tabs.setCurrentWidget(tab)
                return
        super().reject()

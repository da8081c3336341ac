"""Dolmetscherpool: the interpreters the office books, with their languages and how to reach them.

A table of the pool on the left, the form of the chosen entry on the right. Languages are chosen in a
filterable list of CLDR names (the languages counsellors meet most first). "Aus dem Pool entfernen" asks
first; with future bookings it asks whether to release them (``appointments.remove_interpreter`` with
``release_bookings=True``: the appointments keep their language and need a new interpreter).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ..errors import UserError, ValidationError
from ..i18n import _, ngettext, sort_key
from ..services import appointments, office_hours
from ..services.office_hours import InterpreterData, InterpreterRow
from . import theme
from .widgets import FieldError, RowsTableModel, add_field, make_list_table

OK_STYLE = theme.ok_style()
ERROR_STYLE = theme.error_style()


def ask(parent: QWidget, title: str, text: str, yes: str, *, informative: str = "") -> bool:
    """A yes/cancel question with German buttons (independent of Qt's own translations); Esc cancels."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle(title)
    box.setText(text)
    if informative:
        box.setInformativeText(informative)
    ok = box.addButton(yes, QMessageBox.ButtonRole.AcceptRole)
    cancel = box.addButton(_("&Abbrechen"), QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(cancel)
    box.setEscapeButton(cancel)
    box.exec()
    return box.clickedButton() is ok


def ask_unsaved(parent: QWidget, text: str) -> str:
    """ "save", "discard" or "cancel" (Esc)."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle(_("Ungespeicherte Änderungen"))
    box.setText(text)
    save = box.addButton(_("&Speichern"), QMessageBox.ButtonRole.AcceptRole)
    discard = box.addButton(_("&Verwerfen"), QMessageBox.ButtonRole.DestructiveRole)
    cancel = box.addButton(_("&Abbrechen"), QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(save)
    box.setEscapeButton(cancel)
    box.exec()
    clicked = box.clickedButton()
    return "save" if clicked is save else "discard" if clicked is discard else "cancel"


def fit_to_screen(window: QWidget, width: int, height: int) -> None:
    """A comfortable size, but never beyond the screen (150 % on a laptop leaves about 853×533)."""
    screen = window.screen() or QGuiApplication.primaryScreen()
    if screen is not None:
        available = screen.availableGeometry()
        width = min(width, int(available.width() * 0.95))
        height = min(height, int(available.height() * 0.95))
    window.resize(width, height)


def set_status(label: QLabel, message: str, *, error: bool = False) -> None:
    label.setStyleSheet(ERROR_STYLE if error else OK_STYLE)
    label.setText(message)
    label.setVisible(bool(message))


def plain_buttons(*buttons: QPushButton) -> None:
    """Enter in a field must not press a button by surprise (save, remove, close)."""
    for button in buttons:
        button.setAutoDefault(False)
        button.setDefault(False)


def add_picker_field(form: QFormLayout, label: str, picker: QWidget, focus: QWidget) -> FieldError:
    """Like ``widgets.add_field`` for a compound input: the caption leads to ``focus`` (Alt+letter), the
    error line sits below the whole ``picker``."""
    caption = QLabel(label)
    caption.setBuddy(focus)
    error = FieldError(focus)
    cell = QWidget()
    cell_layout = QVBoxLayout(cell)
    cell_layout.setContentsMargins(0, 0, 0, 0)
    cell_layout.setSpacing(2)
    cell_layout.addWidget(picker)
    cell_layout.addWidget(error)
    form.addRow(caption, cell)
    return error


class LanguagePicker(QWidget):
    """Several languages: a filter field above a list with check boxes (Space ticks), and the choice in words.

    Typing filters by name or code; Enter in the filter ticks the first language shown. The languages met most
    come first, then every other CLDR language.
    """

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText(_("Sprache suchen, z. B. „dari“ oder „tigr“"))
        self.filter.setAccessibleName(_("Sprachen filtern"))
        self.filter.setClearButtonEnabled(True)
        self.list = QListWidget()
        self.list.setAccessibleName(_("Sprachen zum Ankreuzen"))
        self.list.setAccessibleDescription(_("Leertaste kreuzt die markierte Sprache an oder ab."))
        self.list.setUniformItemSizes(True)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setAccessibleName(_("Gewählte Sprachen"))
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.filter)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.summary)
        self._items: dict[str, QListWidgetItem] = {}
        self._order: list[str] = []
        more_added = False
        for code, name, common in office_hours.language_options():
            if not common and not more_added:
                header = QListWidgetItem(_("— weitere Sprachen —"))
                header.setFlags(Qt.ItemFlag.NoItemFlags)
                self.list.addItem(header)
                self._more_header = header
                more_added = True
            item = QListWidgetItem(name)
            item.setData(Qt.ItemDataRole.UserRole, code)
            item.setToolTip(code)
            item.setFlags(
                Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsUserCheckable
            )
            item.setCheckState(Qt.CheckState.Unchecked)
            self.list.addItem(item)
            self._items[code] = item
            self._order.append(code)
        self.list.itemChanged.connect(lambda _item: self._changed())
        self.filter.textChanged.connect(self.apply_filter)
        self.filter.returnPressed.connect(self._tick_first)
        self._update_summary()

    def selected_codes(self) -> list[str]:
        return [code for code in self._order if self._items[code].checkState() == Qt.CheckState.Checked]

    def set_selected(self, codes: list[str] | tuple[str, ...]) -> None:
        wanted = {office_hours.normalize_language(c) for c in codes}
        self.list.blockSignals(True)
        for code, item in self._items.items():
            item.setCheckState(Qt.CheckState.Checked if code in wanted else Qt.CheckState.Unchecked)
        self.list.blockSignals(False)
        self.filter.clear()
        self._update_summary()

    def set_checked(self, code: str, checked: bool = True) -> None:
        item = self._items[office_hours.normalize_language(code) or code]
        item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)

    def visible_codes(self) -> list[str]:
        return [code for code in self._order if not self._items[code].isHidden()]

    def apply_filter(self, text: str) -> None:
        needle = sort_key(text.strip())
        for code, item in self._items.items():
            item.setHidden(bool(needle) and needle not in sort_key(item.text()) and needle != code.casefold())
        if hasattr(self, "_more_header"):
            self._more_header.setHidden(bool(needle))
        first = next((self._items[c] for c in self._order if not self._items[c].isHidden()), None)
        if first is not None:
            self.list.setCurrentItem(first)
            self.list.scrollToItem(first)

    def _tick_first(self) -> None:
        shown = self.visible_codes()
        if shown and self.filter.text().strip():
            item = self._items[shown[0]]
            item.setCheckState(
                Qt.CheckState.Unchecked
                if item.checkState() == Qt.CheckState.Checked
                else Qt.CheckState.Checked
            )
            self.filter.selectAll()

    def _changed(self) -> None:
        self._update_summary()
        self.changed.emit()

    def _update_summary(self) -> None:
        names = sorted((self._items[c].text() for c in self.selected_codes()), key=sort_key)
        self.summary.setText(
            _("Gewählt: {names}").format(names=", ".join(names))
            if names
            else _("Noch keine Sprache gewählt.")
        )


class InterpreterModel(RowsTableModel):
    """Name, Sprachen, Telefon, E-Mail, Verfügbarkeit; ``Qt.UserRole`` is the interpreter id."""

    def __init__(self, parent=None) -> None:
        super().__init__((_("Name"), _("Sprachen"), _("Telefon"), _("E-Mail"), _("Verfügbarkeit")), parent)



    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        row: InterpreterRow | None = self.row_at(index.row()) if index.isValid() else None
        if row is None:
            return None
        if role == Qt.ItemDataRole.UserRole:
            return row.id
        values = (
            row.name if row.active else _("{name} (pausiert)").format(name=row.name),
            row.language_names,
            row.phone,
            row.email,
            " ".join(row.availability.split()),
        )
        if role == Qt.ItemDataRole.DisplayRole:
            return values[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole and index.column() in (1, 4):
            return values[index.column()]
        return None


class InterpretersDialog(QDialog):
    """The interpreter pool: list, add, change, remove. ``changed`` is emitted after every stored change."""

    changed = Signal()

    def __init__(self, ctx, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.current: InterpreterRow | None = None
        self._dirty = False
        self._loading = False
        self.setWindowTitle(_("Dolmetscherpool"))
        self.setMinimumSize(640, 460)

        # --- the pool ---
        self.model = InterpreterModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        make_list_table(
            self.table,
            _("Dolmetscher/innen im Pool"),
            _("Pfeiltasten wählen einen Eintrag; er erscheint rechts."),
        )
        for column, width in enumerate((170, 210, 130, 200)):
            self.table.setColumnWidth(column, width)
        table_label = QLabel(_("&Dolmetscher/innen:"))
        table_label.setBuddy(self.table)
        self.show_paused = QCheckBox(_("Auch pausierte an&zeigen"))
        self.show_paused.setAccessibleName(_("Auch pausierte anzeigen"))
        self.show_paused.toggled.connect(lambda _on: self._paused_toggled())
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(table_label)
        left_layout.addWidget(self.table, 1)
        left_layout.addWidget(self.show_paused)

        # --- the form: names and contact on the left, languages on the right ---
        box = QGroupBox(_("Eintrag"))
        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.family_name = QLineEdit()
        self.given_names = QLineEdit()
        self.phone = QLineEdit()
        self.email = QLineEdit()
        self.availability = QPlainTextEdit()
        self.availability.setTabChangesFocus(True)
        self.availability.setPlaceholderText(_("z. B. „Di und Do vormittags, nicht in den Schulferien“"))
        self.availability.setFixedHeight(self.availability.fontMetrics().lineSpacing() * 3 + 14)
        self.active = QCheckBox(_("&Aktiv: bei der Terminsuche anbieten"))
        self.active.setAccessibleName(_("Aktiv: bei der Terminsuche anbieten"))
        self.active.setChecked(True)
        self.errors: dict[str, FieldError] = {
            "family_name": add_field(form, _("&Familienname:*"), self.family_name),
            "given_names": add_field(form, _("&Vorname(n):"), self.given_names),
            "phone": add_field(form, _("&Telefon:"), self.phone),
            "email": add_field(form, _("E-&Mail:"), self.email),
            "availability": add_field(
                form,
                _("Verfü&gbarkeit:"),
                self.availability,
                tip=_("Nur zur Information; die Terminsuche prüft Termine."),
            ),
        }
        form.addRow("", self.active)
        self.languages = LanguagePicker()
        languages_form = QFormLayout()
        languages_form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapAllRows)
        self.errors["languages"] = add_picker_field(
            languages_form, _("S&prachen:*"), self.languages, self.languages.filter
        )
        form_column = QVBoxLayout()
        form_column.addLayout(form)
        form_column.addStretch(1)
        box_layout = QHBoxLayout(box)
        box_layout.addLayout(form_column, 3)
        box_layout.addSpacing(12)
        box_layout.addLayout(languages_form, 2)

        self.new_button = QPushButton(_("&Neu"))
        self.new_button.setAccessibleName(_("Neuen Eintrag anlegen"))
        self.save_button = QPushButton(_("&Speichern"))
        self.save_button.setAccessibleName(_("Eintrag speichern"))
        self.remove_button = QPushButton(_("Aus dem Pool &entfernen"))
        self.remove_button.setAccessibleName(_("Aus dem Pool entfernen"))
        buttons = QHBoxLayout()
        buttons.addWidget(self.new_button)
        buttons.addStretch(1)
        buttons.addWidget(self.remove_button)
        buttons.addWidget(self.save_button)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setVisible(False)
        bottom = QWidget()
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 0, 0, 0)
        bottom_layout.addWidget(box, 1)
        bottom_layout.addLayout(buttons)
        bottom_layout.addWidget(self.status)

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(left)
        splitter.addWidget(bottom)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        self.close_buttons = QDialogButtonBox()
        self.close_button = self.close_buttons.addButton(
            _("Schl&ießen"), QDialogButtonBox.ButtonRole.RejectRole
        )
        self.close_button.setAccessibleName(_("Schließen"))
        self.close_buttons.rejected.connect(self.reject)
        plain_buttons(self.new_button, self.save_button, self.remove_button, self.close_button)
        QWidget.setTabOrder(self.new_button, self.remove_button)  # Tab follows the buttons as they are shown
        QWidget.setTabOrder(self.remove_button, self.save_button)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.close_buttons)

        self.new_button.clicked.connect(lambda _c=False: self.new_entry())
        self.save_button.clicked.connect(lambda _c=False: self.save())
        self.remove_button.clicked.connect(lambda _c=False: self.remove())
        self.table.selectionModel().currentRowChanged.connect(self._row_changed)
        for field in (self.family_name, self.given_names, self.phone, self.email):
            field.textEdited.connect(lambda _t: self._mark_dirty())
        self.availability.textChanged.connect(self._mark_dirty)
        self.active.toggled.connect(lambda _on: self._mark_dirty())
        self.languages.changed.connect(self._mark_dirty)

        fit_to_screen(self, 900, 640)
        self.reload()
        if self.model.rowCount():
            self.table.selectRow(0)
            self.table.setFocus()
        else:
            self.new_entry()  # an empty pool: straight to the form

    # --- loading ---------------------------------------------------------------------------------------------

    def current_id(self) -> str | None:
        return self.current.id if self.current else None

    def reload(self, select_id: str | None = None) -> None:
        with self.ctx.read() as session:
            rows = office_hours.list_interpreters(session, include_inactive=self.show_paused.isChecked())
        self._loading = True
        self.model.set_rows(rows)
        self._loading = False
        row = self.model.row_of(select_id)
        self._loading = True
        if row >= 0:
            self.table.selectRow(row)
        else:
            self.table.clearSelection()
        self._loading = False
        self.show_entry(self.model.row_at(row) if row >= 0 else None)

    def _paused_toggled(self) -> None:
        if self._dirty and not self._resolve_unsaved():
            return
        self.reload(self.current_id())

    def _row_changed(self, current, previous) -> None:
        if self._loading:
            return
        if self._dirty and not self._resolve_unsaved():
            self._loading = True
            self.table.selectRow(previous.row() if previous.isValid() else -1)
            self._loading = False
            return
        self.show_entry(self.model.row_at(current.row()) if current.isValid() else None)

    def show_entry(self, row: InterpreterRow | None) -> None:
        self.current = row
        self._loading = True
        data = row.to_data() if row else InterpreterData()
        self.family_name.setText(data.family_name)
        self.given_names.setText(data.given_names)
        self.languages.set_selected(list(data.languages))
        self.phone.setText(data.phone or "")
        self.email.setText(data.email or "")
        self.availability.setPlainText(data.availability or "")
        self.active.setChecked(bool(data.active))
        self._loading = False
        self._dirty = False
        self.remove_button.setEnabled(row is not None)
        self.show_errors({})

    def new_entry(self) -> None:
        if self._dirty and not self._resolve_unsaved():
            return
        self._loading = True
        self.table.clearSelection()
        self.table.setCurrentIndex(self.model.index(-1, -1))
        self._loading = False
        self.show_entry(None)
        set_status(self.status, "")
        self.family_name.setFocus()

    def _mark_dirty(self) -> None:
        if not self._loading:
            self._dirty = True

    @property
    def dirty(self) -> bool:
        return self._dirty

    def _resolve_unsaved(self) -> bool:
        """Ask about unsaved changes; True when it is fine to go on."""
        answer = ask_unsaved(self, _("Der Eintrag im Dolmetscherpool ist noch nicht gespeichert."))
        if answer == "save":
            return self.save()
        if answer == "discard":
            self._dirty = False
            return True
        return False

    # --- writing ------------------------------------------------------------------------------------------------

    def form_data(self) -> InterpreterData:
        return InterpreterData(
            family_name=self.family_name.text(),
            given_names=self.given_names.text(),
            languages=self.languages.selected_codes(),
            phone=self.phone.text(),
            email=self.email.text(),
            availability=self.availability.toPlainText(),
            active=self.active.isChecked(),
        )

    def show_errors(self, field_errors: dict[str, str]) -> bool:
        first = None
        for name, error in self.errors.items():
            message = field_errors.get(name)
            error.show_message(message)
            if message and first is None:
                first = name
        if first is None:
            return False
        widget = {
            "family_name": self.family_name,
            "given_names": self.given_names,
            "languages": self.languages.filter,
            "phone": self.phone,
            "email": self.email,
            "availability": self.availability,
        }[first]
        widget.setFocus()
        return True

    def save(self) -> bool:
        """Store the form; True when stored."""
        try:
            new_id = office_hours.save_interpreter(
                self.ctx,
                self.form_data(),
                self.current_id(),
                expected_version=self.current.version if self.current else None,
            )
        except ValidationError as exc:
            if not self.show_errors(exc.field_errors):
                set_status(self.status, exc.message, error=True)
            return False
        except UserError as exc:
            set_status(self.status, exc.message, error=True)
            return False
        self._dirty = False
        self.reload(new_id)  # a paused entry vanishes while paused ones are hidden: the form is emptied
        set_status(self.status, _("Gespeichert."))
        self.changed.emit()
        return True

    def remove(self) -> bool:
        """Take the chosen interpreter out of the pool, asking first; True when removed."""
        if self.current is None:
            return False
        row = self.current
        with self.ctx.read() as session:
            booked = appointments.upcoming_for_interpreter(session, row.id)
        if booked:
            confirmed = ask(
                self,
                _("Buchungen freigeben?"),
                ngettext(
                    "{name} ist noch für {n} künftigen Termin gebucht.",
                    "{name} ist noch für {n} künftige Termine gebucht.",
                    booked,
                ).format(name=row.name, n=booked),
                _("Buchungen &freigeben und entfernen"),
                informative=_(
                    "Beim Entfernen werden diese Buchungen freigegeben: Die Termine behalten die Sprache und "
                    "brauchen eine neue dolmetschende Person."
                ),
            )
        else:
            confirmed = ask(
                self,
                _("Aus dem Pool entfernen?"),
                _("{name} aus dem Dolmetscherpool entfernen?").format(name=row.name),
                _("&Entfernen"),
                informative=_("Frühere Termine behalten den Eintrag."),
            )
        if not confirmed:
            return False
        try:
            released = appointments.remove_interpreter(self.ctx, row.id, release_bookings=bool(booked))
        except UserError as exc:
            set_status(self.status, exc.message, error=True)
            return False
        self._dirty = False
        self.reload()
        if released:
            set_status(
                self.status,
                ngettext(
                    "Aus dem Pool entfernt. {n} Buchung wurde freigegeben – bitte neu besetzen.",
                    "Aus dem Pool entfernt. {n} Buchungen wurden freigegeben – bitte neu besetzen.",
                    released,
                ).format(n=released),
            )
        else:
            set_status(self.status, _("Aus dem Pool entfernt."))
        self.changed.emit()
        return True

    def reject(self) -> None:
        if self._dirty and not self._resolve_unsaved():
            return
        super().reject()

"""Freien Termin suchen: "nächster freier Termin am Donnerstag in Dülmen mit Dolmetscher/in für Dari".

The counsellor picks weekday, place, case manager, duration and (searchable) interpreter language; "Suchen"
lists free times from ``office_hours.find_slots`` (inside office hours unless unticked, no holidays, the
case manager, the room and an interpreter of the language free). "Termin anlegen" closes the dialog with
``chosen_slot`` (and ``chosen_language``) set; the caller opens the appointment form with them.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from PySide6.QtCore import QDate, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QCompleter,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ..errors import UserError
from ..i18n import _, format_date, ngettext, pgettext, sort_key
from ..services import codes, office_hours
from ..services.office_hours import Slot
from .interpreters_dialog import fit_to_screen, set_status
from .widgets import RowsTableModel, add_field, make_list_table

RESULTS = 10
DEFAULT_MINUTES = 60


def slot_day_text(day: date) -> str:
    """``Do, 11.06.2026``."""
    return f"{office_hours.weekday_names()[day.weekday()][:2]}, {format_date(day)}"


class _SlotTable(QTableView):
    """Enter chooses the slot and stops there (it must not also press the dialog's default button)."""

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.activated.emit(self.currentIndex())
            event.accept()
            return
        super().keyPressEvent(event)


class SlotModel(RowsTableModel):
    """Tag, Uhrzeit, Ort, Fachkraft, Dolmetscher/in of the slots found."""

    def __init__(self, parent=None) -> None:
        super().__init__((_("Tag"), _("Uhrzeit"), pgettext("Termin", "Ort"), _("Fachkraft"), _("Dolmetscher/in")), parent)
        self.names: dict[str, dict[str, str]] = {"location": {}, "manager": {}, "interpreter": {}}

    def set_slots(self, slots: list[Slot], names: dict[str, dict[str, str]]) -> None:
        self.beginResetModel()
        self._rows = list(slots)
        self.names = names
        self.endResetModel()

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        slot: Slot | None = self.row_at(index.row()) if index.isValid() else None
        if slot is None or role != Qt.ItemDataRole.DisplayRole:
            return None
        values = (
            slot_day_text(slot.starts_at.date()),
            _("{start}–{end} Uhr").format(start=f"{slot.starts_at:%H:%M}", end=f"{slot.ends_at:%H:%M}"),
            self.names["location"].get(slot.location_id or "", ""),
            self.names["manager"].get(slot.case_manager_id or "", ""),
            self.names["interpreter"].get(slot.interpreter_id or "", ""),
        )
        return values[index.column()]


class SlotFinderDialog(QDialog):
    """Find a free appointment time. After ``accept()``, ``chosen_slot`` is the slot (office time, naive) and
    ``chosen_language`` the interpreter language searched for (or None); ``case_id``/``person_id`` are kept
    for the caller."""

    def __init__(
        self, ctx, parent: QWidget | None = None, *, case_id: str | None = None, person_id: str | None = None
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.case_id, self.person_id = case_id, person_id
        self.chosen_slot: Slot | None = None
        self.chosen_language: str | None = None
        self.slots: list[Slot] = []
        self._searched_language: str | None = None
        self.setWindowTitle(_("Freien Termin suchen"))
        self.setMinimumSize(600, 420)

        with ctx.read() as session:
            self._places = office_hours.list_locations(session)
            self._managers = codes.case_managers(session)
            prefill = office_hours.interpreter_language_for(session, person_id=person_id, case_id=case_id)

        left, right = QFormLayout(), QFormLayout()
        for form in (left, right):
            form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.weekday = QComboBox()
        self.weekday.addItem(_("beliebig"), None)
        for number, name in enumerate(office_hours.weekday_names()[:5]):
            self.weekday.addItem(name, number)
        self.location = QComboBox()
        self.location.addItem(_("beliebig"), None)
        for place in self._places:
            self.location.addItem(place.label, place.id)
        self.manager = QComboBox()
        self.manager.addItem(_("beliebig"), None)
        for manager_id, name in self._managers:
            self.manager.addItem(name, manager_id)
        own = self.manager.findData(ctx.actor.user_id) if ctx.actor.user_id else -1
        self.manager.setCurrentIndex(max(own, 0))
        self.duration = QSpinBox()
        self.duration.setRange(15, 12 * 60)
        self.duration.setSingleStep(15)
        self.duration.setValue(DEFAULT_MINUTES)
        self.duration.setSuffix(_(" Minuten"))
        self.language = QComboBox()
        self.language.setEditable(True)
        self.language.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.language.addItem(_("– ohne Dolmetschung –"), None)
        for code, name, _common in office_hours.language_options():
            self.language.addItem(name, code)
        completer = self.language.completer()
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        if prefill and self.language.findData(prefill) >= 0:
            self.language.setCurrentIndex(self.language.findData(prefill))
        self.from_date = QDateEdit(QDate.currentDate())
        self.from_date.setCalendarPopup(True)
        self.from_date.setDisplayFormat("dd.MM.yyyy")
        self.within = QCheckBox(_("Nur innerhalb der Sprech&zeiten"))
        self.within.setAccessibleName(_("Nur innerhalb der Sprechzeiten"))
        self.within.setToolTip(_("Ohne Haken: montags bis freitags von 8 bis 17 Uhr."))
        self.within.setChecked(True)
        self.errors = {
            "weekday": add_field(left, _("&Wochentag:"), self.weekday),
            "location": add_field(
                left, pgettext("Termin", "&Ort:"), self.location, tip=_("Ein Gebäude schließt seine Räume ein.")
            ),
            "manager": add_field(left, _("Fach&kraft:"), self.manager),
            "duration": add_field(right, _("Da&uer:"), self.duration),
            "language": add_field(
                right,
                _("Dolmetschung – S&prache:"),
                self.language,
                tip=_("Zum Suchen einen Teil des Namens tippen, z. B. „dari“."),
            ),
            "from_date": add_field(right, _("Ab &Datum:"), self.from_date),
        }
        self.language.lineEdit().setAccessibleName(self.language.accessibleName())
        left.addRow("", self.within)
        self.search_button = QPushButton(_("&Suchen"))
        self.search_button.setAccessibleName(_("Freie Termine suchen"))
        self.search_button.setDefault(True)
        self.search_button.clicked.connect(lambda _c=False: self.search())
        form_row = QHBoxLayout()
        form_row.addLayout(left, 1)
        form_row.addSpacing(12)
        form_row.addLayout(right, 1)
        search_row = QHBoxLayout()
        search_row.addStretch(1)
        search_row.addWidget(self.search_button)

        self.model = SlotModel(self)
        self.table = _SlotTable()
        self.table.setModel(self.model)
        make_list_table(
            self.table,
            _("Freie Termine"),
            _("Pfeiltasten wählen einen Termin; Enter oder Doppelklick legt ihn an."),
        )
        for column, width in enumerate((120, 120, 220, 160)):
            self.table.setColumnWidth(column, width)
        results_label = QLabel(_("&Freie Termine:"))
        results_label.setBuddy(self.table)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setVisible(False)
        self.status.setAccessibleName(_("Ergebnis der Suche"))

        self.buttons = QDialogButtonBox()
        self.create_button = self.buttons.addButton(
            _("Termin &anlegen"), QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.create_button.setAccessibleName(_("Termin zum gewählten Zeitpunkt anlegen"))
        self.create_button.setEnabled(False)
        self.create_button.setAutoDefault(False)
        self.cancel_button = self.buttons.addButton(_("Abbre&chen"), QDialogButtonBox.ButtonRole.RejectRole)
        self.cancel_button.setAccessibleName(_("Abbrechen"))
        self.cancel_button.setAutoDefault(False)
        self.buttons.accepted.connect(self.choose)
        self.buttons.rejected.connect(self.reject)
        self.table.selectionModel().currentRowChanged.connect(
            lambda current, _previous: self.create_button.setEnabled(current.isValid())
        )
        self.table.activated.connect(lambda _index: self.choose())

        layout = QVBoxLayout(self)
        layout.addLayout(form_row)
        layout.addLayout(search_row)
        layout.addWidget(results_label)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        fit_to_screen(self, 900, 600)
        self.weekday.setFocus()

    # --- searching ----------------------------------------------------------------------------------------

    def language_code(self) -> str | None:
        """The language chosen or typed; raises ``UserError`` for text that names no language of the list."""
        text = self.language.currentText().strip()
        index = self.language.currentIndex()
        if index >= 0 and self.language.itemText(index) == text:
            return self.language.itemData(index)
        if not text:
            return None
        found = self.language.findText(text, Qt.MatchFlag.MatchFixedString)
        if found < 0:
            matches = [
                i
                for i in range(1, self.language.count())
                if sort_key(text) in sort_key(self.language.itemText(i))
            ]
            if len(matches) == 1:
                found = matches[0]
        if found < 0:
            raise UserError(
                _("„{text}“ ist keine Sprache der Liste. Bitte eine Sprache auswählen.").format(text=text)
            )
        self.language.setCurrentIndex(found)
        return self.language.itemData(found)

    def search(self) -> list[Slot]:
        """Run the search with the form's values and show the slots (or why there are none)."""
        for error in self.errors.values():
            error.show_message(None)
        try:
            language = self.language_code()
        except UserError as exc:
            self.errors["language"].show_message(exc.message)
            self.language.setFocus()
            return []
        picked = self.from_date.date()
        after = datetime.combine(date(picked.year(), picked.month(), picked.day()), time(0))
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            with self.ctx.read() as session:
                pool = office_hours.list_interpreters(session, language) if language else []
                slots = office_hours.find_slots(
                    session,
                    after=after,
                    duration=timedelta(minutes=self.duration.value()),
                    weekday=self.weekday.currentData(),
                    location_id=self.location.currentData(),
                    case_manager_id=self.manager.currentData(),
                    interpreter_language=language,
                    within_office_hours=self.within.isChecked(),
                    limit=RESULTS,
                )
                names = {
                    "location": {
                        p.id: p.label for p in office_hours.list_locations(session, include_inactive=True)
                    },
                    "manager": dict(self._managers),
                    "interpreter": {
                        r.id: f"{r.given_names} {r.family_name}".strip()
                        for r in office_hours.list_interpreters(session, include_inactive=True)
                    },
                }
        except UserError as exc:
            set_status(self.status, exc.message, error=True)
            return []
        finally:
            QGuiApplication.restoreOverrideCursor()
        self.slots = slots
        self._searched_language = language
        self.model.set_slots(slots, names)
        self.create_button.setEnabled(False)
        if slots:
            set_status(
                self.status,
                ngettext("{n} freier Termin gefunden.", "{n} freie Termine gefunden.", len(slots)).format(
                    n=len(slots)
                ),
            )
            self.table.selectRow(0)
            self.table.setFocus()
        elif language and not pool:
            set_status(
                self.status,
                _(
                    "Im Dolmetscherpool ist niemand für {language}. Bitte zuerst jemanden in den Pool aufnehmen."
                ).format(language=office_hours.language_label(language)),
                error=True,
            )
        else:
            hint = (
                _("Tipp: ohne „Nur innerhalb der Sprechzeiten“ suchen, einen anderen Tag oder Ort wählen.")
                if self.within.isChecked()
                else _("Tipp: einen anderen Tag, Ort oder eine andere Fachkraft wählen.")
            )
            set_status(
                self.status, _("Keine freien Termine in den nächsten 60 Tagen.") + " " + hint, error=True
            )
        return slots

    def selected_slot(self) -> Slot | None:
        index = self.table.currentIndex()
        return self.model.row_at(index.row()) if index.isValid() else None

    def choose(self) -> None:
        """ "Termin anlegen": close with the selected slot."""
        slot = self.selected_slot()
        if slot is None:
            set_status(self.status, _("Bitte zuerst einen freien Termin in der Liste wählen."), error=True)
            return
        self.chosen_slot = slot
        self.chosen_language = self._searched_language
        self.accept()

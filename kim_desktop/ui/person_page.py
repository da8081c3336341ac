"""The person page: an edit form that validates inline in German and saves through the services.

The widgets are built once; opening another person only fills values (the page opens in well under the
50 ms budget). Validation uses ``services.persons.validate_person`` field by field, so the GUI shows exactly
the messages the CLI prints.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ..db.models import LANGUAGE_LEVELS
from ..errors import ValidationError
from ..i18n import _, countries, current_language, format_date, languages
from ..services.persons import PersonView, validate_person
from .appointments_panel import AppointmentsPanel
from .consents_panel import ConsentsPanel
from .documents_panel import DocumentsPanel
from .person_rights import PersonRightsPanel
from .widgets import FieldError, add_field

LANGUAGE_ROWS = 3


def _sex_labels() -> dict[str, str]:
    return {"u": _("unbekannt"), "f": _("weiblich"), "m": _("männlich"), "d": _("divers"), "x": _("ohne Angabe")}


def _level_labels() -> dict[str, str]:
    labels = {"native": _("Muttersprache"), "none": _("keine Kenntnisse")}
    return {level: labels.get(level, level) for level in LANGUAGE_LEVELS}


class PersonPage(QWidget):
    saved = Signal(str)
    closed = Signal()
    case_requested = Signal(str)
    intake_requested = Signal()
    merge_requested = Signal()
    letter_requested = Signal()
    audit_requested = Signal()  # "Wer hat diese Akte gesehen oder geändert?"
    access_export_requested = Signal()  # Auskunft nach Art. 15 DSGVO (ZIP)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._person: PersonView | None = None
        self._dirty = False
        self._loading = False
        self.inputs: dict[str, QWidget] = {}
        self.errors: dict[str, FieldError] = {}

        self.title = QLabel()
        self.title.setObjectName("personTitle")
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        self.title.setFont(font)
        self.title.setTextFormat(Qt.TextFormat.PlainText)  # user text never reaches a markup parser
        self.subtitle = QLabel()
        self.subtitle.setTextFormat(Qt.TextFormat.PlainText)

        form_host = QWidget()
        columns = QHBoxLayout(form_host)
        left = QVBoxLayout()
        right = QVBoxLayout()
        columns.addLayout(left, 1)
        columns.addLayout(right, 1)

        left.addWidget(self._group(_("Person"), self._person_fields()))
        left.addWidget(self._group(_("Sprachen"), self._language_fields()))
        # Set up by the main window (set_context/load): the archived letters of this person, case letters included.
        self.documents = DocumentsPanel(_("Dokumente dieser Person"), rows=4)
        documents_box = QVBoxLayout()
        documents_box.addWidget(self.documents)
        self.groups: dict[str, QGroupBox] = {}  # hidden by ui.roles when the roles do not allow them
        self.groups["documents"] = self._group(_("Dokumente"), documents_box)
        left.addWidget(self.groups["documents"])
        # The appointments this person takes part in (set up by the main window like the documents).
        self.appointments = AppointmentsPanel()
        appointments_box = QVBoxLayout()
        appointments_box.addWidget(self.appointments)
        # Consents and releases (set up by the main window like the documents).
        self.consents = ConsentsPanel()
        consents_box = QVBoxLayout()
        consents_box.addWidget(self.consents)
        self.groups["consents"] = self._group(_("Einwilligungen"), consents_box)
        left.addWidget(self.groups["consents"])
        left.addStretch(1)
        right.addWidget(self._group(_("Anschrift und Kontakt"), self._address_fields()))
        right.addWidget(self._group(_("Aufenthalt"), self._residence_fields()))
        right.addWidget(self._group(_("Notiz"), self._note_fields()))
        self.groups["cases"] = self._group(_("Fälle"), self._case_fields())
        right.addWidget(self.groups["cases"])
        self.groups["appointments"] = self._group(_("Termine"), appointments_box)
        right.addWidget(self.groups["appointments"])
        right.addStretch(1)

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(form_host)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)

        self.save_button = QPushButton(_("&Speichern"))
        self.save_button.setAccessibleName(_("Person speichern"))
        self.save_button.clicked.connect(self.save)
        self.back_button = QPushButton(_("&Zurück zur Liste"))
        self.back_button.setAccessibleName(_("Zurück zur Personenliste"))
        self.back_button.clicked.connect(self.closed)
        self.status = QLabel()
        self.status.setAccessibleName(_("Status"))
        buttons = QHBoxLayout()
        buttons.addWidget(self.back_button)
        buttons.addStretch(1)
        buttons.addWidget(self.status)
        buttons.addWidget(self.save_button)

        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.subtitle)
        self.rights = PersonRightsPanel()  # Art. 18 banner, restriction and erasure (set up by the main window)
        layout.addWidget(self.rights)
        layout.addWidget(scroll, 1)
        layout.addLayout(buttons)
        self.save_handler = None  # set by the main window: callable(person_id | None, values, version) -> PersonView

    # --- building --------------------------------------------------------------------------------------

    def _group(self, title: str, layout) -> QGroupBox:
        box = QGroupBox(title)
        box.setLayout(layout)
        return box

    def _add(self, form: QFormLayout, name: str, label: str, widget: QWidget, *, tip: str | None = None) -> None:
        error = add_field(form, label, widget, tip=tip)
        self.inputs[name] = widget
        self.errors[name] = error
        if isinstance(widget, QLineEdit):
            widget.textEdited.connect(lambda _t, n=name: self._changed(n))
            widget.editingFinished.connect(lambda n=name: self._validate_field(n))
        elif isinstance(widget, QComboBox):
            widget.currentIndexChanged.connect(lambda _i, n=name: self._changed(n, validate=True))
        elif isinstance(widget, QCheckBox):
            widget.toggled.connect(lambda _c, n=name: self._changed(n))
        elif isinstance(widget, QPlainTextEdit):
            widget.textChanged.connect(lambda n=name: self._changed(n))

    def _line(self, max_length: int = 200, placeholder: str = "") -> QLineEdit:
        edit = QLineEdit()
        edit.setMaxLength(max_length)
        if placeholder:
            edit.setPlaceholderText(placeholder)
        return edit

    @staticmethod
    def _compact(combo: QComboBox) -> QComboBox:
        # Long entries ("Demokratische Republik Kongo", "Niederlassungserlaubnis / Daueraufenthalt-EU") must not
        # widen the whole column: the popup still shows them in full.
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(14)
        return combo

    def _country_combo(self) -> QComboBox:
        combo = self._compact(QComboBox())
        combo.addItem(_("– keine Angabe –"), None)
        for code, name in countries(current_language()).items():
            combo.addItem(name, code)
        combo.setEditable(False)
        return combo

    def _language_combo(self) -> QComboBox:
        combo = self._compact(QComboBox())
        combo.addItem(_("– keine Angabe –"), None)
        for code, name in languages(current_language()).items():
            combo.addItem(name, code)
        return combo

    def _person_fields(self) -> QFormLayout:
        form = QFormLayout()
        self._add(form, "family_name", _("&Familienname*:"), self._line())
        self._add(form, "given_names", _("&Vorname(n):"), self._line())
        self._add(form, "birth_name", _("Geburtsname:"), self._line())
        spellings = QPlainTextEdit()
        spellings.setTabChangesFocus(True)
        spellings.setFixedHeight(60)
        self._add(
            form,
            "other_spellings",
            _("Andere Schreibweisen:"),
            spellings,
            tip=_("Eine Schreibweise pro Zeile, z. B. aus dem Pass: „Familienname, Vorname“"),
        )
        self._add(
            form,
            "birth_date",
            _("&Geburtsdatum:"),
            self._line(10, _("TT.MM.JJJJ, MM.JJJJ oder JJJJ")),
            tip=_("Leer lassen, wenn unbekannt. 01.01. aus Dokumenten bitte unverändert übernehmen."),
        )
        sex = QComboBox()
        for code, label in _sex_labels().items():
            sex.addItem(label, code)
        self._add(form, "sex", _("Geschlecht:"), sex)
        self._add(form, "nationality_1", _("Staatsangehö&rigkeit:"), self._country_combo())
        self._add(form, "nationality_2", _("Weitere Staatsangehörigkeit:"), self._country_combo())
        self._add(form, "country_of_birth", _("Geburtsland:"), self._country_combo())
        self._add(form, "place_of_birth", _("Geburtsort:"), self._line())
        return form

    def _language_fields(self) -> QGridLayout:
        grid = QGridLayout()
        self.language_rows: list[tuple[QComboBox, QComboBox]] = []
        for row in range(LANGUAGE_ROWS):
            language = self._language_combo()
            level = QComboBox()
            for code, label in _level_labels().items():
                level.addItem(label, code)
            level.setCurrentIndex(level.findData("none"))
            language.setAccessibleName(_("Sprache {n}").format(n=row + 1))
            level.setAccessibleName(_("Niveau der Sprache {n}").format(n=row + 1))
            language.currentIndexChanged.connect(lambda _i: self._changed("languages"))
            level.currentIndexChanged.connect(lambda _i: self._changed("languages"))
            caption = QLabel(_("Sprache {n}:").format(n=row + 1))
            caption.setBuddy(language)
            grid.addWidget(caption, row, 0)
            grid.addWidget(language, row, 1)
            grid.addWidget(level, row, 2)
            self.language_rows.append((language, level))
        self.errors["languages"] = FieldError()
        grid.addWidget(self.errors["languages"], LANGUAGE_ROWS, 1, 1, 2)
        self.interpreter_needed = QCheckBox(_("Do&lmetscher/in benötigt"))
        self.interpreter_needed.setAccessibleName(_("Dolmetscher/in benötigt"))
        self.interpreter_needed.toggled.connect(lambda _c: self._changed("interpreter_needed"))
        self.interpreter_language = self._language_combo()
        self.interpreter_language.setAccessibleName(_("Sprache für Dolmetschung"))
        self.interpreter_language.currentIndexChanged.connect(lambda _i: self._changed("interpreter_language"))
        grid.addWidget(self.interpreter_needed, LANGUAGE_ROWS + 1, 0, 1, 2)
        grid.addWidget(self.interpreter_language, LANGUAGE_ROWS + 1, 2)
        self.inputs["interpreter_needed"] = self.interpreter_needed
        self.inputs["interpreter_language"] = self.interpreter_language
        return grid

    def _address_fields(self) -> QFormLayout:
        form = QFormLayout()
        self._add(form, "street", _("S&traße und Hausnummer:"), self._line())
        self._add(form, "address_extra", _("Adresszusatz:"), self._line(), tip=_("z. B. c/o, Unterkunft, Zimmer"))
        self._add(form, "postcode", _("&PLZ:"), self._line(10))
        self._add(form, "city", _("&Ort:"), self._line())
        self._add(form, "phone", _("Telefo&n:"), self._line(60))
        self._add(form, "email", _("&E-Mail:"), self._line())
        return form

    def _residence_fields(self) -> QFormLayout:
        form = QFormLayout()
        status = self._compact(QComboBox())
        self._add(form, "residence_status", _("A&ufenthaltsstatus:"), status)
        self._add(form, "residence_valid_until", _("gültig b&is:"), self._line(10, _("TT.MM.JJJJ")))
        self._add(form, "entry_date", _("Einreise am:"), self._line(10, _("TT.MM.JJJJ")))
        self._add(form, "district_since", _("Im Kreis seit:"), self._line(10, _("TT.MM.JJJJ")))
        return form

    def _note_fields(self) -> QFormLayout:
        form = QFormLayout()
        note = QPlainTextEdit()
        note.setTabChangesFocus(True)
        note.setFixedHeight(80)
        self._add(form, "note", _("Notiz:"), note)
        return form

    def _case_fields(self) -> QVBoxLayout:
        box = QVBoxLayout()
        self.case_list = QListWidget()
        self.case_list.setAccessibleName(_("Fälle dieser Person"))
        self.case_list.setMaximumHeight(90)
        self.case_list.itemActivated.connect(
            lambda item: self.case_requested.emit(item.data(Qt.ItemDataRole.UserRole))
        )
        self.intake_button = QPushButton(_("Fall er&öffnen …"))
        self.intake_button.setAccessibleName(_("Fall eröffnen (Klärung)"))
        self.intake_button.clicked.connect(self.intake_requested)
        self.merge_button = QPushButton(_("Zusa&mmenführen …"))
        self.merge_button.setAccessibleName(_("Mit einem anderen Datensatz derselben Person zusammenführen"))
        self.merge_button.clicked.connect(self.merge_requested)
        self.letter_button = QPushButton(_("Brief erstellen …"))
        self.letter_button.setAccessibleName(_("Brief an diese Person erstellen"))
        self.letter_button.clicked.connect(self.letter_requested)
        box.addWidget(self.case_list)
        box.addWidget(self.intake_button)
        box.addWidget(self.merge_button)
        box.addWidget(self.letter_button)
        self.audit_button = QPushButton(_("Zugriffe und Änderungen …"))
        self.audit_button.setAccessibleName(_("Wer hat diese Akte gesehen oder geändert?"))
        self.audit_button.clicked.connect(self.audit_requested)
        self.access_export_button = QPushButton(_("Auskunft Art. 15 …"))
        self.access_export_button.setAccessibleName(_("Auskunft nach Art. 15 DSGVO als ZIP speichern"))
        self.access_export_button.clicked.connect(self.access_export_requested)
        box.addWidget(self.audit_button)
        box.addWidget(self.access_export_button)
        return box

    def set_cases(self, rows: list[tuple[str, str]]) -> None:
        """(case id, display text) of the person's cases; empty for a new person."""
        self.case_list.clear()
        for case_id, text in rows:
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, case_id)
            self.case_list.addItem(item)
        if not rows:
            self.case_list.addItem(QListWidgetItem(_("Noch kein Fall")))
        is_stored = self._person is not None
        self.intake_button.setEnabled(is_stored)
        self.merge_button.setEnabled(is_stored)
        self.letter_button.setEnabled(is_stored)
        self.audit_button.setEnabled(is_stored)
        self.access_export_button.setEnabled(is_stored)

    def set_residence_statuses(self, labels: dict[str, str]) -> None:
        combo: QComboBox = self.inputs["residence_status"]
        current = combo.currentData()
        combo.blockSignals(True)
        combo.clear()
        combo.addItem(_("– keine Angabe –"), None)
        for code, label in labels.items():
            combo.addItem(label, code)
        combo.setCurrentIndex(max(0, combo.findData(current)))
        combo.blockSignals(False)

    # --- values ----------------------------------------------------------------------------------------

    def _set_combo(self, name_or_combo, value) -> None:
        combo = self.inputs[name_or_combo] if isinstance(name_or_combo, str) else name_or_combo
        index = combo.findData(value)
        if index < 0 and value is not None:  # a code no longer in the list: keep it visible, do not lose it
            combo.addItem(str(value), value)
            index = combo.count() - 1
        combo.setCurrentIndex(max(index, 0))

    def load(self, person: PersonView | None) -> None:
        """Show a person (``None``: an empty form for a new person)."""
        self._loading = True
        self._person = person
        p = person
        text_fields = (
            "family_name", "given_names", "birth_name", "place_of_birth", "street", "address_extra", "postcode",
            "city", "phone", "email",
        )  # fmt: skip
        for name in text_fields:
            self.inputs[name].setText(getattr(p, name) or "" if p else "")
        self.inputs["birth_date"].setText(p.birth_date.german() if p and p.birth_date else "")
        for name in ("residence_valid_until", "entry_date", "district_since"):
            self.inputs[name].setText(format_date(getattr(p, name)) if p else "")
        self.inputs["other_spellings"].setPlainText("\n".join(p.other_spellings) if p else "")
        self.inputs["note"].setPlainText(p.note or "" if p else "")
        self._set_combo("sex", p.sex if p else "u")
        nationalities = list(p.nationalities) if p else []
        self._set_combo("nationality_1", nationalities[0] if nationalities else None)
        self._set_combo("nationality_2", nationalities[1] if len(nationalities) > 1 else None)
        self._set_combo("country_of_birth", p.country_of_birth if p else None)
        self._set_combo("residence_status", p.residence_status if p else None)
        langs = list(p.languages) if p else []
        for i, (language, level) in enumerate(self.language_rows):
            code, lvl = langs[i] if i < len(langs) else (None, "none")
            self._set_combo(language, code)
            self._set_combo(level, lvl)
        self.interpreter_needed.setChecked(bool(p and p.interpreter_needed))
        self._set_combo(self.interpreter_language, p.interpreter_language if p else None)
        for error in self.errors.values():
            error.show_message(None)
        if p:
            self.title.setText(f"{p.family_name}, {p.given_names}" if p.given_names else p.family_name)
            birth = p.birth_date.german() if p.birth_date else _("unbekannt")
            files = ", ".join(p.file_numbers) if p.file_numbers else _("kein Fall")
            self.subtitle.setText(_("Geburtsdatum: {birth} · Aktenzeichen: {files}").format(birth=birth, files=files))
        else:
            self.title.setText(_("Neue Person"))
            self.subtitle.setText(_("Pflichtfelder sind mit * markiert."))
        self.status.clear()
        self.rights.show_person(p.id if p else None)
        self._dirty = False
        self._loading = False

    def values(self) -> dict:
        v: dict = {}
        for name in (
            "family_name", "given_names", "birth_name", "birth_date", "place_of_birth", "street", "address_extra",
            "postcode", "city", "phone", "email", "residence_valid_until", "entry_date", "district_since",
        ):  # fmt: skip
            v[name] = self.inputs[name].text()
        v["other_spellings"] = self.inputs["other_spellings"].toPlainText()
        v["note"] = self.inputs["note"].toPlainText()
        v["sex"] = self.inputs["sex"].currentData()
        v["nationalities"] = [
            c for c in (self.inputs["nationality_1"].currentData(), self.inputs["nationality_2"].currentData()) if c
        ]
        v["country_of_birth"] = self.inputs["country_of_birth"].currentData()
        v["residence_status"] = self.inputs["residence_status"].currentData()
        v["languages"] = [
            (language.currentData(), level.currentData())
            for language, level in self.language_rows
            if language.currentData()
        ]
        v["interpreter_needed"] = self.interpreter_needed.isChecked()
        v["interpreter_language"] = self.interpreter_language.currentData()
        return v

    @property
    def person_id(self) -> str | None:
        return self._person.id if self._person else None

    @property
    def dirty(self) -> bool:
        return self._dirty

    # --- validation and saving -------------------------------------------------------------------------

    def _changed(self, name: str, validate: bool = False) -> None:
        if self._loading:
            return
        self._dirty = True
        self.status.setText(_("Ungespeicherte Änderungen"))
        if validate:
            self._validate_field(name)

    def _service_field(self, name: str) -> str:
        return "nationalities" if name.startswith("nationality_") else name

    def _validate_field(self, name: str) -> None:
        if self._loading or name not in self.errors:
            return
        field = self._service_field(name)
        values = self.values()
        try:
            validate_person({field: values[field]}, partial=True)
        except ValidationError as exc:
            self.errors[name].show_message(exc.field_errors.get(field))
            return
        self.errors[name].show_message(None)

    def show_errors(self, field_errors: dict[str, str]) -> None:
        first = None
        for name, error in self.errors.items():
            message = field_errors.get(self._service_field(name))
            if name == "nationality_2":
                message = None
            error.show_message(message)
            if message and first is None:
                first = name
        if first:
            widget = self.inputs.get(first)
            if widget is not None:
                widget.setFocus()
            self.status.setText(_("Bitte prüfen Sie die markierten Felder."))

    def save(self) -> bool:
        values = self.values()
        try:
            validate_person(values)
        except ValidationError as exc:
            self.show_errors(exc.field_errors)
            return False
        if self.save_handler is None:
            return False
        result = self.save_handler(self.person_id, values, self._person.version if self._person else None)
        if result is None:
            return False
        self.load(result)
        self.status.setText(_("Gespeichert."))
        self.saved.emit(result.id)
        return True

"""The dialog "Fall eröffnen (Klärung)" for a person already on file.

One quick form: opening date and access channel, the office's eligibility criteria as checkboxes (opening
although a criterion is not met needs an explicit "trotzdem eröffnen"), the date the person was informed
about case management and the consent to it, and the household: the members already known (checked: "in den
Fall aufnehmen") and further persons already on file, chosen with the person picker and a relation. Everything
the dialog can check itself is checked before anything is stored, so all messages appear at once. On OK the
household members added here are stored first (``households.add_member``, idempotent, so a retry is safe);
``cases.open_case`` then opens the case, records the consent (unless it is still missing) and makes the
checked members case members in one transaction; the date the person was informed goes into the journal as
a file note (no service field for it yet).
"""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import Qt
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
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from .. import APP_NAME
from ..errors import UserError, ValidationError
from ..i18n import _, current_language, format_date
from .widgets import FieldError, add_field

SETTING_KEY = "eligibility_criteria"
# Used when the office has not configured ``eligibility_criteria`` (a JSON list of {"code", "label"}).
# The labels are German message ids, translated by ``default_criterion_label``.
DEFAULT_ELIGIBILITY_CRITERIA: tuple[dict[str, str], ...] = (
    {"code": "hoechstens_3_jahre_im_kreis", "label": "höchstens 3 Jahre im Kreis"},
    {"code": "kein_anderes_fallmanagement", "label": "kein anderes Fallmanagement"},
    {"code": "einverstaendnis_beratung", "label": "Einverständnis mit Beratung"},
)
CONSENT_FORMS = ("written", "oral", "electronic")
MEMBER_ID_ROLE = Qt.ItemDataRole.UserRole
RELATION_ROLE = Qt.ItemDataRole.UserRole + 1  # set for members added in this dialog (not stored yet)
HOUSEHOLD_ROLE = Qt.ItemDataRole.UserRole + 2  # the household such an addition joins ("" for a new one)


def default_criterion_label(code: str, german: str) -> str:
    """The label of a default criterion in the UI language (literal ``_()`` calls for the catalogue)."""
    return {
        "hoechstens_3_jahre_im_kreis": _("höchstens 3 Jahre im Kreis"),
        "kein_anderes_fallmanagement": _("kein anderes Fallmanagement"),
        "einverstaendnis_beratung": _("Einverständnis mit Beratung"),
    }.get(code, german)


def consent_form_label(form: str) -> str:
    return {"written": _("schriftlich"), "oral": _("mündlich"), "electronic": _("elektronisch")}.get(form, form)


def eligibility_criteria(session) -> list[tuple[str, str]]:
    """(code, label) of the configured criteria; the defaults if the setting is missing or unusable."""
    from ..db.models import Setting

    row = session.get(Setting, SETTING_KEY)
    criteria: list[tuple[str, str]] = []
    seen: set[str] = set()
    value = row.value if row is not None else None
    if isinstance(value, list):
        for item in value:
            if not isinstance(item, dict):
                continue
            code, label = item.get("code"), item.get("label")
            if isinstance(code, str) and code.strip() and code not in seen:
                label = label.strip() if isinstance(label, str) and label.strip() else code
                criteria.append((code, label))
                seen.add(code)
    if criteria:
        return criteria
    return [(c["code"], default_criterion_label(c["code"], c["label"])) for c in DEFAULT_ELIGIBILITY_CRITERIA]


class IntakeDialog(QDialog):
    """Open a case in phase Klärung for ``person_id``; after ``accept()`` ``case_id`` holds the new case."""

    def __init__(self, ctx, person_id: str, person_name: str, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.person_id = person_id
        self.case_id: str | None = None
        self.inputs: dict[str, QWidget] = {}
        self.errors: dict[str, FieldError] = {}
        self.setWindowTitle(_("Fall eröffnen (Klärung)"))
        self.setModal(True)
        self.setMinimumWidth(500)

        with ctx.read() as session:
            from ..services.codes import code_labels
            from ..services.households import household_of

            channels = code_labels(session, "access_channel", current_language(), active_only=True)
            criteria = eligibility_criteria(session)
            known_members = household_of(session, person_id)
        today = format_date(date.today())

        self.person_label = QLabel(_("Klient*in: {name}").format(name=person_name))
        self.person_label.setTextFormat(Qt.TextFormat.PlainText)  # user text never reaches a markup parser
        font = self.person_label.font()
        font.setBold(True)
        self.person_label.setFont(font)

        # --- case ---
        case_form = QFormLayout()
        self.opened_on = self._date_edit(today)
        self._add(case_form, "opened_on", _("&Eröffnet am:"), self.opened_on)
        self.access_channel = QComboBox()
        self.access_channel.addItem(_("– keine Angabe –"), None)
        for code, label in channels.items():
            self.access_channel.addItem(label, code)
        self._add(case_form, "access_channel", _("&Zugangsweg:"), self.access_channel)

        # --- eligibility ---
        eligibility_box = QGroupBox(_("Eignung für das Fallmanagement"))
        eligibility_layout = QVBoxLayout(eligibility_box)
        self.criteria: dict[str, QCheckBox] = {}
        for code, label in criteria:
            box = QCheckBox(label.replace("&", "&&"))  # configured text: no accidental accelerators
            box.setAccessibleName(label)
            box.toggled.connect(lambda _c: self._update_eligibility())
            eligibility_layout.addWidget(box)
            self.criteria[code] = box
        self.eligibility_status = QLabel()
        self.eligibility_status.setWordWrap(True)
        self.eligibility_status.setAccessibleName(_("Ergebnis der Prüfung"))
        eligibility_layout.addWidget(self.eligibility_status)
        self.confirm_anyway = QCheckBox(_("&Trotzdem eröffnen"))
        self.confirm_anyway.setAccessibleName(_("Trotzdem eröffnen, obwohl nicht alle Kriterien erfüllt sind"))
        self.confirm_anyway.toggled.connect(lambda _c: self.errors["eligibility"].show_message(None))
        eligibility_layout.addWidget(self.confirm_anyway)
        self.errors["eligibility"] = FieldError(self.confirm_anyway)
        eligibility_layout.addWidget(self.errors["eligibility"])

        # --- information and consent ---
        consent_box = QGroupBox(_("Information und Einwilligung"))
        consent_form = QFormLayout(consent_box)
        self.informed_on = self._date_edit(today)
        self._add(consent_form, "informed_on", _("Über das Fallmanagement &informiert am:"), self.informed_on)
        self.consent_missing = QCheckBox(_("Einwilligung liegt &noch nicht vor"))
        self.consent_missing.setAccessibleName(_("Einwilligung liegt noch nicht vor"))
        self.consent_missing.setToolTip(_("Ohne Einwilligung bleibt der Fall in der Klärung."))
        self.consent_missing.toggled.connect(self._update_consent_fields)
        consent_form.addRow(self.consent_missing)
        self.given_on = self._date_edit(today)
        self._add(consent_form, "given_on", _("Einwilligung erteilt a&m:"), self.given_on)
        self.consent_form = QComboBox()
        for form in CONSENT_FORMS:
            self.consent_form.addItem(consent_form_label(form), form)
        self._add(consent_form, "form", _("Fo&rm der Einwilligung:"), self.consent_form)

        # --- household ---
        household_box = self._household_box(known_members)

        # --- buttons ---
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText(_("&Fall eröffnen"))
        self.ok_button.setAccessibleName(_("Fall eröffnen"))
        self.cancel_button = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        self.cancel_button.setText(_("&Abbrechen"))
        self.cancel_button.setAccessibleName(_("Abbrechen"))
        self.buttons.accepted.connect(self.open_case)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.person_label)
        layout.addLayout(case_form)
        layout.addWidget(eligibility_box)
        layout.addWidget(consent_box)
        layout.addWidget(household_box)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        # Only now the button is inside the dialog: Enter means "Fall eröffnen" unless another button has the
        # focus (otherwise the dialog would make its first push button, "Haushaltsmitglied hinzufügen", the
        # default).
        self.ok_button.setDefault(True)

        self._update_eligibility()
        self._update_consent_fields()
        self.opened_on.setFocus()
        self.opened_on.selectAll()

    # --- building --------------------------------------------------------------------------------------

    def _household_box(self, known_members) -> QGroupBox:
        """The section "Haushalt": known members to take into the case, adding further persons on file."""
        from ..services.households import RELATIONS, relation_label

        box = QGroupBox(_("Haushalt"))
        layout = QVBoxLayout(box)
        self.members_empty = QLabel(_("Für diese Person sind noch keine Haushaltsmitglieder erfasst."))
        self.members_empty.setWordWrap(True)
        self.members_caption = QLabel(_("In den Fall a&ufnehmen:"))
        self.members = QListWidget()
        self.members.setAccessibleName(_("Haushaltsmitglieder, die in den Fall aufgenommen werden"))
        self.members.setAccessibleDescription(_("Leertaste setzt oder entfernt den Haken"))
        self.members.setMaximumHeight(self.members.fontMetrics().height() * 6 + 12)
        self.members_caption.setBuddy(self.members)
        for view in known_members:
            self._add_member_item(view, pending=False)
        self.members.currentItemChanged.connect(lambda *_a: self._update_member_buttons())

        self.relation = QComboBox()
        for code in RELATIONS:
            self.relation.addItem(relation_label(code), code)
        relation_caption = QLabel(_("&Beziehung:"))
        relation_caption.setBuddy(self.relation)
        self.relation.setAccessibleName(_("Beziehung des neuen Haushaltsmitglieds"))
        self.relation.setAccessibleDescription(_("Was die ausgewählte Person für die Klient*in ist"))
        self.add_member_button = QPushButton(_("Haushaltsmitglied &hinzufügen …"))
        self.add_member_button.setAccessibleName(_("Haushaltsmitglied hinzufügen"))
        self.add_member_button.setAccessibleDescription(_("Öffnet die Suche nach einer bereits erfassten Person"))
        self.add_member_button.clicked.connect(self.add_household_member)
        self.discard_member_button = QPushButton(_("Hinzufügen &verwerfen"))
        self.discard_member_button.setAccessibleName(_("Hinzufügen verwerfen"))
        self.discard_member_button.setAccessibleDescription(
            _("Nimmt die hier neu hinzugefügte Person wieder aus der Liste")
        )
        self.discard_member_button.clicked.connect(self.discard_household_member)
        discard_row = QHBoxLayout()
        discard_row.addStretch(1)
        discard_row.addWidget(self.discard_member_button)
        row = QHBoxLayout()
        row.addWidget(relation_caption)
        row.addWidget(self.relation, 1)
        row.addWidget(self.add_member_button)

        self.household_hint = QLabel(
            _("Neue Personen legen Sie bitte zuerst auf der Personenseite an; hier wählen Sie bereits erfasste Personen aus.")
        )
        self.household_hint.setWordWrap(True)
        self.errors["household"] = FieldError(self.add_member_button)

        layout.addWidget(self.members_empty)
        layout.addWidget(self.members_caption)
        layout.addWidget(self.members)
        layout.addLayout(discard_row)
        layout.addLayout(row)
        layout.addWidget(self.errors["household"])
        layout.addWidget(self.household_hint)
        self._update_member_buttons()
        return box

    def _add_member_item(self, view, *, pending: bool, household_id: str = "") -> QListWidgetItem:
        birth = view.birth.german() if view.birth else _("unbekannt")
        text = _("{name} ({birth}) – {relation}").format(name=view.name, birth=birth, relation=view.relation_label)
        if pending:
            text += " " + _("(neu im Haushalt)")
        item = QListWidgetItem(text)
        item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Checked)
        item.setData(MEMBER_ID_ROLE, view.person_id)
        item.setData(RELATION_ROLE, view.relation if pending else None)
        item.setData(HOUSEHOLD_ROLE, household_id)
        self.members.addItem(item)
        return item

    def _date_edit(self, text: str) -> QLineEdit:
        edit = QLineEdit(text)
        edit.setMaxLength(10)
        edit.setPlaceholderText(_("TT.MM.JJJJ"))
        edit.setMaximumWidth(edit.fontMetrics().horizontalAdvance("00.00.00000") + 24)  # room for a date
        return edit

    def _add(self, form: QFormLayout, name: str, label: str, widget: QWidget) -> None:
        error = add_field(form, label, widget)
        self.inputs[name] = widget
        self.errors[name] = error
        if isinstance(widget, QLineEdit):
            widget.textEdited.connect(lambda _t, n=name: self.errors[n].show_message(None))
        elif isinstance(widget, QComboBox):
            widget.currentIndexChanged.connect(lambda _i, n=name: self.errors[n].show_message(None))

    # --- state -----------------------------------------------------------------------------------------

    def eligibility(self) -> dict[str, bool]:
        return {code: box.isChecked() for code, box in self.criteria.items()}

    def all_criteria_met(self) -> bool:
        return all(self.eligibility().values())

    def _update_eligibility(self) -> None:
        met = self.all_criteria_met()
        if met:
            self.eligibility_status.setText(_("Alle Kriterien sind erfüllt."))
        else:
            missing = sum(1 for ok in self.eligibility().values() if not ok)
            self.eligibility_status.setText(
                _("Nicht alle Kriterien sind erfüllt ({n} offen). Eröffnen nur mit „Trotzdem eröffnen“.").format(
                    n=missing
                )
            )
        self.confirm_anyway.setVisible(not met)
        if met:
            self.confirm_anyway.setChecked(False)
            self.errors["eligibility"].show_message(None)

    def _member_items(self) -> list[QListWidgetItem]:
        return [self.members.item(row) for row in range(self.members.count())]

    def case_member_ids(self) -> list[str]:
        """The household members checked "in den Fall aufnehmen"."""
        return [
            item.data(MEMBER_ID_ROLE) for item in self._member_items() if item.checkState() == Qt.CheckState.Checked
        ]

    def pending_members(self) -> list[tuple[str, str]]:
        """(person id, relation) of the members added in this dialog and not stored yet."""
        return [
            (item.data(MEMBER_ID_ROLE), item.data(RELATION_ROLE))
            for item in self._member_items()
            if item.data(RELATION_ROLE)
        ]

    def _update_member_buttons(self) -> None:
        has_members = self.members.count() > 0
        self.members_empty.setVisible(not has_members)
        self.members_caption.setVisible(has_members)
        self.members.setVisible(has_members)
        item = self.members.currentItem()
        self.discard_member_button.setEnabled(item is not None and bool(item.data(RELATION_ROLE)))

    def _choose_person(self) -> str | None:
        """The person picker, excluding the client; the chosen person's id or ``None``."""
        from .person_picker import PersonPicker

        picker = PersonPicker(self.ctx, exclude_id=self.person_id, parent=self)
        picker.setWindowTitle(_("Haushaltsmitglied auswählen"))
        for label in picker.findChildren(QLabel):  # the picker's caption speaks of merging
            if label.buddy() is picker.search:
                label.setText(_("&Suche nach der Person:"))
                picker.search.setAccessibleName(_("Suche nach der Person"))
        return picker.person_id if picker.exec() and picker.person_id else None

    def add_household_member(self) -> None:
        """Choose a person on file and list them as a new household member in the chosen relation."""
        from ..services.households import check_member

        self.errors["household"].show_message(None)
        relation = self.relation.currentData()
        member_id = self._choose_person()
        if member_id is None:
            return
        for item in self._member_items():
            if item.data(MEMBER_ID_ROLE) == member_id:
                self.members.setCurrentItem(item)
                self.errors["household"].show_message(_("Diese Person ist bereits aufgeführt."))
                return
        try:
            with self.ctx.read() as session:
                view = check_member(session, self.person_id, member_id, relation)
        except UserError as exc:
            self.errors["household"].show_message(exc.message)
            return
        joins = {item.data(HOUSEHOLD_ROLE) for item in self._member_items() if item.data(RELATION_ROLE)} - {""}
        if view.household_id and joins and view.household_id not in joins:
            self.errors["household"].show_message(
                _(
                    "Die beiden Personen gehören zu verschiedenen Haushalten. "
                    "Bitte nehmen Sie eine von ihnen zuerst aus ihrem Haushalt heraus."
                )
            )
            return
        item = self._add_member_item(view, pending=True, household_id=view.household_id)
        self.members.setCurrentItem(item)
        self._update_member_buttons()

    def discard_household_member(self) -> None:
        """Take a member added in this dialog off the list again (stored members stay)."""
        item = self.members.currentItem()
        if item is None or not item.data(RELATION_ROLE):
            return
        self.members.takeItem(self.members.row(item))
        self.errors["household"].show_message(None)
        self._update_member_buttons()
        (self.members if self.members.count() else self.add_member_button).setFocus()

    def _store_household(self) -> bool:
        """Store the members added in this dialog; ``False`` (with the message shown) if one is refused."""
        from ..services import households

        for item in self._member_items():
            relation = item.data(RELATION_ROLE)
            if not relation:
                continue
            try:
                households.add_member(self.ctx, self.person_id, item.data(MEMBER_ID_ROLE), relation)
            except UserError as exc:
                self.members.setCurrentItem(item)
                self.errors["household"].show_message(exc.message)
                self.members.setFocus()
                return False
            item.setData(RELATION_ROLE, None)  # stored: a retry does not add it again
        self._update_member_buttons()
        return True

    def _update_consent_fields(self) -> None:
        enabled = not self.consent_missing.isChecked()
        for name in ("given_on", "form"):
            self.inputs[name].setEnabled(enabled)
            if not enabled:
                self.errors[name].show_message(None)

    def show_errors(self, field_errors: dict[str, str]) -> bool:
        """Show messages under their fields; ``False`` if none of them belongs to a field here."""
        first = None
        for name, error in self.errors.items():
            message = field_errors.get(name)
            error.show_message(message)
            if message and first is None:
                first = name
        if first is None:
            return False
        widget = {"eligibility": self.confirm_anyway, "household": self.add_member_button}.get(first) or self.inputs[first]
        widget.setFocus()
        if isinstance(widget, QLineEdit):
            widget.selectAll()
        return True

    # --- opening ---------------------------------------------------------------------------------------

    def _parse(self, name: str, errors: dict[str, str]) -> date | None:
        from ..services.dates import parse_date

        text = self.inputs[name].text()
        try:
            value = parse_date(text)
        except UserError as exc:
            errors[name] = exc.message
            return None
        if value is None and name in ("opened_on", "given_on"):
            errors[name] = _("Bitte geben Sie ein Datum an (TT.MM.JJJJ).")
        return value

    def _check(self) -> tuple[dict[str, str], dict]:
        """Everything that can be checked before storing: (field errors, parsed values)."""
        errors: dict[str, str] = {}
        today = date.today()
        opened_on = self._parse("opened_on", errors)
        if opened_on is not None and opened_on > today:  # the service's rule, checked early to show all errors
            errors["opened_on"] = _("Ein Fall kann nicht in der Zukunft eröffnet werden.")
        informed_on = self._parse("informed_on", errors)
        if informed_on is not None and informed_on > today:
            errors["informed_on"] = _("Das Datum liegt in der Zukunft.")
        given_on = None
        if not self.consent_missing.isChecked():
            given_on = self._parse("given_on", errors)
            if given_on is not None and given_on > today:
                errors["given_on"] = _("Eine Einwilligung kann nicht in der Zukunft liegen.")
            elif given_on is not None and informed_on is not None and given_on < informed_on:
                errors["given_on"] = _("Die Einwilligung kann nicht vor der Information liegen.")
        if not self.all_criteria_met() and not self.confirm_anyway.isChecked():
            errors["eligibility"] = _(
                "Bitte bestätigen Sie „Trotzdem eröffnen“ oder haken Sie die erfüllten Kriterien an."
            )
        return errors, {"opened_on": opened_on, "informed_on": informed_on, "given_on": given_on}

    def open_case(self) -> bool:
        """OK: check, open the case, record consent and information; ``True`` when the dialog accepted."""
        if self.case_id is not None:  # already opened (e.g. a later step failed): never open a second case
            self.accept()
            return True
        errors, values = self._check()
        if errors:
            self.show_errors(errors)
            return False
        self.show_errors({})
        from ..services import cases

        if not self._store_household():
            return False
        try:
            view = cases.open_case(
                self.ctx,
                self.person_id,
                access_channel=self.access_channel.currentData(),
                opened_on=values["opened_on"],
                eligibility=self.eligibility(),
                consent_on=values["given_on"],
                consent_form=self.consent_form.currentData(),
                member_ids=self.case_member_ids(),
            )
        except ValidationError as exc:
            if not self.show_errors(exc.field_errors):
                QMessageBox.warning(self, APP_NAME, exc.message)
            return False
        except UserError as exc:
            QMessageBox.warning(self, APP_NAME, exc.message)
            return False
        self.case_id = view.id
        problems = self._record_information(values)
        if problems:
            QMessageBox.warning(
                self,
                APP_NAME,
                _("Der Fall {file_number} wurde eröffnet, aber nicht alles konnte gespeichert werden:").format(
                    file_number=view.file_number
                )
                + "\n\n"
                + "\n".join(problems)
                + "\n\n"
                + _("Bitte tragen Sie das in der Fallakte nach."),
            )
        self.accept()
        return True

    def _record_information(self, values: dict) -> list[str]:
        """The information date as a journal note, after the case exists; German messages of what failed."""
        from ..services import journal

        informed_on = values["informed_on"]
        if informed_on is None:
            return []
        given_on = values["given_on"]
        text = _("Über das Fallmanagement informiert.")
        if given_on is not None:
            text += " " + _("Einwilligung {form} erteilt am {date}.").format(
                form=consent_form_label(self.consent_form.currentData()), date=format_date(given_on)
            )
        else:
            text += " " + _("Die Einwilligung liegt noch nicht vor.")
        try:
            journal.add_journal_entry(self.ctx, self.case_id, text=text, entry_date=informed_on, contact_type="notiz")
        except UserError as exc:
            return [exc.message]
        return []

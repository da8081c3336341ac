"""Termin anlegen oder bearbeiten: one appointment from planning to the journal entry after it took place.

The form holds what ``services.appointments.AppointmentData`` holds. While the counsellor edits, a check
runs ~300 ms after the last change (a single-shot timer) and shows the service's warnings (holiday, weekend,
night, interpreter language) and conflicts (case manager, interpreter, room) in words above the buttons.
Saving keeps the dialog open, so the invitation can follow; a conflict is stored only after the counsellor
ticks "Überschneidung bewusst in Kauf nehmen". A record changed by someone else meanwhile is reported and
reloaded, never overwritten. When the appointment took place ("stattgefunden"), the prefilled journal text
of ``appointments.set_status`` is offered in ``JournalEntryDialog`` (only for appointments of a case).

Secondary dialogs (journal entry, letter, messages) are opened window-modal without blocking (``open()``)
and kept as attributes, so the caller and the tests can reach them.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from PySide6.QtCore import QDate, Qt, QTime, QTimer, Signal
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QCompleter,
    QDateEdit,
    QDateTimeEdit,
    QDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from .. import APP_NAME
from ..errors import ConflictError, UserError, ValidationError
from ..i18n import _, current_language, format_date, language_name, languages, pgettext
from ..services import appointments
from . import theme
from .widgets import FieldError, add_field

CHECK_DELAY_MS = 300
STEP_MINUTES = 15
DURATION_PRESETS = (30, 45, 60, 90)
DEFAULT_DURATION = 60
PERSON_ROLE = Qt.ItemDataRole.UserRole
CONFLICT_COLOUR = theme.colour("error")  # the red of ``FieldError``; the word "Überschneidung" says it too
WARNING_COLOUR = theme.colour("warning")  # dark amber, readable on white (contrast > 7:1)

# Journal contact type for the appointment types that have their own (otherwise a face-to-face talk).
CONTACT_TYPES = {"hausbesuch": "hausbesuch", "begleitung": "begleitung", "fallkonferenz": "fallkonferenz"}

# Service field → the input that shows its message.
FIELD_NAMES = (
    "type", "starts_at", "ends_at", "location_id", "case_manager_id", "status", "person_ids",
    "interpreter_language", "interpreter_id", "title", "note",
)  # fmt: skip


def person_name(family: str, given: str | None) -> str:
    return f"{family}, {given}" if given else family


def default_start(now: datetime | None = None) -> datetime:
    """The next full hour today, or 09:00 on the next working day after 17:00."""
    now = now or datetime.now()
    start = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    if start.hour < 8:
        start = start.replace(hour=9)
    if start.hour >= 18 or start.date() != now.date():
        start = datetime.combine(now.date() + timedelta(days=1), time(9, 0))
    while start.weekday() >= 5:
        start += timedelta(days=1)
    return start


class QuarterTimeEdit(QTimeEdit):
    """A time field whose arrow keys and wheel move the minutes in quarter hours (any minute can be typed)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setDisplayFormat("HH:mm")
        self.setKeyboardTracking(False)  # "1" of "10:30" is not yet a time: check when the edit is done

    def stepBy(self, steps: int) -> None:  # noqa: N802 (Qt API)
        if self.currentSection() != QDateTimeEdit.Section.MinuteSection:
            super().stepBy(steps)
            return
        minutes = self.time().hour() * 60 + self.time().minute()
        if steps > 0:
            target = (minutes // STEP_MINUTES + steps) * STEP_MINUTES
        else:
            target = (-(-minutes // STEP_MINUTES) + steps) * STEP_MINUTES
        target = max(0, min(target, 24 * 60 - STEP_MINUTES))
        self.setTime(QTime(target // 60, target % 60))
        self.setCurrentSection(QDateTimeEdit.Section.MinuteSection)


def qtime(value: time) -> QTime:
    return QTime(value.hour, value.minute)


def qdate(value: date) -> QDate:
    return QDate(value.year, value.month, value.day)


class JournalEntryDialog(QDialog):
    """The journal entry after an appointment: the prefilled text, completed by the counsellor, is stored with
    ``journal.add_journal_entry``. ``entry_id`` holds the new entry after saving."""

    saved = Signal(str)  # journal entry id

    def __init__(
        self,
        ctx,
        case_id: str,
        text: str,
        *,
        entry_date: date,
        duration_min: int | None = None,
        contact_type: str = "persoenlich",
        interpreter_language: str | None = None,
        interpreter_id: str | None = None,
        location_id: str | None = None,
        parent=None,
    ) -> None:
        super().__init__(parent)
        self.ctx, self.case_id = ctx, case_id
        self.prefilled = text
        self.entry_id: str | None = None
        self._extra = {
            "contact_type": contact_type,
            "interpreter_language": interpreter_language,
            "interpreter_id": interpreter_id,
            "location_id": location_id,
        }
        self.setWindowTitle(_("Verlaufseintrag zum Termin"))
        self.setMinimumWidth(520)

        hint = QLabel(
            _(
                "Der Termin hat stattgefunden. Bitte ergänzen Sie, worum es im Gespräch ging. "
                "Der Eintrag erscheint im Verlauf des Falls."
            )
        )
        hint.setWordWrap(True)

        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.entry_date = QDateEdit(qdate(entry_date))
        self.entry_date.setCalendarPopup(True)
        self.entry_date.setDisplayFormat("dd.MM.yyyy")
        self.entry_date.setMaximumDate(QDate.currentDate())
        self.duration = QSpinBox()
        self.duration.setRange(0, 24 * 60)
        self.duration.setSingleStep(STEP_MINUTES)
        self.duration.setSuffix(" " + _("Min."))
        self.duration.setSpecialValueText(_("keine Angabe"))
        self.duration.setValue(duration_min or 0)
        self.text = QPlainTextEdit(text)
        self.text.setTabChangesFocus(True)
        self.text.setMinimumHeight(self.fontMetrics().lineSpacing() * 7)
        self.confidential = QCheckBox(
            _("&Vertraulich (anvertraut): erscheint nie in Briefen oder Auskünften")
        )
        self.confidential.setAccessibleName(_("Vertraulich"))
        self.errors = {
            "entry_date": add_field(form, _("&Datum:"), self.entry_date),
            "duration_min": add_field(form, _("Da&uer:"), self.duration),
            "text": add_field(form, _("&Text:"), self.text),
        }
        form.addRow(self.confidential)
        self.text.textChanged.connect(lambda: self.errors["text"].show_message(None))
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setStyleSheet(f"color: {CONFLICT_COLOUR};")
        self.status.setVisible(False)

        self.save_button = QPushButton(_("Im Verlauf &speichern"))
        self.save_button.setAccessibleName(_("Im Verlauf speichern"))
        self.save_button.clicked.connect(lambda _c=False: self.save())
        self.later_button = QPushButton(_("&Nicht jetzt"))
        self.later_button.setAccessibleName(_("Nicht jetzt, ohne Verlaufseintrag schließen"))
        self.later_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.later_button)

        layout = QVBoxLayout(self)
        layout.addWidget(hint)
        layout.addLayout(form, 1)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        self.save_button.setDefault(True)
        self.text.setFocus()
        cursor = self.text.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        self.text.setTextCursor(cursor)

    def save(self) -> bool:
        from ..services import journal

        text = self.text.toPlainText()
        for error in self.errors.values():
            error.show_message(None)
        self.status.setVisible(False)
        if text.strip() == self.prefilled.strip():
            self.errors["text"].show_message(_("Bitte ergänzen Sie den Inhalt des Gesprächs."))
            self.text.setFocus()
            return False
        try:
            self.entry_id = journal.add_journal_entry(
                self.ctx,
                self.case_id,
                text=text,
                entry_date=self.entry_date.date().toPython(),
                duration_min=self.duration.value() or None,
                confidential=self.confidential.isChecked(),
                **self._extra,
            )
        except ValidationError as exc:
            shown = False
            for name, message in exc.field_errors.items():
                if name in self.errors:
                    self.errors[name].show_message(message)
                    shown = True
            if not shown:
                self.status.setText(exc.message)
                self.status.setVisible(True)
            return False
        except UserError as exc:
            self.status.setText(exc.message)
            self.status.setVisible(True)
            return False
        self.saved.emit(self.entry_id)
        self.accept()
        return True


class AppointmentDialog(QDialog):
    """Create (``appointment_id=None``) or edit an appointment. ``appointment_id`` holds the id after saving.

    Raises ``NotFoundError`` when the appointment to edit does not exist (any more).
    """

    saved = Signal(str)  # appointment id, after every successful write (save, status change)
    journal_saved = Signal(str)  # journal entry id

    def __init__(
        self,
        ctx,
        *,
        appointment_id: str | None = None,
        case_id: str | None = None,
        person_id: str | None = None,
        starts_at: datetime | None = None,
        parent=None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.appointment_id = appointment_id
        self.case_id = case_id
        self.person_id = person_id
        self.version: int | None = None
        self.stored_status: str | None = None
        self.dirty = False
        self.last_check: appointments.CheckResult | None = None
        self.journal_dialog: JournalEntryDialog | None = None
        self.letter_dialog: QDialog | None = None
        self.message_box: QMessageBox | None = None
        self.inputs: dict[str, QWidget] = {}
        self.errors: dict[str, FieldError] = {}
        self._loading = True
        self._duration = DEFAULT_DURATION
        self._conflict_ids: tuple[str, ...] = ()
        self._live_time_error = False
        self._pool: list[tuple[str, str, tuple[str, ...]]] = []  # interpreters: (id, name, languages)
        self.setModal(True)

        self._check_timer = QTimer(self)
        self._check_timer.setSingleShot(True)
        self._check_timer.setInterval(CHECK_DELAY_MS)
        self._check_timer.timeout.connect(self.run_check)

        self._build()
        with ctx.read() as session:
            self._load_options(session)
        if appointment_id is not None:
            self.load()
        else:
            self._fill_new(starts_at or default_start())
        self._loading = False
        self._update_title()
        self._update_buttons()
        self.run_check()
        self.inputs["type"].setFocus()

    # --- building --------------------------------------------------------------------------------------

    def _build(self) -> None:
        left = QFormLayout()
        right = QFormLayout()
        for form in (left, right):
            form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)

        self.type = QComboBox()
        self._field(left, "type", _("&Terminart:"), self.type)
        self.date = QDateEdit()
        self.date.setCalendarPopup(True)
        self.date.setDisplayFormat("dd.MM.yyyy")
        self.weekday = QLabel()
        self.weekday.setAccessibleName(_("Wochentag"))
        self._field(left, "date", _("&Datum:"), self.date, extra=[self.weekday])
        self.start = QuarterTimeEdit()
        self._field(
            left, "starts_at", _("&Beginn:"), self.start, extra=[],
            tip=_("Pfeiltasten ändern die Minuten in Viertelstunden."),
        )  # fmt: skip
        self.end = QuarterTimeEdit()
        self._field(left, "ends_at", _("&Ende:"), self.end, extra=[])
        self.duration_buttons: dict[int, QPushButton] = {}
        presets = QHBoxLayout()
        presets.setSpacing(4)
        for minutes in DURATION_PRESETS:
            button = QPushButton(_("{n} Min.").format(n=minutes))
            button.setCheckable(True)
            button.setAccessibleName(_("Dauer {n} Minuten").format(n=minutes))
            button.setAutoDefault(False)
            button.clicked.connect(lambda _c=False, m=minutes: self.set_duration(m))
            self.duration_buttons[minutes] = button
            presets.addWidget(button)
        presets.addStretch(1)
        duration_caption = QLabel(_("Dauer:"))
        duration_caption.setBuddy(self.duration_buttons[DURATION_PRESETS[0]])
        left.addRow(duration_caption, presets)
        self.location = QComboBox()
        self._field(left, "location_id", pgettext("Termin", "&Ort:"), self.location)
        self.manager = QComboBox()
        self._field(left, "case_manager_id", _("&Fachkraft:"), self.manager)
        self.status = QComboBox()
        self._field(left, "status", _("Stat&us:"), self.status)

        self.participants = QListWidget()
        self.participants.setAccessibleDescription(_("Leertaste setzt oder entfernt den Haken"))
        self.participants.setWordWrap(True)  # long names and relations wrap instead of scrolling sideways
        self.participants.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.participants.setResizeMode(QListWidget.ResizeMode.Adjust)
        lines = self.fontMetrics().lineSpacing()
        self.participants.setMinimumHeight(lines * 3 + 12)
        self.participants.setMaximumHeight(lines * 5 + 12)
        self.add_person_button = QPushButton(_("Person &hinzufügen …"))
        self.add_person_button.setAccessibleName(_("Weitere teilnehmende Person hinzufügen"))
        self.add_person_button.setAccessibleDescription(
            _("Öffnet die Suche nach einer bereits erfassten Person")
        )
        self.add_person_button.setAutoDefault(False)
        self.add_person_button.clicked.connect(lambda _c=False: self.choose_participant())
        self._field(
            right, "person_ids", _("Teilneh&mende:"), self.participants, below=[self.add_person_button]
        )
        self.language = QComboBox()
        self.language.setEditable(True)
        self.language.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        completer = self.language.completer()
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self._field(
            right, "interpreter_language", _("Dolmetschung – S&prache:"), self.language,
            tip=_("Zum Suchen einen Teil des Namens tippen, z. B. „arab“."),
        )  # fmt: skip
        self.language.lineEdit().setAccessibleName(self.language.accessibleName())
        self.interpreter = QComboBox()
        self._field(right, "interpreter_id", _("Dolmetscher/&in:"), self.interpreter)
        self.title = QLineEdit()
        self.title.setMaxLength(300)
        self._field(right, "title", _("Tite&l:"), self.title)
        self.note = QPlainTextEdit()
        self.note.setTabChangesFocus(True)
        self.note.setFixedHeight(lines * 3 + 12)
        self._field(
            right, "note", _("&Notiz:"), self.note,
            tip=_("Erscheint in der Einladung unter „Bitte mitbringen“."),
        )  # fmt: skip

        columns = QHBoxLayout()
        columns.addLayout(left, 1)
        columns.addSpacing(12)
        columns.addLayout(right, 1)

        # --- the check: warnings and conflicts in words ---
        self.check_frame = QFrame()
        self.check_frame.setObjectName("appointmentCheck")
        self.check_frame.setFrameShape(QFrame.Shape.StyledPanel)
        check_layout = QVBoxLayout(self.check_frame)
        self.conflicts_label = self._check_label(_("Überschneidungen"), CONFLICT_COLOUR)
        self.warnings_label = self._check_label(_("Hinweise zum Termin"), WARNING_COLOUR)
        self.ok_label = self._check_label(_("Prüfung des Termins"), None)
        self.keep_conflicts = QCheckBox(_("Überschneidung bewusst in &Kauf nehmen"))
        self.keep_conflicts.setAccessibleName(_("Überschneidung bewusst in Kauf nehmen"))
        self.keep_conflicts.setAccessibleDescription(
            _(
                "Der Termin wird trotz der Überschneidung gespeichert und als bewusst doppelt gebucht markiert."
            )
        )
        self.keep_conflicts.setVisible(False)
        for widget in (self.conflicts_label, self.keep_conflicts, self.warnings_label, self.ok_label):
            check_layout.addWidget(widget)

        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setAccessibleName(_("Meldung"))
        self.message.setVisible(False)

        # --- buttons ---
        self.invitation_button = self._button(
            _("Einladung e&rstellen …"), _("Einladung zu diesem Termin erstellen")
        )
        self.invitation_button.clicked.connect(lambda _c=False: self.create_invitation())
        self.ics_button = self._button(_("Als .ics …"), _("Termin als Kalenderdatei (.ics) exportieren"))
        self.ics_button.clicked.connect(lambda _c=False: self.export_ics())
        self.held_button = self._button(
            _("Statt&gefunden …"), _("Termin hat stattgefunden, Verlaufseintrag schreiben")
        )
        self.held_button.clicked.connect(lambda _c=False: self.mark_held())
        self.no_show_button = self._button(_("Nicht ers&chienen"), _("Klient*in ist nicht erschienen"))
        self.no_show_button.clicked.connect(lambda _c=False: self.set_status_and_save("no_show"))
        self.cancel_button = self._button(_("&Absagen"), _("Termin absagen"))
        self.cancel_button.clicked.connect(lambda _c=False: self.set_status_and_save("cancelled"))
        self.save_button = self._button(_("&Speichern"), _("Termin speichern"))
        self.save_button.clicked.connect(lambda _c=False: self.save())
        self.close_button = self._button(_("Schließen"), _("Schließen"))
        self.close_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        for button in (self.invitation_button, self.ics_button, self.held_button, self.no_show_button,
                       self.cancel_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.close_button)

        layout = QVBoxLayout(self)
        layout.addLayout(columns)
        layout.addStretch(1)
        layout.addWidget(self.check_frame)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self.save_button.setDefault(True)

        # Changes: mark dirty, clear the field's message, check again after a pause.
        self.type.currentIndexChanged.connect(lambda _i: self._changed("type"))
        self.date.dateChanged.connect(lambda _d: self._update_weekday())
        self.date.dateChanged.connect(lambda _d: self._changed("starts_at"))
        self.start.timeChanged.connect(self._start_changed)
        self.end.timeChanged.connect(self._end_changed)
        self.location.currentIndexChanged.connect(lambda _i: self._changed("location_id"))
        self.manager.currentIndexChanged.connect(lambda _i: self._changed("case_manager_id"))
        self.status.currentIndexChanged.connect(lambda _i: self._changed("status"))
        self.participants.itemChanged.connect(lambda _item: self._changed("person_ids"))
        self.language.currentIndexChanged.connect(lambda _i: self._language_changed())
        self.language.editTextChanged.connect(lambda _t: self._changed("interpreter_language"))
        self.interpreter.currentIndexChanged.connect(lambda _i: self._changed("interpreter_id"))
        self.title.textEdited.connect(lambda _t: self._changed("title"))
        self.note.textChanged.connect(lambda: self._changed("note"))
        self.keep_conflicts.toggled.connect(lambda _c: self.message.setVisible(False))

    def _field(
        self,
        form: QFormLayout,
        name: str,
        label: str,
        widget: QWidget,
        *,
        tip: str | None = None,
        extra: list[QWidget] | None = None,
        below: list[QWidget] | None = None,
    ) -> None:
        """A form row (buddy caption, accessible name, message line); ``extra`` widgets sit to the right of
        the input, ``below`` widgets under it."""
        if extra is None and below is None:
            self.errors[name] = add_field(form, label, widget, tip=tip)
        else:
            caption = QLabel(label)
            caption.setBuddy(widget)
            widget.setAccessibleName(label.replace("&", "").rstrip(":* "))
            if tip:
                widget.setToolTip(tip)
                widget.setAccessibleDescription(tip)
            error = FieldError(widget)
            cell = QWidget()
            cell_layout = QVBoxLayout(cell)
            cell_layout.setContentsMargins(0, 0, 0, 0)
            cell_layout.setSpacing(2)
            row = QHBoxLayout()
            row.addWidget(widget, 0 if extra is not None else 1)
            for other in extra or []:
                row.addWidget(other)
            if extra is not None:
                row.addStretch(1)
            cell_layout.addLayout(row)
            for other in below or []:
                line = QHBoxLayout()
                line.addWidget(other)
                line.addStretch(1)
                cell_layout.addLayout(line)
            cell_layout.addWidget(error)
            form.addRow(caption, cell)
            self.errors[name] = error
        self.inputs[name] = widget

    def _check_label(self, name: str, colour: str | None) -> QLabel:
        label = QLabel()
        label.setWordWrap(True)
        label.setTextFormat(Qt.TextFormat.PlainText)
        # Reachable with Tab, so a screen reader reads the check out.
        label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByKeyboard | Qt.TextInteractionFlag.TextSelectableByMouse
        )
        label.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        label.setAccessibleName(name)
        if colour:
            label.setStyleSheet(f"color: {colour};")
        label.setVisible(False)
        return label

    def _button(self, text: str, accessible_name: str) -> QPushButton:
        button = QPushButton(text)
        button.setAccessibleName(accessible_name)
        button.setAutoDefault(False)
        return button

    def _load_options(self, session) -> None:
        from ..services.codes import case_managers, code_labels, locations

        for code, label in code_labels(
            session, "appointment_type", current_language(), active_only=True
        ).items():
            self.type.addItem(label, code)
        self.location.addItem(_("– kein Ort –"), None)
        for location_id, name in locations(session):
            self.location.addItem(name, location_id)
        self.manager.addItem(_("– niemand zugeordnet –"), None)
        for user_id, name in case_managers(session):
            self.manager.addItem(name, user_id)
        for code, label in appointments.status_labels().items():
            self.status.addItem(label, code)
        self.language.addItem(_("– keine Dolmetschung –"), None)
        for code, name in languages().items():
            self.language.addItem(name, code)
        self._pool = [
            (i.id, f"{i.given_names or ''} {i.family_name}".strip(), tuple(i.languages or ()))
            for i in appointments.interpreters(session)
        ]
        self._fill_interpreters(None)

    # --- filling ---------------------------------------------------------------------------------------

    def _fill_new(self, starts_at: datetime) -> None:
        if starts_at.tzinfo is not None:
            from ..services.localtime import local_time

            starts_at = local_time(starts_at).replace(tzinfo=None)
        self.date.setDate(qdate(starts_at.date()))
        self.start.setTime(qtime(starts_at.time()))
        self.end.setTime(qtime((starts_at + timedelta(minutes=DEFAULT_DURATION)).time()))
        self._duration = DEFAULT_DURATION
        self._select(self.manager, self.ctx.actor.user_id)
        self._select(self.status, "planned")
        with self.ctx.read() as session:
            if self.person_id is None and self.case_id is not None:
                self.person_id = appointments.case_person_id(session, self.case_id)
            self._fill_participants(session, [self.person_id] if self.person_id else [])
        self._update_weekday()
        self._update_duration_buttons()

    def apply_slot(self, slot, language: str | None = None) -> None:
        """Take over a free slot found by the slot finder: time, place, case manager, interpreter."""
        self.date.setDate(qdate(slot.starts_at.date()))
        self.start.setTime(qtime(slot.starts_at.time()))
        self.end.setTime(qtime(slot.ends_at.time()))
        if slot.location_id:
            self._select(self.location, slot.location_id)
        if slot.case_manager_id:
            self._select(self.manager, slot.case_manager_id)
        if language:
            index = self.language.findData(language)
            if index >= 0:
                self.language.setCurrentIndex(index)
                self._language_changed()
        if slot.interpreter_id:
            self._select(self.interpreter, slot.interpreter_id)
        self._update_weekday()
        self._update_duration_buttons()

    def load(self) -> None:
        """(Re)load the stored appointment into the form; edits are discarded."""
        self._loading = True
        try:
            with self.ctx.read() as session:
                data = appointments.data_of(session, self.appointment_id)
                item = self._stored_item(session, data)
                self.case_id = data.case_id
                if self.person_id is None and data.case_id:
                    self.person_id = appointments.case_person_id(session, data.case_id)
                self._fill_participants(session, data.person_ids)
                if data.type not in [self.type.itemData(i) for i in range(self.type.count())]:
                    from ..services.codes import code_labels

                    labels = code_labels(session, "appointment_type", current_language())
                    self.type.addItem(labels.get(data.type, data.type), data.type)
            self.version = item.version if item else None
            self.stored_status = data.status
            self._select(self.type, data.type)
            self.date.setDate(qdate(data.starts_at.date()))
            self.start.setTime(qtime(data.starts_at.time()))
            self.end.setTime(qtime(data.ends_at.time()))
            self._duration = max(1, int((data.ends_at - data.starts_at).total_seconds() // 60))
            self._select_or_add(self.location, data.location_id, item.location if item else "")
            self._select_or_add(self.manager, data.case_manager_id, item.case_manager if item else "")
            self._select(self.status, data.status)
            self._select_or_add(
                self.language, data.interpreter_language, language_name(data.interpreter_language) or ""
            )
            if self.language.findData(data.interpreter_language) < 0:
                self.language.setCurrentIndex(0)
            self._fill_interpreters(data.interpreter_language, keep=data.interpreter_id,
                                    keep_name=item.interpreter if item else "")  # fmt: skip
            self.title.setText(data.title or "")
            self.note.setPlainText(data.note or "")
            self.keep_conflicts.setChecked(False)
            self._conflict_ids = ()
            for error in self.errors.values():
                error.show_message(None)
            self._update_weekday()
            self._update_duration_buttons()
        finally:
            self._loading = False
        self.dirty = False
        self._update_title()
        self._update_buttons()

    def _stored_item(self, session, data: appointments.AppointmentData):
        """The calendar row of the stored appointment (version, names of inactive options)."""
        day = data.starts_at.date()
        if data.case_id:
            items = appointments.calendar(session, day, day, case_id=data.case_id)
        elif data.person_ids:
            items = appointments.calendar(session, day, day, person_id=data.person_ids[0])
        else:
            items = appointments.calendar(session, day, day)
        return next((i for i in items if i.id == self.appointment_id), None)

    def _fill_participants(self, session, checked: list[str]) -> None:
        """The participants (checked), the client and the client's household (unchecked unless taking part)."""
        from ..services.households import household_of
        from ..services.persons import rows_by_ids

        self.participants.blockSignals(True)
        self.participants.clear()
        members = household_of(session, self.person_id) if self.person_id else []
        relation = {m.person_id: m.relation_label for m in members}
        wanted = list(dict.fromkeys([*checked, *([self.person_id] if self.person_id else []), *relation]))
        names = {r.id: person_name(r.family_name, r.given_names) for r in rows_by_ids(session, wanted)}
        for pid in wanted:
            if pid not in names:
                continue
            self._add_participant_item(pid, names[pid], relation.get(pid), pid in checked)
        self.participants.blockSignals(False)

    def _add_participant_item(self, person_id: str, name: str, relation: str | None, checked: bool):
        if person_id == self.person_id:
            text = _("{name} (Klient*in)").format(name=name)
        elif relation:
            text = _("{name} – {relation} (Haushalt)").format(name=name, relation=relation)
        else:
            text = name
        item = QListWidgetItem(text)
        item.setFlags(
            Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsUserCheckable
        )
        item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
        item.setData(PERSON_ROLE, person_id)
        self.participants.addItem(item)
        return item

    def _fill_interpreters(
        self, language: str | None, *, keep: str | None = None, keep_name: str = ""
    ) -> None:
        """The pool for ``language`` (all without one), keeping the chosen interpreter where possible."""
        current = keep if keep is not None else self.interpreter.currentData()
        self.interpreter.blockSignals(True)
        self.interpreter.clear()
        self.interpreter.addItem(_("noch offen") if language else _("– keine –"), None)
        for interpreter_id, name, spoken in self._pool:
            if language and language not in spoken:
                continue
            names = ", ".join(language_name(code) for code in spoken)
            self.interpreter.addItem(f"{name} ({names})" if names else name, interpreter_id)
        if current and self.interpreter.findData(current) < 0:
            known = next((name for i, name, _s in self._pool if i == current), keep_name)
            self.interpreter.addItem(
                _("{name} (spricht diese Sprache laut Profil nicht)").format(
                    name=known or _("bisherige Person")
                ),
                current,
            )
        index = self.interpreter.findData(current) if current else 0
        self.interpreter.setCurrentIndex(max(index, 0))
        self.interpreter.blockSignals(False)

    @staticmethod
    def _select(combo: QComboBox, value) -> None:
        index = combo.findData(value)
        combo.setCurrentIndex(max(index, 0))

    @staticmethod
    def _select_or_add(combo: QComboBox, value, label: str) -> None:
        """Select ``value``; a stored value no longer offered (inactive) is added so it is not lost."""
        if value is None:
            combo.setCurrentIndex(0)
            return
        if combo.findData(value) < 0 and label:
            combo.addItem(label, value)
        AppointmentDialog._select(combo, value)

    # --- reading the form -------------------------------------------------------------------------------

    def participant_ids(self) -> list[str]:
        return [
            self.participants.item(row).data(PERSON_ROLE)
            for row in range(self.participants.count())
            if self.participants.item(row).checkState() == Qt.CheckState.Checked
        ]

    def add_participant(self, person_id: str) -> bool:
        """Add (or tick) a person already on file; ``False`` if the person does not exist."""
        from ..services.persons import rows_by_ids

        for row in range(self.participants.count()):
            item = self.participants.item(row)
            if item.data(PERSON_ROLE) == person_id:
                item.setCheckState(Qt.CheckState.Checked)
                self.participants.setCurrentItem(item)
                return True
        with self.ctx.read() as session:
            rows = rows_by_ids(session, [person_id])
        if not rows:
            return False
        item = self._add_participant_item(
            person_id, person_name(rows[0].family_name, rows[0].given_names), None, True
        )
        self.participants.setCurrentItem(item)
        self._changed("person_ids")
        return True

    def choose_participant(self) -> None:
        from .person_picker import PersonPicker

        picker = PersonPicker(self.ctx, parent=self)
        picker.setWindowTitle(_("Teilnehmende Person auswählen"))
        for label in picker.findChildren(QLabel):  # the picker's caption speaks of merging
            if label.buddy() is picker.search:
                label.setText(_("&Suche nach der Person:"))
                picker.search.setAccessibleName(_("Suche nach der Person"))
        if picker.exec() and picker.person_id:
            self.add_participant(picker.person_id)
        self.participants.setFocus()

    def language_code(self) -> tuple[str | None, str | None]:
        """(code, error): the chosen language; typed text that is no language in the list is an error."""
        text = self.language.currentText().strip()
        if not text or text == self.language.itemText(0):
            return None, None
        index = self.language.findText(text, Qt.MatchFlag.MatchFixedString)
        if index < 0:
            return None, _("Diese Sprache steht nicht in der Liste. Bitte eine Sprache aus der Liste wählen.")
        return self.language.itemData(index), None

    def collect(self) -> tuple[appointments.AppointmentData, dict[str, str]]:
        """The form as ``AppointmentData`` (office time) and the errors the form itself finds."""
        errors: dict[str, str] = {}
        language, language_error = self.language_code()
        if language_error:
            errors["interpreter_language"] = language_error
        day = self.date.date().toPython()
        start = datetime.combine(day, self.start.time().toPython().replace(second=0, microsecond=0))
        end = datetime.combine(day, self.end.time().toPython().replace(second=0, microsecond=0))
        data = appointments.AppointmentData(
            type=self.type.currentData() or "",
            starts_at=start,
            ends_at=end,
            case_id=self.case_id,
            person_ids=self.participant_ids(),
            location_id=self.location.currentData(),
            case_manager_id=self.manager.currentData(),
            interpreter_id=self.interpreter.currentData(),
            interpreter_language=language,
            title=self.title.text(),
            note=self.note.toPlainText(),
            status=self.status.currentData() or "planned",
        )
        return data, errors

    # --- reacting to edits ------------------------------------------------------------------------------

    def _changed(self, name: str) -> None:
        if self._loading:
            return
        self.dirty = True
        error = self.errors.get(name)
        if error is not None:
            error.show_message(None)
        self.message.setVisible(False)
        self._update_title()
        self._check_timer.start()

    def _start_changed(self, _value=None) -> None:
        if not self._loading:
            # Moving the start moves the end: the duration stays.
            self.end.setTime(self.start.time().addSecs(self._duration * 60))
        self._changed("starts_at")

    def _end_changed(self, _value=None) -> None:
        if not self._loading:
            minutes = self.start.time().secsTo(self.end.time()) // 60
            if minutes > 0:
                self._duration = minutes
            self._update_duration_buttons()
        self._changed("ends_at")

    def set_duration(self, minutes: int) -> None:
        self._duration = minutes
        self.end.setTime(self.start.time().addSecs(minutes * 60))
        self._update_duration_buttons()

    def _update_duration_buttons(self) -> None:
        minutes = self.start.time().secsTo(self.end.time()) // 60
        for preset, button in self.duration_buttons.items():
            button.setChecked(preset == minutes)

    def _update_weekday(self) -> None:
        self.weekday.setText(format_date(self.date.date().toPython(), "EEEE"))

    def _language_changed(self) -> None:
        code, _error = self.language_code()
        self._fill_interpreters(code)
        self._changed("interpreter_language")

    def _update_title(self) -> None:
        title = _("Neuer Termin") if self.appointment_id is None else _("Termin bearbeiten")
        self.setWindowTitle(f"{title} *" if self.dirty else title)

    def _update_buttons(self) -> None:
        saved = self.appointment_id is not None
        self.invitation_button.setEnabled(saved)
        self.ics_button.setEnabled(saved)
        self.cancel_button.setEnabled(saved and self.stored_status != "cancelled")

    # --- the check ------------------------------------------------------------------------------------

    def run_check(self) -> appointments.CheckResult | None:
        """Check the form now (the timer calls this ~300 ms after the last change); shows and returns the
        result, ``None`` when the times themselves are wrong (their message is shown at the field)."""
        self._check_timer.stop()
        self._update_weekday()
        data, _errors = self.collect()
        with self.ctx.read() as session:
            field_errors = appointments.validate(session, data)
            time_error = field_errors.get("ends_at") or field_errors.get("starts_at")
            result = None if time_error else appointments.check(session, data, exclude_id=self.appointment_id)
        if time_error:
            self.errors["ends_at"].show_message(time_error)
            self._live_time_error = True
        elif self._live_time_error:
            self.errors["ends_at"].show_message(None)
            self._live_time_error = False
        self.last_check = result
        self._show_check(result)
        return result

    def _show_check(self, result: appointments.CheckResult | None) -> None:
        conflicts = result.conflicts if result else []
        warnings = result.warnings if result else []
        ids = tuple(sorted(f"{c.kind}:{c.appointment_id}" for c in conflicts))
        if ids != self._conflict_ids:  # accepting overlaps means accepting the ones shown
            self.keep_conflicts.setChecked(False)
            self._conflict_ids = ids
        if conflicts:
            heading = (
                _("Überschneidung:")
                if len(conflicts) == 1
                else _("{n} Überschneidungen:").format(n=len(conflicts))
            )
            self.conflicts_label.setText("\n".join([heading, *("• " + c.message() for c in conflicts)]))
        if warnings:
            self.warnings_label.setText("\n".join([_("Hinweis:"), *("• " + w.message for w in warnings)]))
        self.conflicts_label.setVisible(bool(conflicts))
        self.keep_conflicts.setVisible(bool(conflicts))
        self.warnings_label.setVisible(bool(warnings))
        if result is None:
            self.ok_label.setText(_("Bitte zuerst Beginn und Ende prüfen."))
        else:
            self.ok_label.setText(_("Keine Überschneidungen, keine Hinweise."))
        self.ok_label.setVisible(not conflicts and not warnings)
        self.keep_conflicts.setAccessibleDescription(
            " ".join(c.message() for c in conflicts)
            or _(
                "Der Termin wird trotz der Überschneidung gespeichert und als bewusst doppelt gebucht markiert."
            )
        )

    # --- saving ---------------------------------------------------------------------------------------

    def show_errors(self, field_errors: dict[str, str]) -> bool:
        """Messages under their fields (the first field gets the focus); ``False`` if none belongs to one."""
        first = None
        for name in FIELD_NAMES:
            message = field_errors.get(name)
            if name in self.errors:
                self.errors[name].show_message(message)
            if message and first is None:
                first = name
        self._live_time_error = False
        if first is None:
            return False
        self.inputs[first].setFocus()
        return True

    def _show_message(self, text: str | None, *, error: bool = False) -> None:
        self.message.setText(text or "")
        self.message.setStyleSheet(f"color: {CONFLICT_COLOUR};" if error else "")
        self.message.setVisible(bool(text))

    def _tell(self, text: str) -> QMessageBox:
        """A warning over the dialog (window-modal, does not block the caller)."""
        box = QMessageBox(QMessageBox.Icon.Warning, APP_NAME, text, QMessageBox.StandardButton.Ok, self)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.open()
        self.message_box = box
        return box

    def save(self, *, offer_journal: bool = True) -> bool:
        """Store the form; ``True`` when stored. Offers the journal entry when the status became "held"."""
        self._check_timer.stop()
        data, errors = self.collect()
        if errors:
            self.show_errors(errors)
            return False
        keep = self.keep_conflicts.isChecked() and not self.keep_conflicts.isHidden()
        previous_status = self.stored_status
        try:
            if self.appointment_id is None:
                self.appointment_id = appointments.create_appointment(self.ctx, data, keep_conflicts=keep)
            else:
                appointments.update_appointment(
                    self.ctx, self.appointment_id, data, expected_version=self.version, keep_conflicts=keep
                )
        except ValidationError as exc:
            if not self.show_errors(exc.field_errors):
                self._show_message(exc.message, error=True)
            return False
        except appointments.AppointmentConflictError as exc:
            self.show_errors({})
            self._show_check(
                appointments.CheckResult(exc.conflicts, self.last_check.warnings if self.last_check else [])
            )
            self._show_message(
                _(
                    "Nicht gespeichert: Der Termin überschneidet sich mit anderen Terminen. Bitte die Zeit ändern "
                    "oder „Überschneidung bewusst in Kauf nehmen“ anhaken und erneut speichern."
                ),
                error=True,
            )
            self.keep_conflicts.setFocus()
            return False
        except ConflictError as exc:  # changed by someone else since it was loaded
            self._tell(
                exc.message
                + "\n\n"
                + _("Der Termin wurde neu geladen; Ihre Änderungen wurden nicht gespeichert.")
            )
            self._reload_after_error()
            return False
        except UserError as exc:
            self._tell(exc.message)
            return False
        self._after_write()
        self._show_message(_("Termin gespeichert."))
        if offer_journal and data.status == "held" and previous_status != "held":
            self.offer_journal()
        return True

    def _reload_after_error(self) -> None:
        try:
            self.load()
        except UserError as exc:  # deleted meanwhile
            self._tell(exc.message)
            self.save_button.setEnabled(False)
            return
        self.run_check()

    def _after_write(self) -> None:
        with self.ctx.read() as session:
            data = appointments.data_of(session, self.appointment_id)
            item = self._stored_item(session, data)
        self.version = item.version if item else None
        self.stored_status = data.status
        self.case_id = data.case_id
        self.dirty = False
        self._update_title()
        self._update_buttons()
        self.saved.emit(self.appointment_id)
        self.run_check()

    def set_status_and_save(self, status: str, *, offer_journal: bool = True) -> bool:
        """Set the status and save the whole form (the status is put back when saving fails)."""
        before = self.status.currentData()
        self._select(self.status, status)
        if self.save(offer_journal=offer_journal):
            return True
        self._loading = True
        self._select(self.status, before)
        self._loading = False
        return False

    def mark_held(self) -> JournalEntryDialog | None:
        """ "Stattgefunden …": store the status and offer the journal entry (also when already stored)."""
        if self.stored_status == "held" and not self.dirty and self.appointment_id:
            return self.offer_journal()
        if not self.set_status_and_save("held", offer_journal=False):
            return None
        return self.offer_journal()

    def offer_journal(self) -> JournalEntryDialog | None:
        """The prefilled journal entry (``set_status`` returns it) in a small dialog; only with a case."""
        if self.appointment_id is None:
            return None
        try:
            text = appointments.set_status(self.ctx, self.appointment_id, "held")
        except UserError as exc:
            self._tell(exc.message)
            return None
        if not self.case_id or not text:
            self._show_message(
                _("Termin gespeichert. Er gehört zu keinem Fall, daher gibt es keinen Verlaufseintrag.")
            )
            return None
        data, _errors = self.collect()
        day = min(data.starts_at.date(), date.today())
        minutes = int((data.ends_at - data.starts_at).total_seconds() // 60)
        dialog = JournalEntryDialog(
            self.ctx, self.case_id, text, entry_date=day,
            duration_min=minutes if 0 < minutes <= 24 * 60 else None,
            contact_type=CONTACT_TYPES.get(data.type, "persoenlich"),
            interpreter_language=data.interpreter_language, interpreter_id=data.interpreter_id,
            location_id=data.location_id, parent=self,
        )  # fmt: skip
        dialog.saved.connect(self._journal_saved)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.open()
        self.journal_dialog = dialog
        return dialog

    def _journal_saved(self, entry_id: str) -> None:
        self._show_message(_("Termin gespeichert, Verlaufseintrag angelegt."))
        self.journal_saved.emit(entry_id)

    def export_ics(self):
        """This appointment as an .ics file for Outlook or a phone."""
        from .ics_dialogs import export_appointment

        return export_appointment(self.ctx, self.appointment_id, self) if self.appointment_id else None

    def create_invitation(self) -> QDialog | None:
        """Open "Brief erstellen" for this appointment (saving unsaved edits first)."""
        if self.appointment_id is None or (self.dirty and not self.save()):
            return None
        from .letter_dialog import LetterDialog

        ids = self.participant_ids()
        person_id = self.person_id if self.person_id in ids else (ids[0] if ids else self.person_id)
        try:
            dialog = LetterDialog(
                self.ctx,
                person_id=person_id,
                case_id=self.case_id,
                appointment_id=self.appointment_id,
                parent=self,
            )
        except UserError as exc:
            self._tell(exc.message)
            return None
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.open()
        self.letter_dialog = dialog
        return dialog

    # --- closing ----------------------------------------------------------------------------------------

    def discard_changes(self) -> None:
        """Forget unsaved edits (closing then asks nothing)."""
        self.dirty = False
        self._check_timer.stop()

    def reject(self) -> None:
        if self.dirty:
            answer = QMessageBox.question(
                self,
                APP_NAME,
                _(
                    "Die Änderungen am Termin sind noch nicht gespeichert. Schließen und die Änderungen verwerfen?"
                ),
                QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel,
            )
            if answer != QMessageBox.StandardButton.Discard:
                return
            self.dirty = False
        self._check_timer.stop()
        super().reject()

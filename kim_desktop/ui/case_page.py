"""The case page: phase bar with the next step, journal (Verlauf), assessment, Hilfeplan and phase history.

Everything is reachable by keyboard; every write goes through the services and reloads only what it changed.
The journal is a lazily fetching model (``canFetchMore``/``fetchMore``): a case with thousands of entries
opens with the newest 200.
"""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..db.models import CASE_PHASES
from ..errors import UserError, ValidationError
from ..i18n import _, current_language, format_date, languages
from ..services import cases, followups, journal
from ..services.codes import case_managers, code_labels, locations
from ..services.dates import parse_date
from . import theme
from .appointments_panel import AppointmentsPanel
from .documents_panel import DocumentsPanel
from .layout_memory import remember_splitter
from .referrals_panel import ReferralsPanel
from .widgets import RowsTableModel, make_list_table

JOURNAL_PAGE = 200


def _date_edit(value: date | None = None) -> QLineEdit:
    edit = QLineEdit(format_date(value or date.today()))
    edit.setMaxLength(10)
    edit.setPlaceholderText(_("TT.MM.JJJJ"))
    _fit(edit, "00.00.00000")
    return edit


def _fit(widget: QWidget, sample: str) -> None:
    """Short inputs (dates, minutes) get the width of their content, scaled with the font (150 %)."""
    widget.setMaximumWidth(widget.fontMetrics().horizontalAdvance(sample) + 40)


def _labelled(form: QFormLayout, text: str, widget: QWidget) -> QWidget:
    label = QLabel(text)
    label.setBuddy(widget)
    widget.setAccessibleName(text.replace("&", "").rstrip(":* "))
    form.addRow(label, widget)
    return widget


class JournalModel(RowsTableModel):

    def __init__(self, parent=None) -> None:
        super().__init__((_("Datum"), _("Art"), _("Dauer"), _("Eintrag"), _("vertraulich")), parent)
        self._ctx = None
        self._case_id: str | None = None
        self._total = 0
        self._types: dict[str, str] = {}

    def load(self, ctx, case_id: str, contact_types: dict[str, str]) -> None:
        self.beginResetModel()
        self._ctx, self._case_id, self._types = ctx, case_id, contact_types
        with ctx.read() as session:
            self._total = journal.journal_count(session, case_id)
            self._rows = journal.journal(session, case_id, offset=0, limit=JOURNAL_PAGE)
        self.endResetModel()

    @property
    def total(self) -> int:
        return self._total

    def entry(self, row: int) -> journal.JournalView | None:
        return self.row_at(row)

    def canFetchMore(self, parent=QModelIndex()) -> bool:  # noqa: B008, N802
        return not parent.isValid() and len(self._rows) < self._total

    def fetchMore(self, parent=QModelIndex()) -> None:  # noqa: B008, N802
        if parent.isValid() or self._ctx is None:
            return
        with self._ctx.read() as session:
            more = journal.journal(session, self._case_id, offset=len(self._rows), limit=JOURNAL_PAGE)
        if more:
            self.beginInsertRows(QModelIndex(), len(self._rows), len(self._rows) + len(more) - 1)
            self._rows.extend(more)
            self.endInsertRows()

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return None
        e = self._rows[index.row()]
        if role == Qt.ItemDataRole.ToolTipRole:
            return e.text[:2000]
        column = index.column()
        if column == 0:
            return format_date(e.entry_date)
        if column == 1:
            return self._types.get(e.contact_type or "", e.contact_type or "")
        if column == 2:
            return _("{n} Min.").format(n=e.duration_min) if e.duration_min else ""
        if column == 3:
            first = e.text.splitlines()[0] if e.text else ""
            return first[:200]
        return _("vertraulich") if e.confidential else ""


class ClosureDialog(QDialog):
    """Abschluss: reason from the office's list and a rating of every open goal."""

    def __init__(self, parent, reasons: dict[str, str], open_goals: list[tuple[str, str]]) -> None:
        super().__init__(parent)
        self.setWindowTitle(_("Fall abschließen"))
        form = QFormLayout(self)
        self.reason = QComboBox()
        self.reason.addItem(_("– bitte wählen –"), None)
        for code, label in reasons.items():
            self.reason.addItem(label, code)
        _labelled(form, _("&Abschlussgrund*:"), self.reason)
        self.on = _labelled(form, _("Abgeschlossen a&m:"), _date_edit())
        self.ratings: dict[str, QComboBox] = {}
        if open_goals:
            form.addRow(QLabel(_("Wie weit wurden die Ziele erreicht?")))
        for goal_id, title in open_goals:
            combo = QComboBox()
            combo.addItem(_("– bitte bewerten –"), None)
            for rating in cases.GOAL_RATINGS:
                combo.addItem(cases.rating_label(rating), rating)
            label = QLabel(title.replace("&", "&&"))  # a goal's "&" is text, not an accelerator (buddy label)
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setWordWrap(True)
            label.setBuddy(combo)
            combo.setAccessibleName(_("Bewertung: {goal}").format(goal=title[:80]))
            form.addRow(label, combo)
            self.ratings[goal_id] = combo
        self.note = QPlainTextEdit()
        self.note.setTabChangesFocus(True)
        self.note.setFixedHeight(60)
        _labelled(form, _("&Notiz:"), self.note)
        self.error = QLabel()
        self.error.setStyleSheet(theme.error_style())
        self.error.setWordWrap(True)
        form.addRow(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(_("Fall abschl&ießen"))
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(_("Abbrechen"))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def values(self) -> dict:
        return {
            "closure_reason": self.reason.currentData(),
            "on": self.on.text(),
            "goal_ratings": {gid: c.currentData() for gid, c in self.ratings.items() if c.currentData()},
            "note": self.note.toPlainText(),
        }


class CasePage(QWidget):
    letter_requested = Signal(str, str)  # person id, case id
    closed = Signal()
    person_requested = Signal(str)
    changed = Signal(str)  # case id, after any write

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.ctx = None
        self.case: cases.CaseView | None = None
        self._last_deleted: str | None = None

        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        self.title.setFont(font)
        self.phase_bar = QLabel()
        # Rich text with our own phase names only (no user data): the current phase in bold.
        self.phase_bar.setTextFormat(Qt.TextFormat.RichText)
        self.phase_bar.setAccessibleName(_("Phase des Falls"))

        self.next_button = QPushButton()
        self.next_button.clicked.connect(self.advance)
        self.phase_button = QPushButton(_("Phase ä&ndern …"))
        self.phase_button.setAccessibleName(_("Phase ändern"))
        self.phase_button.clicked.connect(self.choose_phase)
        self.close_button = QPushButton(_("Fall abschl&ießen …"))
        self.close_button.setAccessibleName(_("Fall abschließen"))
        self.close_button.clicked.connect(self.close_case)
        self.reopen_button = QPushButton(_("&Wieder öffnen"))
        self.reopen_button.setAccessibleName(_("Fall wieder öffnen"))
        self.reopen_button.clicked.connect(self.reopen)
        self.person_button = QPushButton(_("&Person anzeigen"))
        self.person_button.setAccessibleName(_("Person dieses Falls anzeigen"))
        self.person_button.clicked.connect(lambda: self.case and self.person_requested.emit(self.case.person_id))
        self.handover_button = QPushButton(_("Über&geben …"))
        self.handover_button.setAccessibleName(_("Fall an eine andere Case Manager/in übergeben"))
        self.handover_button.clicked.connect(self.hand_over)
        self.letter_button = QPushButton(_("Brief erstellen …"))
        self.letter_button.setAccessibleName(_("Brief zu diesem Fall erstellen"))
        self.letter_button.clicked.connect(
            lambda: self.case and self.letter_requested.emit(self.case.person_id, self.case.id)
        )
        self.audit_button = QPushButton(_("Zugriffe und Änderungen …"))
        self.audit_button.setAccessibleName(_("Wer hat diese Akte gesehen oder geändert?"))
        self.audit_button.clicked.connect(self.show_audit_trail)
        self.back_button = QPushButton(_("&Zurück"))
        self.back_button.setAccessibleName(_("Zurück"))
        self.back_button.clicked.connect(self.closed)
        for button in (self.next_button, self.phase_button, self.close_button, self.reopen_button):
            button.setAutoDefault(False)

        actions = QHBoxLayout()
        actions.addWidget(self.back_button)
        actions.addWidget(self.person_button)
        actions.addWidget(self.handover_button)
        actions.addWidget(self.letter_button)
        actions.addWidget(self.audit_button)
        actions.addStretch(1)
        actions.addWidget(self.phase_button)
        actions.addWidget(self.reopen_button)
        actions.addWidget(self.close_button)
        actions.addWidget(self.next_button)

        self.tabs = QTabWidget()
        self.tabs.setAccessibleName(_("Bereiche der Fallakte"))
        self.tabs.addTab(self._journal_tab(), _("Verlauf"))
        self.tabs.addTab(self._assessment_tab(), _("Assessment"))
        self.tabs.addTab(self._plan_tab(), _("Hilfeplan"))
        self.tabs.addTab(self._follow_up_tab(), _("Wiedervorlagen"))
        self.tabs.addTab(self._history_tab(), _("Phasenverlauf"))
        self.appointments = AppointmentsPanel()
        self.tabs.addTab(self.appointments, _("Termine"))
        self.referrals = ReferralsPanel()
        self.referrals.changed.connect(lambda: self.case and self.changed.emit(self.case.id))
        self.tabs.addTab(self.referrals, _("Vermittlungen"))

        # The case's archived letters, below the tabs (always in view after a letter was made); the user
        # can give the tabs or the list more room with the splitter handle.
        self.documents = DocumentsPanel(_("Dokumente dieses Falls"), rows=3)
        documents_group = QGroupBox(_("Dokumente"))
        documents_layout = QVBoxLayout(documents_group)
        documents_layout.setContentsMargins(6, 4, 6, 6)
        documents_layout.addWidget(self.documents)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self.tabs)
        self.splitter.addWidget(documents_group)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 0)
        remember_splitter(self.splitter, "case_page")

        self.status = QLabel()
        self.status.setAccessibleName(_("Status"))
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.phase_bar)
        layout.addLayout(actions)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.status)
        undo = QShortcut(QKeySequence.StandardKey.Undo, self)
        undo.activated.connect(self.undo_delete)

    # --- tabs ------------------------------------------------------------------------------------------

    def _journal_tab(self) -> QWidget:
        tab = QWidget()
        form = QFormLayout()
        self.entry_date = _labelled(form, _("Da&tum:"), _date_edit())
        self.entry_type = _labelled(form, _("&Kontaktart:"), QComboBox())
        duration = QSpinBox()
        duration.setRange(0, 1440)
        duration.setSingleStep(15)
        duration.setSuffix(_(" Min."))
        _fit(duration, "0000 Min.0")
        self.entry_duration = _labelled(form, _("Da&uer:"), duration)
        self.entry_language = _labelled(form, _("Dolmetschung in:"), QComboBox())
        self.entry_location = _labelled(form, _("&Ort des Kontakts:"), QComboBox())
        self.entry_confidential = QCheckBox(_("&vertraulich / anvertraut (erscheint in keinem Export, Bericht oder Brief)"))
        self.entry_confidential.setAccessibleName(_("vertraulich / anvertraut"))
        form.addRow("", self.entry_confidential)
        self.entry_text = QPlainTextEdit()
        self.entry_text.setTabChangesFocus(True)
        self.entry_text.setFixedHeight(80)
        _labelled(form, _("&Eintrag*:"), self.entry_text)
        self.entry_error = QLabel()
        self.entry_error.setStyleSheet(theme.error_style())
        form.addRow("", self.entry_error)
        save = QPushButton(_("Eintrag &speichern"))
        save.setAccessibleName(_("Verlaufseintrag speichern"))
        save.clicked.connect(self.save_entry)
        delete = QPushButton(_("Eintrag &löschen"))
        delete.setAccessibleName(_("Ausgewählten Verlaufseintrag löschen"))
        delete.clicked.connect(self.delete_entry)
        self.undo_button = QPushButton(_("&Rückgängig"))
        self.undo_button.setAccessibleName(_("Löschen rückgängig machen"))
        self.undo_button.clicked.connect(self.undo_delete)
        self.undo_button.setVisible(False)
        finding = QPushButton(_("S&ystemlücke melden …"))
        finding.setAccessibleName(_("Systemlücke anonym melden"))
        finding.clicked.connect(self.report_finding)
        row = QHBoxLayout()
        row.addWidget(save)
        row.addWidget(finding)
        row.addStretch(1)
        row.addWidget(self.undo_button)
        row.addWidget(delete)

        self.journal_model = JournalModel(self)
        self.journal_view = QTableView()
        self.journal_view.setModel(self.journal_model)
        make_list_table(self.journal_view, _("Verlaufseinträge"))
        header = self.journal_view.horizontalHeader()
        for column in (0, 1, 2, 4):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        header.setStretchLastSection(False)
        self.journal_count = QLabel()

        layout = QVBoxLayout(tab)
        layout.addLayout(form)
        layout.addLayout(row)
        layout.addWidget(self.journal_view, 1)
        layout.addWidget(self.journal_count)
        return tab

    def _assessment_tab(self) -> QWidget:
        tab = QWidget()
        self.assessment_table = QTableWidget(0, 6)
        self.assessment_table.setAccessibleName(_("Assessment nach Lebensbereichen"))
        self.assessment_table.setHorizontalHeaderLabels(
            [_("Lebensbereich"), _("Handlungsbedarf"), _("Priorität"), _("Situation"), _("Ressourcen"), _("Bedarf")]
        )
        self.assessment_table.verticalHeader().setVisible(False)
        header = self.assessment_table.horizontalHeader()
        # life area and the two choices: as wide as their header and their longest label
        for column in (0, 1, 2):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        for column in (3, 4, 5):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)
        save = QPushButton(_("Assessment &speichern"))
        save.setAccessibleName(_("Assessment speichern"))
        save.clicked.connect(self.save_assessment)
        hint = QLabel(_("Nur ausgefüllte Lebensbereiche werden gespeichert. Texte mit Doppelklick oder F2 bearbeiten."))
        hint.setWordWrap(True)
        layout = QVBoxLayout(tab)
        layout.addWidget(hint)
        layout.addWidget(self.assessment_table, 1)
        layout.addWidget(save, 0, Qt.AlignmentFlag.AlignRight)
        return tab

    def _plan_tab(self) -> QWidget:
        tab = QWidget()
        self.plan_tree = QTreeWidget()
        self.plan_tree.setAccessibleName(_("Ziele und Schritte"))
        self.plan_tree.setHeaderLabels([_("Ziel / Schritt"), _("Wer"), _("Bis / Überprüfung"), _("Stand")])
        self.plan_tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2, 3):
            self.plan_tree.header().setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)

        goal_form = QFormLayout()
        self.goal_title = _labelled(goal_form, _("Neues Zi&el:"), QLineEdit())
        self.goal_title.setMaxLength(300)
        self.goal_area = _labelled(goal_form, _("Lebensbe&reich:"), QComboBox())
        self.goal_review = _labelled(goal_form, _("Überprüfung a&m:"), QLineEdit())
        self.goal_review.setPlaceholderText(_("TT.MM.JJJJ (optional)"))
        add_goal = QPushButton(_("Ziel hinzu&fügen"))
        add_goal.setAccessibleName(_("Ziel hinzufügen"))
        add_goal.clicked.connect(self.add_goal)
        goal_form.addRow("", add_goal)

        step_form = QFormLayout()
        self.step_text = _labelled(step_form, _("Neuer Schri&tt (zum gewählten Ziel):"), QLineEdit())
        self.step_who = QComboBox()
        for code, label in (("client", _("Klient*in")), ("case_manager", _("Case Manager/in")), ("other", _("andere Stelle"))):
            self.step_who.addItem(label, code)
        _labelled(step_form, _("&Verantwortlich:"), self.step_who)
        self.step_due = _labelled(step_form, _("Fällig bi&s:"), QLineEdit())
        self.step_due.setPlaceholderText(_("TT.MM.JJJJ (optional)"))
        add_step = QPushButton(_("S&chritt hinzufügen"))
        add_step.setAccessibleName(_("Schritt hinzufügen"))
        add_step.clicked.connect(self.add_step)
        done = QPushButton(_("Schritt a&ls erledigt markieren"))
        done.setAccessibleName(_("Gewählten Schritt als erledigt markieren"))
        done.clicked.connect(self.complete_step)
        buttons = QHBoxLayout()
        buttons.addWidget(add_step)
        buttons.addWidget(done)
        step_form.addRow("", buttons)
        self.plan_error = QLabel()
        self.plan_error.setStyleSheet(theme.error_style())

        forms = QHBoxLayout()
        forms.addLayout(goal_form, 1)
        forms.addLayout(step_form, 1)
        layout = QVBoxLayout(tab)
        layout.addWidget(self.plan_tree, 1)
        layout.addLayout(forms)
        layout.addWidget(self.plan_error)
        return tab

    def _follow_up_tab(self) -> QWidget:
        tab = QWidget()
        self.follow_up_list = QListWidget()
        self.follow_up_list.setAccessibleName(_("Wiedervorlagen dieses Falls"))
        form = QFormLayout()
        self.follow_up_title = _labelled(form, _("Be&treff:"), QLineEdit())
        self.follow_up_title.setMaxLength(300)
        self.follow_up_due = _labelled(form, _("&Fällig am:"), QLineEdit())
        self.follow_up_due.setPlaceholderText(_("TT.MM.JJJJ"))
        add = QPushButton(_("Wiedervorlage an&legen"))
        add.setAccessibleName(_("Wiedervorlage anlegen"))
        add.clicked.connect(self.add_follow_up)
        done = QPushButton(_("&Erledigt"))
        done.setAccessibleName(_("Gewählte Wiedervorlage abhaken"))
        done.clicked.connect(self.complete_follow_up)
        buttons = QHBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(done)
        buttons.addStretch(1)
        form.addRow("", buttons)
        self.follow_up_error = QLabel()
        self.follow_up_error.setStyleSheet(theme.error_style())
        layout = QVBoxLayout(tab)
        layout.addWidget(self.follow_up_list, 1)
        layout.addLayout(form)
        layout.addWidget(self.follow_up_error)
        return tab

    def _load_follow_ups(self) -> None:
        self.follow_up_list.clear()
        with self.ctx.read() as session:
            rows = followups.case_follow_ups(session, self.case.id, include_done=True)
        today = date.today()
        for row in rows:
            if row.done_at is not None:
                state = _("erledigt")
            elif row.due_on < today:
                state = _("überfällig")
            else:
                state = _("offen")
            item = QListWidgetItem(f"{format_date(row.due_on)} – {row.title} ({state})")
            item.setData(Qt.ItemDataRole.UserRole, row.id if row.done_at is None else None)
            self.follow_up_list.addItem(item)
        if not rows:
            self.follow_up_list.addItem(QListWidgetItem(_("Keine Wiedervorlagen")))

    def add_follow_up(self) -> None:
        try:
            due = parse_date(self.follow_up_due.text())
            if due is None:
                raise ValidationError({"due_on": _("Bitte geben Sie an, wann die Wiedervorlage fällig ist.")})
            followups.add_follow_up(self.ctx, self.follow_up_title.text(), due, case_id=self.case.id)
        except UserError as exc:  # ValidationError included: its message lists the field errors
            self.follow_up_error.setText(exc.message)
            return
        self.follow_up_error.clear()
        self.follow_up_title.clear()
        self.follow_up_due.clear()
        self._load_follow_ups()
        self.status.setText(_("Wiedervorlage angelegt."))
        self.changed.emit(self.case.id)

    def complete_follow_up(self) -> None:
        item = self.follow_up_list.currentItem()
        follow_up_id = item.data(Qt.ItemDataRole.UserRole) if item else None
        if not follow_up_id:
            self.follow_up_error.setText(_("Bitte zuerst eine offene Wiedervorlage auswählen."))
            return
        try:
            followups.complete_follow_up(self.ctx, follow_up_id)
        except UserError as exc:
            self._fail(exc)
            return
        self._load_follow_ups()
        self.status.setText(_("Wiedervorlage erledigt."))
        self.changed.emit(self.case.id)

    def _history_tab(self) -> QWidget:
        tab = QWidget()
        self.history_list = QListWidget()
        self.history_list.setAccessibleName(_("Phasenverlauf"))
        layout = QVBoxLayout(tab)
        layout.addWidget(self.history_list)
        return tab

    # --- loading ---------------------------------------------------------------------------------------

    def set_context(self, ctx) -> None:
        self.ctx = ctx
        self.documents.set_context(ctx)
        self.appointments.set_context(ctx)
        self.referrals.set_context(ctx)
        lang = current_language()
        with ctx.read() as session:
            self._contact_types = code_labels(session, "contact_type", lang)
            self._life_areas = code_labels(session, "life_area", lang)
            self._closure_reasons = code_labels(session, "closure_reason", lang)
        self.entry_type.clear()
        for code, label in self._contact_types.items():
            self.entry_type.addItem(label, code)
        self.entry_language.clear()
        self.entry_language.addItem(_("– keine –"), None)
        for code, name in languages(lang).items():
            self.entry_language.addItem(name, code)
        self.entry_location.clear()
        self.entry_location.addItem(_("– keine Angabe –"), None)
        with ctx.read() as session:
            for location_id, name in locations(session):
                self.entry_location.addItem(name, location_id)
        self.goal_area.clear()
        self.goal_area.addItem(_("– keiner –"), None)
        for code, label in self._life_areas.items():
            self.goal_area.addItem(label, code)

    def show_audit_trail(self) -> None:
        from .audit_dialog import show_trail

        if self.case is not None:
            show_trail(self, self.ctx, case_id=self.case.id)

    def load(self, case_id: str) -> None:
        another_case = self.case is None or self.case.id != case_id
        self.case = cases.get_case(self.ctx, case_id)
        if another_case:
            self._reset_forms()
        self._show_header()
        self.journal_model.load(self.ctx, case_id, self._contact_types)
        self._update_journal_count()
        self._load_assessment()
        self._load_plan()
        self._load_follow_ups()
        self._load_history()
        self.documents.load(case_id=case_id)
        self.appointments.load(case_id=case_id)
        self.referrals.load(case_id)
        self.status.clear()

    def _reset_forms(self) -> None:
        """Empty every input: the page is reused, and nothing typed for one case may end up in another."""
        self.entry_date.setText(format_date(date.today()))
        combos = (self.entry_type, self.entry_language, self.entry_location, self.goal_area, self.step_who)
        for combo in combos:
            combo.setCurrentIndex(0)
        self.entry_duration.setValue(0)
        self.entry_confidential.setChecked(False)
        self.entry_text.clear()
        edits = (self.goal_title, self.goal_review, self.step_text, self.step_due, self.follow_up_title)
        for edit in (*edits, self.follow_up_due):
            edit.clear()
        for label in (self.entry_error, self.plan_error, self.follow_up_error):
            label.clear()
        self._last_deleted = None  # Strg+Z must not restore an entry of the other case
        self.undo_button.setVisible(False)

    def _show_header(self) -> None:
        c = self.case
        self.title.setText(f"{c.file_number} · {c.person_name}")
        from html import escape

        parts = []
        current = CASE_PHASES.index(c.phase)
        for index, phase in enumerate(CASE_PHASES):
            label = escape(cases.phase_label(phase))
            if index == current:
                parts.append(f"<b>[ {label} ]</b>")
            elif index > current:
                parts.append(f"<span style='color:{theme.colour('muted')}'>{label}</span>")
            else:
                parts.append(label)
        self.phase_bar.setText(" &rarr; ".join(parts))
        self.phase_bar.setAccessibleDescription(_("Aktuelle Phase: {phase}").format(phase=cases.phase_label(c.phase)))
        closed = c.phase == "closed"
        index = CASE_PHASES.index(c.phase)
        following = CASE_PHASES[index + 1] if index + 1 < len(CASE_PHASES) - 1 else None
        self.next_button.setVisible(not closed and following is not None)
        if following:
            self.next_button.setText(_("&Weiter zu: {phase}").format(phase=cases.phase_label(following)))
            self.next_button.setAccessibleName(_("Weiter zur Phase {phase}").format(phase=cases.phase_label(following)))
        self.close_button.setVisible(not closed)
        self.phase_button.setVisible(not closed)
        self.handover_button.setVisible(not closed)
        self.reopen_button.setVisible(closed)
        if closed:
            reason = self._closure_reasons.get(c.closure_reason or "", c.closure_reason or "")
            self.phase_bar.setText(
                self.phase_bar.text() + " &nbsp; " + escape(
                    _("abgeschlossen am {date}: {reason}").format(date=format_date(c.closed_on), reason=reason)
                )
            )

    def _update_journal_count(self) -> None:
        n = self.journal_model.total
        self.journal_count.setText(_("{n} Einträge").format(n=n) if n != 1 else _("1 Eintrag"))

    def _load_assessment(self) -> None:
        with self.ctx.read() as session:
            rows = {a.life_area: a for a in journal.assessments(session, self.case.id)}
        table = self.assessment_table
        table.setRowCount(len(self._life_areas))
        for row, (code, label) in enumerate(self._life_areas.items()):
            a = rows.get(code)
            item = QTableWidgetItem(label)
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            item.setData(Qt.ItemDataRole.UserRole, code)
            table.setItem(row, 0, item)
            need = QComboBox()
            for value, text in ((None, "–"), (0, _("kein")), (1, _("gering")), (2, _("mittel")), (3, _("dringend"))):
                need.addItem(text, value)
            need.setCurrentIndex(max(0, need.findData(a.need_level if a else None)))
            need.setAccessibleName(_("Handlungsbedarf {area}").format(area=label))
            table.setCellWidget(row, 1, need)
            priority = QComboBox()
            for value, text in ((None, "–"), (1, _("hoch")), (2, _("mittel")), (3, _("niedrig"))):
                priority.addItem(text, value)
            priority.setCurrentIndex(max(0, priority.findData(a.priority if a else None)))
            priority.setAccessibleName(_("Priorität {area}").format(area=label))
            table.setCellWidget(row, 2, priority)
            for column, value in ((3, a.situation if a else ""), (4, a.resources if a else ""), (5, a.needs if a else "")):
                table.setItem(row, column, QTableWidgetItem(value or ""))

    def _load_plan(self) -> None:
        self.plan_tree.clear()
        who = {"client": _("Klient*in"), "case_manager": _("Case Manager/in"), "other": _("andere Stelle")}
        with self.ctx.read() as session:
            plan = journal.goals(session, self.case.id)
        for goal, steps in plan:
            state = cases.rating_label(goal.status) if goal.status != "open" else _("offen")
            item = QTreeWidgetItem([goal.title, "", format_date(goal.review_on), state])
            item.setData(0, Qt.ItemDataRole.UserRole, ("goal", goal.id))
            for step in steps:
                child = QTreeWidgetItem(
                    [
                        step.description,
                        who.get(step.responsible, step.responsible),
                        format_date(step.due_on),
                        _("erledigt am {date}").format(date=format_date(step.done_on)) if step.done_on else _("offen"),
                    ]
                )
                child.setData(0, Qt.ItemDataRole.UserRole, ("step", step.id))
                item.addChild(child)
            self.plan_tree.addTopLevelItem(item)
            item.setExpanded(True)

    def _load_history(self) -> None:
        self.history_list.clear()
        for change in self.case.history:
            before = cases.phase_label(change.from_phase) if change.from_phase else _("neu")
            text = f"{format_date(change.changed_on)}: {before} → {cases.phase_label(change.to_phase)}"
            if change.note:
                text += f" ({change.note})"
            self.history_list.addItem(text)

    # --- actions ---------------------------------------------------------------------------------------

    def _fail(self, exc: UserError) -> None:
        QMessageBox.warning(self, _("Fallakte"), exc.message)

    def _phase_change(self, to_phase: str, **kwargs) -> bool:
        try:
            self.case = cases.change_phase(self.ctx, self.case.id, to_phase, expected_version=self.case.version, **kwargs)
        except UserError as exc:
            self._fail(exc)
            return False
        self.load(self.case.id)
        self.status.setText(_("Phase geändert: {phase}").format(phase=cases.phase_label(to_phase)))
        self.changed.emit(self.case.id)
        return True

    def advance(self) -> None:
        index = CASE_PHASES.index(self.case.phase)
        if index + 1 < len(CASE_PHASES) - 1:
            self._phase_change(CASE_PHASES[index + 1])

    def choose_phase(self) -> None:
        menu = QMenu(self)
        index = CASE_PHASES.index(self.case.phase)
        for phase in CASE_PHASES[: index]:
            action = menu.addAction(_("Zurück zu: {phase}").format(phase=cases.phase_label(phase)))
            action.triggered.connect(lambda _c=False, p=phase: self._phase_change(p, note=_("zurückgesetzt")))
        if index + 1 < len(CASE_PHASES) - 1:
            following = CASE_PHASES[index + 1]
            action = menu.addAction(_("Weiter zu: {phase}").format(phase=cases.phase_label(following)))
            action.triggered.connect(lambda _c=False, p=following: self._phase_change(p))
        menu.exec(self.phase_button.mapToGlobal(self.phase_button.rect().bottomLeft()))

    def close_case(self) -> None:
        with self.ctx.read() as session:
            open_goals = [(g.id, g.title) for g, _steps in journal.goals(session, self.case.id) if g.status == "open"]
        dialog = ClosureDialog(self, self._closure_reasons, open_goals)
        while dialog.exec() == QDialog.DialogCode.Accepted:
            values = dialog.values()
            try:
                on = parse_date(values["on"], allow_future=False)
                self.case = cases.change_phase(
                    self.ctx, self.case.id, "closed", on=on, closure_reason=values["closure_reason"],
                    goal_ratings=values["goal_ratings"], note=values["note"], expected_version=self.case.version,
                )  # fmt: skip
            except UserError as exc:  # ValidationError included: its message lists the field errors
                dialog.error.setText(exc.message)
                continue
            self.load(self.case.id)
            self.status.setText(_("Der Fall ist abgeschlossen."))
            self.changed.emit(self.case.id)
            return

    def reopen(self) -> None:
        try:
            self.case = cases.reopen_case(self.ctx, self.case.id)
        except UserError as exc:
            self._fail(exc)
            return
        self.load(self.case.id)
        self.status.setText(_("Der Fall ist wieder geöffnet."))
        self.changed.emit(self.case.id)

    def hand_over(self) -> None:
        from PySide6.QtWidgets import QInputDialog

        with self.ctx.read() as session:
            managers = [(i, n) for i, n in case_managers(session) if i != self.case.case_manager_id]
        if not managers:
            QMessageBox.information(
                self, _("Fallübergabe"), _("Es gibt keine weitere aktive Case Manager/in, an die übergeben werden kann.")
            )
            return
        names = [name for _i, name in managers]
        name, ok = QInputDialog.getItem(self, _("Fallübergabe"), _("Übergeben an:"), names, 0, False)
        if not ok:
            return
        try:
            self.case = cases.hand_over(self.ctx, self.case.id, managers[names.index(name)][0])
        except UserError as exc:
            self._fail(exc)
            return
        self.load(self.case.id)
        self.status.setText(_("Der Fall wurde übergeben."))
        self.changed.emit(self.case.id)

    def report_finding(self) -> None:
        with self.ctx.read() as session:
            categories = code_labels(session, "finding_category", current_language())
        dialog = QDialog(self)
        dialog.setWindowTitle(_("Systemlücke melden"))
        form = QFormLayout(dialog)
        hint = QLabel(_("Beschreiben Sie die Hürde im System ohne Namen oder Daten der Person; sie fließt anonym in Berichte ein."))
        hint.setWordWrap(True)
        form.addRow(hint)
        category = QComboBox()
        for code, label in categories.items():
            category.addItem(label, code)
        _labelled(form, _("&Kategorie:"), category)
        text = QPlainTextEdit()
        text.setTabChangesFocus(True)
        _labelled(form, _("&Beschreibung:"), text)
        error = QLabel()
        error.setStyleSheet(theme.error_style())
        form.addRow(error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(_("&Melden"))
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(_("Abbrechen"))
        buttons.accepted.connect(dialog.accept)
        buttons.rejected.connect(dialog.reject)
        form.addRow(buttons)
        while dialog.exec() == QDialog.DialogCode.Accepted:
            try:
                journal.add_structural_finding(
                    self.ctx, category.currentData(), text.toPlainText(), case_id=self.case.id
                )
            except UserError as exc:  # ValidationError included: its message lists the field errors
                error.setText(exc.message)
                continue
            self.status.setText(_("Systemlücke gemeldet."))
            return

    def save_entry(self) -> None:
        try:
            on = parse_date(self.entry_date.text(), allow_future=False)
            journal.add_journal_entry(
                self.ctx, self.case.id, text=self.entry_text.toPlainText(), entry_date=on,
                contact_type=self.entry_type.currentData(), duration_min=self.entry_duration.value() or None,
                interpreter_language=self.entry_language.currentData(),
                location_id=self.entry_location.currentData(),
                confidential=self.entry_confidential.isChecked(),
            )  # fmt: skip
        except UserError as exc:  # ValidationError included: its message lists the field errors
            self.entry_error.setText(exc.message)
            return
        self.entry_error.clear()
        self.entry_text.clear()
        self.entry_confidential.setChecked(False)
        self.entry_duration.setValue(0)
        self.journal_model.load(self.ctx, self.case.id, self._contact_types)
        self._update_journal_count()
        self.status.setText(_("Eintrag gespeichert."))
        self.changed.emit(self.case.id)

    def delete_entry(self) -> None:
        entry = self.journal_model.entry(self.journal_view.currentIndex().row())
        if entry is None:
            self.status.setText(_("Bitte zuerst einen Eintrag auswählen."))
            return
        if entry.system_generated:
            self.status.setText(_("Automatische Einträge (z. B. Fallübergabe) können nicht gelöscht werden."))
            return
        try:
            journal.delete_journal_entry(self.ctx, entry.id)
        except UserError as exc:
            self._fail(exc)
            return
        self._last_deleted = entry.id
        self.undo_button.setVisible(True)
        self.journal_model.load(self.ctx, self.case.id, self._contact_types)
        self._update_journal_count()
        self.status.setText(_("Eintrag gelöscht. Rückgängig mit Strg+Z."))

    def undo_delete(self) -> None:
        if not self._last_deleted:
            return
        try:
            journal.restore_journal_entry(self.ctx, self._last_deleted)
        except UserError as exc:
            self._fail(exc)
            return
        self._last_deleted = None
        self.undo_button.setVisible(False)
        self.journal_model.load(self.ctx, self.case.id, self._contact_types)
        self._update_journal_count()
        self.status.setText(_("Eintrag wiederhergestellt."))

    def save_assessment(self) -> None:
        table = self.assessment_table
        saved = 0
        for row in range(table.rowCount()):
            code = table.item(row, 0).data(Qt.ItemDataRole.UserRole)
            need = table.cellWidget(row, 1).currentData()
            priority = table.cellWidget(row, 2).currentData()
            texts = [(table.item(row, c).text() if table.item(row, c) else "") for c in (3, 4, 5)]
            if need is None and priority is None and not any(t.strip() for t in texts):
                continue
            try:
                journal.set_assessment(
                    self.ctx, self.case.id, code, situation=texts[0], resources=texts[1], needs=texts[2],
                    priority=priority, need_level=need,
                )  # fmt: skip
            except UserError as exc:
                self._fail(exc)
                return
            saved += 1
        self.status.setText(_("Assessment gespeichert ({n} Lebensbereiche).").format(n=saved))
        self.changed.emit(self.case.id)

    def _selected_plan_item(self) -> tuple[str, str] | None:
        item = self.plan_tree.currentItem()
        return item.data(0, Qt.ItemDataRole.UserRole) if item else None

    def add_goal(self) -> None:
        try:
            review = parse_date(self.goal_review.text())
            journal.add_goal(self.ctx, self.case.id, self.goal_title.text(), life_area=self.goal_area.currentData(), review_on=review)
        except UserError as exc:  # ValidationError included: its message lists the field errors
            self.plan_error.setText(exc.message)
            return
        self.plan_error.clear()
        self.goal_title.clear()
        self.goal_review.clear()
        self._load_plan()
        self.status.setText(_("Ziel hinzugefügt."))
        self.changed.emit(self.case.id)

    def add_step(self) -> None:
        selected = self._selected_plan_item()
        if selected is None:
            self.plan_error.setText(_("Bitte zuerst das Ziel auswählen, zu dem der Schritt gehört."))
            return
        kind, item_id = selected
        if kind == "step":
            item_id = self.plan_tree.currentItem().parent().data(0, Qt.ItemDataRole.UserRole)[1]
        try:
            due = parse_date(self.step_due.text())
            journal.add_step(self.ctx, item_id, self.step_text.text(), responsible=self.step_who.currentData(), due_on=due)
        except UserError as exc:  # ValidationError included: its message lists the field errors
            self.plan_error.setText(exc.message)
            return
        self.plan_error.clear()
        self.step_text.clear()
        self.step_due.clear()
        self._load_plan()
        self.status.setText(_("Schritt hinzugefügt."))

    def complete_step(self) -> None:
        selected = self._selected_plan_item()
        if selected is None or selected[0] != "step":
            self.plan_error.setText(_("Bitte zuerst einen Schritt auswählen."))
            return
        try:
            journal.complete_step(self.ctx, selected[1])
        except UserError as exc:
            self._fail(exc)
            return
        self._load_plan()
        self.status.setText(_("Schritt erledigt."))

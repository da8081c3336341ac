"""Vermittlung: one referral of a case from the draft to the provider's feedback.

Left the referral itself (offer from the directory, the goal or step of the Hilfeplan it serves, the reason,
after how many days feedback is due), right where it stands: the status in words, the buttons the status
allows (Versenden, Angenommen, Abgelehnt, Abschließen, Widerrufen, Vermittlungsschreiben) and the dated,
attributed status history.

Sending passes the consent gate of ``services.referrals.send_referral``: without a valid
Schweigepflichtentbindung for the recipient the service refuses (``ConsentRequiredError``) and
``ConsentGateDialog`` offers the release form (a letter) or sending anyway with a written reason of at least
ten characters, which the service logs. Secondary dialogs open window-modal without blocking (``open()``)
and are kept as attributes, so callers and tests can reach them.
"""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (
    QBoxLayout,
    QButtonGroup,
    QComboBox,
    QCompleter,
    QDateEdit,
    QDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from .. import APP_NAME
from ..errors import UserError, ValidationError
from ..i18n import _, current_language, format_date
from ..services import referrals
from . import theme
from .interpreters_dialog import add_picker_field, fit_to_screen, plain_buttons
from .widgets import FieldError, add_field

ERROR_COLOUR = theme.colour("error")
WARNING_COLOUR = theme.colour("warning")  # dark amber, readable on white
MIN_OVERRIDE_CHARS = 10

# Workflow button → the status it leads to (the service says which statuses are reachable from here).
STEP_STATUS = {"send": "sent", "accept": "accepted", "reject": "rejected", "complete": "completed",
               "revoke": "revoked"}  # fmt: skip


def sent_via_labels() -> dict[str, str]:
    return referrals.sent_via_labels()


def fit_height(dialog: QDialog, width: int) -> None:
    """Room for every wrapped line: a dialog with word-wrapped labels gets the height its width needs
    (Qt sizes top-level windows without height-for-width, so long texts would overlap at 150 %)."""
    screen = dialog.screen()
    if screen is not None:
        width = min(width, int(screen.availableGeometry().width() * 0.95))
    layout = dialog.layout()
    layout.activate()
    height = layout.totalHeightForWidth(width) if layout.hasHeightForWidth() else layout.sizeHint().height()
    height = max(height, layout.minimumSize().height())
    dialog.setMinimumHeight(height)
    dialog.resize(width, max(height, dialog.height() if dialog.isVisible() else 0))


def qdate(value: date) -> QDate:
    return QDate(value.year, value.month, value.day)


def _warn(parent: QWidget, text: str) -> QMessageBox:
    box = QMessageBox(QMessageBox.Icon.Warning, APP_NAME, text, QMessageBox.StandardButton.Ok, parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setWindowModality(Qt.WindowModality.WindowModal)
    box.open()
    return box


class _Step(QDialog):
    """A small dialog for one workflow step: an intro, optional inputs, a submit button that calls
    ``submit(values)``; that returns ``None`` when done (the dialog closes) or a message shown in the dialog."""

    def __init__(self, parent, title: str, intro: str, ok_text: str, submit) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self._submit = submit
        self.intro = QLabel(intro)
        self.intro.setWordWrap(True)
        self.intro.setTextFormat(Qt.TextFormat.PlainText)
        self.form = QFormLayout()
        self.form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapAllRows)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet(f"color: {ERROR_COLOUR};")
        self.message.setVisible(False)
        self.ok_button = QPushButton(ok_text)
        self.ok_button.setAccessibleName(ok_text.replace("&", "").rstrip(" …"))
        self.cancel_button = QPushButton(_("Abbrechen"))
        self.cancel_button.setAccessibleName(_("Abbrechen"))
        self.ok_button.clicked.connect(lambda _c=False: self.submit())
        self.cancel_button.clicked.connect(self.reject)
        plain_buttons(self.cancel_button)
        self.ok_button.setDefault(True)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.ok_button)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addLayout(self.form, 1)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self.setMinimumWidth(self.fontMetrics().averageCharWidth() * 60)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt API)
        fit_height(self, max(self.width(), self.minimumWidth()))
        super().showEvent(event)

    def values(self) -> dict:
        return {}

    def show_message(self, text: str | None) -> None:
        self.message.setText(text or "")
        self.message.setVisible(bool(text))

    def submit(self) -> bool:
        self.show_message(None)
        result = self._submit(self.values())
        if result:
            self.show_message(result)
            return False
        if self.isVisible():
            self.accept()
        return True


class TextStepDialog(_Step):
    """A step with a text (reason, feedback, note) and optionally an outcome from a code list."""

    def __init__(
        self,
        parent,
        title: str,
        intro: str,
        ok_text: str,
        submit,
        *,
        text_label: str,
        required: str | None = None,
        outcomes: dict[str, str] | None = None,
        min_chars: int = 0,
    ) -> None:
        super().__init__(parent, title, intro, ok_text, submit)
        self.required = required
        self.min_chars = min_chars
        self.outcome: QComboBox | None = None
        self.outcome_error: FieldError | None = None
        if outcomes is not None:
            self.outcome = QComboBox()
            self.outcome.addItem(_("– bitte wählen –"), None)
            for code, label in outcomes.items():
                self.outcome.addItem(label, code)
            self.outcome_error = add_field(self.form, _("&Ergebnis:*"), self.outcome)
        self.text = QPlainTextEdit()
        self.text.setTabChangesFocus(True)
        self.text.setMinimumHeight(self.fontMetrics().lineSpacing() * 4 + 14)
        self.text_error = add_field(self.form, text_label, self.text)
        self.text.textChanged.connect(lambda: self.text_error.show_message(None))
        (self.outcome or self.text).setFocus()

    def values(self) -> dict:
        return {
            "outcome": self.outcome.currentData() if self.outcome is not None else None,
            "text": self.text.toPlainText().strip(),
        }

    def submit(self) -> bool:
        values = self.values()
        ok = True
        if self.outcome is not None and not values["outcome"]:
            self.outcome_error.show_message(_("Bitte das Ergebnis wählen."))
            self.outcome.setFocus()
            ok = False
        elif self.outcome_error is not None:
            self.outcome_error.show_message(None)
        if self.required and len(values["text"]) < max(1, self.min_chars):
            self.text_error.show_message(self.required)
            if ok:
                self.text.setFocus()
            ok = False
        if not ok:
            return False
        return super().submit()


class SendDialog(_Step):
    """Versenden: how the referral goes out (Post, E-Mail, persönlich mitgegeben) and on which day."""

    def __init__(self, parent, submit, *, provider_email: str | None = None) -> None:
        super().__init__(
            parent, _("Vermittlung versenden"),
            _("Wie geht die Vermittlung an die Stelle? Das Vermittlungsschreiben mit Rückmeldebogen erstellen "
              "Sie mit „Vermittlungsschreiben …“."),
            _("&Versenden"), submit,
        )  # fmt: skip
        self.group = QButtonGroup(self)
        self.buttons: dict[str, QRadioButton] = {}
        box = QWidget()
        box_layout = QVBoxLayout(box)
        box_layout.setContentsMargins(0, 0, 0, 0)
        texts = {"post": _("&Post"), "email": _("&E-Mail"), "personal": _("persönlich &mitgegeben")}
        for code in referrals.SENT_VIA:
            button = QRadioButton(texts.get(code, code))
            button.setAccessibleName(sent_via_labels().get(code, code))
            self.group.addButton(button)
            self.buttons[code] = button
            box_layout.addWidget(button)
        first = next(iter(self.buttons.values()))
        first.setChecked(True)
        caption = QLabel(_("Versandweg:"))
        caption.setBuddy(first)
        self.form.addRow(caption, box)
        self.sent_on = QDateEdit(qdate(date.today()))
        self.sent_on.setCalendarPopup(True)
        self.sent_on.setDisplayFormat("dd.MM.yyyy")
        self.sent_on.setMaximumDate(QDate.currentDate())
        self.sent_on_error = add_field(self.form, _("Versendet &am:"), self.sent_on)
        first.setFocus()

    def choose(self, via: str) -> None:
        self.buttons[via].setChecked(True)

    def values(self) -> dict:
        via = next((code for code, b in self.buttons.items() if b.isChecked()), None)
        return {"sent_via": via, "sent_on": self.sent_on.date().toPython()}


class ConsentGateDialog(QDialog):
    """No valid Schweigepflichtentbindung for the recipient: make the release form, send anyway (with a
    reason) or cancel. ``choice`` is "release", "override" or ``None``."""

    release_requested = Signal()
    override_requested = Signal()

    def __init__(self, parent, *, provider: str = "", state: str = "missing") -> None:
        super().__init__(parent)
        self.choice: str | None = None
        self.state = state
        self.setWindowTitle(_("Schweigepflichtentbindung fehlt"))
        self.heading = QLabel(_("Für diese Stelle liegt keine gültige Schweigepflichtentbindung vor."))
        self.heading.setWordWrap(True)
        font = self.heading.font()
        font.setBold(True)
        self.heading.setFont(font)
        self.heading.setTextFormat(Qt.TextFormat.PlainText)
        recipient = _("Empfänger: {provider}").format(provider=provider) if provider else ""
        explanation = _(
            "Die Vermittlung enthält Angaben über die Person; die Stelle darf sie nur mit einer "
            "Schweigepflichtentbindung erhalten."
        )
        choices = _(
            "Erstellen Sie die Entbindung und lassen Sie sie unterschreiben. Nur wenn es anders nicht geht: "
            "trotzdem senden – Ihre Begründung wird protokolliert."
        )
        detail = {
            "revoked": _("Die letzte Entbindung für diese Stelle wurde widerrufen."),
            "expired": _("Die letzte Entbindung für diese Stelle ist abgelaufen."),
        }.get(state, "")
        self.text = QLabel("\n\n".join(t for t in (recipient, detail, explanation, choices) if t))
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.release_button = QPushButton(_("Entbindung &erstellen …"))
        self.release_button.setAccessibleName(_("Formular für die Schweigepflichtentbindung erstellen"))
        self.override_button = QPushButton(_("&Trotzdem senden …"))
        self.override_button.setAccessibleName(_("Trotzdem senden, mit Begründung"))
        self.cancel_button = QPushButton(_("&Abbrechen"))
        self.cancel_button.setAccessibleName(_("Abbrechen, nicht senden"))
        self.release_button.clicked.connect(lambda _c=False: self._choose("release"))
        self.override_button.clicked.connect(lambda _c=False: self._choose("override"))
        self.cancel_button.clicked.connect(self.reject)
        plain_buttons(self.release_button, self.override_button)
        self.release_button.setDefault(True)  # the right way first; Esc cancels
        buttons = QHBoxLayout()
        buttons.addWidget(self.release_button)
        buttons.addWidget(self.override_button)
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        icon = QLabel()
        icon.setPixmap(self.style().standardIcon(self.style().StandardPixmap.SP_MessageBoxWarning).pixmap(40, 40))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        top = QHBoxLayout()
        top.addWidget(icon)
        texts = QVBoxLayout()
        texts.addWidget(self.heading)
        texts.addWidget(self.text)
        top.addLayout(texts, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top, 1)
        layout.addSpacing(8)
        layout.addLayout(buttons)
        fit_height(self, self.fontMetrics().averageCharWidth() * 72)
        self.release_button.setFocus()

    def _choose(self, choice: str) -> None:
        self.choice = choice
        self.accept()
        (self.release_requested if choice == "release" else self.override_requested).emit()


class ReferralDialog(QDialog):
    """Create (``referral_id=None``) or follow a referral of a case. ``referral_id`` holds the id once
    stored; ``changed()`` after every write."""

    changed = Signal()

    def __init__(
        self,
        ctx,
        *,
        case_id: str,
        referral_id: str | None = None,
        offer_id: str | None = None,
        parent=None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.case_id = case_id
        self.referral_id = referral_id
        self.status = "draft"
        self.view: referrals.ReferralView | None = None
        self.row: referrals.ReferralRow | None = None
        self.person_id: str | None = None
        self.dirty = False
        self._loading = True
        self.send_dialog: SendDialog | None = None
        self.consent_dialog: ConsentGateDialog | None = None
        self.override_dialog: TextStepDialog | None = None
        self.step_dialog: TextStepDialog | None = None
        self.letter_dialog: QDialog | None = None
        self.picker_dialog: QDialog | None = None
        self.message_box: QMessageBox | None = None
        self._pending_send: dict | None = None
        self._offers: dict[str, object] = {}

        from ..services import cases

        case = cases.get_case(ctx, case_id)  # NotFoundError for a deleted case
        self.person_id = case.person_id
        self.case_title = f"{case.file_number} · {case.person_name}"

        self._build()
        self._load_options(offer_id)
        if referral_id is not None:
            self.reload()
        else:
            self._update_state()
        self._loading = False
        self._update_title()
        fit_to_screen(self, 1000, 640)
        self.offer.setFocus()

    # --- building --------------------------------------------------------------------------------------

    def _build(self) -> None:
        self.heading = QLabel(_("Vermittlung für {case}").format(case=self.case_title))
        self.heading.setTextFormat(Qt.TextFormat.PlainText)
        self.heading.setWordWrap(True)
        font = self.heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.2)
        font.setBold(True)
        self.heading.setFont(font)

        # --- the referral ---
        what = QGroupBox(_("Vermittlung"))
        form = QFormLayout(what)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapAllRows)
        self.offer = QComboBox()
        self.offer.setEditable(True)
        self.offer.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.offer.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.offer.setMinimumContentsLength(16)
        self.offer.lineEdit().setPlaceholderText(_("Titel oder Träger eintippen …"))
        completer = QCompleter(self.offer.model(), self.offer)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.offer.setCompleter(completer)
        self.offer.setAccessibleName(_("Angebot"))
        self.offer.lineEdit().setAccessibleName(_("Angebot"))
        self.offer.setAccessibleDescription(_("Tippen sucht in Titel und Träger; Pfeiltasten wählen."))
        self.find_button = QPushButton(_("Im Verzeichnis s&uchen …"))
        self.find_button.setAccessibleName(_("Angebot im Angebotsverzeichnis suchen"))
        self.find_button.clicked.connect(lambda _c=False: self.find_offer())
        offer_row = QWidget()
        offer_layout = QVBoxLayout(offer_row)  # the button below: the column stays narrow at 150 %
        offer_layout.setContentsMargins(0, 0, 0, 0)
        offer_layout.setSpacing(4)
        offer_layout.addWidget(self.offer)
        find_row = QHBoxLayout()
        find_row.addWidget(self.find_button)
        find_row.addStretch(1)
        offer_layout.addLayout(find_row)
        self.errors: dict[str, FieldError] = {}
        self.errors["offer_id"] = add_picker_field(form, _("&Angebot:*"), offer_row, self.offer)
        self.provider_label = QLabel()
        self.provider_label.setWordWrap(True)
        self.provider_label.setTextFormat(Qt.TextFormat.PlainText)
        self.provider_label.setAccessibleName(_("Träger des Angebots"))
        form.addRow(self.provider_label)
        self.plan = QComboBox()
        self.plan.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.plan.setMinimumContentsLength(16)
        self.errors["goal_id"] = add_field(
            form, _("&Hilfeplan (Ziel oder Schritt):"), self.plan,
            tip=_("Das Ziel oder der Schritt des Hilfeplans, dem die Vermittlung dient."),
        )  # fmt: skip
        self.reason = QPlainTextEdit()
        self.reason.setTabChangesFocus(True)
        self.reason.setFixedHeight(self.fontMetrics().lineSpacing() * 4 + 14)
        self.reason.setPlaceholderText(_("Anlass und Ziel der Vermittlung; erscheint im Vermittlungsschreiben."))
        self.errors["reason"] = add_field(form, _("A&nlass:"), self.reason)
        self.follow_up = QSpinBox()
        self.follow_up.setRange(0, 365)
        self.follow_up.setSuffix(" " + _("Tage"))
        self.follow_up.setSpecialValueText(_("Voreinstellung"))
        self.follow_up.setMaximumWidth(self.fontMetrics().horizontalAdvance(_("Voreinstellung")) + 60)
        self.errors["follow_up_days"] = add_field(
            form, _("Rückmeldung &fällig nach:"), self.follow_up,
            tip=_("Ohne Rückmeldung nach so vielen Tagen erscheint eine Erinnerung auf dem Arbeitsplatz."),
        )  # fmt: skip
        self.save_button = QPushButton(_("Entwurf &speichern"))
        self.save_button.setAccessibleName(_("Entwurf speichern"))
        self.save_button.clicked.connect(lambda _c=False: self.save())
        save_row = QHBoxLayout()
        save_row.addWidget(self.save_button)
        save_row.addStretch(1)
        form.addRow(save_row)

        # --- where it stands ---
        state = QGroupBox(_("Stand"))
        state_layout = QVBoxLayout(state)
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)
        self.status_label.setAccessibleName(_("Status der Vermittlung"))
        self.override_label = QLabel()
        self.override_label.setWordWrap(True)
        self.override_label.setTextFormat(Qt.TextFormat.PlainText)
        self.override_label.setStyleSheet(f"color: {WARNING_COLOUR};")
        self.override_label.setAccessibleName(_("Ohne Schweigepflichtentbindung versendet"))
        self.override_label.setVisible(False)
        self.send_button = QPushButton(_("Vers&enden …"))
        self.send_button.setAccessibleName(_("Vermittlung versenden"))
        self.accept_button = QPushButton(_("Angen&ommen"))
        self.accept_button.setAccessibleName(_("Die Stelle hat die Vermittlung angenommen"))
        self.reject_button = QPushButton(_("Abge&lehnt …"))
        self.reject_button.setAccessibleName(_("Die Stelle hat die Vermittlung abgelehnt"))
        self.complete_button = QPushButton(_("Abschl&ießen …"))
        self.complete_button.setAccessibleName(_("Vermittlung mit Ergebnis abschließen"))
        self.revoke_button = QPushButton(_("&Widerrufen …"))
        self.revoke_button.setAccessibleName(_("Vermittlung widerrufen"))
        self.letter_button = QPushButton(_("Vermittlungss&chreiben …"))
        self.letter_button.setAccessibleName(_("Vermittlungsschreiben mit Rückmeldebogen erstellen"))
        self.send_button.clicked.connect(lambda _c=False: self.start_send())
        self.accept_button.clicked.connect(lambda _c=False: self.mark_accepted())
        self.reject_button.clicked.connect(lambda _c=False: self.start_reject())
        self.complete_button.clicked.connect(lambda _c=False: self.start_complete())
        self.revoke_button.clicked.connect(lambda _c=False: self.start_revoke())
        self.letter_button.clicked.connect(lambda _c=False: self.open_letter())
        self.workflow_buttons = (
            self.send_button, self.accept_button, self.reject_button, self.complete_button, self.revoke_button,
            self.letter_button,
        )  # fmt: skip
        plain_buttons(self.save_button, self.find_button, *self.workflow_buttons)
        grid = QGridLayout()
        for n, button in enumerate(self.workflow_buttons):
            grid.addWidget(button, n // 2, n % 2)
        self.history = QListWidget()
        self.history.setWordWrap(True)
        self.history.setAccessibleName(_("Statusverlauf der Vermittlung"))
        self.history.setMinimumHeight(self.fontMetrics().lineSpacing() * 4)
        history_label = QLabel(_("Status&verlauf:"))
        history_label.setBuddy(self.history)
        state_layout.addWidget(self.status_label)
        state_layout.addWidget(self.override_label)
        state_layout.addLayout(grid)
        state_layout.addSpacing(6)
        state_layout.addWidget(history_label)
        state_layout.addWidget(self.history, 1)

        self.what_group, self.state_group = what, state
        self.columns = columns = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        columns.addWidget(what, 1)
        columns.addWidget(state, 1)
        content = QWidget()
        content_layout = QVBoxLayout(content)
        content_layout.setContentsMargins(0, 0, 0, 0)
        content_layout.addWidget(self.heading)
        content_layout.addLayout(columns, 1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(content)

        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setAccessibleName(_("Meldung"))
        self.message.setVisible(False)
        self.close_button = QPushButton(_("Schließen"))
        self.close_button.setAccessibleName(_("Schließen"))
        self.close_button.clicked.connect(self.reject)
        plain_buttons(self.close_button)
        bottom = QHBoxLayout()
        bottom.addWidget(self.message, 1)
        bottom.addStretch(0)
        bottom.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignBottom)
        layout = QVBoxLayout(self)
        layout.addWidget(scroll, 1)
        layout.addLayout(bottom)

        self.offer.currentIndexChanged.connect(lambda _i: self._offer_changed())
        self.offer.lineEdit().textEdited.connect(lambda _t: self._edited("offer_id"))
        self.plan.currentIndexChanged.connect(lambda _i: self._edited("goal_id"))
        self.reason.textChanged.connect(lambda: self._edited("reason"))
        self.follow_up.valueChanged.connect(lambda _v: self._edited("follow_up_days"))

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        """Side by side when there is room, else one below the other (150 % on a small screen)."""
        spacing = self.columns.spacing() + 2 * self.layout().contentsMargins().left() + 24
        needed = self.what_group.minimumSizeHint().width() + self.state_group.minimumSizeHint().width() + spacing
        direction = (
            QBoxLayout.Direction.LeftToRight if event.size().width() >= needed else QBoxLayout.Direction.TopToBottom
        )
        if self.columns.direction() != direction:
            self.columns.setDirection(direction)
        super().resizeEvent(event)

    # --- loading -----------------------------------------------------------------------------------------

    def _load_options(self, offer_id: str | None = None) -> None:
        from ..services import directory, journal

        with self.ctx.read() as session:
            offers = directory.search_offers(session, limit=5000)
            extra = None
            if offer_id and all(o.id != offer_id for o in offers):
                extra = next(
                    (o for o in directory.search_offers(session, include_expired=True, limit=5000) if o.id == offer_id),
                    None,
                )
            plan = journal.goals(session, self.case_id)
            default_days = referrals.default_feedback_days(session)
        self.follow_up.setSpecialValueText(_("Voreinstellung ({n} Tage)").format(n=default_days))
        self.follow_up.setMaximumWidth(
            self.follow_up.fontMetrics().horizontalAdvance(self.follow_up.specialValueText()) + 60
        )
        self._loading = True
        self.offer.clear()
        self.offer.addItem("", None)
        self._offers = {}
        for row in [*offers, *([extra] if extra else [])]:
            self._add_offer(row)
        self.offer.setCurrentIndex(max(0, self.offer.findData(offer_id)))
        self.plan.clear()
        self.plan.addItem(_("– ohne Bezug –"), None)
        for goal, steps in plan:
            self.plan.addItem(_("Ziel: {title}").format(title=goal.title), f"goal:{goal.id}")
            for step in steps:
                self.plan.addItem("    " + _("Schritt: {text}").format(text=step.description), f"step:{step.id}")
        self._loading = False
        self._offer_changed(mark=False)

    def _add_offer(self, row) -> None:
        text = offer_text(row)
        self.offer.addItem(text, row.id)
        self.offer.setItemData(self.offer.count() - 1, text, Qt.ItemDataRole.ToolTipRole)
        self._offers[row.id] = row

    def reload(self) -> None:
        """Read the referral, its status and its history again and show them."""
        view = referrals.open_referral(self.ctx, self.referral_id)  # an audited read
        self.view, self.row = view, view.row
        self.status = view.row.status
        row = view.row
        self._loading = True
        if row.offer_id and self.offer.findData(row.offer_id) < 0:
            self._load_options(row.offer_id)
            self._loading = True
        if row.offer_id:
            self.offer.setCurrentIndex(max(0, self.offer.findData(row.offer_id)))
        else:
            self.offer.setEditText(row.offer_title or row.provider_name or "")
        target = f"step:{row.step_id}" if row.step_id else (f"goal:{row.goal_id}" if row.goal_id else None)
        self.plan.setCurrentIndex(max(0, self.plan.findData(target)) if target else 0)
        self.reason.setPlainText(view.reason or "")
        self.follow_up.setValue(view.follow_up_days or 0)
        self._loading = False
        self.offer.lineEdit().setCursorPosition(0)  # the title's start, not its end
        self._offer_changed(mark=False)
        if not row.offer_id and row.provider_name:
            self.provider_label.setText(_("Träger: {name}").format(name=row.provider_name))
        self.dirty = False
        self._show_status(view)
        self.history.clear()
        for entry in view.history:
            self.history.addItem(history_text(entry))
        if self.history.count():
            self.history.setCurrentRow(self.history.count() - 1)
        self._update_state()
        self._update_title()

    def _show_status(self, view: referrals.ReferralView) -> None:
        row = view.row
        parts = [_("Status: {status}").format(status=row.status_label)]
        if row.sent_on:
            via = sent_via_labels().get(row.sent_via or "", "")
            parts.append(
                _("versendet am {date} ({via})").format(date=format_date(row.sent_on), via=via)
                if via
                else _("versendet am {date}").format(date=format_date(row.sent_on))
            )
        if row.answered_on:
            parts.append(_("Antwort der Stelle am {date}").format(date=format_date(row.answered_on)))
        if row.due_on and row.status == "sent":
            due = format_date(row.due_on)
            parts.append(
                _("Rückmeldung fällig seit {date} – überfällig").format(date=due)
                if row.overdue
                else _("Rückmeldung erwartet bis {date}").format(date=due)
            )
        if view.rejection_reason:
            parts.append(_("Grund der Ablehnung: {reason}").format(reason=view.rejection_reason))
        if row.outcome_label:
            parts.append(_("Ergebnis: {outcome}").format(outcome=row.outcome_label))
        if view.feedback:
            parts.append(_("Rückmeldung: {text}").format(text=view.feedback))
        if row.status == "draft":
            parts.append(
                _("Schweigepflichtentbindung für diese Stelle: liegt vor")
                if row.has_release
                else _("Schweigepflichtentbindung für diese Stelle: fehlt")
            )
        self.status_label.setText("\n".join(parts))
        if view.consent_override_reason:
            self.override_label.setText(
                _("Ohne Schweigepflichtentbindung versendet. Begründung: {reason}").format(
                    reason=view.consent_override_reason
                )
            )
        self.override_label.setVisible(bool(view.consent_override_reason))

    # --- state -------------------------------------------------------------------------------------------

    def allowed(self) -> set[str]:
        """What the buttons may do now: "save" (a draft), the workflow steps, "letter"."""
        if self.referral_id is None or self.view is None:
            return {"save"}
        reachable = set(self.view.allowed)
        allowed = {step for step, status in STEP_STATUS.items() if status in reachable}
        if self.status == "draft":
            allowed.add("save")
        if self.status != "revoked":
            allowed.add("letter")
        return allowed

    def _update_state(self) -> None:
        allowed = self.allowed()
        editable = "save" in allowed
        for widget in (self.offer, self.find_button, self.plan, self.follow_up):
            widget.setEnabled(editable)
        self.find_button.setVisible(editable)
        # Where it stands comes first once the referral is under way (left, or on top when stacked).
        first = self.what_group if editable else self.state_group
        if self.columns.indexOf(first) != 0:
            self.columns.removeWidget(first)
            self.columns.insertWidget(0, first, 1)
        what = (self.offer, self.find_button, self.plan, self.reason, self.follow_up, self.save_button)
        state = (*self.workflow_buttons, self.history)
        chain = (*what, *state) if editable else (*state, *what)
        for before, after in zip((*chain, self.close_button)[:-1], (*chain, self.close_button)[1:], strict=True):
            QWidget.setTabOrder(before, after)
        self.reason.setReadOnly(not editable)
        self.save_button.setEnabled(editable)
        self.save_button.setVisible(editable)
        for name, button in (
            ("send", self.send_button), ("accept", self.accept_button), ("reject", self.reject_button),
            ("complete", self.complete_button), ("revoke", self.revoke_button),
            ("letter", self.letter_button),
        ):  # fmt: skip
            button.setEnabled(name in allowed)
        if self.referral_id is None:
            self.status_label.setText(
                _("Neu: Angebot wählen und als Entwurf speichern; danach kann die Vermittlung versendet werden.")
            )

    def _update_title(self) -> None:
        title = _("Neue Vermittlung") if self.referral_id is None else _("Vermittlung")
        self.setWindowTitle(f"{title} *" if self.dirty else title)

    def _edited(self, name: str) -> None:
        if self._loading:
            return
        self.dirty = True
        error = self.errors.get(name)
        if error is not None:
            error.show_message(None)
        self._update_title()

    def _offer_changed(self, *, mark: bool = True) -> None:
        row = self._offers.get(self.offer.currentData())
        if row is None:
            self.provider_label.setText("")
        else:
            parts = [_("Träger: {name}").format(name=row.provider_name or "")]
            if row.municipality:
                parts.append(row.municipality)
            if row.access_conditions:
                parts.append(_("Zugang: {text}").format(text=" ".join(row.access_conditions.split())))
            self.provider_label.setText(" · ".join(parts))
        if mark:
            self._edited("offer_id")

    def _show_message(self, text: str | None, *, error: bool = False) -> None:
        self.message.setText(text or "")
        self.message.setStyleSheet(f"color: {ERROR_COLOUR};" if error else "")
        self.message.setVisible(bool(text))

    def _tell(self, text: str) -> QMessageBox:
        self.message_box = _warn(self, text)
        return self.message_box

    # --- the form ----------------------------------------------------------------------------------------

    def offer_id(self) -> tuple[str | None, str | None]:
        """The chosen offer's id, or an error message when the typed text names no offer in the list."""
        text = self.offer.currentText().strip()
        if not text:
            return None, _("Bitte ein Angebot wählen.")
        data = self.offer.currentData()
        if data and self.offer.itemText(self.offer.currentIndex()) == text:
            return data, None
        index = self.offer.findText(text, Qt.MatchFlag.MatchFixedString)
        if index > 0:
            return self.offer.itemData(index), None
        return None, _("Dieses Angebot steht nicht im Verzeichnis. Bitte ein Angebot aus der Liste wählen.")

    def choose_offer(self, offer_id: str) -> None:
        index = self.offer.findData(offer_id)
        if index < 0:
            self._load_options(offer_id)
            index = self.offer.findData(offer_id)
        self.offer.setCurrentIndex(max(0, index))
        self.errors["offer_id"].show_message(None)

    def plan_target(self) -> tuple[str, str] | None:
        """("goal" | "step", id) chosen in the Hilfeplan list, or None."""
        data = self.plan.currentData()
        if not data:
            return None
        kind, _sep, item_id = data.partition(":")
        return kind, item_id

    def choose_plan(self, kind: str, item_id: str) -> None:
        self.plan.setCurrentIndex(max(0, self.plan.findData(f"{kind}:{item_id}")))

    def save(self) -> bool:
        """Store the draft (new or changed); ``True`` when stored."""
        self._show_message(None)
        offer_id, error = self.offer_id()
        for field_error in self.errors.values():
            field_error.show_message(None)
        if error:
            self.errors["offer_id"].show_message(error)
            self.offer.setFocus()
            return False
        target = self.plan_target()
        values = {
            "offer_id": offer_id,
            "goal_id": target[1] if target and target[0] == "goal" else None,
            "step_id": target[1] if target and target[0] == "step" else None,
            "reason": self.reason.toPlainText().strip() or None,
            "follow_up_days": self.follow_up.value() or None,
        }
        try:
            if self.referral_id is None:
                self.referral_id = referrals.create_referral(self.ctx, case_id=self.case_id, **values)
            else:
                referrals.update_referral(
                    self.ctx, self.referral_id, expected_version=self.row.version if self.row else None, **values
                )
        except ValidationError as exc:
            shown = False
            for name, message in exc.field_errors.items():
                key = "goal_id" if name == "step_id" else name
                if key in self.errors:
                    self.errors[key].show_message(message)
                    shown = True
            if not shown:
                self._show_message(exc.message, error=True)
            return False
        except UserError as exc:
            self._show_message(exc.message, error=True)
            return False
        self.dirty = False
        self.reload()
        self._show_message(_("Entwurf gespeichert."))
        self.changed.emit()
        return True

    def _ready(self) -> bool:
        """Unsaved edits of a draft are stored before a workflow step."""
        if self.referral_id is None or (self.dirty and self.status == "draft"):
            return self.save()
        return True

    def _after_step(self, message: str) -> None:
        self.reload()
        self._show_message(message)
        self.changed.emit()

    def _open(self, dialog: QDialog) -> QDialog:
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.open()
        return dialog

    # --- sending and the consent gate -------------------------------------------------------------------

    def start_send(self) -> SendDialog | None:
        """ "Versenden …": ask how it goes out, then send (through the consent gate)."""
        if not self._ready():
            return None
        dialog = SendDialog(self, self._send_chosen)
        self.send_dialog = dialog
        return self._open(dialog)

    def _send_chosen(self, values: dict) -> str | None:
        if values["sent_via"] is None:
            return _("Bitte den Versandweg wählen.")
        if self.send_dialog is not None:
            self.send_dialog.accept()  # closed before the consent gate may open
        self.send(values["sent_via"], values["sent_on"])
        return None

    def send(self, sent_via: str, sent_on: date | None = None, *, override_reason: str | None = None) -> bool:
        """Send; without a valid release the consent gate opens (``consent_dialog``) and ``False`` returns."""
        self._pending_send = {"sent_via": sent_via, "sent_on": sent_on}
        try:
            referrals.send_referral(
                self.ctx, self.referral_id, sent_via=sent_via, sent_on=sent_on, override_reason=override_reason
            )
        except referrals.ConsentRequiredError as exc:
            if override_reason is not None:
                raise  # shown in the reason dialog, which stays open
            self.show_consent_gate(exc.state)
            return False
        except UserError as exc:
            if override_reason is not None:
                raise
            self._tell(exc.message)
            return False
        self._pending_send = None
        via = sent_via_labels().get(sent_via, sent_via)
        self._after_step(
            _("Versendet ({via}), ohne Schweigepflichtentbindung: die Begründung ist protokolliert.").format(via=via)
            if override_reason
            else _("Versendet ({via}).").format(via=via)
        )
        return True

    def show_consent_gate(self, state: str = "missing") -> ConsentGateDialog:
        provider = self.row.provider_name if self.row is not None else ""
        dialog = ConsentGateDialog(self, provider=provider or "", state=state)
        dialog.release_requested.connect(self.open_release_letter)
        dialog.override_requested.connect(self.start_override)
        self.consent_dialog = dialog
        self._open(dialog)
        return dialog

    def open_release_letter(self) -> QDialog | None:
        """The release form (Schweigepflichtentbindung) for the person, addressed to this referral's provider."""
        dialog = self._letter("release")
        if dialog is not None:
            self._show_message(
                _("Bitte die Entbindung unterschreiben lassen und erfassen; danach die Vermittlung versenden.")
            )
        return dialog

    def start_override(self) -> TextStepDialog:
        """ "Trotzdem senden …": a written reason (at least ten characters), then send with it (logged)."""
        short = _(
            "Bitte begründen Sie in mindestens {n} Zeichen, warum ohne Schweigepflichtentbindung gesendet wird."
        ).format(n=MIN_OVERRIDE_CHARS)
        dialog = TextStepDialog(
            self, _("Trotzdem senden"),
            _("Ohne Schweigepflichtentbindung senden: Die Begründung wird mit Datum und Ihrem Namen protokolliert "
              "und ist in der Vermittlung sichtbar."),
            _("Trotzdem &senden"), self._override_given,
            text_label=_("&Begründung:*"), required=short, min_chars=MIN_OVERRIDE_CHARS,
        )  # fmt: skip
        dialog.text.setPlaceholderText(_("z. B. „Person hat mündlich zugestimmt, Unterschrift folgt am …“"))
        self.override_dialog = dialog
        self._open(dialog)
        return dialog

    def _override_given(self, values: dict) -> str | None:
        pending = self._pending_send or {"sent_via": referrals.SENT_VIA[0], "sent_on": None}
        try:
            self.send(pending["sent_via"], pending["sent_on"], override_reason=values["text"])
        except UserError as exc:
            return exc.message
        return None

    # --- the other steps ---------------------------------------------------------------------------------

    def _call(self, fn, *args, message: str, **kwargs) -> str | None:
        try:
            fn(self.ctx, self.referral_id, *args, **kwargs)
        except ValidationError as exc:
            return exc.message
        except UserError as exc:
            return exc.message
        self._after_step(message)
        return None

    def mark_accepted(self) -> bool:
        error = self._call(referrals.accept, message=_("Als angenommen erfasst."))
        if error:
            self._tell(error)
        return error is None

    def start_reject(self) -> TextStepDialog:
        dialog = TextStepDialog(
            self, _("Vermittlung abgelehnt"), _("Die Stelle hat die Vermittlung abgelehnt. Warum?"),
            _("Als a&bgelehnt erfassen"),
            lambda v: self._call(referrals.reject, v["text"], message=_("Als abgelehnt erfasst.")),
            text_label=_("&Grund:*"), required=_("Bitte den Grund der Ablehnung angeben."),
        )  # fmt: skip
        self.step_dialog = dialog
        self._open(dialog)
        return dialog

    def start_complete(self) -> TextStepDialog:
        from ..services.codes import code_labels

        with self.ctx.read() as session:
            outcomes = code_labels(session, "referral_outcome", current_language(), active_only=True)
        dialog = TextStepDialog(
            self, _("Vermittlung abschließen"),
            _("Was hat die Stelle zurückgemeldet, und wie ist die Vermittlung ausgegangen?"),
            _("A&bschließen"),
            lambda v: self._call(
                referrals.complete, v["outcome"], v["text"], message=_("Abgeschlossen; das Ergebnis ist erfasst.")
            ),
            text_label=_("&Rückmeldung der Stelle:"), outcomes=outcomes,
        )  # fmt: skip
        self.step_dialog = dialog
        self._open(dialog)
        return dialog

    def start_revoke(self) -> TextStepDialog:
        dialog = TextStepDialog(
            self, _("Vermittlung widerrufen"),
            _("Die Vermittlung wird zurückgenommen (z. B. auf Wunsch der Person). Bitte kurz festhalten, warum."),
            _("&Widerrufen"),
            lambda v: self._call(referrals.revoke, v["text"], message=_("Die Vermittlung ist widerrufen.")),
            text_label=_("&Notiz:*"), required=_("Bitte kurz festhalten, warum widerrufen wird."),
        )  # fmt: skip
        self.step_dialog = dialog
        self._open(dialog)
        return dialog

    def open_letter(self) -> QDialog | None:
        """ "Vermittlungsschreiben …": the referral letter with reply slip."""
        return self._letter("referral")

    def _letter(self, key: str) -> QDialog | None:
        if self.referral_id is None:
            return None
        from .letter_dialog import LetterDialog

        try:
            dialog = LetterDialog(
                self.ctx, person_id=self.person_id, case_id=self.case_id, referral_id=self.referral_id, parent=self
            )
        except UserError as exc:
            self._tell(exc.message)
            return None
        index = dialog.template.findData(key)
        if index >= 0 and dialog.template.currentIndex() != index:
            dialog.template.setCurrentIndex(index)
        self.letter_dialog = dialog
        return self._open(dialog)

    # --- finding an offer --------------------------------------------------------------------------------

    def find_offer(self) -> QDialog:
        """The directory in a dialog; "Übernehmen" puts the chosen offer into the form."""
        from .directory_page import DirectoryPage

        dialog = QDialog(self)
        dialog.setWindowTitle(_("Angebot suchen"))
        page = DirectoryPage(self.ctx, case_id=self.case_id, parent=dialog)
        page.heading.setVisible(False)
        page.refer_button.setText(_("Ü&bernehmen"))
        page.refer_button.setAccessibleName(_("Angebot in die Vermittlung übernehmen"))
        page.refer_requested.connect(lambda offer_id: (self.choose_offer(offer_id), dialog.accept()))
        page.changed.connect(lambda: self._load_options(self.offer.currentData()))
        close = QPushButton(_("Schließen"))
        close.setAccessibleName(_("Schließen"))
        close.setAutoDefault(False)
        close.clicked.connect(dialog.reject)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(close)
        layout = QVBoxLayout(dialog)
        layout.addWidget(page, 1)
        layout.addLayout(row)
        dialog.page = page
        fit_to_screen(dialog, 1100, 680)
        self.picker_dialog = dialog
        self._open(dialog)
        page.search.setFocus()
        return dialog

    # --- closing -----------------------------------------------------------------------------------------

    def discard_changes(self) -> None:
        self.dirty = False

    def reject(self) -> None:
        if self.dirty and "save" in self.allowed():
            answer = QMessageBox.question(
                self, APP_NAME,
                _("Die Änderungen an der Vermittlung sind noch nicht gespeichert. Schließen und verwerfen?"),
                QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel,
            )  # fmt: skip
            if answer != QMessageBox.StandardButton.Discard:
                return
            self.dirty = False
        super().reject()


def offer_text(row) -> str:
    """"Title – Provider (Ort)" for the offer list; expired ones say so."""
    text = row.title
    if row.provider_name:
        text += f" – {row.provider_name}"
    if row.municipality:
        text += f" ({row.municipality})"
    if getattr(row, "expired", False):
        text = _("{offer} – abgelaufen").format(offer=text)
    return text


def history_text(entry: referrals.StatusChangeRow) -> str:
    """One status change: date, from → to, who, note."""
    before = entry.from_label if entry.from_status else _("neu")
    text = f"{format_date(entry.changed_on)}: {before} → {entry.to_label}"
    if entry.changed_by_name:
        text += " · " + _("von {name}").format(name=entry.changed_by_name)
    if entry.note:
        text += f" – {entry.note}"
    return text

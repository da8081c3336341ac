"""Einstellungen: the office's letterhead (profile, logo, letter form), the letter template editor and the
data protection settings (retention period, backup folder, consent reminders, inactivity lock).

Everything is written through ``services.office`` (validated, audited); this module only shows and collects.
The template preview renders the edited, unsaved text with synthetic sample data into a PDF and shows page 1
(pypdfium2), debounced so typing stays fluent.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFontDatabase, QImage, QKeySequence, QPainter, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..errors import UserError, ValidationError
from ..i18n import _, language_name, ngettext
from ..services import letter_templates, office, protection_settings
from . import theme
from .widgets import FieldError, add_field

log = logging.getLogger(__name__)

PREVIEW_DELAY_MS = 400
READING_SCALE = 96 / 72  # PDF points → pixels at 100 %
PREVIEW_MAX_PAGES = 6
PAGE_GAP = 8  # pixels between pages in the preview
ERROR_STYLE = theme.error_style()
OK_STYLE = theme.ok_style()
BANNER_STYLE = theme.banner_style()
LOGO_BOX = (260, 90)  # thumbnail box in device-independent pixels

#: List placeholders are inserted as a loop (printing the list itself would show Python brackets).
PLACEHOLDER_SNIPPETS = {
    "person.anschrift": '{{ person.anschrift | join(", ") }}',
    "fall.ziele": "{% for ziel in fall.ziele %}\nZiel {{ loop.index }}: {{ ziel.titel }}\n{% endfor %}",
    "auskunft.abschnitte": (
        "{% for abschnitt in auskunft.abschnitte %}\n{{ abschnitt.titel }}\n"
        "{% for zeile in abschnitt.zeilen %}\n{{ zeile }}\n{% endfor %}\n\n{% endfor %}"
    ),
}


def placeholder_snippet(name: str) -> str:
    return PLACEHOLDER_SNIPPETS.get(name, "{{ " + name + " }}")


def ask_unsaved(parent: QWidget, text: str) -> str:
    """ "save", "discard" or "cancel" (Esc); German buttons independent of Qt's own translations."""
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


def confirm(parent: QWidget, title: str, text: str, yes: str) -> bool:
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle(title)
    box.setText(text)
    ok = box.addButton(yes, QMessageBox.ButtonRole.AcceptRole)
    cancel = box.addButton(_("&Abbrechen"), QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(cancel)
    box.setEscapeButton(cancel)
    box.exec()
    return box.clickedButton() is ok


def _status(label: QLabel, message: str, *, error: bool = False) -> None:
    label.setStyleSheet(ERROR_STYLE if error else OK_STYLE)
    label.setText(message)
    label.setVisible(bool(message))


# --- Dienststelle ------------------------------------------------------------------------------------------


def office_captions() -> dict[str, str]:
    """Form captions with accelerators (literal ``_()`` calls for the catalogue)."""
    return {
        "organisation": _("Dienststelle / &Organisation:"),
        "unit": _("Organisations&einheit:"),
        "street": _("S&traße und Hausnummer:"),
        "postcode": _("&PLZ:"),
        "city": _("O&rt:"),
        "phone": _("Te&lefon:"),
        "email": _("E-&Mail:"),
        "office_hours": _("Sprech&zeiten:"),
        "dpo_contact": _("Kontakt Datensc&hutzbeauftragte/r:"),
    }


class OfficeTab(QWidget):
    """Letterhead data, logo and letter form of the office."""

    changed = Signal()  # profile, form or logo stored: the template preview shows the new letterhead

    def __init__(self, ctx, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.inputs: dict[str, QLineEdit | QPlainTextEdit] = {}
        self.errors: dict[str, FieldError] = {}
        self._loaded: dict[str, str] = {}
        self._loaded_form = "B"

        outer = QVBoxLayout(self)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        content = QWidget()
        scroll.setWidget(content)
        outer.addWidget(scroll)
        columns = QHBoxLayout(content)

        letterhead = QGroupBox(_("Briefkopf und Fußzeile"))
        letterhead_layout = QVBoxLayout(letterhead)
        form = QFormLayout()
        letterhead_layout.addLayout(form)
        letterhead_layout.addStretch(1)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        tips = {
            "organisation": _("Steht fett oben im Briefkopf und in der Rücksendeangabe."),
            "postcode": _("5 Ziffern"),
            "office_hours": _("z. B. Mo–Do 9–12 Uhr, Do 14–17 Uhr"),
            "dpo_contact": _("Bis zu 3 Zeilen, erscheint in der Fußzeile jedes Briefes."),
        }
        for name, caption in office_captions().items():
            if name == "dpo_contact":
                widget: QLineEdit | QPlainTextEdit = QPlainTextEdit()
                widget.setTabChangesFocus(True)
                line = widget.fontMetrics().lineSpacing()
                widget.setFixedHeight(line * 4 + 12)
            else:
                widget = QLineEdit()
                widget.setMaxLength(office.MAX_LENGTHS[name] + 20)  # longer input gets the German message
            if name == "postcode":
                widget.setMaximumWidth(widget.fontMetrics().horizontalAdvance("0") * 9 + 16)
            self.inputs[name] = widget
            self.errors[name] = add_field(form, caption, widget, tip=tips.get(name))
        columns.addWidget(letterhead, 3)

        side = QVBoxLayout()
        logo_box = QGroupBox(_("Logo"))
        logo_layout = QVBoxLayout(logo_box)
        self.logo_view = QLabel()
        self.logo_view.setMinimumSize(*LOGO_BOX)
        self.logo_view.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.logo_view.setFrameShape(QFrame.Shape.StyledPanel)
        self.logo_view.setAccessibleName(_("Logo-Vorschau"))
        logo_layout.addWidget(self.logo_view)
        hint = QLabel(_("PNG, JPEG, GIF oder BMP bis 5 MB; erscheint oben rechts im Briefkopf."))
        hint.setWordWrap(True)
        logo_layout.addWidget(hint)
        logo_buttons = QHBoxLayout()
        self.logo_button = QPushButton(_("Logo &wählen …"))
        self.logo_button.setAccessibleName(_("Logo wählen"))
        self.logo_button.clicked.connect(self._pick_logo)
        self.clear_logo_button = QPushButton(_("Logo entfer&nen"))
        self.clear_logo_button.setAccessibleName(_("Logo entfernen"))
        self.clear_logo_button.clicked.connect(self.clear_logo)
        logo_buttons.addWidget(self.logo_button)
        logo_buttons.addWidget(self.clear_logo_button)
        logo_buttons.addStretch(1)
        logo_layout.addLayout(logo_buttons)
        self.logo_error = QLabel()
        self.logo_error.setWordWrap(True)
        self.logo_error.setVisible(False)
        logo_layout.addWidget(self.logo_error)
        side.addWidget(logo_box)

        form_box = QGroupBox(_("Briefform (DIN 5008)"))
        form_layout = QVBoxLayout(form_box)
        self.form_b = QRadioButton(_("&Form B (Standard)"))
        self.form_b.setAccessibleName(_("Form B"))
        explain_b = _("Anschriftfeld 45 mm von oben, Standard")
        self.form_b.setAccessibleDescription(explain_b)
        self.form_a = QRadioButton(_("Form &A"))
        self.form_a.setAccessibleName(_("Form A"))
        explain_a = _("Anschriftfeld 27 mm von oben, für Briefbögen mit kleinem Kopf")
        self.form_a.setAccessibleDescription(explain_a)
        self.form_group = QButtonGroup(self)
        for button, text in ((self.form_b, explain_b), (self.form_a, explain_a)):
            self.form_group.addButton(button)
            form_layout.addWidget(button)
            label = QLabel(text)
            label.setWordWrap(True)
            label.setIndent(24)
            form_layout.addWidget(label)
        side.addWidget(form_box)
        side.addStretch(1)
        columns.addLayout(side, 2)

        buttons = QHBoxLayout()
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setVisible(False)
        buttons.addWidget(self.status, 1)
        self.save_button = QPushButton(_("Dienststelle &speichern"))
        self.save_button.setAccessibleName(_("Angaben der Dienststelle speichern"))
        self.save_button.clicked.connect(self.save)
        buttons.addWidget(self.save_button)
        outer.addLayout(buttons)
        QShortcut(
            QKeySequence.StandardKey.Save,
            self,
            self.save,
            context=Qt.ShortcutContext.WidgetWithChildrenShortcut,
        )
        self.load()

    # --- data ---

    def values(self) -> dict[str, str]:
        result = {}
        for name, widget in self.inputs.items():
            result[name] = widget.toPlainText() if isinstance(widget, QPlainTextEdit) else widget.text()
        return result

    def selected_form(self) -> str:
        return "A" if self.form_a.isChecked() else "B"

    def load(self) -> None:
        with self.ctx.read() as session:
            profile = office.load_profile(session)
            form = office.letter_form(session)
            logo = office.load_logo(session)
        for name, widget in self.inputs.items():
            if isinstance(widget, QPlainTextEdit):
                widget.setPlainText(profile[name])
            else:
                widget.setText(profile[name])
            self.errors[name].show_message(None)
        (self.form_a if form == "A" else self.form_b).setChecked(True)
        self._loaded = self.values()
        self._loaded_form = form
        self._show_logo(logo)

    @property
    def dirty(self) -> bool:
        return self.values() != self._loaded or self.selected_form() != self._loaded_form

    def save(self) -> bool:
        for error in self.errors.values():
            error.show_message(None)
        changed = {name: value for name, value in self.values().items() if value != self._loaded.get(name)}
        try:
            if changed:
                office.save_profile(self.ctx, changed)
            if self.selected_form() != self._loaded_form:
                office.set_letter_form(self.ctx, self.selected_form())
        except ValidationError as exc:
            first = None
            for name, message in exc.field_errors.items():
                if name in self.errors:
                    self.errors[name].show_message(message)
                    first = first or self.inputs[name]
            if first is not None:
                first.setFocus()
            _status(self.status, _("Nicht gespeichert: bitte die markierten Angaben prüfen."), error=True)
            return False
        except UserError as exc:
            _status(self.status, exc.message, error=True)
            return False
        self.load()
        _status(self.status, _("Die Angaben der Dienststelle sind gespeichert."))
        self.changed.emit()
        return True

    # --- logo ---

    def _show_logo(self, png: bytes | None) -> None:
        pixmap = QPixmap()
        if png is not None and pixmap.loadFromData(png, "PNG"):
            ratio = self.devicePixelRatioF() or 1.0
            scaled = pixmap.scaled(
                int(LOGO_BOX[0] * ratio),
                int(LOGO_BOX[1] * ratio),
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
            scaled.setDevicePixelRatio(ratio)
            self.logo_view.setPixmap(scaled)
            self.logo_view.setAccessibleDescription(_("Ein Logo ist gespeichert."))
            self.clear_logo_button.setEnabled(True)
        else:
            self.logo_view.setPixmap(QPixmap())
            self.logo_view.setText(_("Kein Logo"))
            self.logo_view.setAccessibleDescription(_("Kein Logo gespeichert."))
            self.clear_logo_button.setEnabled(False)

    def _pick_logo(self) -> None:
        name, _filter = QFileDialog.getOpenFileName(
            self,
            _("Logo wählen"),
            str(Path.home()),
            _("Bilder (*.png *.jpg *.jpeg *.gif *.bmp);;Alle Dateien (*)"),
        )
        if name:
            self.choose_logo(Path(name))

    def choose_logo(self, path: Path) -> bool:
        """Store the image at ``path`` as the logo right away (the file dialog's result)."""
        try:
            size = office.set_logo(self.ctx, path)
        except UserError as exc:
            _status(self.logo_error, exc.message, error=True)
            return False
        with self.ctx.read() as session:
            self._show_logo(office.load_logo(session))
        self.changed.emit()
        _status(
            self.logo_error,
            _("Logo gespeichert ({width} × {height} Pixel).").format(
                width=size["width"], height=size["height"]
            ),
        )
        return True

    def clear_logo(self) -> None:
        office.clear_logo(self.ctx)
        self._show_logo(None)
        _status(self.logo_error, _("Logo entfernt."))
        self.changed.emit()


# --- Briefvorlagen -----------------------------------------------------------------------------------------


class _EnterInserts(QObject):
    """Enter/Return on the placeholder list inserts the current placeholder."""

    def __init__(self, callback, parent=None) -> None:
        super().__init__(parent)
        self.callback = callback

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt API)
        if event.type() == QEvent.Type.KeyPress and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.callback()
            return True
        return False


class TemplateTab(QWidget):
    """The template editor: choose a template, edit title, subject and text, see a sample letter."""

    def __init__(self, ctx, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.source: letter_templates.TemplateSource | None = None
        self._loaded = ("", "", "")
        self._key: str | None = None
        self._language = "de"
        self.preview_error: str | None = None
        self._jump_to_translation = False

        outer = QVBoxLayout(self)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setChildrenCollapsible(False)
        outer.addWidget(splitter, 1)

        # left: language, template list, placeholders
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        language_label = QLabel(_("Sp&rache:"))
        self.language = QComboBox()
        self.language.setAccessibleName(_("Sprache der Vorlagen"))
        for code in office.template_languages():
            self.language.addItem(language_name(code) or code, code)
        language_label.setBuddy(self.language)
        left_layout.addWidget(language_label)
        left_layout.addWidget(self.language)
        list_label = QLabel(_("V&orlage:"))
        self.templates = QListWidget()
        self.templates.setAccessibleName(_("Vorlagen"))
        self.templates.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.templates.setWordWrap(True)
        self.templates.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        list_label.setBuddy(self.templates)
        left_layout.addWidget(list_label)
        left_layout.addWidget(self.templates, 2)
        filter_label = QLabel(_("Platzhalter &filtern:"))
        self.placeholder_filter = QLineEdit()
        self.placeholder_filter.setAccessibleName(_("Platzhalter filtern"))
        self.placeholder_filter.setClearButtonEnabled(True)
        filter_label.setBuddy(self.placeholder_filter)
        left_layout.addWidget(filter_label)
        left_layout.addWidget(self.placeholder_filter)
        self.placeholders = QTreeWidget()
        self.placeholders.setAccessibleName(_("Platzhalter"))
        self.placeholders.setAccessibleDescription(
            _("Doppelklick oder Eingabetaste fügt den Platzhalter an der Schreibmarke im Text ein.")
        )
        self.placeholders.setToolTip(self.placeholders.accessibleDescription())
        self.placeholders.setHeaderLabels([_("Platzhalter"), _("Bedeutung")])
        self.placeholders.setRootIsDecorated(False)
        self.placeholders.setUniformRowHeights(True)
        self.placeholders.setWordWrap(False)
        self.placeholders.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        for name, description in letter_templates.PLACEHOLDERS.items():
            item = QTreeWidgetItem([name, description])
            item.setToolTip(1, description)
            item.setData(0, Qt.ItemDataRole.UserRole, name)
            self.placeholders.addTopLevelItem(item)
        left_layout.addWidget(self.placeholders, 3)
        self.placeholder_help = QLabel(_("Doppelklick oder Eingabetaste fügt ein."))
        self.placeholder_help.setWordWrap(True)
        self.placeholder_help.setMinimumHeight(self.placeholder_help.fontMetrics().lineSpacing() * 3)
        self.placeholder_help.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        left_layout.addWidget(self.placeholder_help)
        splitter.addWidget(left)

        # middle: the editor
        middle = QWidget()
        middle_layout = QVBoxLayout(middle)
        middle_layout.setContentsMargins(0, 0, 0, 0)
        self.review_banner = QLabel(
            _(
                "⚠ Diese Übersetzung ist noch nicht geprüft: bitte fachlich prüfen lassen, bevor Briefe mit "
                "dieser Vorlage verschickt werden."
            )
        )
        self.review_banner.setWordWrap(True)
        self.review_banner.setStyleSheet(BANNER_STYLE)
        self.review_banner.setAccessibleName(_("Hinweis: fachlich prüfen lassen"))
        self.review_banner.setVisible(False)
        middle_layout.addWidget(self.review_banner)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.title = QLineEdit()
        self.subject = QLineEdit()
        self.errors = {
            "title": add_field(form, _("&Titel:"), self.title),
            "subject": add_field(
                form, _("Betr&eff:"), self.subject, tip=_("Eine Zeile; Platzhalter sind erlaubt.")
            ),
        }
        middle_layout.addLayout(form)
        text_label = QLabel(_("Te&xt (zwischen Anrede und Grußformel):"))
        self.body = QPlainTextEdit()
        self.body.setAccessibleName(_("Text der Vorlage"))
        self.body.setAccessibleDescription(
            _("Absätze durch eine Leerzeile trennen. Platzhalter stehen in {{ … }}, Befehle in {% … %}.")
        )
        self.body.setTabChangesFocus(True)
        self.body.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        mono.setPointSizeF(max(mono.pointSizeF(), self.font().pointSizeF()))
        self.body.setFont(mono)
        text_label.setBuddy(self.body)
        middle_layout.addWidget(text_label)
        middle_layout.addWidget(self.body, 1)
        self.errors["body"] = FieldError(self.body)
        middle_layout.addWidget(self.errors["body"])
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setVisible(False)
        middle_layout.addWidget(self.status)
        row = QHBoxLayout()
        self.save_button = QPushButton(_("Vorlage &speichern"))
        self.save_button.setAccessibleName(_("Vorlage speichern"))
        self.restore_button = QPushButton(_("Standard &wiederherstellen"))
        self.restore_button.setAccessibleName(_("Standardtext wiederherstellen"))
        self.export_button = QPushButton(_("Ex&portieren …"))
        self.export_button.setAccessibleName(_("Vorlage exportieren"))
        self.import_button = QPushButton(_("&Importieren …"))
        self.import_button.setAccessibleName(_("Vorlage importieren"))
        for button in (self.save_button, self.restore_button, self.export_button, self.import_button):
            row.addWidget(button)
        row.addStretch(1)
        middle_layout.addLayout(row)
        splitter.addWidget(middle)

        # right: the preview
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        preview_head = QHBoxLayout()
        preview_head.addWidget(QLabel(_("Vorschau mit Beispieldaten:")), 1)
        self.reading_size = QCheckBox(_("&Lesegröße"))
        self.reading_size.setAccessibleName(_("Vorschau in Lesegröße statt an die Breite angepasst"))
        self.reading_size.toggled.connect(lambda _checked: self.update_preview())
        preview_head.addWidget(self.reading_size)
        right_layout.addLayout(preview_head)
        self.preview_scroll = QScrollArea()
        self.preview_scroll.setWidgetResizable(True)
        self.preview_scroll.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.preview_scroll.setAccessibleName(_("Vorschau des Briefes"))
        self.preview = QLabel()
        self.preview.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.preview.setWordWrap(True)
        self.preview.setAccessibleName(_("Vorschau des Beispielbriefs"))
        self.preview.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.preview_scroll.setWidget(self.preview)
        right_layout.addWidget(self.preview_scroll, 1)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 4)
        splitter.setStretchFactor(2, 3)
        self.splitter = splitter
        self._sized = False

        self.preview_timer = QTimer(self)
        self.preview_timer.setSingleShot(True)
        self.preview_timer.setInterval(PREVIEW_DELAY_MS)
        self.preview_timer.timeout.connect(self.update_preview)

        self.language.currentIndexChanged.connect(self._language_changed)
        self.templates.currentRowChanged.connect(self._template_changed)
        self.placeholder_filter.textChanged.connect(self.filter_placeholders)
        self.placeholders.itemDoubleClicked.connect(lambda item, _col: self.insert_placeholder(item))
        self.placeholders.currentItemChanged.connect(self._describe_placeholder)
        self._enter_filter = _EnterInserts(
            lambda: self.insert_placeholder(self.placeholders.currentItem()), self
        )
        self.placeholders.installEventFilter(self._enter_filter)
        self.preview_scroll.viewport().installEventFilter(self)
        for widget in (self.title, self.subject):
            widget.textChanged.connect(self._edited)
        self.body.textChanged.connect(self._edited)
        self.save_button.clicked.connect(self.save)
        self.restore_button.clicked.connect(self.restore_default)
        self.export_button.clicked.connect(self._pick_export)
        self.import_button.clicked.connect(self._pick_import)
        QShortcut(
            QKeySequence.StandardKey.Save,
            self,
            self.save,
            context=Qt.ShortcutContext.WidgetWithChildrenShortcut,
        )

        self._fill_list()
        if self.templates.count():
            self.templates.setCurrentRow(0)

    # --- list and loading ---

    @property
    def language_code(self) -> str:
        return self.language.currentData() or "de"

    def current_key(self) -> str | None:
        return self._key

    def _fill_list(self, select_key: str | None = None) -> None:
        self._language = self.language_code
        with self.ctx.read() as session:
            entries = [
                (key, letter_templates.get_template(session, key, self._language).title)
                for key in office.template_keys(self._language)
            ]
        self.templates.blockSignals(True)
        self.templates.clear()
        for key, title in entries:
            item = QListWidgetItem(title)
            item.setToolTip(title)
            item.setData(Qt.ItemDataRole.UserRole, key)
            self.templates.addItem(item)
        self.templates.blockSignals(False)
        if select_key is not None:
            self.select_template(select_key)

    def select_template(self, key: str) -> None:
        for row in range(self.templates.count()):
            if self.templates.item(row).data(Qt.ItemDataRole.UserRole) == key:
                self.templates.setCurrentRow(row)
                # no signal when the row was current already; a cancelled question moved the row back
                if self.templates.currentRow() == row and self._key != key:
                    self.load_template(key)
                return

    def load_template(self, key: str) -> None:
        with self.ctx.read() as session:
            source = letter_templates.get_template(session, key, self._language)
        self.source = source
        self._key = key
        for widget in (self.title, self.subject, self.body):
            widget.blockSignals(True)
        self.title.setText(source.title)
        self.subject.setText(source.subject)
        self.body.setPlainText(source.body)
        for widget in (self.title, self.subject, self.body):
            widget.blockSignals(False)
        self._loaded = (source.title, source.subject, source.body)
        self.review_banner.setVisible(bool(source.review_note))
        self._jump_to_translation = True
        for error in self.errors.values():
            error.show_message(None)
        _status(self.status, "")
        self.schedule_preview()

    def _template_changed(self, row: int) -> None:
        item = self.templates.item(row)
        if item is None:
            return
        key = item.data(Qt.ItemDataRole.UserRole)
        if key == self._key:
            return
        if not self.maybe_save():
            self._select_row_quietly(self._key)
            return
        self.load_template(key)

    def _select_row_quietly(self, key: str | None) -> None:
        self.templates.blockSignals(True)
        for row in range(self.templates.count()):
            if self.templates.item(row).data(Qt.ItemDataRole.UserRole) == key:
                self.templates.setCurrentRow(row)
        self.templates.blockSignals(False)

    def _language_changed(self, _index: int) -> None:
        if self.language_code == self._language:
            return
        if not self.maybe_save():
            self.language.blockSignals(True)
            self.language.setCurrentIndex(self.language.findData(self._language))
            self.language.blockSignals(False)
            return
        key = self._key
        self._key = None
        self._fill_list()
        keys = office.template_keys(self._language)
        if keys:
            self.select_template(key if key in keys else keys[0])

    # --- editing ---

    def edited_values(self) -> tuple[str, str, str]:
        return self.title.text(), self.subject.text(), self.body.toPlainText()

    @property
    def dirty(self) -> bool:
        return self._key is not None and self.edited_values() != self._loaded

    def _edited(self) -> None:
        self.schedule_preview()

    def maybe_save(self) -> bool:
        """True when it is fine to leave the current template (saved, discarded or unchanged)."""
        if not self.dirty:
            return True
        answer = ask_unsaved(
            self,
            _("Die Änderungen an der Vorlage „{title}“ sind noch nicht gespeichert. Jetzt speichern?").format(
                title=self._loaded[0]
            ),
        )
        if answer == "save":
            return self.save()
        if answer == "discard":
            self._loaded = self.edited_values()  # the next load replaces the text
            return True
        return False

    def filter_placeholders(self, text: str) -> None:
        needle = text.strip().casefold()
        for index in range(self.placeholders.topLevelItemCount()):
            item = self.placeholders.topLevelItem(index)
            haystack = f"{item.text(0)} {item.text(1)}".casefold()
            item.setHidden(bool(needle) and needle not in haystack)

    def _describe_placeholder(self, item: QTreeWidgetItem | None, _previous=None) -> None:
        if item is None:
            self.placeholder_help.setText(_("Doppelklick oder Eingabetaste fügt ein."))
            return
        self.placeholder_help.setText(
            _("{name}: {description} – Doppelklick oder Eingabetaste fügt ein.").format(
                name=item.text(0), description=item.text(1)
            )
        )

    def insert_placeholder(self, item: QTreeWidgetItem | None) -> None:
        if item is None or item.isHidden():
            return
        name = item.data(0, Qt.ItemDataRole.UserRole)
        self.body.insertPlainText(placeholder_snippet(name))
        self.body.setFocus()

    def save(self) -> bool:
        if self._key is None:
            return False
        for error in self.errors.values():
            error.show_message(None)
        title, subject, body = self.edited_values()
        try:
            stored = office.save_template(
                self.ctx, self._key, title=title, subject=subject, body=body, language=self._language
            )
        except ValidationError as exc:
            first = None
            for name, message in exc.field_errors.items():
                target = name if name in self.errors else "body"
                self.errors[target].show_message(message)
                first = first or {"title": self.title, "subject": self.subject}.get(target, self.body)
            _status(self.status, _("Nicht gespeichert: bitte die Hinweise oben beachten."), error=True)
            if first is not None:
                first.setFocus()
            return False
        except UserError as exc:
            _status(self.status, exc.message, error=True)
            return False
        self.source = stored
        self._loaded = (stored.title, stored.subject, stored.body)
        if (self.title.text(), self.subject.text(), self.body.toPlainText()) != self._loaded:
            self.load_template(self._key)  # normalised by the service (whitespace in title/subject)
        item = self.templates.currentItem()
        if item is not None:
            item.setText(stored.title)
        _status(self.status, _("Gespeichert (Fassung {n}).").format(n=stored.revision))
        return True

    def restore_default(self) -> bool:
        if self._key is None:
            return False
        if not confirm(
            self,
            _("Standard wiederherstellen"),
            _(
                "Den mitgelieferten Text der Vorlage „{title}“ wiederherstellen? Die Änderungen Ihrer Dienststelle "
                "an dieser Vorlage werden dabei ersetzt (als neue Fassung gespeichert)."
            ).format(title=self._loaded[0]),
            _("&Wiederherstellen"),
        ):
            return False
        try:
            stored = office.restore_template(self.ctx, self._key, self._language)
        except UserError as exc:
            _status(self.status, exc.message, error=True)
            return False
        key = self._key
        self._fill_list()
        self._key = None
        self.select_template(key)
        _status(
            self.status, _("Der Standardtext ist wiederhergestellt (Fassung {n}).").format(n=stored.revision)
        )
        return True

    # --- files ---

    def _pick_export(self) -> None:
        if self._key is None or not self.maybe_save():
            return
        name, _filter = QFileDialog.getSaveFileName(
            self,
            _("Vorlage exportieren"),
            str(Path.home() / f"{self._key}.kimvorlage"),
            _("KIM-Vorlage (*.kimvorlage);;Jinja-Vorlage (*.j2)"),
        )
        if name:
            self.export_to(Path(name))

    def export_to(self, path: Path) -> Path | None:
        """Write the stored template to ``path`` (``.kimvorlage`` added when the name has no known ending)."""
        if self._key is None:
            return None
        if path.suffix.lower() not in office.TEMPLATE_FILE_SUFFIXES:
            path = path.with_name(path.name + ".kimvorlage")
        try:
            written = office.export_template_file(self.ctx, self._key, path, self._language)
        except UserError as exc:
            _status(self.status, exc.message, error=True)
            return None
        _status(self.status, _("Exportiert: {path}").format(path=written))
        return written

    def _pick_import(self) -> None:
        if not self.maybe_save():
            return
        name, _filter = QFileDialog.getOpenFileName(
            self,
            _("Vorlage importieren"),
            str(Path.home()),
            _("Briefvorlagen (*.kimvorlage *.j2);;Alle Dateien (*)"),
        )
        if name:
            self.import_from(Path(name))

    def import_from(self, path: Path) -> bool:
        try:
            stored = office.import_template_file(self.ctx, path, self._language)
        except UserError as exc:
            message = exc.message
            if isinstance(exc, ValidationError):
                message = " ".join(exc.field_errors.values())
            _status(self.status, _("Nicht importiert: {message}").format(message=message), error=True)
            return False
        self._key = None
        self._fill_list(select_key=stored.key)
        _status(
            self.status,
            _("„{title}“ importiert (Fassung {n}).").format(title=stored.title, n=stored.revision),
        )
        return True

    # --- preview ---

    def schedule_preview(self) -> None:
        self.preview_timer.start()

    def update_preview(self) -> None:
        """Render the edited (unsaved) text with sample data; show the pages or the German error message."""
        self.preview_timer.stop()
        if self._key is None:
            return
        _title, subject, body = self.edited_values()
        try:
            with self.ctx.read() as session:
                pdf = office.preview_pdf(session, subject, body, self._language, key=self._key)
            image, page_tops = self._pages_image(pdf)
        except UserError as exc:
            message = " ".join(exc.field_errors.values()) if isinstance(exc, ValidationError) else exc.message
            self._show_preview_message(message)
            return
        except Exception as exc:  # noqa: BLE001 - the preview must never take the editor down
            log.error("preview failed: %s", type(exc).__name__)
            self._show_preview_message(_("Die Vorschau kann nicht angezeigt werden."))
            return
        self.preview_error = None
        self.preview.setStyleSheet("")
        self.preview.setPixmap(QPixmap.fromImage(image))
        ratio = image.devicePixelRatio() or 1.0
        width = (
            int(image.width() / ratio) if self.reading_size.isChecked() else 0
        )  # reading size: scroll bars
        self.preview.setMinimumSize(width, int(image.height() / ratio))
        self.preview.setAccessibleDescription(
            ngettext("Beispielbrief, {n} Seite", "Beispielbrief, {n} Seiten", len(page_tops)).format(
                n=len(page_tops)
            )
        )
        if self._jump_to_translation:
            # A translation follows the German letter: show where it usually starts (page 2), once per template.
            self._jump_to_translation = False
            target = page_tops[1] if self._language != "de" and len(page_tops) > 1 else 0
            self.preview_scroll.widget().adjustSize()
            self.preview_scroll.verticalScrollBar().setValue(target)

    def _show_preview_message(self, message: str) -> None:
        self.preview_error = message
        self.preview.setPixmap(QPixmap())
        self.preview.setMinimumSize(0, 0)
        self.preview.setStyleSheet(ERROR_STYLE)
        self.preview.setText(_("Keine Vorschau: {message}").format(message=message))
        self.preview.setAccessibleDescription(self.preview.text())

    def _pages_image(self, pdf: bytes) -> tuple[QImage, list[int]]:
        """The letter's pages one below the other (at most ``PREVIEW_MAX_PAGES``) and each page's top in
        device-independent pixels."""
        import pypdfium2 as pdfium

        ratio = self.devicePixelRatioF() or 1.0
        scrollbar = self.preview_scroll.verticalScrollBar()
        reserve = 0 if scrollbar.isVisible() else scrollbar.sizeHint().width()  # a tall preview brings one
        width = max(self.preview_scroll.viewport().width() - reserve - 4, 200)
        pages: list[QImage] = []
        document = pdfium.PdfDocument(pdf)
        try:
            for index in range(min(len(document), PREVIEW_MAX_PAGES)):
                page = document[index]
                try:
                    if self.reading_size.isChecked():
                        scale = READING_SCALE * ratio  # about the printed size on a 96 dpi screen
                    else:
                        scale = width * ratio / page.get_width()
                    bitmap = page.render(scale=scale, rev_byteorder=True)
                    try:
                        pages.append(
                            QImage(
                                bytes(bitmap.buffer),
                                bitmap.width,
                                bitmap.height,
                                bitmap.stride,
                                QImage.Format.Format_RGB888,
                            ).copy()
                        )
                    finally:
                        bitmap.close()
                finally:
                    page.close()
        finally:
            document.close()
        gap = int(PAGE_GAP * ratio)
        sheet = QImage(
            max(p.width() for p in pages),
            sum(p.height() for p in pages) + gap * (len(pages) - 1),
            QImage.Format.Format_RGB888,
        )
        sheet.fill(QColor("#8a8a8a"))
        tops: list[int] = []
        painter = QPainter(sheet)
        y = 0
        for page_image in pages:
            tops.append(int(y / ratio))
            painter.drawImage(0, y, page_image)
            y += page_image.height() + gap
        painter.end()
        sheet.setDevicePixelRatio(ratio)
        return sheet, tops

    def showEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().showEvent(event)
        if not self._sized:  # list and placeholders | editor | preview, once, from the real width
            self._sized = True
            width = self.splitter.width()
            self.splitter.setSizes([int(width * 0.24), int(width * 0.44), int(width * 0.32)])

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt API)
        if watched is self.preview_scroll.viewport() and event.type() == QEvent.Type.Resize:
            pixmap = self.preview.pixmap()
            if self._key is not None and self.preview_error is None and not pixmap.isNull():
                self.schedule_preview()  # fit the page to the new width
        return False


# --- Datenschutz ---------------------------------------------------------------------------------------------

LOCK_MINUTES_KEY = "security/lock_minutes"
DEFAULT_LOCK_MINUTES = 10


def lock_minutes() -> int:
    """Minutes without input before the window locks (this workstation's setting, default 10)."""
    try:
        value = int(QSettings().value(LOCK_MINUTES_KEY, DEFAULT_LOCK_MINUTES))
    except (TypeError, ValueError):
        return DEFAULT_LOCK_MINUTES
    return value if 1 <= value <= 120 else DEFAULT_LOCK_MINUTES


class ProtectionTab(QWidget):
    """Retention period, backup folder and consent reminders of the office; the lock time of this PC."""

    def __init__(self, ctx, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        layout = QVBoxLayout(self)
        office_box = QGroupBox(_("Für die ganze Dienststelle"))
        form = QFormLayout(office_box)
        self.retention = QSpinBox()
        self.retention.setRange(0, 100)
        self.retention.setSuffix(" " + _("Jahre"))
        self.errors = {
            "retention_years": add_field(
                form,
                _("&Aufbewahrung nach Fallabschluss:"),
                self.retention,
                tip=_(
                    "Gelöscht wird zum Ende des Kalenderjahres, das so viele Jahre nach dem Abschluss liegt."
                ),
            )
        }
        self.reminder = QSpinBox()
        self.reminder.setRange(0, 52)
        self.reminder.setSuffix(" " + _("Wochen"))
        self.errors["consent_reminder_weeks"] = add_field(
            form,
            _("&Erinnerung vor Ablauf einer Einwilligung:"),
            self.reminder,
            tip=_("So viele Wochen vor dem Ablauf erscheint die Erinnerung auf der Startseite."),
        )
        self.folder = QLineEdit()
        self.folder.setPlaceholderText(_("leer: Ordner „backups“ neben der Datenbank"))
        self.errors["backup_folder"] = add_field(
            form,
            _("&Sicherungsordner:"),
            self.folder,
            tip=_(
                "Tägliche und beim Beenden geschriebene Sicherungen (7 tägliche, 4 wöchentliche, 12 monatliche). "
                "Bitte ein zugriffsbeschränktes Laufwerk wählen."
            ),
        )
        # The folder field and its button side by side, above the field's error line.
        cell_layout = self.folder.parentWidget().layout()
        cell_layout.removeWidget(self.folder)
        folder_row = QHBoxLayout()
        browse = QPushButton(_("&Ordner wählen …"))
        browse.setAccessibleName(_("Sicherungsordner wählen"))
        browse.clicked.connect(self._pick_folder)
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)
        cell_layout.insertLayout(0, folder_row)
        self.folder.setAccessibleName(_("Sicherungsordner"))
        layout.addWidget(office_box)
        station_box = QGroupBox(_("Nur an diesem Arbeitsplatz"))
        station_form = QFormLayout(station_box)
        self.lock = QSpinBox()
        self.lock.setRange(1, 120)
        self.lock.setSuffix(" " + _("Minuten"))
        add_field(
            station_form,
            _("Automatisch sperren &nach:"),
            self.lock,
            tip=_("Ohne Eingabe wird das Fenster nach dieser Zeit gesperrt und zeigt keine Daten mehr."),
        )
        layout.addWidget(station_box)
        buttons = QHBoxLayout()
        self.save_button = QPushButton(_("Datenschutz-Einstellungen s&peichern"))
        self.save_button.clicked.connect(self.save)
        buttons.addWidget(self.save_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setVisible(False)
        layout.addWidget(self.status)
        layout.addStretch(1)
        from ..services.permissions import allowed

        editable = allowed(ctx.actor, "settings.manage")
        for widget in (self.retention, self.reminder, self.folder, browse):
            widget.setEnabled(editable)
        if not editable:
            _status(self.status, _("Nur die Administration kann die Einstellungen der Dienststelle ändern."))
        self.load()

    def load(self) -> None:
        settings = protection_settings.load(self.ctx)
        self.retention.setValue(settings.retention_years)
        self.reminder.setValue(settings.consent_reminder_weeks)
        self.folder.setText(settings.backup_folder or "")
        self.lock.setValue(lock_minutes())
        self._loaded = self.values()

    def values(self) -> tuple:
        return (self.retention.value(), self.reminder.value(), self.folder.text().strip(), self.lock.value())

    @property
    def dirty(self) -> bool:
        return self.values() != self._loaded

    def _pick_folder(self) -> None:
        name = QFileDialog.getExistingDirectory(self, _("Sicherungsordner wählen"), self.folder.text() or "")
        if name:
            self.folder.setText(name)

    def save(self) -> bool:
        for error in self.errors.values():
            error.show_message(None)
        QSettings().setValue(LOCK_MINUTES_KEY, self.lock.value())
        if self.folder.isEnabled():
            try:
                protection_settings.save(
                    self.ctx,
                    retention_years=self.retention.value(),
                    backup_folder=self.folder.text(),
                    consent_reminder_weeks=self.reminder.value(),
                )
            except ValidationError as exc:
                for name, message in exc.field_errors.items():
                    if name in self.errors:
                        self.errors[name].show_message(message)
                _status(self.status, _("Nicht gespeichert: bitte die markierten Angaben prüfen."), error=True)
                return False
            except UserError as exc:
                _status(self.status, exc.message, error=True)
                return False
        self.load()
        _status(self.status, _("Die Datenschutz-Einstellungen sind gespeichert."))
        return True


# --- the dialog --------------------------------------------------------------------------------------------


class SettingsDialog(QDialog):
    def __init__(self, ctx, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle(_("Einstellungen"))
        self.setModal(True)
        self.resize(1100, 760)
        layout = QVBoxLayout(self)
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName(_("Bereiche der Einstellungen"))
        self.office_tab = OfficeTab(ctx)
        self.template_tab = TemplateTab(ctx)
        self.office_tab.changed.connect(self.template_tab.schedule_preview)
        self.tabs.addTab(self.office_tab, _("&Dienststelle"))
        self.tabs.addTab(self.template_tab, _("&Briefvorlagen"))
        self.protection_tab = ProtectionTab(ctx)
        self.tabs.addTab(self.protection_tab, _("Datensch&utz"))
        from .database_tab import DatabaseTab

        self.database_tab = DatabaseTab(ctx)
        self.tabs.addTab(self.database_tab, _("Datenban&k"))
        layout.addWidget(self.tabs, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close = buttons.button(QDialogButtonBox.StandardButton.Close)
        close.setText(_("S&chließen"))
        close.setAccessibleName(_("Einstellungen schließen"))
        close.setAutoDefault(False)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def reject(self) -> None:
        if self.office_tab.dirty:
            self.tabs.setCurrentWidget(self.office_tab)
            answer = ask_unsaved(
                self, _("Die Angaben der Dienststelle sind noch nicht gespeichert. Jetzt speichern?")
            )
            if answer == "cancel" or (answer == "save" and not self.office_tab.save()):
                return
        if self.template_tab.dirty:
            self.tabs.setCurrentWidget(self.template_tab)
            if not self.template_tab.maybe_save():
                return
        if self.protection_tab.dirty:
            self.tabs.setCurrentWidget(self.protection_tab)
            answer = ask_unsaved(
                self, _("Die Datenschutz-Einstellungen sind noch nicht gespeichert. Jetzt speichern?")
            )
            if answer == "cancel" or (answer == "save" and not self.protection_tab.save()):
                return
        super().reject()

"""Angebote (Angebotslandkarte): find an offer by words, category, place, language and residence status.

The page searches ``services.directory.search_offers`` synchronously (a few milliseconds; a short pause after
typing, Enter searches at once) and shows the chosen offer with its provider in a detail pane. Expired
offers are hidden unless asked for; shown, they are grey and say "abgelaufen" in words. Opened for a case
(``set_case``), "Vermitteln …" asks to refer the case's person to the chosen offer (``refer_requested``).

``OfferDialog`` and ``ProviderDialog`` edit the directory; messages appear under the fields. Import and
export use CSV or JSON; an import with broken rows stores nothing and lists the rows by line number.
Secondary dialogs open window-modal without blocking (``open()``) and are kept as attributes for the tests.
"""

from __future__ import annotations

import html
from dataclasses import fields
from datetime import date
from pathlib import Path

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
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
    QScrollArea,
    QSplitter,
    QTableView,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from .. import APP_NAME
from ..errors import UserError, ValidationError
from ..i18n import _, current_language, format_date, language_name, ngettext
from . import theme
from .interpreters_dialog import LanguagePicker, add_picker_field, fit_to_screen, plain_buttons, set_status
from .layout_memory import remember_splitter
from .widgets import FieldError, RowsTableModel, add_field, make_list_table

SEARCH_DELAY_MS = 250
ROW_ROLE = Qt.ItemDataRole.UserRole
ERROR_COLOUR = theme.colour("error")


def make_data(cls, values: dict):
    """A service data class from the form's values (fields the class does not know are left out)."""
    known = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in values.items() if k in known})


def language_names(codes) -> str:
    return ", ".join(language_name(c) or c for c in (codes or []))


def _date_field(value: date | None = None) -> QLineEdit:
    edit = QLineEdit(format_date(value) if value else "")
    edit.setMaxLength(10)
    edit.setPlaceholderText(_("TT.MM.JJJJ"))
    edit.setMaximumWidth(edit.fontMetrics().horizontalAdvance("00.00.00000") + 40)
    return edit


def _text_box(lines: int = 3) -> QPlainTextEdit:
    box = QPlainTextEdit()
    box.setTabChangesFocus(True)
    box.setFixedHeight(box.fontMetrics().lineSpacing() * lines + 14)
    return box


def _message(parent: QWidget, text: str, *, title: str = APP_NAME, details: list[str] | None = None) -> QMessageBox:
    """A warning over ``parent`` (window-modal, does not block the caller); ``details`` as a list below."""
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    if details:
        box.setInformativeText("\n".join(details))
    box.button(QMessageBox.StandardButton.Ok).setText(_("OK"))
    box.setWindowModality(Qt.WindowModality.WindowModal)
    box.open()
    return box


class OfferModel(RowsTableModel):
    """Offers (``directory.OfferRow``) as rows: Angebot, Träger, Ort, Sprachen, Zugang, geprüft am."""

    def __init__(self, parent=None) -> None:
        super().__init__(
            (_("Angebot"), _("Träger"), _("Ort"), _("Sprachen"), _("Zugang"), _("geprüft am")), parent
        )
        self._status_labels: dict[str, str] = {}

    def set_rows(self, rows: list, status_labels: dict[str, str] | None = None) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        if status_labels is not None:
            self._status_labels = status_labels
        self.endResetModel()

    def offer(self, row: int):
        return self.row_at(row)


    def access_text(self, row) -> str:
        if row.access_conditions:
            return " ".join(row.access_conditions.split())
        if row.residence_statuses:
            return ", ".join(self._status_labels.get(c, c) for c in row.residence_statuses)
        return ""

    def _text(self, row, column: int) -> str:
        if column == 0:
            title = row.title
            return _("{title} (abgelaufen)").format(title=title) if row.expired else title
        if column == 1:
            return row.provider_name or ""
        if column == 2:
            return row.municipality or ""
        if column == 3:
            return language_names(row.languages)
        if column == 4:
            return self.access_text(row)
        return format_date(row.last_checked_on) if row.last_checked_on else _("nie")

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        row = self.row_at(index.row()) if index.isValid() else None
        if row is None:
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return self._text(row, index.column())
        if role == Qt.ItemDataRole.ToolTipRole:
            parts = [row.title, row.category_label, row.provider_name, self.access_text(row), row.cost]
            return " · ".join(p for p in parts if p)
        if role == ROW_ROLE:
            return row
        if role == Qt.ItemDataRole.ForegroundRole and row.expired:
            # Expired offers recede; "(abgelaufen)" in the first column says the same in words.
            return QApplication.palette().color(QPalette.ColorGroup.Active, QPalette.ColorRole.PlaceholderText)
        return None


class _OfferTable(QTableView):
    """The result table: its columns share the width by weight (Angebot widest), "geprüft am" fits its date,
    so all six stay visible without sideways scrolling, also at 150 %."""

    WEIGHTS = (30, 22, 12, 17, 19)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self.fit_columns()

    def fit_columns(self) -> None:
        header = self.horizontalHeader()
        if self.model() is None or header.count() < len(self.WEIGHTS) + 1:
            return
        last = max(header.sectionSizeHint(5), self.sizeHintForColumn(5))
        room = max(0, self.viewport().width() - last)
        total = sum(self.WEIGHTS)
        for column, weight in enumerate(self.WEIGHTS):
            self.setColumnWidth(column, max(40, room * weight // total))


class DirectoryPage(QWidget):
    """The directory of offers. ``refer_requested(offer_id)`` when "Vermitteln …" is pressed (for a case);
    ``changed()`` after the directory was edited or imported."""

    refer_requested = Signal(str)
    changed = Signal()

    def __init__(self, ctx=None, *, case_id: str | None = None, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.case_id = case_id
        self.offer_dialog: OfferDialog | None = None
        self.provider_dialog: ProviderDialog | None = None
        self.import_dialog: QDialog | None = None
        self.message_box: QMessageBox | None = None
        self.last_import = None
        self._loading = False
        self._options_loaded = False
        self._status_labels: dict[str, str] = {}

        self.heading = QLabel(_("Angebote"))
        font = self.heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        self.heading.setFont(font)
        self.case_label = QLabel()
        self.case_label.setWordWrap(True)
        self.case_label.setTextFormat(Qt.TextFormat.PlainText)
        self.case_label.setAccessibleName(_("Vermittlung für"))
        self.case_label.setVisible(False)

        # --- search and filters ---
        self.search = QLineEdit()
        self.search.setPlaceholderText(_("z. B. „Sprachkurs“, „Anerkennung“ oder den Namen eines Trägers"))
        self.search.setClearButtonEnabled(True)
        self.category = QComboBox()
        self.municipality = QComboBox()
        self.municipality.setEditable(True)
        self.municipality.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.language = QComboBox()
        self.residence = QComboBox()
        for combo in (self.category, self.municipality, self.language, self.residence):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(14)
        self.include_expired = QCheckBox(_("Auch abge&laufene zeigen"))
        self.include_expired.setAccessibleName(_("Auch abgelaufene Angebote zeigen"))

        filters = QGridLayout()
        filters.setHorizontalSpacing(8)
        self.filter_errors: dict[str, FieldError] = {}
        search_caption = QLabel(_("&Suche:"))
        search_caption.setBuddy(self.search)
        self.search.setAccessibleName(_("Suche"))
        self.filter_errors["text"] = FieldError(self.search)
        search_row = QHBoxLayout()
        search_row.addWidget(search_caption)
        search_row.addWidget(self.search, 1)
        cells = (
            ("category", _("&Kategorie:"), self.category),
            ("municipality", _("&Ort:"), self.municipality),
            ("language", _("S&prache:"), self.language),
            ("residence_status", _("A&ufenthaltsstatus:"), self.residence),
        )
        for column, (name, text, widget) in enumerate(cells):
            caption = QLabel(text)
            caption.setBuddy(widget)
            widget.setAccessibleName(text.replace("&", "").rstrip(":"))
            if isinstance(widget, QComboBox) and widget.lineEdit() is not None:
                widget.lineEdit().setAccessibleName(widget.accessibleName())
            error = FieldError(widget)
            self.filter_errors[name] = error
            filters.addWidget(caption, 0, column)
            filters.addWidget(widget, 1, column)
            filters.addWidget(error, 2, column)
        for column in range(len(cells)):
            filters.setColumnStretch(column, 1)

        # --- results and details ---
        self.model = OfferModel(self)
        self.table = _OfferTable()
        self.table.setModel(self.model)
        self._table_description = _("Pfeiltasten wählen ein Angebot; die Einzelheiten stehen daneben.")
        make_list_table(self.table, _("Gefundene Angebote"), self._table_description)
        self.table.horizontalHeader().setStretchLastSection(False)
        self.table.horizontalHeader().setSectionResizeMode(5, QHeaderView.ResizeMode.ResizeToContents)
        char = self.fontMetrics().averageCharWidth()
        self.table.activated.connect(lambda _i: self.activate_selected())
        self.count_label = QLabel()
        self.count_label.setAccessibleName(_("Anzahl gefundener Angebote"))
        results_label = QLabel(_("T&reffer:"))
        results_label.setBuddy(self.table)

        self.detail = QTextBrowser()
        self.detail.setOpenLinks(False)
        self.detail.setAccessibleName(_("Einzelheiten zum Angebot"))
        self.detail.setMinimumWidth(28 * char)
        self.detail.setTabChangesFocus(True)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        title_row = QHBoxLayout()
        title_row.addWidget(results_label)
        title_row.addStretch(1)
        title_row.addWidget(self.count_label)
        left_layout.addLayout(title_row)
        left_layout.addWidget(self.table, 1)
        left_layout.addWidget(self.include_expired)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([640, 360])  # scaled to the room there is
        remember_splitter(self.splitter, "directory_page")

        # --- actions ---
        self.refer_button = QPushButton(_("&Vermitteln …"))
        self.refer_button.setAccessibleName(_("Die Person des Falls an dieses Angebot vermitteln"))
        self.new_button = QPushButton(_("&Neues Angebot …"))
        self.new_button.setAccessibleName(_("Neues Angebot anlegen"))
        self.edit_button = QPushButton(_("Bearb&eiten …"))
        self.edit_button.setAccessibleName(_("Ausgewähltes Angebot bearbeiten"))
        self.providers_button = QPushButton(_("&Träger …"))
        self.providers_button.setAccessibleName(_("Träger und Einrichtungen bearbeiten"))
        self.import_button = QPushButton(_("&Importieren …"))
        self.import_button.setAccessibleName(_("Angebotsverzeichnis aus CSV oder JSON importieren"))
        self.export_button = QPushButton(_("E&xportieren …"))
        self.export_button.setAccessibleName(_("Angebotsverzeichnis als CSV oder JSON exportieren"))
        self.referrals_button = QPushButton(_("Vermittlungen an&zeigen …"))
        self.referrals_button.setAccessibleName(_("Vermittlungen zu diesem Angebot und an diesen Träger anzeigen"))
        self.referrals_button.clicked.connect(lambda _c=False: self.show_referrals())
        self.refer_button.clicked.connect(lambda _c=False: self.refer_selected())
        self.new_button.clicked.connect(lambda _c=False: self.new_offer())
        self.edit_button.clicked.connect(lambda _c=False: self.edit_selected())
        self.providers_button.clicked.connect(lambda _c=False: self.edit_providers())
        self.import_button.clicked.connect(lambda _c=False: self.import_file())
        self.export_button.clicked.connect(lambda _c=False: self.export_file())
        self.refer_button.setVisible(False)
        buttons = QHBoxLayout()
        for button in (self.new_button, self.edit_button, self.providers_button, self.referrals_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.import_button)
        buttons.addWidget(self.export_button)
        buttons.addSpacing(12)
        buttons.addWidget(self.refer_button)
        plain_buttons(
            self.refer_button, self.new_button, self.edit_button, self.providers_button, self.import_button,
            self.export_button, self.referrals_button,
        )  # fmt: skip

        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setAccessibleName(_("Status"))
        self.status.setVisible(False)

        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.case_label)
        layout.addLayout(search_row)
        layout.addWidget(self.filter_errors["text"])
        layout.addLayout(filters)
        layout.addWidget(self.splitter, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.status)

        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self.refresh)
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        self.search.returnPressed.connect(self.refresh)
        for combo in (self.category, self.language, self.residence):
            combo.currentIndexChanged.connect(lambda _i: self._filter_changed())
        self.municipality.currentIndexChanged.connect(lambda _i: self._filter_changed())
        self.municipality.lineEdit().editingFinished.connect(self._filter_changed)
        self.include_expired.toggled.connect(lambda _on: self._filter_changed())
        self.table.selectionModel().currentRowChanged.connect(lambda *_a: self._show_selected())

        if ctx is not None:
            self.set_context(ctx)
        self.set_case(case_id)

    # --- context -----------------------------------------------------------------------------------------

    def set_context(self, ctx) -> None:
        self.ctx = ctx
        self._options_loaded = False
        self.refresh()

    def set_case(self, case_id: str | None, label: str | None = None) -> None:
        """Opened for a case: "Vermitteln …" appears and ``label`` (the case) is named above the filters."""
        self.case_id = case_id
        if case_id and label is None and self.ctx is not None:
            label = self._case_label(case_id)
        self.case_label.setText(
            _("Vermittlung für: {case}").format(case=label) if case_id and label else ""
        )
        self.case_label.setVisible(bool(case_id and label))
        self.refer_button.setVisible(bool(case_id))
        self._update_state()

    def _case_label(self, case_id: str) -> str:
        from ..services import cases

        try:
            case = cases.get_case(self.ctx, case_id)
        except UserError:
            return ""
        name = getattr(case, "person_name", "") or ""
        return f"{case.file_number} · {name}" if name else case.file_number

    def _load_options(self) -> None:
        """The filter lists: categories and residence statuses from the office's code lists, places from the
        directory, languages by their German (CLDR) names, the ones counsellors meet most first."""
        from ..services import directory
        from ..services.codes import code_labels
        from ..services.office_hours import language_options

        language = current_language()
        with self.ctx.read() as session:
            categories = code_labels(session, "offer_category", language)
            statuses = code_labels(session, "residence_status", language)
            places = sorted(
                {
                    p
                    for p in [getattr(r, "municipality", None) for r in directory.providers(session)]
                    + [r.municipality for r in directory.search_offers(session, include_expired=True, limit=5000)]
                    if p
                },
                key=str.casefold,
            )
        self._status_labels = statuses
        self._loading = True
        try:
            self._fill(self.category, _("alle Kategorien"), categories.items())
            self._fill(self.residence, _("jeder Aufenthaltsstatus"), statuses.items())
            self._fill(self.municipality, _("alle Orte"), ((p, p) for p in places))
            current = self.language.currentData()
            self.language.clear()
            self.language.addItem(_("alle Sprachen"), None)
            more = False
            for code, name, common in language_options():
                if not common and not more:
                    self.language.insertSeparator(self.language.count())
                    more = True
                self.language.addItem(name, code)
            self.language.setCurrentIndex(max(0, self.language.findData(current)))
        finally:
            self._loading = False
        self._options_loaded = True

    @staticmethod
    def _fill(combo: QComboBox, all_text: str, items) -> None:
        current = combo.currentData()
        combo.clear()
        combo.addItem(all_text, None)
        for code, label in items:
            combo.addItem(label, code)
        combo.setCurrentIndex(max(0, combo.findData(current)))

    # --- searching ---------------------------------------------------------------------------------------

    def set_filters(
        self,
        *,
        text: str | None = None,
        category: str | None = None,
        municipality: str | None = None,
        language: str | None = None,
        residence_status: str | None = None,
        include_expired: bool | None = None,
    ) -> None:
        """Set filters (by code) and search once (for callers and tests)."""
        self._loading = True
        try:
            if text is not None:
                self.search.setText(text)
            for combo, code in (
                (self.category, category), (self.language, language), (self.residence, residence_status),
            ):  # fmt: skip
                if code is not None:
                    combo.setCurrentIndex(max(0, combo.findData(code)))
            if municipality is not None:
                index = self.municipality.findData(municipality)
                if index >= 0:
                    self.municipality.setCurrentIndex(index)
                else:
                    self.municipality.setEditText(municipality)
            if include_expired is not None:
                self.include_expired.setChecked(include_expired)
        finally:
            self._loading = False
        self.refresh()

    def _filter_changed(self) -> None:
        if not self._loading:
            self.refresh()

    def municipality_filter(self) -> str | None:
        text = self.municipality.currentText().strip()
        if not text or text == self.municipality.itemText(0):
            return None
        return text

    def refresh(self, select_id: str | None = None) -> None:
        """Search with the filters as they are; keeps (or moves to ``select_id``) the selection."""
        self._search_timer.stop()
        if self.ctx is None:
            return
        if not self._options_loaded:
            self._load_options()
        from ..services import directory

        current = self.selected_offer()
        select_id = select_id or (current.id if current else None)
        for error in self.filter_errors.values():
            error.show_message(None)
        try:
            with self.ctx.read() as session:
                rows = directory.search_offers(
                    session,
                    text=self.search.text().strip() or None,
                    category=self.category.currentData(),
                    municipality=self.municipality_filter(),
                    language=self.language.currentData(),
                    residence_status=self.residence.currentData(),
                    include_expired=self.include_expired.isChecked(),
                )
        except ValidationError as exc:
            for name, message in exc.field_errors.items():
                self.filter_errors.get(name, self.filter_errors["text"]).show_message(message)
            rows = []
        except UserError as exc:
            self.filter_errors["text"].show_message(exc.message)
            rows = []
        self.model.set_rows(rows, self._status_labels)
        n = len(rows)
        self.count_label.setText(ngettext("{n} Angebot", "{n} Angebote", n).format(n=n))
        row = self.model.row_of(select_id)
        if row < 0 and rows:
            row = 0
        if row >= 0:
            self.table.selectRow(row)
            self.table.scrollTo(self.model.index(row, 0))
        self._show_selected()

    def selected_offer(self):
        index = self.table.currentIndex()
        return self.model.offer(index.row()) if index.isValid() else None

    def selected_offer_id(self) -> str | None:
        offer = self.selected_offer()
        return offer.id if offer else None

    def show_referrals(self):
        """The referrals to the selected offer and to its provider (outcomes at a glance)."""
        from .referrals_panel import ReferralsOverviewDialog

        offer = self.selected_offer()
        if offer is None or self.ctx is None:
            return None
        dialog = ReferralsOverviewDialog(self.ctx, offer_id=offer.id, provider_id=offer.provider_id,
                                         offer_title=offer.title, provider_name=offer.provider_name, parent=self)  # fmt: skip
        self.referrals_dialog = dialog
        dialog.show()
        return dialog

    def _update_state(self) -> None:
        selected = self.selected_offer()
        ready = self.ctx is not None
        for button in (self.new_button, self.providers_button, self.import_button, self.export_button):
            button.setEnabled(ready)
        self.edit_button.setEnabled(selected is not None)
        self.referrals_button.setEnabled(selected is not None)
        self.refer_button.setEnabled(selected is not None and not selected.expired and bool(self.case_id))
        self.refer_button.setToolTip(
            _("Abgelaufene Angebote können nicht vermittelt werden.") if selected is not None and selected.expired else ""
        )

    def _show_selected(self) -> None:
        offer = self.selected_offer()
        if offer is None or self.ctx is None:
            self.detail.setHtml(
                "<p>{}</p>".format(
                    html.escape(
                        _("Kein Angebot gefunden. Bitte Suchbegriff oder Filter ändern.")
                        if self.model.rowCount() == 0 and self.ctx is not None
                        else _("Bitte ein Angebot auswählen.")
                    )
                )
            )
        else:
            self.detail.setHtml(self._detail_html(offer))
        self._update_state()

    def _detail_html(self, row) -> str:
        """The offer and its provider as plain facts (every stored text escaped)."""
        from ..services import directory

        try:
            with self.ctx.read() as session:
                detail = directory.offer_detail(session, row.id)
        except UserError as exc:
            return f"<p>{html.escape(exc.message)}</p>"
        return offer_html(detail, self._status_labels)

    # --- actions -----------------------------------------------------------------------------------------

    def activate_selected(self) -> None:
        """Enter or double-click: refer when opened for a case, else edit."""
        if self.case_id and self.refer_button.isEnabled():
            self.refer_selected()
        else:
            self.edit_selected()

    def refer_selected(self) -> None:
        offer = self.selected_offer()
        if offer is None or not self.case_id:
            return
        if offer.expired:
            self.show_status(_("Dieses Angebot ist abgelaufen und kann nicht vermittelt werden."), error=True)
            return
        self.refer_requested.emit(offer.id)

    def show_status(self, text: str, *, error: bool = False) -> None:
        set_status(self.status, text, error=error)
        if not error:
            self.status.setStyleSheet("")

    def _open(self, dialog: QDialog) -> QDialog:
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.open()
        return dialog

    def new_offer(self):
        if self.ctx is None:
            return None
        return self._open_offer_dialog(None)

    def edit_selected(self):
        offer = self.selected_offer()
        if offer is None or self.ctx is None:
            return None
        return self._open_offer_dialog(offer.id)

    def _open_offer_dialog(self, offer_id: str | None):
        try:
            dialog = OfferDialog(self.ctx, offer_id=offer_id, parent=self)
        except UserError as exc:
            self.message_box = _message(self, exc.message)
            return None
        dialog.saved.connect(self._offer_saved)
        dialog.deleted.connect(self._offer_deleted)
        self.offer_dialog = dialog
        return self._open(dialog)

    def _offer_saved(self, offer_id: str) -> None:
        self._options_loaded = False
        self.refresh(select_id=offer_id)
        self.show_status(_("Angebot gespeichert."))
        self.changed.emit()

    def _offer_deleted(self, _offer_id: str) -> None:
        self._options_loaded = False
        self.refresh()
        self.show_status(_("Angebot gelöscht."))
        self.changed.emit()

    def edit_providers(self, provider_id: str | None = None):
        if self.ctx is None:
            return None
        offer = self.selected_offer()
        dialog = ProviderDialog(self.ctx, provider_id=provider_id or (offer.provider_id if offer else None), parent=self)
        dialog.saved.connect(lambda _id: self._providers_changed())
        self.provider_dialog = dialog
        return self._open(dialog)

    def _providers_changed(self) -> None:
        self._options_loaded = False
        self.refresh()
        self.changed.emit()

    def import_file(self, path: Path | str | None = None):
        """Import a directory file (asks which one when ``path`` is None). Broken rows: nothing is stored and
        a dialog lists them by line number. Returns the service's report (``None`` when cancelled/failed)."""
        if self.ctx is None:
            return None
        if path is None:
            name, _filter = QFileDialog.getOpenFileName(
                self, _("Angebotsverzeichnis importieren"), "",
                _("Angebotsverzeichnis (*.csv *.json);;CSV-Dateien (*.csv);;JSON-Dateien (*.json)"),
            )  # fmt: skip
            if not name:
                return None
            path = name
        path = Path(path)
        fmt = "json" if path.suffix.lower() == ".json" else "csv"
        from ..services import directory

        try:
            data = path.read_bytes()
        except OSError:
            self.message_box = _message(
                self, _("Die Datei {name} konnte nicht gelesen werden.").format(name=path.name)
            )
            return None
        try:
            report = directory.import_directory(self.ctx, data, fmt)
        except UserError as exc:
            errors = import_errors(exc)
            if errors:
                self.import_dialog = self._open(ImportErrorsDialog(path.name, errors, fmt=fmt, parent=self))
            else:
                self.message_box = _message(self, exc.message)
            self.last_import = None
            return None
        self.last_import = report
        if report.errors:  # the service reports them and stores nothing
            self.import_dialog = self._open(ImportErrorsDialog(path.name, list(report.errors), fmt=fmt, parent=self))
            return report
        self._options_loaded = False
        self.refresh()
        self.show_status(
            _("Import abgeschlossen: {created} neu, {updated} aktualisiert.").format(
                created=report.created, updated=report.updated
            )
        )
        self.changed.emit()
        return report

    def export_file(self, path: Path | str | None = None) -> Path | None:
        """Export the whole directory as CSV or JSON (by the file name's ending; asks when ``path`` is None)."""
        if self.ctx is None:
            return None
        if path is None:
            csv_filter, json_filter = _("CSV-Dateien (*.csv)"), _("JSON-Dateien (*.json)")
            name, chosen = QFileDialog.getSaveFileName(
                self, _("Angebotsverzeichnis exportieren"),
                _("Angebotsverzeichnis {day}.csv").format(day=date.today().isoformat()), f"{csv_filter};;{json_filter}",
            )  # fmt: skip
            if not name:
                return None
            path = Path(name)
            if path.suffix.lower() not in (".csv", ".json"):
                path = path.with_name(path.name + (".json" if chosen == json_filter else ".csv"))
        path = Path(path)
        fmt = "json" if path.suffix.lower() == ".json" else "csv"
        from ..services import directory
        from .pdf_preview import write_file_atomically

        try:
            with self.ctx.read() as session:
                data = directory.export_directory(session, fmt)
            write_file_atomically(path, data)
        except UserError as exc:
            self.message_box = _message(self, exc.message)
            return None
        except OSError:
            self.message_box = _message(
                self, _("Die Datei {name} konnte nicht geschrieben werden.").format(name=path.name)
            )
            return None
        self.show_status(_("Angebotsverzeichnis exportiert: {name}").format(name=path.name))
        return path


def import_errors(exc: UserError) -> list[tuple[int, str]]:
    """(line, message) pairs a failed import carries, if any."""
    for candidate in (getattr(exc, "errors", None), exc.details):
        if isinstance(candidate, list | tuple) and all(isinstance(e, list | tuple) and len(e) == 2 for e in candidate):
            return [(int(line), str(message)) for line, message in candidate]
    return []


def offer_html(detail, status_labels: dict[str, str] | None = None) -> str:
    """The detail pane (``directory.OfferDetail``): offer facts, then the provider with address and contact
    persons. Every stored text is escaped."""
    row, provider = detail.row, detail.provider

    def line(label: str, value) -> str:
        if value in (None, "", [], ()):
            return ""
        text = html.escape(str(value)).replace("\n", "<br>")
        return (
            f"<tr><td style='padding-right:10px; vertical-align:top'><b>{html.escape(label)}</b></td>"
            f"<td>{text}</td></tr>"
        )

    parts = [f"<h3>{html.escape(row.title)}</h3>"]
    if row.expired:
        expired = html.escape(_("Abgelaufen: nicht mehr vermitteln."))
        parts.append(f"<p style='color:{ERROR_COLOUR}'><b>{expired}</b></p>")
    validity = ""
    if row.valid_from or row.valid_until:
        validity = " – ".join(
            (format_date(row.valid_from) if row.valid_from else "…", format_date(row.valid_until) if row.valid_until else "…")
        )
    statuses = ", ".join(detail.residence_status_labels) if row.residence_statuses else _("jeder Aufenthaltsstatus")
    offer_rows = [
        line(_("Kategorie"), row.category_label),
        line(_("Beschreibung"), detail.description),
        line(_("Sprachen"), language_names(row.languages)),
        line(_("Zielgruppe"), detail.target_group),
        line(_("Zugang"), row.access_conditions),
        line(_("Aufenthaltsstatus"), statuses),
        line(_("Kosten"), row.cost),
        line(_("Ort"), row.municipality),
        line(_("Gültig"), validity),
        line(_("Zuletzt geprüft"), format_date(row.last_checked_on) if row.last_checked_on else _("nie")),
        line(_("Vermittlungen"), str(detail.referral_count) if detail.referral_count else ""),
    ]
    parts.append("<table>" + "".join(offer_rows) + "</table>")
    heading = _("Träger: {name}").format(name=provider.name)
    parts.append(f"<h4>{html.escape(heading)}</h4>")
    address = ", ".join(
        p for p in (provider.unit, provider.street, " ".join(p for p in (provider.postcode, provider.city) if p)) if p
    )
    contact_lines = [", ".join(p for p in (c.name, c.function, c.phone, c.email) if p) for c in detail.contacts]
    provider_rows = [
        line(_("Anschrift"), address),
        line(_("Telefon"), provider.phone),
        line(_("E-Mail"), provider.email),
        line(_("Internet"), provider.website),
        line(_("Öffnungszeiten"), provider.opening_hours),
        line(_("Ansprechpersonen"), "\n".join(contact_lines)),
    ]
    parts.append("<table>" + "".join(provider_rows) + "</table>")
    return "".join(parts)


class ImportErrorsDialog(QDialog):
    """The rows an import could not take, by line number; nothing was stored."""

    def __init__(self, file_name: str, errors: list[tuple[int, str]], *, fmt: str = "csv", parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle(_("Import nicht möglich"))
        self.errors = list(errors)
        intro = QLabel(
            ngettext(
                "{file}: {n} Zeile kann nicht übernommen werden. Es wurde nichts gespeichert; bitte die Datei "
                "korrigieren und erneut importieren.",
                "{file}: {n} Zeilen können nicht übernommen werden. Es wurde nichts gespeichert; bitte die "
                "Datei korrigieren und erneut importieren.",
                len(errors),
            ).format(file=file_name, n=len(errors))
        )
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.PlainText)
        self.list = QListWidget()
        self.list.setAccessibleName(_("Fehlerhafte Zeilen"))
        self.list.setWordWrap(True)
        # CSV: the line in the file (header = 1); JSON: the provider's position in the list.
        where = _("Zeile {line}: {message}") if fmt == "csv" else _("Eintrag {line}: {message}")
        for line, message in errors:
            self.list.addItem(where.format(line=line, message=message))
        if self.list.count():
            self.list.setCurrentRow(0)
        caption = QLabel(_("&Fehlerhafte Zeilen:"))
        caption.setBuddy(self.list)
        buttons = QDialogButtonBox()
        self.close_button = buttons.addButton(_("Schließen"), QDialogButtonBox.ButtonRole.RejectRole)
        self.close_button.setAccessibleName(_("Schließen"))
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(caption)
        layout.addWidget(self.list, 1)
        layout.addWidget(buttons)
        fit_to_screen(self, 640, 380)
        self.list.setFocus()

    def texts(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]


# --- editing ---------------------------------------------------------------------------------------------


class _FormDialog(QDialog):
    """Shared parts of the directory forms: field errors, a status line, date fields."""

    saved = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.errors: dict[str, FieldError] = {}
        self.inputs: dict[str, QWidget] = {}
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setVisible(False)

    def _show_message(self, text: str | None, *, error: bool = False) -> None:
        set_status(self.message, text or "", error=error)

    def show_errors(self, field_errors: dict[str, str]) -> bool:
        """Messages under their fields (the first gets the focus); ``False`` if none belongs to a field."""
        first = None
        for name, error in self.errors.items():
            message = field_errors.get(name)
            error.show_message(message)
            if message and first is None:
                first = name
        if first is None:
            return False
        focus = self.inputs.get(first)
        if focus is not None:
            focus.setFocus()
        return True

    def _dates(self, names: tuple[str, ...]) -> tuple[dict[str, date | None], dict[str, str]]:
        from ..services.dates import parse_date

        values: dict[str, date | None] = {}
        errors: dict[str, str] = {}
        for name in names:
            try:
                values[name] = parse_date(self.inputs[name].text())
            except UserError as exc:
                errors[name] = exc.message
        return values, errors


class OfferDialog(_FormDialog):
    """New offer (``offer_id=None``) or edit one; ``offer_id`` holds the id after saving. ``deleted(id)``
    after "Löschen"."""

    deleted = Signal(str)

    TEXT_FIELDS = ("title", "cost", "municipality")
    BOX_FIELDS = ("description", "target_group", "access_conditions")
    DATE_FIELDS = ("valid_from", "valid_until", "last_checked_on")

    def __init__(self, ctx, *, offer_id: str | None = None, provider_id: str | None = None, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.offer_id = offer_id
        self.version: int | None = None
        self.provider_dialog: ProviderDialog | None = None
        self.setWindowTitle(_("Neues Angebot") if offer_id is None else _("Angebot bearbeiten"))

        left = QFormLayout()
        right = QFormLayout()
        left.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        right.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapAllRows)  # captions above: room for the lists
        self.provider = QComboBox()
        self.provider.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.provider.setMinimumContentsLength(24)
        self.new_provider_button = QPushButton(_("&Neuer Träger …"))
        self.new_provider_button.setAccessibleName(_("Neuen Träger anlegen"))
        self.new_provider_button.clicked.connect(lambda _c=False: self.new_provider())
        provider_row = QWidget()
        provider_layout = QHBoxLayout(provider_row)
        provider_layout.setContentsMargins(0, 0, 0, 0)
        provider_layout.addWidget(self.provider, 1)
        provider_layout.addWidget(self.new_provider_button)
        self.provider.setAccessibleName(_("Träger"))
        self.errors["provider_id"] = add_picker_field(left, _("&Träger:*"), provider_row, self.provider)
        self.inputs["provider_id"] = self.provider

        self.inputs["title"] = QLineEdit()
        self.errors["title"] = add_field(left, _("T&itel:*"), self.inputs["title"])
        self.category = QComboBox()
        self.inputs["category"] = self.category
        self.errors["category"] = add_field(left, _("&Kategorie:*"), self.category)
        self.inputs["description"] = _text_box(3)
        self.errors["description"] = add_field(left, _("Besc&hreibung:"), self.inputs["description"])
        self.inputs["target_group"] = _text_box(2)
        self.errors["target_group"] = add_field(left, _("&Zielgruppe:"), self.inputs["target_group"])
        self.inputs["access_conditions"] = _text_box(2)
        self.errors["access_conditions"] = add_field(
            left, _("Zu&gang:"), self.inputs["access_conditions"],
            tip=_("z. B. „auch mit Duldung“, „nur mit Aufenthaltserlaubnis“, „Anmeldung über das Jobcenter“"),
        )  # fmt: skip
        self.inputs["cost"] = QLineEdit()
        self.inputs["cost"].setPlaceholderText(_("z. B. „kostenlos“ oder „2,29 € je Unterrichtsstunde“"))
        self.errors["cost"] = add_field(left, _("K&osten:"), self.inputs["cost"])
        self.inputs["municipality"] = QLineEdit()
        self.errors["municipality"] = add_field(left, _("O&rt:"), self.inputs["municipality"])
        dates = QHBoxLayout()
        for name, text in (
            ("valid_from", _("gültig &von:")), ("valid_until", _("gültig &bis:")),
            ("last_checked_on", _("zuletzt ge&prüft am:")),
        ):  # fmt: skip
            field = _date_field()
            self.inputs[name] = field
            caption = QLabel(text)
            caption.setBuddy(field)
            field.setAccessibleName(text.replace("&", "").rstrip(":"))
            error = FieldError(field)
            self.errors[name] = error
            cell = QVBoxLayout()
            cell.setSpacing(2)
            cell.addWidget(caption)
            if name == "last_checked_on":
                self.check_today = QPushButton(_("heute"))
                self.check_today.setAccessibleName(_("Zuletzt geprüft: heute eintragen"))
                self.check_today.clicked.connect(lambda _c=False, f=field: f.setText(format_date(date.today())))
                inline = QHBoxLayout()
                inline.setSpacing(4)
                inline.addWidget(field)
                inline.addWidget(self.check_today)
                cell.addLayout(inline)
            else:
                cell.addWidget(field)
            cell.addWidget(error)
            cell.addStretch(1)
            dates.addLayout(cell)
        dates.addStretch(1)
        left.addRow(dates)

        self.languages = LanguagePicker()
        self.errors["languages"] = add_picker_field(right, _("Spra&chen:"), self.languages, self.languages.filter)
        self.inputs["languages"] = self.languages.filter
        self.statuses = QListWidget()
        self.statuses.setAccessibleDescription(
            _("Leertaste kreuzt an. Nichts angekreuzt: offen für jeden Aufenthaltsstatus.")
        )
        self.statuses.setWordWrap(True)
        self.statuses.setMinimumHeight(self.fontMetrics().lineSpacing() * 5)
        self.errors["residence_statuses"] = add_field(right, _("&Aufenthaltsstatus:"), self.statuses)
        self.inputs["residence_statuses"] = self.statuses
        hint = QLabel(_("Nichts angekreuzt: offen für jeden Aufenthaltsstatus."))
        hint.setWordWrap(True)
        right.addRow(hint)

        columns = QHBoxLayout()
        left_column = QVBoxLayout()
        left_column.addLayout(left)
        left_column.addStretch(1)  # the fields keep together; the lists on the right take the height
        columns.addLayout(left_column, 3)
        columns.addSpacing(12)
        columns.addLayout(right, 2)
        content = QWidget()
        content.setLayout(columns)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(content)

        self.save_button = QPushButton(_("&Speichern"))
        self.save_button.setAccessibleName(_("Angebot speichern"))
        self.delete_button = QPushButton(_("&Löschen …"))
        self.delete_button.setAccessibleName(_("Angebot löschen"))
        self.cancel_button = QPushButton(_("Abbrechen"))
        self.cancel_button.setAccessibleName(_("Abbrechen"))
        self.save_button.clicked.connect(lambda _c=False: self.save())
        self.delete_button.clicked.connect(lambda _c=False: self.delete())
        self.cancel_button.clicked.connect(self.reject)
        self.delete_button.setVisible(offer_id is not None)
        plain_buttons(self.delete_button, self.cancel_button, self.new_provider_button, self.check_today)
        self.save_button.setDefault(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.delete_button)
        buttons.addStretch(1)
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.cancel_button)

        layout = QVBoxLayout(self)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.message)
        layout.addLayout(buttons)

        self._load_options(provider_id)
        if offer_id is not None:
            self.load()
        fit_to_screen(self, 980, 720)
        self.inputs["title"].setFocus() if offer_id is None and self.provider.currentData() else self.provider.setFocus()

    def _load_options(self, provider_id: str | None = None) -> None:
        from ..services import directory
        from ..services.codes import code_labels

        language = current_language()
        with self.ctx.read() as session:
            providers = directory.providers(session)
            categories = code_labels(session, "offer_category", language, active_only=True)
            statuses = code_labels(session, "residence_status", language)
        current = provider_id or self.provider.currentData()
        self.provider.clear()
        self.provider.addItem(_("– bitte wählen –"), None)
        for p in providers:
            self.provider.addItem(provider_title(p), p.id)
        self.provider.setCurrentIndex(max(0, self.provider.findData(current)))
        self.category.clear()
        self.category.addItem(_("– bitte wählen –"), None)
        for code, label in categories.items():
            self.category.addItem(label, code)
        self.statuses.clear()
        for code, label in statuses.items():
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, code)
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.statuses.addItem(item)

    def load(self) -> None:
        from ..services import directory

        with self.ctx.read() as session:
            detail = directory.offer_data(session, self.offer_id)
            category_label = directory.category_labels(session).get(detail.category, detail.category)
        self.version = detail.version
        self.provider.setCurrentIndex(max(0, self.provider.findData(detail.provider_id)))
        index = self.category.findData(detail.category)
        if index < 0 and detail.category:  # an inactive category stays as it is
            self.category.addItem(category_label, detail.category)
            index = self.category.count() - 1
        self.category.setCurrentIndex(max(0, index))
        for name in self.TEXT_FIELDS:
            self.inputs[name].setText(getattr(detail, name, None) or "")
        for name in self.BOX_FIELDS:
            self.inputs[name].setPlainText(getattr(detail, name, None) or "")
        for name in self.DATE_FIELDS:
            value = getattr(detail, name, None)
            self.inputs[name].setText(format_date(value) if value else "")
        self.languages.set_selected(list(getattr(detail, "languages", None) or []))
        wanted = set(getattr(detail, "residence_statuses", None) or [])
        for i in range(self.statuses.count()):
            item = self.statuses.item(i)
            checked = item.data(Qt.ItemDataRole.UserRole) in wanted
            item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)

    def set_residence_statuses(self, codes: list[str]) -> None:
        for i in range(self.statuses.count()):
            item = self.statuses.item(i)
            checked = item.data(Qt.ItemDataRole.UserRole) in codes
            item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)

    def collect(self) -> tuple[dict, dict[str, str]]:
        values: dict = {
            "provider_id": self.provider.currentData(), "category": self.category.currentData() or "",
            "version": self.version,
        }  # fmt: skip
        for name in self.TEXT_FIELDS:
            values[name] = self.inputs[name].text().strip()
        for name in self.BOX_FIELDS:
            values[name] = self.inputs[name].toPlainText().strip()
        dates, errors = self._dates(self.DATE_FIELDS)
        values.update(dates)
        values["languages"] = self.languages.selected_codes()
        statuses = [
            self.statuses.item(i).data(Qt.ItemDataRole.UserRole)
            for i in range(self.statuses.count())
            if self.statuses.item(i).checkState() == Qt.CheckState.Checked
        ]
        values["residence_statuses"] = statuses or None
        if not values["provider_id"]:
            errors["provider_id"] = _("Bitte den Träger wählen (oder zuerst einen neuen Träger anlegen).")
        if not values["title"]:
            errors["title"] = _("Bitte einen Titel angeben.")
        if not values["category"]:
            errors["category"] = _("Bitte eine Kategorie wählen.")
        return values, errors

    def save(self) -> bool:
        from ..services import directory

        self._show_message(None)
        values, errors = self.collect()
        if errors:
            self.show_errors(errors)
            return False
        self.show_errors({})
        try:
            self.offer_id = directory.save_offer(
                self.ctx, make_data(directory.OfferData, values), offer_id=self.offer_id
            )
        except ValidationError as exc:
            if not self.show_errors(exc.field_errors):
                self._show_message(exc.message, error=True)
            return False
        except UserError as exc:
            self._show_message(exc.message, error=True)
            return False
        self.saved.emit(self.offer_id)
        self.accept()
        return True

    def delete(self, *, confirm: bool = True) -> bool:
        from ..services import directory
        from .interpreters_dialog import ask

        if self.offer_id is None:
            return False
        if confirm and not ask(
            self, _("Angebot löschen"), _("Dieses Angebot aus dem Verzeichnis löschen?"), _("&Löschen"),
            informative=_("Bestehende Vermittlungen behalten ihren Eintrag."),
        ):  # fmt: skip
            return False
        try:
            directory.delete_offer(self.ctx, self.offer_id)
        except UserError as exc:
            self._show_message(exc.message, error=True)
            return False
        self.deleted.emit(self.offer_id)
        self.accept()
        return True

    def new_provider(self):
        dialog = ProviderDialog(self.ctx, parent=self, new=True)
        dialog.saved.connect(self._provider_added)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.open()
        self.provider_dialog = dialog
        return dialog

    def _provider_added(self, provider_id: str) -> None:
        self._load_options_keep(provider_id)
        self.errors["provider_id"].show_message(None)

    def _load_options_keep(self, provider_id: str) -> None:
        from ..services import directory

        with self.ctx.read() as session:
            providers = directory.providers(session)
        self.provider.clear()
        self.provider.addItem(_("– bitte wählen –"), None)
        for p in providers:
            self.provider.addItem(provider_title(p), p.id)
        self.provider.setCurrentIndex(max(0, self.provider.findData(provider_id)))


def provider_title(p) -> str:
    place = getattr(p, "city", None) or getattr(p, "municipality", None)
    return f"{p.name} ({place})" if place else p.name


class ProviderDialog(_FormDialog):
    """Träger und Einrichtungen: choose one at the top (or "Neuer Träger"), edit below. ``saved(id)`` after
    each save; ``provider_id`` holds the one shown."""

    FIELDS = (
        "name", "unit", "street", "postcode", "city", "municipality", "phone", "email", "website",
    )  # fmt: skip

    def __init__(self, ctx, *, provider_id: str | None = None, new: bool = False, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.provider_id: str | None = None
        self.version: int | None = None
        self._contacts: list = []
        self._typed_contacts = ""
        self.new_only = new
        self.setWindowTitle(_("Neuer Träger") if new else _("Träger und Einrichtungen"))

        self.chooser = QComboBox()
        self.chooser.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.chooser.setMinimumContentsLength(30)
        chooser_caption = QLabel(_("&Träger:"))
        chooser_caption.setBuddy(self.chooser)
        self.chooser.setAccessibleName(_("Träger auswählen"))
        top = QHBoxLayout()
        top.addWidget(chooser_caption)
        top.addWidget(self.chooser, 1)
        self.chooser_row = QWidget()
        self.chooser_row.setLayout(top)
        self.chooser_row.setVisible(not new)

        box = QGroupBox(_("Angaben zum Träger"))
        form = QFormLayout(box)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        captions = {
            "name": _("&Name:*"), "unit": _("&Einrichtung/Abteilung:"), "street": _("St&raße und Nr.:"),
            "postcode": _("&PLZ:"), "city": _("&Ort:"), "municipality": _("&Gemeinde/Kreis:"),
            "phone": _("Tele&fon:"), "email": _("E-&Mail:"), "website": _("&Internet:"),
        }  # fmt: skip
        for name in self.FIELDS:
            field = QLineEdit()
            self.inputs[name] = field
            self.errors[name] = add_field(form, captions[name], field)
        self.inputs["postcode"].setMaximumWidth(self.fontMetrics().horizontalAdvance("000000") + 40)
        self.inputs["opening_hours"] = _text_box(2)
        self.errors["opening_hours"] = add_field(form, _("Öffn&ungszeiten:"), self.inputs["opening_hours"])
        self.inputs["contacts"] = _text_box(3)
        self.errors["contacts"] = add_field(
            form, _("&Ansprechpersonen:"), self.inputs["contacts"],
            tip=_("Eine Person je Zeile: Name; Funktion; Telefon; E-Mail"),
        )  # fmt: skip
        self.inputs["contacts"].setPlaceholderText(_("Name; Funktion; Telefon; E-Mail – eine Person je Zeile"))

        self.save_button = QPushButton(_("&Speichern"))
        self.save_button.setAccessibleName(_("Träger speichern"))
        self.close_button = QPushButton(_("Abbrechen") if new else _("Schließen"))
        self.close_button.setAccessibleName(self.close_button.text())
        self.save_button.clicked.connect(lambda _c=False: self.save())
        self.close_button.clicked.connect(self.reject)
        plain_buttons(self.close_button)
        self.save_button.setDefault(True)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.close_button)

        content = QWidget()
        content_layout = QVBoxLayout(content)
        content_layout.setContentsMargins(0, 0, 0, 0)
        content_layout.addWidget(self.chooser_row)
        content_layout.addWidget(box)
        content_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(content)
        layout = QVBoxLayout(self)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.message)
        layout.addLayout(buttons)

        self.reload(provider_id)
        self.chooser.currentIndexChanged.connect(lambda _i: self.show_provider(self.chooser.currentData()))
        fit_to_screen(self, 620, 640)
        (self.chooser if not new else self.inputs["name"]).setFocus()

    def reload(self, select_id: str | None = None) -> None:
        from ..services import directory

        with self.ctx.read() as session:
            providers = directory.providers(session)
        self.chooser.blockSignals(True)
        self.chooser.clear()
        self.chooser.addItem(_("– neuer Träger –"), None)
        for p in providers:
            self.chooser.addItem(provider_title(p), p.id)
        self.chooser.setCurrentIndex(max(0, self.chooser.findData(select_id)))
        self.chooser.blockSignals(False)
        self.show_provider(self.chooser.currentData())

    def show_provider(self, provider_id: str | None) -> None:
        from ..services import directory

        self.provider_id = provider_id
        self.version = None
        self._contacts = []
        self.show_errors({})
        self._show_message(None)
        values: dict = {}
        if provider_id is not None:
            with self.ctx.read() as session:
                data = directory.provider_data(session, provider_id)
                self._contacts = directory.contacts(session, provider_id)
            values = {name: getattr(data, name) for name in (*self.FIELDS, "opening_hours")}
            self.version = data.version
        for name in self.FIELDS:
            self.inputs[name].setText(values.get(name) or "")
        self.inputs["opening_hours"].setPlainText(values.get("opening_hours") or "")
        self.inputs["contacts"].setPlainText(contacts_text(self._contacts))

    def collect(self) -> tuple[dict, dict[str, str]]:
        values: dict = {name: self.inputs[name].text().strip() for name in self.FIELDS}
        values["opening_hours"] = self.inputs["opening_hours"].toPlainText().strip()
        values["version"] = self.version
        errors = {} if values["name"] else {"name": _("Bitte den Namen des Trägers angeben.")}
        return values, errors

    def save(self) -> bool:
        """Store the provider, then its contact persons (one per line); ``True`` when all is stored."""
        from ..services import directory

        self._show_message(None)
        values, errors = self.collect()
        if errors:
            self.show_errors(errors)
            return False
        self.show_errors({})
        try:
            provider_id = directory.save_provider(
                self.ctx, make_data(directory.ProviderData, values), provider_id=self.provider_id
            )
        except ValidationError as exc:
            if not self.show_errors(exc.field_errors):
                self._show_message(exc.message, error=True)
            return False
        except UserError as exc:
            self._show_message(exc.message, error=True)
            return False
        self.provider_id = provider_id
        contact_error = self._save_contacts(provider_id)
        self.saved.emit(provider_id)
        if contact_error:
            self.reload(provider_id)
            self.inputs["contacts"].setPlainText(self._typed_contacts)
            self.errors["contacts"].show_message(contact_error)
            self.inputs["contacts"].setFocus()
            return False
        if self.new_only:
            self.accept()
            return True
        self.reload(provider_id)
        self._show_message(_("Träger gespeichert."))
        return True

    def _save_contacts(self, provider_id: str) -> str | None:
        """Contacts as typed: changed ones updated, new ones added, removed lines deleted. A message or None."""
        from ..services import directory

        self._typed_contacts = self.inputs["contacts"].toPlainText()
        wanted = parse_contacts(self._typed_contacts)
        existing = {directory.name_key(c.name): c for c in self._contacts}
        kept: set[str] = set()
        for number, values in enumerate(wanted, start=1):
            current = existing.get(directory.name_key(values["name"]))
            if current is not None:
                kept.add(current.id)
                if (current.function, current.phone, current.email) == (
                    values["function"], values["phone"], values["email"]
                ):
                    continue
            try:
                directory.save_contact(
                    self.ctx, provider_id, directory.ContactData(**values), current.id if current else None
                )
            except UserError as exc:
                message = " ".join(exc.field_errors.values()) if isinstance(exc, ValidationError) else exc.message
                return _("Zeile {n} ({name}): {message}").format(n=number, name=values["name"] or "–", message=message)
        for contact in self._contacts:
            if contact.id not in kept:
                try:
                    directory.delete_contact(self.ctx, contact.id)
                except UserError as exc:
                    return exc.message
        return None


def contacts_text(contacts) -> str:
    """Contact persons as lines "Name; Funktion; Telefon; E-Mail" (empty parts at the end left out)."""
    lines = []
    for contact in contacts or []:
        parts = [contact.name or "", contact.function or "", contact.phone or "", contact.email or ""]
        while parts and not parts[-1]:
            parts.pop()
        lines.append("; ".join(parts))
    return "\n".join(lines)


def parse_contacts(text: str) -> list[dict]:
    contacts = []
    for line in text.splitlines():
        parts = [p.strip() for p in line.split(";")]
        if not any(parts):
            continue
        parts += [""] * (4 - len(parts))
        contacts.append(
            {"name": parts[0], "function": parts[1] or None, "phone": parts[2] or None, "email": parts[3] or None}
        )
    return contacts

"""Personen importieren (Excel, CSV): a three-step dialog over ``services.person_import``, and the list of
earlier imports with "Import rückgängig machen".

1. **Datei**: choose the file (and the sheet of a workbook); it is read at once, problems show in red.
2. **Zuordnung**: one row per column of the file with a sample value and a field combo; saved mappings can be
   loaded and saved by name; two columns on one field are warned about and block the next step.
3. **Vorschau**: "Weiter" runs the dry run in a worker thread (progress, cancel); the counts and four tables
   (übernehmen, Dubletten, abgelehnt, zu prüfen) show what would happen. "Importieren" runs the real import in
   the worker (one transaction: a cancel leaves nothing behind); the rejected rows can be saved as CSV.

The worker never touches a widget: progress, the result and errors travel back as queued signals.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from PySide6.QtCore import QObject, QStandardPaths, Qt, QThread, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ..errors import UserError
from ..i18n import _, format_date, format_number, ngettext
from ..services import person_import
from ..services.localtime import local_time
from . import theme
from .widgets import make_list_table, run_and_report

log = logging.getLogger(__name__)

ERROR_STYLE = theme.error_style()
WARNING_STYLE = theme.warning_style()
PAGE_FILE, PAGE_MAPPING, PAGE_PREVIEW = range(3)
PREVIEW_LIMIT = 2000  # rows shown per table (the counts are always complete)


class _Worker(QObject):
    """Runs ``person_import.run_import`` off the GUI thread; talks to the dialog only through signals."""

    progressed = Signal(str, int, int)
    succeeded = Signal(object)  # ImportResult
    failed = Signal(str)  # German message

    def __init__(self, ctx, table, mapping, dry_run: bool) -> None:
        super().__init__()
        self.ctx, self.table, self.mapping, self.dry_run = ctx, table, mapping, dry_run
        self._cancel = threading.Event()

    def cancel(self) -> None:  # called from the GUI thread
        self._cancel.set()

    def run(self) -> None:
        run_and_report(
            lambda: person_import.run_import(
                self.ctx,
                self.table,
                mapping=self.mapping,
                dry_run=self.dry_run,
                progress=self.progressed.emit,
                cancel=self._cancel.is_set,
            ),
            self.succeeded,
            self.failed,
            what="person import",
        )


def _table(name: str, headers: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    make_list_table(table, name)
    return table


def _fill(table: QTableWidget, rows: list[list[str]]) -> None:
    table.setRowCount(0)
    table.setRowCount(len(rows))
    for r, cells in enumerate(rows):
        for c, text in enumerate(cells):
            item = QTableWidgetItem(text)
            item.setFlags(Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled)
            table.setItem(r, c, item)
    table.resizeColumnsToContents()
    for c in range(table.columnCount() - 1):
        table.setColumnWidth(c, min(table.columnWidth(c), 260))


class ImportDialog(QDialog):
    """Personen aus Excel oder CSV übernehmen. ``imported`` carries the ``ImportResult`` of a real import."""

    imported = Signal(object)
    open_person = Signal(str)  # from the list of earlier imports: a person to review

    def __init__(self, ctx, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.table: person_import.SourceTable | None = None
        self.preview: person_import.ImportResult | None = None
        self.result: person_import.ImportResult | None = None
        self._thread: QThread | None = None
        self._worker: _Worker | None = None
        self._combos: list[QComboBox] = []
        self._loaded_path = ""
        self.setWindowTitle(_("Personen importieren (Excel, CSV)"))
        self.setMinimumSize(820, 560)

        layout = QVBoxLayout(self)
        self.step = QLabel()
        self.step.setAccessibleName(_("Schritt"))
        self.step.setStyleSheet("font-weight: bold;")
        layout.addWidget(self.step)
        self.pages = QStackedWidget()
        layout.addWidget(self.pages, 1)
        self.pages.addWidget(self._file_page())
        self.pages.addWidget(self._mapping_page())
        self.pages.addWidget(self._preview_page())

        self.progress = QProgressBar()
        self.progress.setAccessibleName(_("Fortschritt des Imports"))
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setTextVisible(False)
        self.progress.hide()  # shown while the worker runs
        layout.addWidget(self.progress)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setAccessibleName(_("Meldung"))
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.status)

        buttons = QHBoxLayout()
        self.batches_button = QPushButton(_("Frühere Imp&orte …"))
        self.batches_button.setAccessibleName(_("Frühere Importe anzeigen und rückgängig machen"))
        self.batches_button.clicked.connect(self.show_batches)
        buttons.addWidget(self.batches_button)
        buttons.addStretch(1)
        self.back = QPushButton(_("Zu&rück"))
        self.back.setAccessibleName(_("Zurück zum vorigen Schritt"))
        self.back.clicked.connect(self.go_back)
        self.next = QPushButton(_("&Weiter"))
        self.next.setAccessibleName(_("Weiter zum nächsten Schritt"))
        self.next.clicked.connect(self.go_next)
        self.import_button = QPushButton(_("&Importieren"))
        self.import_button.setAccessibleName(_("Personen jetzt importieren"))
        self.import_button.clicked.connect(self.start_import)
        self.cancel = QPushButton(_("&Abbrechen"))
        self.cancel.setAccessibleName(_("Laufenden Import abbrechen"))
        self.cancel.clicked.connect(self.cancel_run)
        self.close_button = QPushButton(_("&Schließen"))
        self.close_button.setAccessibleName(_("Dialog schließen"))
        self.close_button.clicked.connect(self.reject)
        for button in (self.back, self.next, self.import_button, self.cancel, self.close_button):
            button.setAutoDefault(False)
            buttons.addWidget(button)
        layout.addLayout(buttons)
        self._show_page(PAGE_FILE)

    # --- pages ------------------------------------------------------------------------------------------

    def _file_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        intro = QLabel(
            _("Wählen Sie eine Excel-Arbeitsmappe (.xlsx) oder eine CSV-Datei. Die erste Zeile muss die "
              "Spaltenüberschriften enthalten, z. B. Nachname, Vorname, Geburtsdatum, Staatsangehörigkeit, "
              "Aufenthaltsstatus.")
        )  # fmt: skip
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        layout.addLayout(form)
        self.path = QLineEdit()
        self.path.setAccessibleName(_("Datei"))
        self.path.setPlaceholderText(_("Pfad der Datei"))
        self.path.editingFinished.connect(self._path_edited)
        self.path.textChanged.connect(self._path_changed)
        self.browse = QPushButton(_("D&urchsuchen …"))
        self.browse.setAccessibleName(_("Datei wählen"))
        self.browse.clicked.connect(self._browse)
        row = QWidget()
        row_layout = QHBoxLayout(row)
        row_layout.setContentsMargins(0, 0, 0, 0)
        row_layout.addWidget(self.path, 1)
        row_layout.addWidget(self.browse)
        path_label = QLabel(_("&Datei:"))
        path_label.setBuddy(self.path)
        form.addRow(path_label, row)
        self.sheet = QComboBox()
        self.sheet.setAccessibleName(_("Tabellenblatt"))
        self.sheet.activated.connect(
            lambda _index: self.load_file(self.path.text(), sheet=self.sheet.currentText())
        )
        self.sheet_label = QLabel(_("&Tabellenblatt:"))
        self.sheet_label.setBuddy(self.sheet)
        form.addRow(self.sheet_label, self.sheet)
        self.file_info = QLabel()
        self.file_info.setWordWrap(True)
        self.file_info.setAccessibleName(_("Angaben zur Datei"))
        layout.addWidget(self.file_info)
        layout.addStretch(1)
        return page

    def _mapping_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        saved = QHBoxLayout()
        self.saved = QComboBox()
        self.saved.setAccessibleName(_("Gespeicherte Zuordnung"))
        self.saved.setMinimumWidth(220)
        saved_label = QLabel(_("Gespeicherte &Zuordnung:"))
        saved_label.setBuddy(self.saved)
        self.load_saved = QPushButton(_("&Laden"))
        self.load_saved.setAccessibleName(_("Gespeicherte Zuordnung laden"))
        self.load_saved.clicked.connect(self.apply_saved_mapping)
        self.save_current = QPushButton(_("Zuordnung spei&chern …"))
        self.save_current.setAccessibleName(_("Zuordnung unter einem Namen speichern"))
        self.save_current.clicked.connect(self._ask_save_mapping)
        self.delete_saved = QPushButton(_("Zuordnung l&öschen"))
        self.delete_saved.setAccessibleName(_("Gespeicherte Zuordnung löschen"))
        self.delete_saved.clicked.connect(self._delete_saved_mapping)
        saved.addWidget(saved_label)
        saved.addWidget(self.saved, 1)
        for button in (self.load_saved, self.save_current, self.delete_saved):
            button.setAutoDefault(False)
            saved.addWidget(button)
        layout.addLayout(saved)
        hint = QLabel(
            _(
                "Ordnen Sie jeder Spalte der Datei ein Feld zu. Spalten auf „nicht übernehmen“ werden übergangen."
            )
        )
        hint.setWordWrap(True)
        layout.addWidget(hint)
        self.mapping_table = QTableWidget(0, 3)
        self.mapping_table.setHorizontalHeaderLabels([_("Spalte in der Datei"), _("Beispiel"), _("Feld")])
        self.mapping_table.setAccessibleName(_("Zuordnung der Spalten zu Feldern"))
        self.mapping_table.verticalHeader().setVisible(False)
        self.mapping_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.mapping_table.setTabKeyNavigation(False)
        header = self.mapping_table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.mapping_table, 1)
        self.mapping_warning = QLabel()
        self.mapping_warning.setWordWrap(True)
        self.mapping_warning.setStyleSheet(ERROR_STYLE)
        self.mapping_warning.setAccessibleName(_("Warnung zur Zuordnung"))
        self.mapping_warning.hide()
        layout.addWidget(self.mapping_warning)
        return page

    def _preview_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        self.counts = QLabel()
        self.counts.setWordWrap(True)
        self.counts.setAccessibleName(_("Ergebnis in Zahlen"))
        self.counts.setStyleSheet("font-size: 11pt;")
        layout.addWidget(self.counts)
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName(_("Vorschau des Imports"))
        person_headers = [_("Zeile"), _("Nachname"), _("Vorname"), _("Geburtsdatum"), _("Ort")]
        self.import_table = _table(_("Zu übernehmende Personen"), person_headers)
        self.duplicate_table = _table(
            _("Mögliche Dubletten"),
            [_("Zeile"), _("Nachname"), _("Vorname"), _("Geburtsdatum"), _("schon erfasst als")],
        )
        self.rejected_table = _table(_("Abgelehnte Zeilen"), [_("Zeile"), _("Grund")])
        self.flagged_table = _table(
            _("Zu prüfende Personen"), [_("Zeile"), _("Nachname"), _("Vorname"), _("Hinweis")]
        )
        self.tabs.addTab(self.import_table, "")
        self.tabs.addTab(self.duplicate_table, "")
        self.tabs.addTab(self.rejected_table, "")
        self.tabs.addTab(self.flagged_table, "")
        layout.addWidget(self.tabs, 1)
        row = QHBoxLayout()
        row.addStretch(1)
        self.save_rejects = QPushButton(_("Abgelehnte Zeilen s&peichern …"))
        self.save_rejects.setAccessibleName(_("Abgelehnte Zeilen als CSV-Datei speichern"))
        self.save_rejects.setAutoDefault(False)
        self.save_rejects.clicked.connect(self._ask_save_rejects)
        row.addWidget(self.save_rejects)
        layout.addLayout(row)
        return page

    # --- navigation -------------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._thread is not None

    def _show_page(self, index: int) -> None:
        self.pages.setCurrentIndex(index)
        titles = {
            PAGE_FILE: _("Schritt 1 von 3: Datei wählen"),
            PAGE_MAPPING: _("Schritt 2 von 3: Spalten zuordnen"),
            PAGE_PREVIEW: _("Schritt 3 von 3: Vorschau und Import"),
        }
        self.step.setText(titles[index])
        self._update_buttons()

    def _update_buttons(self) -> None:
        page = self.pages.currentIndex()
        busy = self.running
        self.back.setEnabled(page > PAGE_FILE and not busy and self.result is None)
        self.next.setVisible(page < PAGE_PREVIEW)
        ready = bool(self.path.text().strip()) if page == PAGE_FILE else not self._conflicts()
        self.next.setEnabled(not busy and ready)
        self.import_button.setVisible(page == PAGE_PREVIEW)
        self.import_button.setEnabled(
            not busy and self.preview is not None and self.result is None and bool(self.preview.to_import)
        )
        self.cancel.setEnabled(busy)
        self.close_button.setEnabled(not busy)
        self.browse.setEnabled(not busy)
        source = self.result or self.preview
        self.save_rejects.setEnabled(not busy and source is not None and bool(source.rejected))
        self.batches_button.setEnabled(not busy)

    def go_next(self) -> None:
        page = self.pages.currentIndex()
        if page == PAGE_FILE:
            if self.table is None and not self.load_file(self.path.text()):
                return
            self._show_page(PAGE_MAPPING)
            self._set_status("")
        elif page == PAGE_MAPPING:
            try:
                person_import.check_mapping(self.table.header, self.current_mapping())
            except UserError as exc:
                self._set_status(exc.message, ERROR_STYLE)
                return
            self._show_page(PAGE_PREVIEW)
            self._start(dry_run=True)

    def go_back(self) -> None:
        page = self.pages.currentIndex()
        if page > PAGE_FILE and not self.running:
            self.preview = None
            self._show_page(page - 1)
            self._set_status("")

    # --- step 1: the file -------------------------------------------------------------------------------

    def _browse(self) -> None:
        start = self.path.text() or QStandardPaths.writableLocation(
            QStandardPaths.StandardLocation.DocumentsLocation
        )
        chosen, _filter = QFileDialog.getOpenFileName(
            self, _("Datei für den Import wählen"), start,
            _("Tabellen (*.xlsx *.csv *.txt);;Alle Dateien (*)"),
        )  # fmt: skip
        if chosen:
            self.path.setText(chosen)
            self.load_file(chosen)

    def _path_changed(self, text: str) -> None:
        if self.table is not None and text.strip() != self._loaded_path:
            self.table = None  # read again on "Weiter"
        self._update_buttons()

    def _path_edited(self) -> None:
        text = self.path.text().strip()
        if text and (self.table is None or Path(text).name != self.table.file_name):
            self.load_file(text)

    def load_file(self, path: str, *, sheet: str | None = None) -> bool:
        """Read the file (fast: no database); False with a red message when it cannot be used."""
        self.table = None
        self.preview = None
        text = (path or "").strip()
        if not text:
            self._set_status(_("Bitte eine Datei wählen."), ERROR_STYLE)
            self._update_buttons()
            return False
        try:
            table = person_import.read_table(Path(text).expanduser(), sheet=sheet or None)
        except UserError as exc:
            self.file_info.clear()
            self._set_status(exc.message, ERROR_STYLE)
            self._update_buttons()
            return False
        self._loaded_path = text
        self.table = table
        self.path.setText(text)
        self.sheet.clear()
        self.sheet.addItems(table.sheets)
        if table.sheet:
            self.sheet.setCurrentText(table.sheet)
        self.sheet.setVisible(len(table.sheets) > 1)
        self.sheet_label.setVisible(len(table.sheets) > 1)
        if table.file_format == "xlsx":
            kind = _("Excel-Arbeitsmappe, Tabellenblatt „{sheet}“").format(sheet=table.sheet)
        else:
            separator = {";": _("Semikolon"), ",": _("Komma"), "\t": _("Tabulator")}.get(
                table.delimiter or "", ""
            )
            kind = _("CSV-Datei ({encoding}, Trennzeichen {separator})").format(
                encoding="UTF-8" if table.encoding == "utf-8" else "Windows-1252", separator=separator
            )
        rows = ngettext("{n} Datenzeile", "{n} Datenzeilen", len(table.rows)).format(
            n=format_number(len(table.rows))
        )
        columns = ngettext("{n} Spalte", "{n} Spalten", len(table.header)).format(n=len(table.header))
        self.file_info.setText("\n".join([f"{kind}: {rows}, {columns}.", *table.notices]))
        self._fill_mapping(person_import.effective_mapping(table.header, None))
        self._refresh_saved()
        self._set_status("")
        self._update_buttons()
        return True

    # --- step 2: the mapping ----------------------------------------------------------------------------

    def _fill_mapping(self, mapping: person_import.ImportMapping) -> None:
        assert self.table is not None
        self._values = dict(mapping.values)
        labels = person_import.field_labels()
        self.mapping_table.setRowCount(0)
        self.mapping_table.setRowCount(len(self.table.header))
        self._combos = []
        sample_row = self.table.rows[0][1] if self.table.rows else []
        for r, column in enumerate(self.table.header):
            name = QTableWidgetItem(column)
            sample = QTableWidgetItem(sample_row[r] if r < len(sample_row) else "")
            self.mapping_table.setItem(r, 0, name)
            self.mapping_table.setItem(r, 1, sample)
            combo = QComboBox()
            combo.setAccessibleName(_("Feld für die Spalte „{column}“").format(column=column))
            combo.addItem(_("– nicht übernehmen –"), "")
            for key, label in labels.items():
                combo.addItem(label, key)
            index = combo.findData(mapping.columns.get(column, ""))
            combo.setCurrentIndex(max(index, 0))
            combo.currentIndexChanged.connect(self._mapping_changed)
            self.mapping_table.setCellWidget(r, 2, combo)
            self._combos.append(combo)
        self.mapping_table.resizeColumnToContents(0)
        self.mapping_table.setColumnWidth(0, min(max(self.mapping_table.columnWidth(0), 160), 260))
        self.mapping_table.setColumnWidth(1, 220)
        self._mapping_changed()

    def current_mapping(self) -> person_import.ImportMapping:
        columns = {}
        if self.table is not None:
            for column, combo in zip(self.table.header, self._combos, strict=False):
                columns[column] = combo.currentData() or ""
        return person_import.ImportMapping(columns, dict(getattr(self, "_values", {})))

    def set_field(self, column: str, field_name: str) -> None:
        """Map ``column`` to ``field_name`` ("" = not imported), as choosing in the combo does."""
        assert self.table is not None
        combo = self._combos[self.table.header.index(column)]
        combo.setCurrentIndex(max(combo.findData(field_name), 0))

    def _conflicts(self) -> dict[str, list[str]]:
        return person_import.mapping_conflicts(self.current_mapping()) if self._combos else {}

    def _mapping_changed(self, *_args) -> None:
        conflicts = self._conflicts()
        labels = person_import.field_labels()
        if conflicts:
            field_name, columns = next(iter(conflicts.items()))
            text = _(
                "Achtung: Die Spalten {columns} sind alle dem Feld „{field}“ zugeordnet. Jedes Feld kann nur eine "
                "Spalte aufnehmen; bitte eine davon auf „nicht übernehmen“ stellen."
            ).format(columns=", ".join(f"„{c}“" for c in columns), field=labels[field_name])
            self.mapping_warning.setText(text)
            self.mapping_warning.show()
        elif "family_name" not in self.current_mapping().columns.values() and self._combos:
            self.mapping_warning.setText(
                _(
                    "Achtung: Keine Spalte ist dem Nachnamen zugeordnet; ohne Nachnamen kann nichts übernommen werden."
                )
            )
            self.mapping_warning.show()
        else:
            self.mapping_warning.hide()
        for combo in self._combos:
            bad = combo.currentData() in conflicts
            combo.setStyleSheet(f"QComboBox {{ border: 2px solid {theme.colour('error')}; }}" if bad else "")
        self._update_buttons()

    def _refresh_saved(self, select: str | None = None) -> None:
        try:
            self._saved = person_import.saved_mappings(self.ctx)
        except UserError as exc:
            self._saved = {}
            self._set_status(exc.message, ERROR_STYLE)
        self.saved.clear()
        for name in self._saved:
            self.saved.addItem(name, name)
        if select:
            self.saved.setCurrentIndex(max(self.saved.findData(select), 0))
        has = bool(self._saved)
        self.saved.setEnabled(has)
        self.load_saved.setEnabled(has)
        self.delete_saved.setEnabled(has)

    def apply_saved_mapping(self) -> None:
        name = self.saved.currentData()
        if not name or self.table is None:
            return
        mapping = person_import.effective_mapping(self.table.header, self._saved[name])
        self._fill_mapping(mapping)
        self._set_status(_("Zuordnung „{name}“ geladen.").format(name=name))

    def save_mapping_as(self, name: str) -> bool:
        try:
            person_import.save_mapping(self.ctx, name, self.current_mapping())
        except UserError as exc:
            self._set_status(exc.message, ERROR_STYLE)
            return False
        self._refresh_saved(select=" ".join(name.split()))
        self._set_status(_("Zuordnung „{name}“ gespeichert.").format(name=" ".join(name.split())))
        return True

    def _ask_save_mapping(self) -> None:
        name, ok = QInputDialog.getText(
            self, _("Zuordnung speichern"), _("Name der Zuordnung (z. B. „Liste Jobcenter“):"),
            text=self.saved.currentText(),
        )  # fmt: skip
        if ok:
            self.save_mapping_as(name)

    def _delete_saved_mapping(self) -> None:
        name = self.saved.currentData()
        if not name:
            return
        answer = QMessageBox.question(
            self, _("Zuordnung löschen"), _("Die gespeicherte Zuordnung „{name}“ löschen?").format(name=name)
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        try:
            person_import.delete_mapping(self.ctx, name)
        except UserError as exc:
            self._set_status(exc.message, ERROR_STYLE)
            return
        self._refresh_saved()

    # --- step 3: dry run and import in the worker -------------------------------------------------------

    def start_import(self) -> bool:
        if self.preview is None or self.result is not None or self.running:
            return False
        return self._start(dry_run=False)

    def _start(self, *, dry_run: bool) -> bool:
        if self.running or self.table is None:
            return False
        self._dry_run = dry_run
        if dry_run:
            self.preview = None
            self.counts.setText(_("Die Zeilen werden geprüft …"))
            for table in (self.import_table, self.duplicate_table, self.rejected_table, self.flagged_table):
                table.setRowCount(0)
        self._set_status(
            _("Probelauf: nichts wird gespeichert …") if dry_run else _("Personen werden gespeichert …")
        )
        self.progress.setRange(0, 0)
        self.progress.setTextVisible(False)
        self.progress.show()
        self._worker = _Worker(self.ctx, self.table, self.current_mapping(), dry_run)
        self._thread = QThread(self)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        self._worker.progressed.connect(self._on_progress)
        self._worker.succeeded.connect(self._on_succeeded)
        self._worker.failed.connect(self._on_failed)
        self._thread.start()
        self._update_buttons()
        return True

    def cancel_run(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            self.cancel.setEnabled(False)
            self._set_status(_("Wird abgebrochen …"))

    def _on_progress(self, stage: str, done: int, total: int) -> None:
        self.progress.setTextVisible(total > 0)
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"{stage}: %v / %m")
        self.progress.setAccessibleDescription(
            _("{stage}: {done} von {total}").format(stage=stage, done=done, total=total)
        )

    def _on_succeeded(self, result: person_import.ImportResult) -> None:
        self._finish()
        if result.dry_run:
            self.preview = result
            self._set_status(
                _("Probelauf beendet; es wurde nichts gespeichert. Mit „Importieren“ übernehmen.")
                if result.to_import
                else _("Probelauf beendet: keine Zeile kann übernommen werden."),
                "" if result.to_import else WARNING_STYLE,
            )
        else:
            self.result = result
            self._set_status(
                _("Import abgeschlossen. Rückgängig machen über „Frühere Importe“."), theme.ok_style()
            )
            self.imported.emit(result)
        self._show_result(result)
        self._update_buttons()

    def _on_failed(self, message: str) -> None:
        self._finish()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        if self._dry_run:
            self.counts.setText("")
        self._set_status(message, ERROR_STYLE)
        self._update_buttons()

    def _finish(self) -> None:
        thread, self._thread, self._worker = self._thread, None, None
        if thread is not None:
            thread.quit()
            thread.wait()
            thread.deleteLater()
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        self.progress.hide()

    def _show_result(self, result: person_import.ImportResult) -> None:
        n = len(result.to_import)
        if result.dry_run:
            head = ngettext("{n} Person würde übernommen", "{n} Personen würden übernommen", n)
        else:
            head = ngettext("{n} Person übernommen", "{n} Personen übernommen", n)
        counts = result.counts()
        self.counts.setText(
            "  ·  ".join([
                head.format(n=format_number(n)),
                ngettext("{n} mögliche Dublette", "{n} mögliche Dubletten", counts["duplicates"]).format(
                    n=format_number(counts["duplicates"])),
                ngettext("{n} Zeile abgelehnt", "{n} Zeilen abgelehnt", counts["rejected"]).format(
                    n=format_number(counts["rejected"])),
                ngettext("{n} Person zu prüfen", "{n} Personen zu prüfen", counts["flagged"]).format(
                    n=format_number(counts["flagged"])),
            ])
        )  # fmt: skip
        self.tabs.setTabText(0, _("Übernehmen ({n})").format(n=format_number(n)))
        self.tabs.setTabText(1, _("Dubletten ({n})").format(n=format_number(counts["duplicates"])))
        self.tabs.setTabText(2, _("Abgelehnt ({n})").format(n=format_number(counts["rejected"])))
        self.tabs.setTabText(3, _("Zu prüfen ({n})").format(n=format_number(counts["flagged"])))
        _fill(
            self.import_table,
            [[str(r.line), r.family_name, r.given_names, r.birth_text, r.values.get("city") or ""]
             for r in result.to_import[:PREVIEW_LIMIT]],
        )  # fmt: skip
        duplicate_rows = []
        for d in result.duplicates[:PREVIEW_LIMIT]:
            if d.same_as_line is not None:
                known = _("Zeile {line} dieser Datei").format(line=d.same_as_line)
            else:
                known = "; ".join(
                    f"{c.family_name}, {c.given_names}"
                    + (f" ({c.birth_date.german()})" if c.birth_date else "")
                    for c in d.candidates[:3]
                )
            duplicate_rows.append(
                [str(d.row.line), d.row.family_name, d.row.given_names, d.row.birth_text, known]
            )
        _fill(self.duplicate_table, duplicate_rows)
        _fill(self.rejected_table, [[str(r.line), r.reason] for r in result.rejected[:PREVIEW_LIMIT]])
        _fill(
            self.flagged_table,
            [
                [str(r.line), r.family_name, r.given_names, " ".join(r.flags)]
                for r in result.flagged[:PREVIEW_LIMIT]
            ],
        )
        if result.rejected and not result.to_import:
            self.tabs.setCurrentIndex(2)

    def save_rejects_to(self, path: str | Path) -> bool:
        source = self.result or self.preview
        if source is None:
            return False
        try:
            written = person_import.write_rejects(source, Path(path))
        except UserError as exc:
            self._set_status(exc.message, ERROR_STYLE)
            return False
        self._set_status(_("Abgelehnte Zeilen gespeichert: {path}").format(path=written))
        return True

    def _ask_save_rejects(self) -> None:
        base = Path(self.path.text() or "import").with_suffix("")
        suggestion = str(base.parent / f"{base.name}_abgelehnt.csv")
        chosen, _filter = QFileDialog.getSaveFileName(
            self, _("Abgelehnte Zeilen speichern"), suggestion, _("CSV-Dateien (*.csv)")
        )
        if chosen:
            self.save_rejects_to(chosen)

    # --- other --------------------------------------------------------------------------------------------

    def show_batches(self) -> None:
        dialog = ImportBatchesDialog(self.ctx, self)
        dialog.undone.connect(lambda _batch: self.imported.emit(None))
        dialog.open_person.connect(self.open_person.emit)
        dialog.open_person.connect(lambda _person_id: self.accept())
        dialog.exec()

    def _set_status(self, text: str, style: str = "") -> None:
        self.status.setStyleSheet(style)
        self.status.setText(text)

    def reject(self) -> None:
        if self.running:
            self.cancel_run()
            return
        super().reject()

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if self.running:
            self.cancel_run()
            event.ignore()
            return
        super().closeEvent(event)


class ImportBatchesDialog(QDialog):
    """The last imports, with "Import rückgängig machen" for one of them. ``undone`` carries the batch id."""

    undone = Signal(str)
    open_person = Signal(str)  # a person to review was chosen

    def __init__(self, ctx, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.batches: list[person_import.BatchView] = []
        self.setWindowTitle(_("Frühere Importe"))
        self.setMinimumSize(760, 480)
        layout = QVBoxLayout(self)
        intro = QLabel(
            _("„Import rückgängig machen“ entfernt alle Personen eines Imports. Das geht nur, solange keine davon "
              "seither bearbeitet wurde (Fall, Termin, Änderung …).")
        )  # fmt: skip
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.list = _table(
            _("Frühere Importe"),
            [
                _("Datum"),
                _("Datei"),
                _("Zeilen"),
                _("übernommen"),
                _("Dubletten"),
                _("abgelehnt"),
                _("Stand"),
            ],
        )
        self.list.itemSelectionChanged.connect(self._selection_changed)
        layout.addWidget(self.list, 1)
        review_label = QLabel(_("Zu &prüfen in diesem Import (Doppelklick oder Eingabe öffnet die Person):"))
        self.review = _table(
            _("Zu prüfende Personen des Imports"), [_("Zeile"), _("Nachname"), _("Vorname"), _("Hinweis")]
        )
        review_label.setBuddy(self.review)
        self.review.activated.connect(self._review_activated)
        layout.addWidget(review_label)
        layout.addWidget(self.review, 1)
        self._flagged: list[person_import.FlaggedPerson] = []
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setAccessibleName(_("Meldung"))
        layout.addWidget(self.status)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.undo = QPushButton(_("Import &rückgängig machen"))
        self.undo.setAccessibleName(_("Ausgewählten Import rückgängig machen"))
        self.undo.clicked.connect(lambda: self.undo_selected())
        self.close_button = QPushButton(_("&Schließen"))
        self.close_button.setAccessibleName(_("Dialog schließen"))
        self.close_button.clicked.connect(self.accept)
        for button in (self.undo, self.close_button):
            button.setAutoDefault(False)
            buttons.addWidget(button)
        layout.addLayout(buttons)
        self.refresh()

    def refresh(self) -> None:
        try:
            self.batches = person_import.list_batches(self.ctx)
        except UserError as exc:
            self.batches = []
            self._set_status(exc.message, ERROR_STYLE)
        rows = []
        for b in self.batches:
            if b.undone_at is not None:
                state = _("rückgängig gemacht am {date}").format(date=format_date(local_time(b.undone_at)))
            else:
                state = ngettext("{n} Person vorhanden", "{n} Personen vorhanden", b.remaining).format(
                    n=b.remaining
                )
            rows.append([
                local_time(b.created_at).strftime("%d.%m.%Y %H:%M"), b.file_name, str(b.rows_total), str(b.imported),
                str(b.duplicates), str(b.rejected), state,
            ])  # fmt: skip
        _fill(self.list, rows)
        self._selection_changed()
        if not rows:
            self._set_status(_("Es gibt noch keine Importe."))
        self._update_buttons()

    def selected(self) -> person_import.BatchView | None:
        rows = self.list.selectionModel().selectedRows() if self.list.selectionModel() else []
        return self.batches[rows[0].row()] if rows else None

    def _update_buttons(self) -> None:
        batch = self.selected()
        self.undo.setEnabled(batch is not None and batch.undone_at is None)

    def _selection_changed(self) -> None:
        self._update_buttons()
        batch = self.selected()
        try:
            self._flagged = person_import.flagged_persons(self.ctx, batch.id) if batch is not None else []
        except UserError as exc:
            self._flagged = []
            self._set_status(exc.message, ERROR_STYLE)
        _fill(
            self.review,
            [[str(f.line), f.family_name, f.given_names, " ".join(f.flags)] for f in self._flagged],
        )

    def _review_activated(self, index) -> None:
        if 0 <= index.row() < len(self._flagged):
            self.open_person.emit(self._flagged[index.row()].person_id)
            self.accept()

    def undo_selected(self, *, confirm: bool = True) -> bool:
        batch = self.selected()
        if batch is None or batch.undone_at is not None:
            return False
        if confirm:
            answer = QMessageBox.question(
                self,
                _("Import rückgängig machen"),
                ngettext(
                    "Die {n} Person aus „{file}“ wird gelöscht. Fortfahren?",
                    "Die {n} Personen aus „{file}“ werden gelöscht. Fortfahren?",
                    batch.remaining,
                ).format(n=batch.remaining, file=batch.file_name),
            )
            if answer != QMessageBox.StandardButton.Yes:
                return False
        try:
            done = person_import.undo_import(self.ctx, batch.id)
        except UserError as exc:
            self._set_status(exc.message, ERROR_STYLE)
            return False
        self.refresh()
        self._set_status(
            ngettext("Import rückgängig gemacht: {n} Person entfernt.", "Import rückgängig gemacht: {n} Personen entfernt.",
                     done.removed).format(n=done.removed),
            theme.ok_style(),
        )  # fmt: skip
        self.undone.emit(batch.id)
        return True

    def _set_status(self, text: str, style: str = "") -> None:
        self.status.setStyleSheet(style)
        self.status.setText(text)

"""„Wer hat diese Akte gesehen oder geändert?“ – the access log and the change history of a person or a case.

Two tabs (Zugriffe, Änderungen) over ``services.audit_trail.read_trail`` (each load is itself an audited read),
a period filter, and the CSV export for the data protection officer (an audited export). Also the Art. 15
export of a person (``ask_and_export_person``), started from the person page.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from PySide6.QtCore import QDate, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from .. import APP_NAME
from ..errors import UserError
from ..i18n import _
from ..services import audit_trail
from ..services.localtime import local_time
from .widgets import RowsTableModel, make_list_table

PRESETS = ("all", "7", "30", "365", "custom")


class AccessModel(RowsTableModel):
    def __init__(self, parent=None) -> None:
        super().__init__((_("Zeitpunkt"), _("Wer"), _("Aktion"), _("Was")), parent)


    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        row = self.row_at(index.row())
        if row is None or role != Qt.ItemDataRole.DisplayRole:
            return None
        return (local_time(row.at).strftime("%d.%m.%Y %H:%M"), row.user, row.action_label, row.what)[
            index.column()
        ]


class ChangeModel(RowsTableModel):
    def __init__(self, parent=None) -> None:
        super().__init__(
            (_("Zeitpunkt"), _("Wer"), _("Was"), _("Feld"), _("Alter Wert"), _("Neuer Wert")), parent
        )


    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        row = self.row_at(index.row())
        if row is None or role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return None
        field = row.field_label if row.field else row.operation_label
        values = (
            local_time(row.at).strftime("%d.%m.%Y %H:%M"),
            row.user,
            row.what,
            field,
            row.old_value or "",
            row.new_value or "",
        )
        return values[index.column()]


class AuditDialog(QDialog):
    def __init__(self, ctx, *, person_id: str | None = None, case_id: str | None = None, parent=None) -> None:
        super().__init__(parent)
        self.ctx, self.person_id, self.case_id = ctx, person_id, case_id
        self.trail: audit_trail.Trail | None = None
        self.setWindowTitle(_("Wer hat diese Akte gesehen oder geändert?"))
        self.resize(900, 560)

        self.period = QComboBox()
        self.period.setAccessibleName(_("Zeitraum"))
        for key, label in zip(
            PRESETS,
            (
                _("Gesamter Zeitraum"),
                _("Letzte 7 Tage"),
                _("Letzte 30 Tage"),
                _("Letzte 12 Monate"),
                _("Zeitraum wählen"),
            ),
            strict=True,
        ):
            self.period.addItem(label, key)
        period_label = QLabel(_("&Zeitraum:"))
        period_label.setBuddy(self.period)
        self.first = QDateEdit(QDate.currentDate().addMonths(-1))
        self.last = QDateEdit(QDate.currentDate())
        for edit, name in ((self.first, _("Von")), (self.last, _("Bis"))):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("dd.MM.yyyy")
            edit.setAccessibleName(name)
            edit.setEnabled(False)
        self.show_button = QPushButton(_("&Anzeigen"))
        self.show_button.setAccessibleName(_("Zeitraum anzeigen"))
        self.show_button.setEnabled(False)
        self.show_button.clicked.connect(self.reload)
        self.period.currentIndexChanged.connect(self._period_changed)
        filters = QHBoxLayout()
        filters.addWidget(period_label)
        filters.addWidget(self.period)
        filters.addWidget(QLabel(_("von")))
        filters.addWidget(self.first)
        filters.addWidget(QLabel(_("bis")))
        filters.addWidget(self.last)
        filters.addWidget(self.show_button)
        filters.addStretch(1)

        self.access_model = AccessModel(self)
        self.access_table = make_list_table(
            QTableView(), _("Zugriffe"), _("Wer hat die Akte wann gelesen, gedruckt oder exportiert")
        )
        self.access_table.setModel(self.access_model)
        self.change_model = ChangeModel(self)
        self.change_table = make_list_table(
            QTableView(), _("Änderungen"), _("Feld, alter Wert, neuer Wert, wer, wann")
        )
        self.change_table.setModel(self.change_model)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.access_table, _("Z&ugriffe"))
        self.tabs.addTab(self.change_table, _("Än&derungen"))
        self.summary = QLabel()
        self.summary.setAccessibleName(_("Anzahl der Einträge"))

        self.export_button = QPushButton(_("Für die/den Datenschutzbeauftragte/n &exportieren …"))
        self.export_button.setAccessibleName(
            _("Protokoll als CSV für die/den Datenschutzbeauftragte/n exportieren")
        )
        self.export_button.clicked.connect(self.export)
        close = QPushButton(_("&Schließen"))
        close.setAccessibleName(_("Schließen"))
        close.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        buttons.addWidget(self.export_button)
        buttons.addStretch(1)
        buttons.addWidget(close)

        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.summary)
        layout.addLayout(buttons)
        self.reload()

    def _period_changed(self) -> None:
        custom = self.period.currentData() == "custom"
        for widget in (self.first, self.last, self.show_button):
            widget.setEnabled(custom)
        if not custom:
            self.reload()

    def bounds(self) -> tuple[date | None, date | None]:
        key = self.period.currentData()
        if key == "all":
            return None, None
        if key == "custom":
            first, last = self.first.date().toPython(), self.last.date().toPython()
            return (first, last) if first <= last else (last, first)
        return date.today() - timedelta(days=int(key) - 1), None

    def reload(self) -> None:
        since, until = self.bounds()
        try:
            self.trail = audit_trail.read_trail(
                self.ctx, person_id=self.person_id, case_id=self.case_id, since=since, until=until
            )
        except UserError as exc:
            QMessageBox.warning(self, APP_NAME, exc.message)
            return
        self.access_model.set_rows(self.trail.access)
        self.change_model.set_rows(self.trail.changes)
        self.summary.setText(
            _("Zugriffe: {access}, Änderungen: {changes}").format(
                access=len(self.trail.access), changes=len(self.trail.changes)
            )
        )

    def export_to(self, path: Path) -> Path:
        from .pdf_preview import write_file_atomically

        since, until = self.bounds()
        data = audit_trail.export_for_dpo(
            self.ctx, person_id=self.person_id, case_id=self.case_id, since=since, until=until
        )
        write_file_atomically(path, data)
        return path

    def export(self) -> Path | None:
        from .pdf_preview import default_directory

        suggested = default_directory() / f"protokoll-{date.today().isoformat()}.csv"
        name, _filter = QFileDialog.getSaveFileName(
            self, _("Protokoll exportieren"), str(suggested), _("CSV-Dateien (*.csv)")
        )
        if not name:
            return None
        path = Path(name)
        if path.suffix.lower() != ".csv":
            path = path.with_name(path.name + ".csv")
        try:
            return self.export_to(path)
        except UserError as exc:
            QMessageBox.warning(self, APP_NAME, exc.message)
        except OSError:
            QMessageBox.warning(
                self, APP_NAME, _("Die Datei kann nicht geschrieben werden: {path}").format(path=path)
            )
        return None


def show_trail(parent: QWidget, ctx, *, person_id: str | None = None, case_id: str | None = None) -> None:
    """Open the dialog for a stored person or case (nothing for a person not saved yet)."""
    if ctx is None or not (person_id or case_id):
        return
    AuditDialog(ctx, person_id=person_id, case_id=case_id, parent=parent).exec()


def ask_and_export_person(parent: QWidget, ctx, person_id: str | None) -> Path | None:
    """„Auskunft Art. 15 …“: ask where to save the ZIP, write it (letter, JSON, documents)."""
    from ..services.subject_access import export_person
    from .pdf_preview import default_directory

    if ctx is None or not person_id:
        return None
    suggested = default_directory() / f"auskunft-art15-{date.today().isoformat()}.zip"
    name, _filter = QFileDialog.getSaveFileName(
        parent, _("Auskunft nach Art. 15 DSGVO speichern"), str(suggested), _("ZIP-Archive (*.zip)")
    )
    if not name:
        return None
    path = Path(name)
    if path.suffix.lower() != ".zip":
        path = path.with_name(path.name + ".zip")
    try:
        export_person(ctx, person_id, path)
    except UserError as exc:
        QMessageBox.warning(parent, APP_NAME, exc.message)
        return None
    QMessageBox.information(
        parent,
        APP_NAME,
        _("Die Auskunft wurde gespeichert und der Brief in der Akte archiviert: {path}").format(path=path),
    )
    return path

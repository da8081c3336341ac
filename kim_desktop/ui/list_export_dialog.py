"""Datei › Liste exportieren: the person or case list as Excel or CSV, as far as the user's role allows.

Everything is decided in ``services.list_export`` (visible rows only, no journal text, formulas defused,
audited); this dialog collects the choice and the file name.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from ..db.models import CASE_PHASES
from ..errors import UserError
from ..i18n import _, ngettext
from ..services import list_export
from ..services.cases import phase_label
from . import theme


class ListExportDialog(QDialog):
    def __init__(self, ctx, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.written: Path | None = None
        self.setWindowTitle(_("Liste exportieren"))
        layout = QVBoxLayout(self)
        intro = QLabel(
            _(
                "Exportiert werden nur die Personen und Fälle, die Sie sehen dürfen – ohne Verlaufstexte und "
                "ohne eingeschränkte Personen. Der Export wird protokolliert."
            )
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        kinds = QWidget()
        kinds_layout = QHBoxLayout(kinds)
        kinds_layout.setContentsMargins(0, 0, 0, 0)
        self.persons = QRadioButton(_("&Personen"))
        self.cases = QRadioButton(_("&Fälle"))
        self.persons.setChecked(True)
        self.kind_group = QButtonGroup(self)
        for button in (self.persons, self.cases):
            self.kind_group.addButton(button)
            kinds_layout.addWidget(button)
        kinds_layout.addStretch(1)
        form.addRow(_("Liste:"), kinds)
        self.phase = QComboBox()
        self.phase.addItem(_("alle Phasen"), None)
        self.phase.addItem(_("alle offenen Fälle"), "open")
        for phase in CASE_PHASES:
            self.phase.addItem(phase_label(phase), phase)
        self.phase.setAccessibleName(_("Phase der Fälle"))
        phase_caption = QLabel(_("P&hase:"))
        phase_caption.setBuddy(self.phase)
        form.addRow(phase_caption, self.phase)
        formats = QWidget()
        formats_layout = QHBoxLayout(formats)
        formats_layout.setContentsMargins(0, 0, 0, 0)
        self.xlsx = QRadioButton(_("&Excel (.xlsx)"))
        self.csv = QRadioButton(_("&CSV (Excel, Semikolon)"))
        self.xlsx.setChecked(True)
        self.format_group = QButtonGroup(self)
        for button in (self.xlsx, self.csv):
            self.format_group.addButton(button)
            formats_layout.addWidget(button)
        formats_layout.addStretch(1)
        form.addRow(_("Format:"), formats)
        layout.addLayout(form)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setVisible(False)
        layout.addWidget(self.status)
        buttons = QDialogButtonBox()
        self.save_button = buttons.addButton(_("&Speichern unter …"), QDialogButtonBox.ButtonRole.AcceptRole)
        close = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        close.setText(_("S&chließen"))
        self.save_button.clicked.connect(self.choose_and_export)
        close.clicked.connect(self.reject)
        layout.addWidget(buttons)
        self.cases.toggled.connect(self._kind_changed)
        self._kind_changed(False)

    def _kind_changed(self, cases: bool) -> None:
        self.phase.setEnabled(cases)

    def kind(self) -> str:
        return "cases" if self.cases.isChecked() else "persons"

    def fmt(self) -> str:
        return "csv" if self.csv.isChecked() else "xlsx"

    def choose_and_export(self) -> None:
        suffix = "." + self.fmt()
        default = (_("Personenliste") if self.kind() == "persons" else _("Fallliste")) + suffix
        name, _filter = QFileDialog.getSaveFileName(
            self, _("Liste exportieren"), str(Path.home() / default),
            _("Excel-Dateien (*.xlsx)") if self.fmt() == "xlsx" else _("CSV-Dateien (*.csv)"),
        )  # fmt: skip
        if name:
            path = Path(name)
            self.export_to(path if path.suffix.lower() == suffix else path.with_name(path.name + suffix))

    def export_to(self, path: Path) -> bool:
        try:
            rows = list_export.export_list(
                self.ctx,
                self.kind(),
                self.fmt(),
                path,
                phase=self.phase.currentData() if self.cases.isChecked() else None,
            )
        except UserError as exc:
            self._show(exc.message, error=True)
            return False
        except OSError:
            self._show(_("Die Datei kann nicht geschrieben werden: {path}").format(path=path), error=True)
            return False
        self.written = path
        self._show(
            ngettext("{n} Zeile gespeichert: {path}", "{n} Zeilen gespeichert: {path}", rows).format(
                n=rows, path=path
            )
        )
        return True

    def _show(self, message: str, *, error: bool = False) -> None:
        self.status.setStyleSheet(theme.error_style() if error else theme.ok_style())
        self.status.setText(message)
        self.status.setVisible(True)

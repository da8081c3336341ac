"""„Löschfristen …“ (Datei menu): preview and run of the retention rule (``services.retention``).

Shows the office's period (read-only; it is set with ``kim-desktop`` or the settings), how many persons are
due and how many records per kind the run would delete or anonymise (no names), offers a backup beside the
database first („Vorher sichern“, on by default) and runs ``retention.apply`` after a confirmation that states
the number of persons. The result shows the protocol counts and, if some persons failed, the German messages.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
)

from .. import APP_NAME
from ..errors import UserError
from ..i18n import _
from ..services import audit_trail, backup, retention


def kind_labels() -> dict[str, str]:
    """German names of the kinds of records in the preview and the protocol."""
    labels = audit_trail.entity_labels()
    labels.update(
        {
            "person": _("Personen"),
            "person_name_variant": _("Namensschreibweisen"),
            "search_key": _("Suchschlüssel"),
            "case_file": _("Fallakten"),
            "journal_entry": _("Verlaufseinträge"),
            "document": _("Dokumente"),
            "consent": _("Einwilligungen"),
            "referral": _("Vermittlungen"),
            "appointment": _("Termine"),
            "appointment_participant": _("Terminteilnahmen"),
            "follow_up": _("Wiedervorlagen"),
            "change_record": _("Einträge der Änderungshistorie"),
            "sync_conflict": _("Synchronisationskonflikte"),
            "person_relation": _("Beziehungen"),
            "household_member": _("Haushaltszugehörigkeiten"),
            "assessment": _("Einschätzungen"),
            "goal": _("Ziele"),
            "step": _("Schritte"),
            "case_phase_change": _("Phasenwechsel"),
            "referral_status_change": _("Statuswechsel von Vermittlungen"),
        }
    )
    return labels


def _count_lines(counts: dict[str, int]) -> list[str]:
    labels = kind_labels()
    return [
        f"{labels.get(kind, kind)}: {n}"
        for kind, n in sorted(counts.items(), key=lambda kv: labels.get(kv[0], kv[0]))
    ]


def database_file(ctx) -> Path | None:
    """The local database file, or None (office server: no backup from here)."""
    path = getattr(getattr(ctx.database, "location", None), "path", None)
    return Path(path) if path else None


class RetentionDialog(QDialog):
    def __init__(self, ctx, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.preview_data: dict | None = None
        self.report: retention.RetentionReport | None = None
        self.backup_path: Path | None = None
        self.setWindowTitle(_("Löschfristen"))
        self.resize(620, 520)

        self.period = QLabel()
        self.period.setWordWrap(True)
        self.period.setAccessibleName(_("Aufbewahrungsfrist des Büros"))
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setAccessibleName(_("Fällige Personen"))
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setAccessibleName(_("Betroffene Einträge je Art"))
        self.details.setAccessibleDescription(
            _("Wie viele Einträge je Art gelöscht oder anonymisiert werden (ohne Namen)")
        )

        self.backup_box = QCheckBox(_("&Vorher sichern"))
        self.backup_box.setAccessibleName(_("Vor dem Anonymisieren eine Sicherung anlegen"))
        self.backup_box.setChecked(True)
        self.folder = database_file(ctx)
        if self.folder is not None:
            self.folder = backup.backup_folder(self.folder)
            self.backup_box.setToolTip(_("Die Sicherung wird hier abgelegt: {path}").format(path=self.folder))
        else:
            self.backup_box.setChecked(False)
            self.backup_box.setEnabled(False)
            self.backup_box.setToolTip(_("Sicherungen sind nur für eine lokale Datenbankdatei möglich."))

        self.apply_button = QPushButton(_("Jetzt &anonymisieren …"))
        self.apply_button.setAccessibleName(_("Fällige Personen jetzt anonymisieren"))
        self.apply_button.clicked.connect(self.ask_and_apply)
        close = QPushButton(_("&Schließen"))
        close.setAccessibleName(_("Schließen"))
        close.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        buttons.addWidget(self.backup_box)
        buttons.addStretch(1)
        buttons.addWidget(self.apply_button)
        buttons.addWidget(close)

        layout = QVBoxLayout(self)
        layout.addWidget(self.period)
        layout.addWidget(self.summary)
        layout.addWidget(self.details, 1)
        layout.addLayout(buttons)
        self.reload()

    def reload(self) -> None:
        try:
            with self.ctx.read() as session:
                years = retention.retention_years(session)
            self.preview_data = retention.preview(self.ctx)
        except UserError as exc:
            self.summary.setText(exc.message)
            self.apply_button.setEnabled(False)
            return
        self.period.setText(
            _(
                "Aufbewahrungsfrist des Büros: {years} Jahre nach dem Ende des Jahres, in dem der letzte Fall "
                "einer Person abgeschlossen wurde."
            ).format(years=years)
        )
        persons = self.preview_data["persons"]
        if persons:
            self.summary.setText(
                _("Fällige Personen: {n}. Diese Einträge würden gelöscht oder anonymisiert:").format(
                    n=persons
                )
            )
        else:
            self.summary.setText(_("Zurzeit ist keine Person fällig."))
        self.details.setPlainText("\n".join(_count_lines(self.preview_data["records"])))
        self.apply_button.setEnabled(persons > 0)

    def confirm(self) -> bool:
        persons = self.preview_data["persons"] if self.preview_data else 0
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle(_("Löschfristen"))
        box.setText(
            _(
                "Personen, die jetzt anonymisiert werden: {n}. Namen, Anschrift, Kontaktdaten, Texte, Dokumente und "
                "Einwilligungen werden endgültig gelöscht. Übrig bleiben nur anonyme Angaben für die Statistik. "
                "Das lässt sich nicht rückgängig machen."
            ).format(n=persons)
        )
        yes = box.addButton(_("Anonymisieren"), QMessageBox.ButtonRole.AcceptRole)
        no = box.addButton(_("Abbrechen"), QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(no)
        box.exec()
        return box.clickedButton() is yes

    def ask_and_apply(self) -> None:
        if not self.preview_data or not self.preview_data["persons"] or not self.confirm():
            return
        self.run(with_backup=self.backup_box.isChecked())

    def run(self, *, with_backup: bool) -> retention.RetentionReport | None:
        """Back up (if asked), then apply the rule; shows the result in the dialog."""
        self.backup_path = None
        if with_backup and self.folder is not None:
            target = self.folder / f"kim-vor-loeschfristen-{datetime.now():%Y%m%d-%H%M%S}.sqlite3"
            try:
                self.backup_path = retention.safety_backup(self.ctx, target).path
            except UserError as exc:
                QMessageBox.warning(
                    self,
                    APP_NAME,
                    _("Die Sicherung ist fehlgeschlagen; es wurde nichts gelöscht.\n{message}").format(
                        message=exc.message
                    ),
                )
                return None
        from .progress import ServiceProgress

        try:
            with ServiceProgress(self, _("Löschfristen werden angewendet …")) as progress:
                self.report = retention.apply(self.ctx, progress=progress)
        except UserError as exc:
            QMessageBox.warning(self, APP_NAME, exc.message)
            return None
        self.reload()
        self.show_report(self.report)
        return self.report

    def show_report(self, report: retention.RetentionReport) -> None:
        lines = [_("Anonymisierte Personen: {n}").format(n=report.persons)]
        if self.backup_path is not None:
            lines.append(_("Sicherung: {path}").format(path=self.backup_path))
        for action, title in (("deleted", _("Gelöscht")), ("anonymised", _("Anonymisiert"))):
            counts = report.counts.get(action) or {}
            if counts:
                lines.append("")
                lines.append(title + ":")
                lines += ["  " + line for line in _count_lines(counts)]
        if report.failed:
            lines.append("")
            lines.append(_("Nicht bearbeitete Personen: {n}").format(n=report.failed))
            lines += ["  " + message for message in report.errors]
        if report.cancelled:
            lines.append("")
            lines.append(
                _("Abgebrochen: Die übrigen Personen bleiben fällig und werden beim nächsten Lauf bearbeitet.")
            )
        self.summary.setText(_("Der Lauf ist beendet. Protokoll:"))
        self.details.setPlainText("\n".join(lines))

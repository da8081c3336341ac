"""Outlook and phones: export appointments as .ics (one or a case manager's calendar), import busy time."""

from __future__ import annotations

import os
import tempfile
from datetime import date, timedelta
from pathlib import Path

from PySide6.QtCore import QDate
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QMessageBox,
    QWidget,
)

from ..errors import UserError
from ..i18n import _, ngettext

ICS_FILTER = "iCalendar (*.ics)"
MAX_IMPORT_BYTES = 10 * 1024 * 1024


def write_file(path: Path, data: bytes) -> None:
    """Write atomically (temporary file in the same folder, then rename): never a half-written file."""
    folder = path.parent
    handle, temp = tempfile.mkstemp(prefix=".kim-", suffix=".ics", dir=folder)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temp, path)
    except OSError:
        Path(temp).unlink(missing_ok=True)
        raise


def _save(parent: QWidget, suggested: str, data: bytes) -> Path | None:
    name, _filter = QFileDialog.getSaveFileName(parent, _("Kalenderdatei speichern"), str(Path.home() / suggested),
                                                ICS_FILTER)  # fmt: skip
    if not name:
        return None
    path = Path(name if name.lower().endswith(".ics") else name + ".ics")
    try:
        write_file(path, data)
    except OSError:
        QMessageBox.warning(parent, _("Speichern nicht möglich"),
                            _("Die Datei konnte nicht gespeichert werden: {path}").format(path=path))  # fmt: skip
        return None
    return path


def export_appointment(ctx, appointment_id: str, parent: QWidget) -> Path | None:
    """One appointment as .ics (asks whether names or only initials go into the file)."""
    from ..services.ical import export_ics

    answer = QMessageBox.question(
        parent, _("Termin exportieren"),
        _("Nur Initialen statt der Namen in die Datei schreiben? (Empfohlen, wenn die Datei auf ein Telefon oder "
          "in einen geteilten Kalender geht.)"),
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.Yes,
    )  # fmt: skip
    if answer == QMessageBox.StandardButton.Cancel:
        return None
    try:
        with ctx.write() as session:
            data = export_ics(session, [appointment_id], initials_only=answer == QMessageBox.StandardButton.Yes,
                              calendar_name="KIM Desktop")  # fmt: skip
    except UserError as exc:
        QMessageBox.warning(parent, _("Termin exportieren"), str(exc))
        return None
    return _save(parent, "termin.ics", data)


class _ManagerChoice(QComboBox):
    def __init__(self, ctx, *, everyone: str) -> None:
        super().__init__()
        from ..services.codes import case_managers

        self.addItem(everyone, None)
        with ctx.read() as session:
            for user_id, name in case_managers(session):
                self.addItem(name, user_id)
        if ctx.actor.user_id:
            index = self.findData(ctx.actor.user_id)
            self.setCurrentIndex(max(index, 0))


class IcsExportDialog(QDialog):
    """A case manager's (or the team's) appointments of a period as one .ics file."""

    def __init__(self, ctx, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.saved_path: Path | None = None
        self.setWindowTitle(_("Kalender exportieren (.ics)"))
        form = QFormLayout(self)
        today = date.today()
        self.first = QDateEdit(QDate(today - timedelta(days=30)))
        self.last = QDateEdit(QDate(today + timedelta(days=180)))
        for edit, name in ((self.first, _("Von")), (self.last, _("Bis"))):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("dd.MM.yyyy")
            edit.setAccessibleName(name)
        self.manager = _ManagerChoice(ctx, everyone=_("alle Fachkräfte"))
        self.manager.setAccessibleName(_("Kalender von"))
        self.initials = QCheckBox(_("Nur &Initialen statt Namen"))
        self.initials.setChecked(True)
        self.initials.setAccessibleName(_("Nur Initialen statt Namen"))
        for text, widget in ((_("&Von:"), self.first), (_("&Bis:"), self.last), (_("&Kalender von:"), self.manager)):
            label = QLabel(text)
            label.setBuddy(widget)
            form.addRow(label, widget)
        form.addRow(self.initials)
        hint = QLabel(_("Notizen und Fallinhalte kommen nie in die Datei. Termine sind als privat markiert."))
        hint.setWordWrap(True)
        form.addRow(hint)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.export_button = buttons.addButton(_("&Exportieren …"), QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.export)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def data(self) -> tuple[bytes, int]:
        from ..services.ical import export_range

        result = export_range(
            self.ctx, self.first.date().toPython(), self.last.date().toPython(),
            case_manager_id=self.manager.currentData(), initials_only=self.initials.isChecked(),
        )  # fmt: skip
        return result.data, result.count

    def export(self) -> None:
        try:
            data, count = self.data()
        except UserError as exc:
            QMessageBox.warning(self, self.windowTitle(), str(exc))
            return
        path = _save(self, "kalender.ics", data)
        if path is not None:
            self.saved_path = path
            QMessageBox.information(self, self.windowTitle(),
                                    ngettext("{n} Termin gespeichert: {path}", "{n} Termine gespeichert: {path}",
                                             count).format(n=count, path=path.name))  # fmt: skip
            self.accept()


def import_busy_time(ctx, parent: QWidget, path: Path | None = None, case_manager_id: str | None = None) -> str | None:
    """Import an .ics file (e.g. from Outlook) as busy time; returns the summary shown, None if cancelled."""
    from ..services.ical import import_busy_ics

    if path is None:
        name, _filter = QFileDialog.getOpenFileName(parent, _("Kalenderdatei importieren"), str(Path.home()),
                                                    ICS_FILTER)  # fmt: skip
        if not name:
            return None
        path = Path(name)
        case_manager_id = case_manager_id or ctx.actor.user_id
    try:
        if path.stat().st_size > MAX_IMPORT_BYTES:
            raise UserError(_("Die Datei ist zu groß (höchstens 10 MB)."))
        data = path.read_bytes()
        result = import_busy_ics(ctx, data, case_manager_id=case_manager_id)
    except OSError:
        QMessageBox.warning(parent, _("Import nicht möglich"), _("Die Datei konnte nicht gelesen werden."))
        return None
    except UserError as exc:
        QMessageBox.warning(parent, _("Import nicht möglich"), str(exc))
        return None
    summary = _("{imported} belegte Zeiten übernommen, {updated} aktualisiert, {skipped} übersprungen.").format(
        imported=result.imported, updated=result.updated, skipped=result.skipped
    )
    QMessageBox.information(parent, _("Kalenderdatei importiert"), summary)
    return summary

"""Einladungen für einen Tag: every invitation of one day as PDF files in a folder, made in a worker thread.

The dialog collects day, language and folder, then runs ``services.bulk_letters.make_invitations`` in a
``QThread``. The worker never touches a widget: progress, the result and errors travel back as queued
signals; "Abbrechen" sets a flag the service asks between two letters, so the run stops cleanly (files written
so far stay complete, every letter made is archived and audited). Closing the dialog while a run is going on
cancels it and closes once the worker has stopped.
"""

from __future__ import annotations

import logging
import threading
from datetime import date
from pathlib import Path

from PySide6.QtCore import QDate, QObject, QStandardPaths, Qt, QThread, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..errors import UserError
from ..i18n import _, language_name, ngettext
from ..services import bulk_letters, letters
from . import theme
from .widgets import run_and_report

log = logging.getLogger(__name__)


def language_choices() -> list[tuple[str, str]]:
    """(code, label) for the combo: German alone, then German with each translation the letters offer."""
    ready = [code for code in bulk_letters.BULK_LANGUAGES if code in letters.LANGUAGES]
    choices = [("de", _("Deutsch"))]
    for code in ready:
        if code != "de":
            choices.append((code, _("Deutsch und {language}").format(language=language_name(code))))
    return choices


def default_folder() -> Path:
    documents = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return Path(documents or Path.home()) / "Einladungen"


class _Worker(QObject):
    """Runs the bulk letters off the GUI thread; talks to the dialog only through signals."""

    progressed = Signal(int, int)
    succeeded = Signal(object)  # BulkResult
    failed = Signal(str)  # German message

    def __init__(self, ctx, day: date, out_dir: Path, language: str) -> None:
        super().__init__()
        self.ctx, self.day, self.out_dir, self.language = ctx, day, out_dir, language
        self._cancel = threading.Event()

    def cancel(self) -> None:  # called from the GUI thread
        self._cancel.set()

    def run(self) -> None:
        run_and_report(
            lambda: bulk_letters.make_invitations(
                self.ctx,
                self.day,
                self.out_dir,
                language=self.language,
                progress=self.progressed.emit,
                cancelled=self._cancel.is_set,
            ),
            self.succeeded,
            self.failed,
            what="bulk letters",
        )


class BulkLettersDialog(QDialog):
    """Einladungen für einen Tag erstellen. ``finished_run`` carries the ``BulkResult`` after each run."""

    finished_run = Signal(object)

    def __init__(self, ctx, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.result: bulk_letters.BulkResult | None = None
        self._thread: QThread | None = None
        self._worker: _Worker | None = None
        self._close_when_done = False
        self._out_dir: Path | None = None
        self.setWindowTitle(_("Einladungen für einen Tag"))
        self.setMinimumWidth(560)

        layout = QVBoxLayout(self)
        form = QFormLayout()
        layout.addLayout(form)

        self.date = QDateEdit(QDate.currentDate())
        self.date.setCalendarPopup(True)
        self.date.setDisplayFormat("dd.MM.yyyy")
        self.date.setAccessibleName(_("Tag der Termine"))
        self.date.dateChanged.connect(self._update_count)
        date_label = QLabel(_("&Tag der Termine:"))
        date_label.setBuddy(self.date)
        self.count = QLabel()
        self.count.setAccessibleName(_("Einladungen an diesem Tag"))
        date_row = QWidget()
        date_layout = QHBoxLayout(date_row)
        date_layout.setContentsMargins(0, 0, 0, 0)
        date_layout.addWidget(self.date)
        date_layout.addWidget(self.count, 1)
        form.addRow(date_label, date_row)

        self.language = QComboBox()
        self.language.setAccessibleName(_("Sprache der Einladungen"))
        for code, label in language_choices():
            self.language.addItem(label, code)
        language_label = QLabel(_("S&prache:"))
        language_label.setBuddy(self.language)
        form.addRow(language_label, self.language)

        self.folder = QLineEdit(str(default_folder()))
        self.folder.setAccessibleName(_("Zielordner"))
        self.browse = QPushButton(_("&Durchsuchen …"))
        self.browse.setAccessibleName(_("Zielordner wählen"))
        self.browse.clicked.connect(self._browse)
        folder_row = QWidget()
        folder_layout = QHBoxLayout(folder_row)
        folder_layout.setContentsMargins(0, 0, 0, 0)
        folder_layout.addWidget(self.folder, 1)
        folder_layout.addWidget(self.browse)
        folder_label = QLabel(_("&Zielordner:"))
        folder_label.setBuddy(self.folder)
        form.addRow(folder_label, folder_row)

        hint = QLabel(
            _(
                "Für jeden Termin des Tages erhält jede teilnehmende Person eine Einladung als PDF. "
                "Jede Einladung wird außerdem in der Akte archiviert. Abgesagte Termine werden übersprungen."
            )
        )
        hint.setWordWrap(True)
        layout.addWidget(hint)

        self.progress = QProgressBar()
        self.progress.setAccessibleName(_("Fortschritt"))
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat(_("%v von %m"))
        self.progress.setTextVisible(False)  # "0 von 1" before a run would be noise
        layout.addWidget(self.progress)

        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setAccessibleName(_("Ergebnis"))
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.status)

        self.skipped = QPlainTextEdit()
        self.skipped.setReadOnly(True)
        self.skipped.setAccessibleName(_("Übersprungene Einladungen"))
        self.skipped.setMaximumHeight(120)
        self.skipped.hide()
        layout.addWidget(self.skipped)

        buttons = QHBoxLayout()
        self.open_folder = QPushButton(_("&Ordner öffnen"))
        self.open_folder.setAccessibleName(_("Zielordner öffnen"))
        self.open_folder.clicked.connect(self._open_folder)
        self.open_folder.setEnabled(False)
        buttons.addWidget(self.open_folder)
        buttons.addStretch(1)
        self.start = QPushButton(_("Einladungen &erstellen"))
        self.start.setAccessibleName(_("Einladungen erstellen"))
        self.start.setDefault(True)
        self.start.clicked.connect(self.start_run)
        self.cancel = QPushButton(_("&Abbrechen"))
        self.cancel.setAccessibleName(_("Erstellen abbrechen"))
        self.cancel.setEnabled(False)
        self.cancel.clicked.connect(self.cancel_run)
        self.close_button = QPushButton(_("&Schließen"))
        self.close_button.setAccessibleName(_("Schließen"))
        self.close_button.clicked.connect(self.reject)
        for button in (self.start, self.cancel, self.close_button):
            buttons.addWidget(button)
        layout.addLayout(buttons)
        self.setTabOrder(self.date, self.language)
        self.setTabOrder(self.language, self.folder)
        self.setTabOrder(self.folder, self.browse)
        self.setTabOrder(self.browse, self.start)
        self._update_count()

    # --- state -----------------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._thread is not None

    def selected_day(self) -> date:
        return self.date.date().toPython()

    def _update_count(self) -> None:
        try:
            with self.ctx.read() as session:
                n = len(bulk_letters.invitations_for_day(session, self.selected_day()))
        except UserError:
            self.count.clear()
            return
        self.count.setText(
            _("keine Termine") if n == 0 else ngettext("{n} Einladung", "{n} Einladungen", n).format(n=n)
        )

    def _set_running(self, running: bool) -> None:
        for widget in (self.date, self.language, self.folder, self.browse, self.start, self.close_button):
            widget.setEnabled(not running)
        self.cancel.setEnabled(running)
        if running:
            self.cancel.setFocus()
        else:
            self.start.setFocus()

    # --- actions ---------------------------------------------------------------------------------------

    def _browse(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, _("Zielordner wählen"), self.folder.text())
        if chosen:
            self.folder.setText(chosen)

    def _open_folder(self) -> None:
        if self._out_dir is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self._out_dir)))

    def start_run(self) -> bool:
        """Start the run in a worker thread; False (with a message in the dialog) if the input is not usable."""
        if self.running:
            return False
        text = self.folder.text().strip()
        if not text:
            self._show_error(_("Bitte einen Zielordner angeben."))
            self.folder.setFocus()
            return False
        self._out_dir = Path(text).expanduser()
        self.result = None
        self.skipped.clear()
        self.skipped.hide()
        self.open_folder.setEnabled(False)
        self.status.setStyleSheet("")
        self.status.setText(_("Einladungen werden erstellt …"))
        self.progress.setTextVisible(False)
        self.progress.setRange(0, 0)  # busy until the service knows the total
        self._worker = _Worker(self.ctx, self.selected_day(), self._out_dir, self.language.currentData())
        self._thread = QThread(self)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        self._worker.progressed.connect(self._on_progress)
        self._worker.succeeded.connect(self._on_succeeded)
        self._worker.failed.connect(self._on_failed)
        self._set_running(True)
        self._thread.start()
        return True

    def cancel_run(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            self.cancel.setEnabled(False)
            self.status.setText(_("Wird abgebrochen … der Brief in Arbeit wird noch fertig gestellt."))

    # --- results (GUI thread) ----------------------------------------------------------------------------

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setTextVisible(total > 0)
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        if total:
            self.progress.setAccessibleDescription(_("{done} von {total}").format(done=done, total=total))

    def _on_succeeded(self, result) -> None:
        self.result = result
        self._finish()
        written, skipped = len(result.written), len(result.skipped)
        if not written and not skipped and not result.cancelled:
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
            self.status.setText(_("An diesem Tag gibt es keine Termine: keine Einladungen erstellt."))
        else:
            text = ngettext(
                "{n} Einladung erstellt in {path}.", "{n} Einladungen erstellt in {path}.", written
            ).format(n=written, path=self._out_dir)
            if result.cancelled:
                text = _("Abgebrochen.") + " " + text
            if skipped:
                text += " " + ngettext("{n} übersprungen:", "{n} übersprungen:", skipped).format(n=skipped)
            self.status.setText(text)
        if result.skipped:
            self.skipped.setPlainText("\n".join(f"{ref}: {reason}" for ref, reason in result.skipped))
            self.skipped.show()
        self.open_folder.setEnabled(bool(result.written))
        self.finished_run.emit(result)

    def _on_failed(self, message: str) -> None:
        self._finish()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self._show_error(message)

    def _show_error(self, message: str) -> None:
        self.status.setStyleSheet(theme.error_style())
        self.status.setText(message)

    def _finish(self) -> None:
        thread, self._thread, self._worker = self._thread, None, None
        if thread is not None:
            thread.quit()
            thread.wait()
            thread.deleteLater()
        self._set_running(False)
        self._update_count()
        if self._close_when_done:
            self._close_when_done = False
            super().reject()

    # --- closing -----------------------------------------------------------------------------------------

    def reject(self) -> None:
        """Esc, "Schließen" or the window's close button: while a run is going on, cancel it first."""
        if self.running:
            self._close_when_done = True
            self.cancel_run()
            return
        super().reject()

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if self.running:
            self._close_when_done = True
            self.cancel_run()
            event.ignore()
            return
        super().closeEvent(event)

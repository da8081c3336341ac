"""A progress dialog with "Abbrechen" for work that reports ``progress(done, total)`` like the services do
(``bulk_letters``, ``demo``, ``retention.apply``, ``services.setup``): the callback updates the dialog, keeps
the window responsive and returns ``False`` once the user pressed "Abbrechen" – the service then stops at
its next safe point (between two persons, batches or letters; nothing half-written)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QProgressDialog, QWidget

from .. import APP_NAME
from ..i18n import _


class ServiceProgress:
    def __init__(self, parent: QWidget | None, text: str, *, minimum_ms: int = 300) -> None:
        self.dialog = QProgressDialog(text, _("Abbrechen"), 0, 0, parent)
        self.dialog.setWindowTitle(APP_NAME)
        self.dialog.setWindowModality(Qt.WindowModality.WindowModal)
        self.dialog.setMinimumDuration(minimum_ms)
        self.dialog.setAutoClose(False)
        self.dialog.setAutoReset(False)

    @property
    def cancelled(self) -> bool:
        return self.dialog.wasCanceled()

    def __call__(self, done: int, total: int):
        if total and self.dialog.maximum() != total:
            self.dialog.setMaximum(total)
        self.dialog.setValue(min(done, total) if total else 0)
        QApplication.processEvents()
        return False if self.dialog.wasCanceled() else None

    def close(self) -> None:
        self.dialog.close()
        self.dialog.deleteLater()

    def __enter__(self) -> ServiceProgress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

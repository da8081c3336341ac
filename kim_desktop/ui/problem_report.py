"""Hilfe › Problem melden: the report of ``services.diagnostics`` shown, copied or saved.

The user sees exactly what would leave the office: the text is built without personal data and can be read
before it is copied into an e-mail or saved as a file.
"""

from __future__ import annotations

import logging
from pathlib import Path

import PySide6
from PySide6.QtCore import qVersion
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
)

from .. import APP_NAME
from ..i18n import _

log = logging.getLogger(__name__)


def ui_versions() -> dict[str, str]:
    app = QGuiApplication.instance()
    platform_name = app.platformName() if app is not None else "–"
    return {"Qt": qVersion(), "PySide6": PySide6.__version__, _("Qt-Plattform"): platform_name}


class ProblemReportDialog(QDialog):
    def __init__(self, ctx=None, parent=None, *, log_path: Path | None = None) -> None:
        from ..services.diagnostics import build_report

        super().__init__(parent)
        self.setWindowTitle(_("Problem melden – {app}").format(app=APP_NAME))
        self.resize(760, 600)
        layout = QVBoxLayout(self)
        intro = QLabel(
            _(
                "Dieser Bericht hilft dem Support, ein Problem zu finden. Er enthält keine Namen, Anschriften, "
                "Geburtsdaten oder Inhalte aus Akten. Bitte beschreiben Sie in Ihrer Nachricht, was Sie getan "
                "haben und was passiert ist, und fügen Sie den Bericht an."
            )
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.report_view = QPlainTextEdit()
        self.report_view.setReadOnly(True)
        self.report_view.setAccessibleName(_("Problembericht"))
        self.report_view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.report = build_report(ctx, ui_versions=ui_versions(), log_path=log_path)
        self.report_view.setPlainText(self.report)
        layout.addWidget(self.report_view, 1)
        self.status = QLabel()
        layout.addWidget(self.status)
        buttons = QDialogButtonBox()
        self.copy_button = QPushButton(_("&Kopieren"))
        self.save_button = QPushButton(_("&Speichern …"))
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.ActionRole)
        close = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        close.setText(_("Schließen"))
        buttons.rejected.connect(self.reject)
        self.copy_button.clicked.connect(self.copy)
        self.save_button.clicked.connect(lambda: self.save())
        layout.addWidget(buttons)

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.report)
        self.status.setText(_("Der Bericht ist in der Zwischenablage."))

    def save(self, path: str | Path | None = None) -> Path | None:
        if path is None:
            chosen, _filter = QFileDialog.getSaveFileName(
                self,
                _("Problembericht speichern"),
                "kim-desktop-problembericht.txt",
                _("Textdateien (*.txt)"),
            )
            if not chosen:
                return None
            path = chosen
        target = Path(path)
        try:
            target.write_text(self.report, encoding="utf-8")
        except OSError:
            self.status.setText(_("Die Datei kann nicht geschrieben werden; bitte einen anderen Ort wählen."))
            return None
        self.status.setText(_("Gespeichert: {name}").format(name=target.name))
        return target

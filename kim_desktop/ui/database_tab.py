"""Einstellungen › Datenbank: where the data lies and how it is kept, read-only (issue 9).

Mode (Einzelplatz, Büro-Server, Laptop-Replik), location (a path or the server address, never a password),
encryption, and for a laptop replica the office it syncs with, the last sync, what is not yet sent and the open
conflicts. Changing the mode is not done here: "Für unterwegs mitnehmen …" makes a replica, the setup assistant
connects to the office server.
"""

from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel, QLineEdit, QVBoxLayout, QWidget

from ..i18n import _
from .sync_panel import conflicts_text, format_moment, unsynced_text


class DatabaseTab(QWidget):
    def __init__(self, ctx, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        box = QGroupBox(_("Diese Datenbank"))
        self.form = QFormLayout(box)
        self.fields: dict[str, QLineEdit] = {}
        for key, label in (
            ("mode", _("Betriebsart:")),
            ("location", _("Ort:")),
            ("encrypted", _("Verschlüsselt:")),
            ("server", _("Büro-Server:")),
            ("last_sync", _("Letzte Synchronisierung:")),
            ("unsynced", _("Nicht übertragen:")),
            ("conflicts", _("Offene Konflikte:")),
        ):
            field = QLineEdit()
            field.setReadOnly(True)
            field.setAccessibleName(label.rstrip(":"))
            caption = QLabel(label)
            caption.setBuddy(field)
            self.form.addRow(caption, field)
            self.fields[key] = field
        note = QLabel(
            _(
                "Nur zur Ansicht. Eine Replik für unterwegs legen Sie mit „Datei › Für unterwegs mitnehmen …“ an; "
                "abgeglichen wird mit „Datei › Jetzt synchronisieren“ (F9)."
            )
        )
        note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(box)
        layout.addWidget(note)
        layout.addStretch(1)
        self.load()

    def load(self) -> None:
        from ..services.sync_status import database_status

        status = database_status(self.ctx)
        replica = status.mode == "replica"
        values = {
            "mode": status.mode_label,
            "location": status.location,
            "encrypted": _("ja") if status.encrypted else _("nein"),
            "server": status.server_url or "",
            "last_sync": format_moment(status.last_sync_at) if status.last_sync_at else _("noch nie"),
            "unsynced": unsynced_text(status.unsynced) if status.unsynced else _("alles übertragen"),
            "conflicts": conflicts_text(status.conflicts),
        }
        for key, field in self.fields.items():
            field.setText(values[key])
            field.setCursorPosition(0)
            visible = replica or key in ("mode", "location", "encrypted")
            self.form.setRowVisible(field, visible)

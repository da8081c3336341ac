"""A save on an outdated record: "Diese Akte wurde inzwischen von … geändert" with both versions side by side.

The services refuse a save made on an older row version (``services.conflicts.stale_record_error``, on
SQLite and on the office server alike) and hand over both versions in ``error.details``: what the user wanted
to save (``yours``) and what is stored now (``theirs``), who changed it and when. Nothing is overwritten
silently: the user reloads the stored version, either discarding the own edits or keeping them in the form
to look at and save again on top of the new version.
"""

from __future__ import annotations

from datetime import date, datetime

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from ..i18n import _

DISCARD, REAPPLY, CANCEL = "discard", "reapply", "cancel"


def readable(value) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return _("ja") if value else _("nein")
    if isinstance(value, datetime):
        from .sync_panel import format_moment

        return format_moment(value)
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y")
    if isinstance(value, list | tuple):
        return ", ".join(readable(v) for v in value)
    return str(value)


def differing_fields(details: dict) -> list[tuple[str, str, str]]:
    """(German field label, yours, stored now) for every field where the two versions differ; all fields when
    none differ (the other session saved the same values)."""
    from ..services.audit_trail import field_labels

    labels = field_labels()
    yours, theirs = details.get("yours") or {}, details.get("theirs") or {}
    keys = list(dict.fromkeys([*yours, *theirs]))
    rows = [(labels.get(k, k), readable(yours.get(k)), readable(theirs.get(k))) for k in keys]
    differing = [row for row in rows if row[1] != row[2]]
    return differing or rows


class StaleSaveDialog(QDialog):
    def __init__(self, error, parent=None) -> None:
        super().__init__(parent)
        self.choice = CANCEL
        details = error.details if isinstance(error.details, dict) else {}
        self.setWindowTitle(_("Akte inzwischen geändert"))
        self.resize(720, 420)
        headline = QLabel(error.message)
        headline.setWordWrap(True)
        headline.setTextFormat(Qt.TextFormat.PlainText)
        headline.setStyleSheet("font-weight: bold;")
        headline.setAccessibleName(_("Hinweis"))
        when = details.get("changed_at")
        self.when = QLabel(_("Gespeichert am {when}.").format(when=readable(when)) if when else "")
        self.when.setVisible(bool(when))
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels([_("Feld"), _("Ihre Fassung"), _("Jetzt gespeichert")])
        self.table.setAccessibleName(_("Beide Fassungen im Vergleich"))
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setTabKeyNavigation(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        for label, yours, theirs in differing_fields(details):
            row = self.table.rowCount()
            self.table.insertRow(row)
            for column, text in enumerate((label, yours, theirs)):
                self.table.setItem(row, column, QTableWidgetItem(text))
        hint = QLabel(
            _(
                "Ihre Änderungen sind nicht gespeichert. Laden Sie die gespeicherte Fassung neu; Ihre Werte "
                "können Sie dabei im Formular behalten, prüfen und erneut speichern."
            )
        )
        hint.setWordWrap(True)
        self.reapply_button = QPushButton(_("Neu laden, &meine Werte behalten"))
        self.reapply_button.setAccessibleName(_("Neu laden und die eigenen Werte wieder eintragen"))
        self.reapply_button.clicked.connect(lambda: self._done(REAPPLY))
        self.discard_button = QPushButton(_("Neu laden, meine &verwerfen"))
        self.discard_button.setAccessibleName(_("Neu laden und die eigenen Änderungen verwerfen"))
        self.discard_button.clicked.connect(lambda: self._done(DISCARD))
        self.cancel_button = QPushButton(_("&Abbrechen"))
        self.cancel_button.setAccessibleName(_("Zurück zum Formular, nichts neu laden"))
        self.cancel_button.clicked.connect(self.reject)
        self.reapply_button.setDefault(True)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for button in (self.reapply_button, self.discard_button, self.cancel_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(headline)
        layout.addWidget(self.when)
        layout.addWidget(self.table, 1)
        layout.addWidget(hint)
        layout.addLayout(buttons)

    def _done(self, choice: str) -> None:
        self.choice = choice
        self.accept()


def put_values(page, values: dict) -> None:
    """Write the form values ``values`` (as ``PersonPage.values()`` gives them) back into the person page."""
    for name, widget in page.inputs.items():
        if name in ("other_spellings", "note"):
            widget.setPlainText(values.get(name) or "")
        elif name in ("nationality_1", "nationality_2"):
            nationalities = list(values.get("nationalities") or [])
            index = 0 if name == "nationality_1" else 1
            page._set_combo(name, nationalities[index] if len(nationalities) > index else None)
        elif name in ("sex", "country_of_birth", "residence_status", "interpreter_language"):
            page._set_combo(name, values.get(name))
        elif name == "interpreter_needed":
            widget.setChecked(bool(values.get(name)))
        elif name in values and hasattr(widget, "setText"):
            widget.setText(values.get(name) or "")
    languages = list(values.get("languages") or [])
    for i, (language, level) in enumerate(page.language_rows):
        code, lvl = languages[i] if i < len(languages) else (None, "none")
        page._set_combo(language, code)
        page._set_combo(level, lvl)


def handle_person_conflict(window, error, person_id: str, values: dict) -> None:
    """Show both versions; reload the person page and keep or drop the own values as the user chooses."""
    dialog = StaleSaveDialog(error, window)
    dialog.exec()
    if dialog.choice == CANCEL:
        return
    from ..services import persons

    page = window.person_page
    page.load(persons.get_person(window.ctx, person_id))
    if dialog.choice == REAPPLY:
        put_values(page, values)
        page._changed("family_name")  # dirty: the own values wait to be saved on the new version
        page.status.setText(_("Neu geladen; Ihre Werte stehen im Formular. Bitte prüfen und speichern."))
    else:
        page.status.setText(_("Neu geladen."))

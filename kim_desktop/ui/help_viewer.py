"""The user guide (F1) and the release notes shown once after an update.

The guide is ``resources/docs/benutzerhandbuch.md`` (one source, shipped with the wheel and the bundle like
every resource; ``docs/benutzerhandbuch.md`` points there). It is rendered with Qt's own Markdown support
(``QTextDocument.setMarkdown``); pictures are found relative to the guide. F1 on a page opens the guide at the
matching heading (``TOPICS``).

The release notes are the section of ``CHANGELOG.md`` for the running version, in the UI language. They are
shown once per version after an update (QSettings ``ui/last_version_seen``); a first installation only
records the version.
"""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import QSettings, QUrl
from PySide6.QtGui import QDesktopServices, QTextDocument
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QTextBrowser, QVBoxLayout, QWidget

from .. import APP_NAME, __version__
from ..i18n import _, current_language

LAST_VERSION_KEY = "ui/last_version_seen"

#: Topic → the beginning of the heading F1 jumps to.
TOPICS = {
    "einrichtung": "Erste Schritte",
    "briefe": "Briefe",
    "einstellungen": "Briefkopf und Vorlagen",
    "kalender": "Termine und Kalender",
    "import": "Personen aus Excel",
    "tasten": "Tastenkürzel",
    "problem": "Hilfe, Problem melden",
}


#: Class name of a page or dialog → topic.
PAGE_TOPICS = {
    "SetupWizard": "einrichtung",
    "LetterDialog": "briefe",
    "BulkLettersDialog": "briefe",
    "SettingsDialog": "einstellungen",
    "CalendarPage": "kalender",
    "AppointmentDialog": "kalender",
    "SlotFinderDialog": "kalender",
    "ImportDialog": "import",
    "ImportBatchesDialog": "import",
    "ProblemReportDialog": "problem",
}


def topic_for(widget) -> str | None:
    return PAGE_TOPICS.get(type(widget).__name__) if widget is not None else None


def guide_path() -> Path:
    from ..resources import resource_path

    return resource_path("docs/benutzerhandbuch.md")


def changelog_path() -> Path | None:
    """``CHANGELOG.md`` beside the resources (wheel, bundle) or at the top of a source checkout."""
    from ..resources import resources_root

    root = resources_root()
    for candidate in (root / "CHANGELOG.md", root.parent / "CHANGELOG.md"):
        if candidate.is_file():
            return candidate
    return None


class GuideDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(_("Benutzerhandbuch – {app}").format(app=APP_NAME))
        self.resize(900, 700)
        layout = QVBoxLayout(self)
        self.browser = QTextBrowser()
        self.browser.setAccessibleName(_("Benutzerhandbuch"))
        self.browser.setOpenLinks(False)
        self.browser.anchorClicked.connect(self._follow)
        layout.addWidget(self.browser)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.Close).setText(_("Schließen"))
        layout.addWidget(buttons)
        path = guide_path()
        self.browser.setSearchPaths([str(path.parent)])
        self.browser.document().setBaseUrl(QUrl.fromLocalFile(str(path.parent) + "/"))
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            text = _("Das Benutzerhandbuch wurde nicht gefunden.")
        self.browser.document().setMarkdown(text, QTextDocument.MarkdownFeature.MarkdownDialectGitHub)

    def _follow(self, url: QUrl) -> None:
        if url.scheme() in ("http", "https", "mailto"):
            QDesktopServices.openUrl(url)
        elif url.hasFragment() and not url.path():
            self.jump_to(url.fragment().replace("-", " "))

    def headings(self) -> list[str]:
        found = []
        block = self.browser.document().begin()
        while block.isValid():
            if block.blockFormat().headingLevel() > 0:
                found.append(block.text())
            block = block.next()
        return found

    def jump_to(self, heading: str) -> bool:
        """Scroll so that the first heading starting with ``heading`` (case-insensitive) is at the top."""
        wanted = heading.strip().lower()
        document = self.browser.document()
        block = document.begin()
        while block.isValid():
            if block.blockFormat().headingLevel() > 0 and block.text().strip().lower().startswith(wanted):
                cursor = self.browser.textCursor()
                cursor.setPosition(block.position())
                self.browser.setTextCursor(cursor)
                top = document.documentLayout().blockBoundingRect(block).top()
                self.browser.verticalScrollBar().setValue(int(top))
                self.current_heading = block.text()
                return True
            block = block.next()
        return False


def show_guide(parent: QWidget | None = None, topic: str | None = None) -> GuideDialog:
    """Open the guide (non-modal, one per parent), at ``topic``'s heading when given."""
    dialog = getattr(parent, "_guide_dialog", None) if parent is not None else None
    if dialog is None:
        dialog = GuideDialog(parent)
        if parent is not None:
            parent._guide_dialog = dialog
    dialog.show()
    dialog.raise_()
    dialog.activateWindow()
    if topic:
        heading = TOPICS.get(topic, topic)
        dialog.browser.document().adjustSize()
        dialog.jump_to(heading)
    return dialog


# --- release notes ------------------------------------------------------------------------------------------


def release_notes(version: str = __version__, language: str | None = None) -> str:
    """The CHANGELOG section of ``version`` (Markdown) in the UI language; empty when there is none."""
    path = changelog_path()
    if path is None:
        return ""
    text = path.read_text(encoding="utf-8")
    sections = re.split(r"(?m)^## ", text)[1:]
    chosen = next((s for s in sections if s.split()[0] == version), sections[0] if sections else "")
    if not chosen:
        return ""
    title, _nl, body = chosen.partition("\n")
    language = language or current_language()
    parts = re.split(r"(?m)^\*\*(Deutsch|English)\*\*\s*$", body)
    if len(parts) > 1:
        by_language = {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}
        body = by_language.get("English" if language == "en" else "Deutsch", body)
    return f"## {title.strip()}\n\n{body.strip()}\n"


class ReleaseNotesDialog(QDialog):
    def __init__(self, notes: str, backup_path=None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(_("Neu in {app} {version}").format(app=APP_NAME, version=__version__))
        self.resize(760, 560)
        layout = QVBoxLayout(self)
        if backup_path is not None:
            note = QLabel(
                _("Die Datenbank wurde aktualisiert. Vorher wurde eine Sicherung angelegt: {path}").format(
                    path=backup_path
                )
            )
            note.setWordWrap(True)
            layout.addWidget(note)
        self.browser = QTextBrowser()
        self.browser.setAccessibleName(_("Neuerungen"))
        self.browser.setMarkdown(notes)
        layout.addWidget(self.browser)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok)
        buttons.accepted.connect(self.accept)
        layout.addWidget(buttons)


def release_notes_due(settings: QSettings | None = None, *, migrated: bool = False) -> bool:
    """Show the notes now? Once per version after an update; a first start only records the version."""
    settings = settings or QSettings()
    seen = str(settings.value(LAST_VERSION_KEY, "") or "")
    if seen == __version__:
        return False
    if not seen and not migrated:
        settings.setValue(LAST_VERSION_KEY, __version__)
        return False
    return True


def show_release_notes_once(parent: QWidget | None, *, migrated: bool = False, backup_path=None):
    """The release notes dialog (non-modal) when due; records the version as seen. Returns the dialog or None."""
    settings = QSettings()
    if not release_notes_due(settings, migrated=migrated):
        return None
    settings.setValue(LAST_VERSION_KEY, __version__)
    notes = release_notes()
    if not notes and backup_path is None:
        return None
    dialog = ReleaseNotesDialog(notes, backup_path, parent)
    dialog.show()
    return dialog

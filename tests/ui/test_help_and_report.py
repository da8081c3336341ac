"""Hilfe menu: the user guide (F1), "Problem melden" without personal data, release notes once per version;
the remembered window layout."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication, QSplitter, QWidget

from kim_desktop import __version__


@pytest.fixture
def settings_dir(tmp_path):
    folder = tmp_path / "settings"
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(folder))
    QSettings().clear()
    yield folder
    QSettings().clear()
    default = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, default)


# --- Problem melden ---------------------------------------------------------------------------------------


def stored_names(ctx) -> set[str]:
    from sqlalchemy import select

    from kim_desktop.db.models import Person

    with ctx.read() as session:
        rows = session.execute(select(Person.family_name, Person.given_names)).all()
    return {part for row in rows for value in row if value for part in value.split()}


def test_problem_report_holds_no_names_of_the_persons(qtbot, ui_ctx, tmp_path):
    from kim_desktop.ui.problem_report import ProblemReportDialog

    names = stored_names(ui_ctx)
    assert {"Müller", "Zyska", "Jovanović", "Elif"} <= names
    # A log that – against the rules – caught personal data: the scrubber must keep it out of the report.
    log = tmp_path / "kim-desktop.log"
    log.write_text(
        "2026-03-01 10:00:00,000 INFO kim_desktop.ui.app: database opened\n"
        "2026-03-01 10:00:01,000 ERROR kim_desktop.services.persons: create failed for Müller, Hans "
        "(14.07.1979, Köln) hans.mueller@example.org +49 221 1234567\n"
        "2026-03-01 10:00:02,000 WARNING kim_desktop.x: 'Zyska Zoë' born 1990-01-02 Jovanović Elif\n"
        'Traceback (message withheld: may contain personal data)\n  File "/home/maria/kim/x.py", line 3, in f\n'
        "OperationalError\n",
        encoding="utf-8",
    )
    dialog = ProblemReportDialog(ui_ctx, log_path=log)
    qtbot.addWidget(dialog)
    report = dialog.report_view.toPlainText()
    words = set(re.findall(r"[^\W\d_]+", report))
    assert not words & names, sorted(words & names)
    for leak in ("14.07.1979", "hans.mueller", "1234567", "maria", "Köln"):
        assert leak not in report
    # what the support needs is there
    assert __version__ in report and "Qt:" in report and "PySide6:" in report
    assert "Datenbank: Einzelplatz, unverschlüsselt" in report
    assert re.search(r"^  person: 250$", report, re.MULTILINE)
    assert "Schema-Version: " in report and "OperationalError" in report and "…/x.py" in report
    assert "database opened" in report

    dialog.copy()
    assert QApplication.clipboard().text() == report
    saved = dialog.save(tmp_path / "bericht.txt")
    assert saved is not None and saved.read_text(encoding="utf-8") == report


def test_problem_report_from_the_help_menu(qtbot, window, ui):
    titles = [a.text() for a in window.menuBar().actions()]
    help_menu = window.menuBar().actions()[titles.index("&Hilfe")].menu()
    assert [a.text() for a in help_menu.actions()][:2] == ["Benutzer&handbuch", "&Problem melden …"]
    seen = ui.on_modal(qtbot, lambda dialog: dialog.reject())
    window.report_action.trigger()
    assert seen["error"] is None
    assert seen["title"].startswith("Problem melden")


# --- user guide -----------------------------------------------------------------------------------------


def test_f1_opens_the_user_guide_at_the_page_in_front(qtbot, window):
    window.show_calendar()
    qtbot.waitUntil(
        lambda: window.calendar_page is not None and window.stack.currentWidget() is window.calendar_page
    )
    qtbot.keyClick(window, Qt.Key.Key_F1)
    dialog = window._guide_dialog
    assert dialog.isVisible()
    headings = dialog.headings()
    assert "Erste Schritte" in " ".join(headings)
    assert dialog.current_heading.startswith("Termine und Kalender")
    assert dialog.browser.verticalScrollBar().value() > 0  # scrolled down to that heading
    dialog.close()


def test_guide_pictures_exist():
    from kim_desktop.ui.help_viewer import guide_path

    text = guide_path().read_text(encoding="utf-8")
    pictures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert pictures, "the Erste-Schritte section shows screenshots"
    missing = [p for p in pictures if not (guide_path().parent / p).is_file()]
    assert not missing


# --- release notes ----------------------------------------------------------------------------------------


def test_release_notes_are_the_changelog_section_in_the_ui_language():
    from kim_desktop.ui.help_viewer import release_notes

    german = release_notes(__version__, "de")
    english = release_notes(__version__, "en")
    assert german.startswith(f"## {__version__}")
    assert "Personenliste" in german and "Person list" not in german
    assert "Person list" in english and "Personenliste" not in english


def test_release_notes_once_per_version_after_an_update(qtbot, settings_dir):
    from kim_desktop.ui.help_viewer import LAST_VERSION_KEY, show_release_notes_once

    parent = QWidget()
    qtbot.addWidget(parent)
    # a first installation records the version and shows nothing
    assert show_release_notes_once(parent) is None
    assert QSettings().value(LAST_VERSION_KEY) == __version__
    # an update from an older version: shown once
    QSettings().setValue(LAST_VERSION_KEY, "0.0.1")
    dialog = show_release_notes_once(
        parent, migrated=True, backup_path=Path("/tmp/backups/kim.vor-update.sqlite3")
    )
    assert dialog is not None and dialog.isVisible()
    assert "Personenliste" in dialog.browser.toPlainText()
    dialog.close()
    assert show_release_notes_once(parent, migrated=True) is None  # not a second time
    # a migrated database on a profile that never recorded a version (older installation): shown
    QSettings().remove(LAST_VERSION_KEY)
    again = show_release_notes_once(parent, migrated=True)
    assert again is not None
    again.close()


# --- window layout ----------------------------------------------------------------------------------------


def test_main_window_size_and_splitters_are_remembered(qtbot, settings_dir):
    from kim_desktop.ui.layout_memory import remember_splitter
    from kim_desktop.ui.main_window import MainWindow

    first = MainWindow("")
    qtbot.addWidget(first)
    first.restore_layout()
    first.show()
    first.resize(760, 520)
    qtbot.waitUntil(lambda: first.width() == 760)
    first.close()

    second = MainWindow("")
    qtbot.addWidget(second)
    second.restore_layout()
    second.show()
    assert (second.width(), second.height()) == (760, 520)
    second.close()

    splitter = QSplitter()
    qtbot.addWidget(splitter)
    splitter.addWidget(QWidget())
    splitter.addWidget(QWidget())
    splitter.resize(600, 300)
    remember_splitter(splitter, "test")
    splitter.show()
    splitter.setSizes([150, 450])
    splitter.splitterMoved.emit(150, 1)  # what a drag of the handle reports
    again = QSplitter()
    qtbot.addWidget(again)
    again.addWidget(QWidget())
    again.addWidget(QWidget())
    again.resize(600, 300)
    remember_splitter(again, "test")
    again.show()
    assert again.sizes()[0] == splitter.sizes()[0]

"""The statistics page offscreen: computed in the background, tables per section, chart of the selected
indicator, exports, the case conference dialog, accessible names, and Strg+6 in the main window."""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader
from PySide6.QtCharts import QHorizontalBarSeries
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QDateEdit, QPushButton, QTableWidget

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/stats_seed.py
from stats_seed import FILE_NUMBERS, FIRST, LAST, PERSONS, seed  # noqa: E402

from kim_desktop.services import statistics as st  # noqa: E402
from kim_desktop.ui.statistics_page import StatisticsPage  # noqa: E402


@pytest.fixture
def page(qtbot, ctx):
    ids = seed(ctx)
    st.set_threshold(ctx, 1)
    widget = StatisticsPage()
    qtbot.addWidget(widget)
    widget.resize(1200, 760)
    widget.set_context(ctx)
    widget.show()
    widget.ids = ids
    yield widget
    widget.wait()


def _compute(qtbot, page):
    with qtbot.waitSignal(page.computed, timeout=20000):
        page.compute()


def test_compute_shows_tables_and_chart(qtbot, page, screenshot_dir):
    page.set_period(FIRST, LAST)
    assert page.team_combo.itemText(0) == "Alle Teams" and page.team_combo.count() == 3
    _compute(qtbot, page)
    assert page.tabs.tabText(0) == "Fälle"
    table: QTableWidget = page.tables["cases"]
    cells = {table.item(r, 0).text().strip(): table.item(r, 1).text() for r in range(table.rowCount())}
    assert cells["Neu aufgenommene Fälle"] == "3" and cells["Abgeschlossene Fälle"] == "2"
    assert "Zeitraum 01.01.2025 bis 31.12.2025" in page.info_label.text()
    # the chart follows the selection
    page.tabs.setCurrentIndex(list(page.tables).index("closure"))
    closure = page.tables["closure"]
    row = next(
        r for r in range(closure.rowCount()) if closure.item(r, 0).text().strip() == "Wegzug aus dem Kreis"
    )
    closure.selectRow(row)
    assert page.chart.title() == "Abschlussgründe"
    series = page.chart.series()[0]
    assert isinstance(series, QHorizontalBarSeries)
    assert sorted(series.barSets()[0].at(i) for i in range(series.barSets()[0].count())) == [1.0, 1.0]
    page.grab().save(str(screenshot_dir / "statistics_page.png"))


def test_filters_and_suppression(qtbot, page, ctx):
    st.set_threshold(ctx, 5)
    page.set_period(FIRST, LAST)
    page.team_combo.setCurrentIndex(page.team_combo.findText("Team Nord"))
    _compute(qtbot, page)
    table = page.tables["cases"]
    values = {table.item(r, 0).text().strip(): table.item(r, 1).text() for r in range(table.rowCount())}
    assert values["Neu aufgenommene Fälle"] == "< 5"
    assert "Team: Team Nord" in page.info_label.text()


def test_exports(qtbot, page, tmp_path):
    page.set_period(FIRST, LAST)
    assert not page.export_buttons["csv"].isEnabled()
    _compute(qtbot, page)
    assert all(b.isEnabled() for b in page.export_buttons.values())
    written = page.export("csv", tmp_path / "s.csv")
    rows = list(csv.reader(io.StringIO(written.read_bytes().decode("utf-8-sig")), delimiter=";"))
    assert rows[1][1] == "cases_new" and rows[1][4] == "3"
    pdf = page.export("pdf", tmp_path / "s.pdf")
    assert "Abschlussgründe" in "".join(p.extract_text() for p in PdfReader(pdf).pages)
    assert page.export("xlsx", tmp_path / "s.xlsx").stat().st_size > 0
    assert page.export("json", tmp_path / "s.json").read_text(encoding="utf-8").startswith("{")


def test_conference_dialog_writes_anonymous_pdf(qtbot, page, tmp_path):
    page.set_period(FIRST, LAST)
    page.open_conference()
    dialog = page.conference_dialog
    qtbot.waitExposed(dialog)
    assert dialog.cases.count() == 2  # open cases: C2 and C5
    dialog.cases.item(0).setCheckState(Qt.CheckState.Checked)
    path = dialog.save(tmp_path / "konferenz.pdf")
    text = "".join(p.extract_text() for p in PdfReader(path).pages)
    assert "Fall A" in text and "Wohnraum" in text
    for family, given, _birth in PERSONS.values():
        assert family not in text and given not in text
    for number in FILE_NUMBERS.values():
        assert number not in text


def test_accessible_names_and_accelerators(page):
    for widget in [
        *page.findChildren(QPushButton),
        *page.findChildren(QComboBox),
        *page.findChildren(QDateEdit),
    ]:
        assert widget.accessibleName(), widget
    assert page.tabs.accessibleName() and page.chart_view.accessibleName()
    texts = [b.text() for b in page.findChildren(QPushButton)] + [
        label.text() for label in page.findChildren(type(page.info_label)) if label.buddy() is not None
    ]
    letters = [t[t.index("&") + 1].lower() for t in texts if "&" in t]
    assert len(letters) == len(set(letters)), texts
    assert not set(letters) & {"d", "b", "a", "h"}  # the menu bar's Datei, Bearbeiten, Ansicht, Hilfe


def test_main_window_ctrl_6(qtbot, window):
    assert window.statistics_action.shortcut().toString() == "Ctrl+6"
    window.statistics_action.trigger()
    qtbot.waitUntil(lambda: window.statistics_page is not None, timeout=5000)
    assert window.stack.currentWidget() is window.statistics_page

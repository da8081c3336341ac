"""Statistik: aggregated figures for a period, per team or case manager, as tables and a bar chart.

The page asks ``services.statistics.compute`` in a background thread (the window stays responsive), shows one
table per section (tabs) and a QtCharts bar chart of the indicator selected in the table, and writes the result
as CSV, XLSX, PDF or JSON (``reports.statistics_report``). Suppressed figures ("< 5", "x") carry no number and
are left out of the chart. "Fallkonferenz …" builds the anonymised case conference summary as PDF.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from PySide6.QtCharts import QBarCategoryAxis, QBarSet, QChart, QChartView, QHorizontalBarSeries, QValueAxis
from PySide6.QtCore import QDate, QObject, QRunnable, Qt, QThreadPool, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from .. import APP_NAME
from ..errors import UserError
from ..i18n import _
from .layout_memory import remember_splitter

INDICATOR_ROLE = Qt.ItemDataRole.UserRole + 1


class _Signals(QObject):
    done = Signal(object, object)
    failed = Signal(object, object)


class _Task(QRunnable):
    def __init__(self, signals: _Signals, fn, on_done) -> None:
        super().__init__()
        self.signals, self.fn, self.on_done = signals, fn, on_done

    def run(self) -> None:
        try:
            result = self.fn()
        except BaseException as exc:  # shown as a German message in the GUI thread
            self.signals.failed.emit(self.on_done, exc)
            return
        self.signals.done.emit(self.on_done, result)


def _qdate(value: date) -> QDate:
    return QDate(value.year, value.month, value.day)


def _pydate(value: QDate) -> date:
    return date(value.year(), value.month(), value.day())


def _date_edit(value: date, name: str) -> QDateEdit:
    edit = QDateEdit(_qdate(value))
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("dd.MM.yyyy")
    edit.setAccessibleName(name)
    return edit


class StatisticsPage(QWidget):
    """The statistics page (Ansicht › Statistik, Strg+6)."""

    computed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = None
        self.result = None
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._signals = _Signals(self)
        self._signals.done.connect(lambda fn, value: fn(value))
        self._signals.failed.connect(self._failed)
        self.tables: dict[str, QTableWidget] = {}

        today = date.today()
        self.first_edit = _date_edit(date(today.year, 1, 1), _("Zeitraum von"))
        self.last_edit = _date_edit(today, _("Zeitraum bis"))
        self.team_combo = QComboBox()
        self.team_combo.setAccessibleName(_("Team"))
        self.manager_combo = QComboBox()
        self.manager_combo.setAccessibleName(_("Case Manager/in"))
        self.compute_button = QPushButton(_("A&uswerten"))
        self.compute_button.setAccessibleName(_("Auswerten"))
        self.compute_button.setDefault(True)
        self.compute_button.clicked.connect(self.compute)

        filters = QHBoxLayout()
        for text, widget in (
            (_("&Von"), self.first_edit),
            (_("B&is"), self.last_edit),
            (_("&Team"), self.team_combo),
            (_("Case &Manager/in"), self.manager_combo),
        ):
            caption = QLabel(text)
            caption.setBuddy(widget)
            filters.addWidget(caption)
            filters.addWidget(widget, 1 if isinstance(widget, QComboBox) else 0)
        filters.addWidget(self.compute_button)

        self.info_label = QLabel(_("Zeitraum wählen und „Auswerten“ drücken."))
        self.info_label.setAccessibleName(_("Hinweis zur Auswertung"))
        self.info_label.setWordWrap(True)

        self.tabs = QTabWidget()
        self.tabs.setAccessibleName(_("Abschnitte der Statistik"))
        self.tabs.currentChanged.connect(lambda _i: self._show_current_chart())
        self.chart = self._new_chart()
        self.chart_view = QChartView(self.chart)
        self.chart_view.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.chart_view.setAccessibleName(_("Diagramm der gewählten Kennzahl"))
        self.chart_view.setMinimumWidth(360)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.tabs)
        splitter.addWidget(self.chart_view)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([640, 480])
        remember_splitter(splitter, "statistics_page")

        self.export_buttons: dict[str, QPushButton] = {}
        buttons = QHBoxLayout()
        for fmt, text, name in (
            ("csv", _("&CSV …"), _("Als CSV speichern")),
            ("xlsx", _("&XLSX …"), _("Als Excel-Datei speichern")),
            ("pdf", _("&PDF …"), _("Als PDF-Bericht speichern")),
            ("json", _("&JSON …"), _("Als JSON speichern")),
        ):
            button = QPushButton(text)
            button.setAccessibleName(name)
            button.setEnabled(False)
            button.clicked.connect(lambda _c=False, f=fmt: self.export(f))
            self.export_buttons[fmt] = button
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.conference_button = QPushButton(_("Fall&konferenz …"))
        self.conference_button.setAccessibleName(_("Zusammenfassung für die Fallkonferenz"))
        self.conference_button.clicked.connect(self.open_conference)
        buttons.addWidget(self.conference_button)

        title = QLabel(_("Statistik"))
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        title.setFont(font)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addLayout(filters)
        layout.addWidget(self.info_label)
        layout.addWidget(splitter, 1)
        layout.addLayout(buttons)

    # --- context and filters ---------------------------------------------------------------------------

    def set_context(self, ctx) -> None:
        from ..services import statistics

        self.ctx = ctx
        teams, managers = statistics.filter_options(ctx)
        self.team_combo.clear()
        self.team_combo.addItem(_("Alle Teams"), None)
        for team_id, name in teams:
            self.team_combo.addItem(name, team_id)
        self.manager_combo.clear()
        if ctx.actor.user_id is None or "team_lead" in ctx.actor.roles:
            self.manager_combo.addItem(_("Alle"), None)
        for user_id, name in managers:
            self.manager_combo.addItem(name, user_id)

    def set_period(self, first: date, last: date) -> None:
        self.first_edit.setDate(_qdate(first))
        self.last_edit.setDate(_qdate(last))

    def refresh(self) -> None:
        if self.result is not None:
            self.compute()

    def focus_first(self) -> None:
        self.first_edit.setFocus()

    # --- computing ---------------------------------------------------------------------------------------

    def compute(self) -> None:
        if self.ctx is None:
            return
        from ..services import statistics

        ctx = self.ctx
        first, last = _pydate(self.first_edit.date()), _pydate(self.last_edit.date())
        team_id, manager_id = self.team_combo.currentData(), self.manager_combo.currentData()
        self.compute_button.setEnabled(False)
        self.info_label.setText(_("Die Statistik wird berechnet …"))
        self.setCursor(Qt.CursorShape.BusyCursor)

        def work():
            return statistics.compute(ctx, first, last, team_id=team_id, case_manager_id=manager_id)

        self._pool.start(_Task(self._signals, work, self.show_result))

    def wait(self, ms: int = 30000) -> None:
        self._pool.waitForDone(ms)

    def _failed(self, _fn, exc: BaseException) -> None:
        self.compute_button.setEnabled(True)
        self.unsetCursor()
        message = exc.message if isinstance(exc, UserError) else _(
            "Ein unerwarteter Fehler ist aufgetreten; Details stehen im Protokoll."
        )  # fmt: skip
        self.info_label.setText(message)
        if not isinstance(exc, UserError):
            import logging

            logging.getLogger("kim_desktop").error("statistics failed: %s", type(exc).__name__)

    def show_result(self, result) -> None:
        self.result = result
        self.compute_button.setEnabled(True)
        self.unsetCursor()
        self.info_label.setText(f"{result.filter_text()}. {result.suppression_text()}")
        current = self.tabs.currentIndex()
        self.tabs.clear()
        self.tables.clear()
        for key, label, items in result.sections():
            table = self._section_table(items, label)
            self.tables[key] = table
            self.tabs.addTab(table, label)
        if 0 <= current < self.tabs.count():
            self.tabs.setCurrentIndex(current)
        for button in self.export_buttons.values():
            button.setEnabled(True)
        self._show_current_chart()
        self.computed.emit()

    def _section_table(self, items, section_label: str) -> QTableWidget:
        rows = []
        for item in items:
            rows.append((item, item.label, "", True))
            single = item.total is None and len(item.rows) == 1 and item.rows[0].key is None
            if single:
                rows[-1] = (item, item.label, item.rows[0].text, True)
                continue
            for cell in item.rows:
                rows.append((item, "    " + cell.label, cell.text, False))
            if item.total is not None:
                rows.append((item, "    " + item.total.label, item.total.text, False))
        table = QTableWidget(len(rows), 2)
        table.setAccessibleName(_("Tabelle {section}").format(section=section_label))
        table.setHorizontalHeaderLabels([_("Kennzahl"), _("Wert")])
        table.verticalHeader().setVisible(False)
        table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 8)
        table.setWordWrap(False)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        bold = QFont(table.font())
        bold.setBold(True)
        header_brush = QBrush(QColor("#eef3f7"))
        for row, (item, label, value, heading) in enumerate(rows):
            label_item = QTableWidgetItem(label)
            value_item = QTableWidgetItem(value)
            value_item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            for cell in (label_item, value_item):
                cell.setData(INDICATOR_ROLE, item.id)
                if heading:
                    cell.setFont(bold)
                    cell.setBackground(header_brush)
            if heading:
                label_item.setToolTip(item.description)
            table.setItem(row, 0, label_item)
            table.setItem(row, 1, value_item)
        table.itemSelectionChanged.connect(self._show_current_chart)
        return table

    # --- chart -------------------------------------------------------------------------------------------

    @staticmethod
    def _new_chart() -> QChart:
        chart = QChart()
        chart.legend().hide()
        chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
        return chart

    def selected_indicator(self):
        if self.result is None:
            return None
        table = self.tabs.currentWidget()
        if not isinstance(table, QTableWidget):
            return None
        row = table.currentRow()
        indicator_id = None
        if row >= 0 and table.item(row, 0) is not None:
            indicator_id = table.item(row, 0).data(INDICATOR_ROLE)
        if indicator_id is None:  # nothing selected: the first indicator of the tab with groups
            ids = [table.item(r, 0).data(INDICATOR_ROLE) for r in range(table.rowCount())]
            grouped = [i for i in ids if len(self.result.indicator(i).rows) > 1]
            indicator_id = grouped[0] if grouped else (ids[0] if ids else None)
        return self.result.indicator(indicator_id) if indicator_id else None

    def _show_current_chart(self) -> None:
        item = self.selected_indicator()
        old, self.chart = self.chart, self._new_chart()  # a fresh chart: no axes left over from the last one
        self.chart_view.setChart(self.chart)
        old.deleteLater()
        if item is None:
            self.chart.setTitle("")
            return
        from ..reports.statistics_report import MAX_BARS, chart_cells, chart_note

        cells, total = chart_cells(item)
        self.chart.setTitle(item.label if total <= MAX_BARS else f"{item.label} ({chart_note(total)})")
        if not cells:
            self.chart.setTitle(item.label + " – " + _("keine darstellbaren Werte"))
            return
        values = QBarSet(item.label)
        values.setColor(QColor("#1f5f8b"))
        labels = []
        for cell in reversed(cells):
            values.append(float(cell.value))
            labels.append(cell.label if len(cell.label) <= 38 else cell.label[:37] + "…")
        series = QHorizontalBarSeries()
        series.append(values)
        series.setLabelsVisible(True)
        series.setLabelsPosition(QHorizontalBarSeries.LabelsPosition.LabelsOutsideEnd)
        values.setLabelColor(QColor("#222222"))
        self.chart.addSeries(series)
        categories = QBarCategoryAxis()
        categories.append(labels)
        self.chart.addAxis(categories, Qt.AlignmentFlag.AlignLeft)
        series.attachAxis(categories)
        axis = QValueAxis()
        axis.setMin(0)
        axis.setMax(max(c.value for c in cells) * 1.1)
        axis.applyNiceNumbers()
        axis.setLabelFormat("%.0f" if item.unit != "hours" else "%.1f")
        self.chart.addAxis(axis, Qt.AlignmentFlag.AlignBottom)
        series.attachAxis(axis)
        self.chart_view.setAccessibleDescription("; ".join(f"{c.label}: {c.text}" for c in item.rows))

    # --- export ------------------------------------------------------------------------------------------

    def export(self, fmt: str, path: str | Path | None = None) -> Path | None:
        if self.result is None:
            return None
        if path is None:
            suggested = f"statistik-{self.result.first:%Y%m%d}-{self.result.last:%Y%m%d}.{fmt}"
            filters = {"csv": _("CSV-Datei (*.csv)"), "xlsx": _("Excel-Datei (*.xlsx)"),
                       "pdf": _("PDF-Datei (*.pdf)"), "json": _("JSON-Datei (*.json)")}  # fmt: skip
            chosen, _f = QFileDialog.getSaveFileName(self, _("Statistik speichern"), suggested, filters[fmt])
            if not chosen:
                return None
            path = chosen
        from ..reports import statistics_report

        try:
            written = statistics_report.write(self.result, fmt, Path(path), organisation=self._organisation())
        except UserError as exc:
            QMessageBox.warning(self, APP_NAME, exc.message)
            return None
        self.info_label.setText(_("Gespeichert: {path}").format(path=written))
        return written

    def _organisation(self) -> str | None:
        try:
            from ..services.office import load_profile

            with self.ctx.read() as session:
                return load_profile(session).get("organisation") or None
        except Exception:  # the letterhead is optional on a statistics report
            return None

    def open_conference(self) -> None:
        if self.ctx is None:
            return
        self.conference_dialog = ConferenceDialog(
            self.ctx, _pydate(self.first_edit.date()), _pydate(self.last_edit.date()), self.team_combo.currentData(),
            self._organisation(), self,
        )  # fmt: skip
        self.conference_dialog.open()


class ConferenceDialog(QDialog):
    """Choose cases for the case conference summary and save it as PDF (anonymised)."""

    def __init__(self, ctx, first: date, last: date, team_id, organisation, parent=None) -> None:
        super().__init__(parent)
        self.ctx, self.first, self.last, self.team_id, self.organisation = (
            ctx,
            first,
            last,
            team_id,
            organisation,
        )
        self.setWindowTitle(_("Zusammenfassung für die Fallkonferenz"))
        self.resize(560, 480)
        intro = QLabel(_("Die Zusammenfassung enthält die Systemlücken des Zeitraums und die ausgewählten Fälle "
                         "anonymisiert – ohne Namen, Geburtsdaten und Aktenzeichen."))  # fmt: skip
        intro.setWordWrap(True)
        self.cases = QListWidget()
        self.cases.setAccessibleName(_("Fälle für die Zusammenfassung"))
        self.cases.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self._fill_cases()
        form = QFormLayout()
        caption = QLabel(_("Aus&gewählte Fälle (höchstens 26):"))
        caption.setBuddy(self.cases)
        form.addRow(caption)
        form.addRow(self.cases)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setAccessibleName(_("Meldung"))
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.save_button = box.addButton(_("Als &PDF speichern …"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.save_button.setAccessibleName(_("Zusammenfassung als PDF speichern"))
        box.button(QDialogButtonBox.StandardButton.Cancel).setText(_("&Abbrechen"))
        box.accepted.connect(self.save)
        box.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(box)

    def _fill_cases(self) -> None:
        from ..services.cases import list_cases, phase_label

        with self.ctx.read() as session:
            rows = list_cases(session, phase="open", limit=500)
        for row in rows:
            # shown to the counsellor only to choose; nothing of this line is printed
            item = QListWidgetItem(f"{row.file_number} · {row.person_name} · {phase_label(row.phase)}")
            item.setData(Qt.ItemDataRole.UserRole, row.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.cases.addItem(item)

    def checked_ids(self) -> list[str]:
        return [self.cases.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.cases.count())
                if self.cases.item(i).checkState() == Qt.CheckState.Checked]  # fmt: skip

    def save(self, path: str | Path | None = None) -> Path | None:
        from ..reports import statistics_report
        from ..services.case_conference import case_conference_summary

        try:
            summary = case_conference_summary(self.ctx, self.first, self.last, case_ids=self.checked_ids(),
                                              team_id=self.team_id)  # fmt: skip
            if path is None:
                chosen, _f = QFileDialog.getSaveFileName(
                    self, _("Zusammenfassung speichern"), f"fallkonferenz-{date.today():%Y%m%d}.pdf",
                    _("PDF-Datei (*.pdf)"),
                )  # fmt: skip
                if not chosen:
                    return None
                path = chosen
            written = statistics_report.write_bytes(
                Path(path), statistics_report.conference_pdf(summary, organisation=self.organisation)
            )
        except UserError as exc:
            self.message.setText(exc.message)
            return None
        self.accept()
        return written

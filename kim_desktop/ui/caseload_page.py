"""The case list "Fälle": filter by phase, case manager, life area and overdue items (in the database), by
text (in memory), sortable.

``cases.list_cases`` returns at most ``LIMIT`` cases (newest first); an office's open caseload is far below
that. The text filter matches file number and name, folded like the person search (``Müller`` = ``Mueller``
= ``muller``), every word of the filter must occur.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from .. import APP_NAME
from ..db.models import CASE_PHASES
from ..errors import UserError
from ..i18n import _, format_date, format_number, sort_key
from .widgets import RowsTableModel, make_list_table

LIMIT = 2000
ID_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2
ALL = "all"  # phase combo: every case; manager combo: every case manager; life area combo: every area


class CaseListModel(RowsTableModel):
    """``CaseSummary`` rows: Aktenzeichen, Klient*in, Phase, Case Manager/in, Eröffnet am."""

    COLUMNS = ("file_number", "person_name", "phase", "case_manager", "opened_on")

    def __init__(self, parent=None) -> None:
        super().__init__(
            (_("Aktenzeichen"), _("Klient*in"), _("Phase"), _("Case Manager/in"), _("Eröffnet am")), parent
        )
        self._haystacks: list[str] = []

    def set_cases(self, rows: list) -> None:
        from ..services.names import fold

        self.beginResetModel()
        self._rows = list(rows)
        self._haystacks = [f"{fold(r.file_number)} {fold(r.person_name)}" for r in self._rows]
        self.endResetModel()

    def case(self, row: int):
        return self.row_at(row)

    def haystack(self, row: int) -> str:
        return self._haystacks[row] if 0 <= row < len(self._haystacks) else ""

    def _text(self, case, column: str) -> str:
        from ..services.cases import phase_label

        if column == "phase":
            return phase_label(case.phase)
        if column == "opened_on":
            return format_date(case.opened_on)
        if column == "case_manager":
            return case.case_manager or _("nicht zugeordnet")
        return getattr(case, column) or ""

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        case = self.case(index.row())
        if case is None:
            return None
        column = self.COLUMNS[index.column()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return self._text(case, column)
        if role == ID_ROLE:
            return case.id
        if role == SORT_ROLE:
            if column == "opened_on":
                return case.opened_on.toordinal()
            if column == "phase":
                return CASE_PHASES.index(case.phase) if case.phase in CASE_PHASES else len(CASE_PHASES)
            if column == "file_number":
                return case.file_number
            return sort_key(self._text(case, column))
        return None


class CaseFilterProxy(QSortFilterProxyModel):
    """Sorts by ``SORT_ROLE``; keeps rows whose file number or name contains every word of the filter."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._words: list[str] = []
        self.setSortRole(SORT_ROLE)

    def set_text(self, text: str) -> None:
        from ..services.names import fold

        words = fold(text).split()
        if words == self._words:
            return
        if hasattr(self, "beginFilterChange"):  # Qt 6.9+; invalidateFilter() is deprecated since 6.10
            self.beginFilterChange()
            self._words = words
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:  # pragma: no cover - PySide6 6.8
            self._words = words
            self.invalidateRowsFilter()

    def filterAcceptsRow(self, source_row: int, source_parent) -> bool:  # noqa: N802 (Qt API)
        if not self._words:
            return True
        haystack = self.sourceModel().haystack(source_row)
        return all(word in haystack for word in self._words)


class CaseloadPage(QWidget):
    """Fälle: filter row over a sortable table; Enter or double-click opens a case."""

    case_requested = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.ctx = None
        self._truncated = False

        self.title = QLabel(_("Fälle"))
        self.title.setObjectName("caseloadTitle")
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        self.title.setFont(font)

        self.phase = QComboBox()
        self.phase.setAccessibleName(_("Phase"))
        self.phase.addItem(_("alle offenen"), "open")
        from ..services.cases import phase_label

        for code in CASE_PHASES:
            self.phase.addItem(phase_label(code), code)
        self.phase.addItem(_("alle"), ALL)
        phase_caption = QLabel(_("&Phase:"))
        phase_caption.setBuddy(self.phase)

        self.manager = QComboBox()
        self.manager.setAccessibleName(_("Case Manager/in"))
        self.manager.addItem(_("alle"), ALL)
        self.manager.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        manager_caption = QLabel(_("&Case Manager/in:"))
        manager_caption.setBuddy(self.manager)

        self.life_area = QComboBox()
        self.life_area.setAccessibleName(_("Lebensbereich"))
        self.life_area.setAccessibleDescription(_("Fälle mit Assessment oder Ziel in diesem Lebensbereich"))
        self.life_area.addItem(_("alle"), ALL)
        self.life_area.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        life_area_caption = QLabel(_("&Lebensbereich:"))
        life_area_caption.setBuddy(self.life_area)

        self.overdue_only = QCheckBox(_("&nur mit überfälligen Punkten"))
        self.overdue_only.setAccessibleName(_("nur mit überfälligen Punkten"))
        self.overdue_only.setAccessibleDescription(
            _("Fälle mit überfälliger Wiedervorlage, Zielüberprüfung oder überfälligem Schritt")
        )

        self.filter = QLineEdit()
        self.filter.setAccessibleName(_("Fälle filtern"))
        self.filter.setAccessibleDescription(_("Filtert die Liste nach Aktenzeichen oder Namen beim Tippen"))
        self.filter.setPlaceholderText(_("Aktenzeichen oder Name"))
        self.filter.setClearButtonEnabled(True)
        filter_caption = QLabel(_("&Filter:"))
        filter_caption.setBuddy(self.filter)

        filters = QHBoxLayout()
        filters.addWidget(phase_caption)
        filters.addWidget(self.phase)
        filters.addSpacing(12)
        filters.addWidget(manager_caption)
        filters.addWidget(self.manager)
        filters.addSpacing(12)
        filters.addWidget(life_area_caption)
        filters.addWidget(self.life_area)
        filters.addSpacing(12)
        filters.addWidget(self.overdue_only)
        filters.addSpacing(12)
        filters.addWidget(filter_caption)
        filters.addWidget(self.filter, 1)

        self.model = CaseListModel(self)
        self.proxy = CaseFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        make_list_table(self.table, _("Fallliste"), _("Eingabetaste öffnet den ausgewählten Fall"))
        self.table.setSortingEnabled(True)
        for column, width in enumerate((150, 260, 130, 200)):
            self.table.setColumnWidth(column, width)
        self.table.sortByColumn(CaseListModel.COLUMNS.index("opened_on"), Qt.SortOrder.DescendingOrder)
        self.table.activated.connect(self._open_index)  # Enter, double-click (platform rule)

        self.count_label = QLabel()
        self.count_label.setAccessibleName(_("Anzahl Fälle"))

        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addLayout(filters)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.count_label)

        self.phase.currentIndexChanged.connect(lambda _i: self.reload())
        self.manager.currentIndexChanged.connect(lambda _i: self.reload())
        self.life_area.currentIndexChanged.connect(lambda _i: self.reload())
        self.overdue_only.toggled.connect(lambda _c: self.reload())
        self.filter.textChanged.connect(self._apply_text)
        self.filter.returnPressed.connect(self._to_table)

    # --- data ------------------------------------------------------------------------------------------

    def set_context(self, ctx) -> None:
        self.ctx = ctx
        self._fill_managers()
        self._fill_life_areas()
        self.reload()

    def _fill_managers(self) -> None:
        from sqlalchemy import select

        from ..db.models import UserAccount

        with self.ctx.read() as session:
            users = session.execute(
                select(UserAccount.id, UserAccount.display_name)
                .where(UserAccount.active.is_(True), UserAccount.deleted_at.is_(None))
                .order_by(UserAccount.display_name)
            ).all()
        current = self.manager.currentData()
        if current == ALL and self.manager.count() == 1:  # first fill: start with the own cases
            current = self.ctx.actor.user_id or ALL
        self.manager.blockSignals(True)
        self.manager.clear()
        self.manager.addItem(_("alle"), ALL)
        for user_id, name in sorted(users, key=lambda u: sort_key(u[1])):
            self.manager.addItem(name, user_id)
        self.manager.setCurrentIndex(max(0, self.manager.findData(current)))
        self.manager.blockSignals(False)

    def _fill_life_areas(self) -> None:
        """The office's life areas (code list ``life_area``, inactive ones too: older cases may use them)."""
        from ..i18n import current_language
        from ..services.codes import code_labels

        with self.ctx.read() as session:
            areas = code_labels(session, "life_area", current_language())
        current = self.life_area.currentData()
        self.life_area.blockSignals(True)
        self.life_area.clear()
        self.life_area.addItem(_("alle"), ALL)
        for code, label in areas.items():
            self.life_area.addItem(label, code)
        self.life_area.setCurrentIndex(max(0, self.life_area.findData(current)))
        self.life_area.blockSignals(False)

    def refresh(self) -> None:
        """Reload case managers, life areas and cases (after changes elsewhere)."""
        if self.ctx is None:
            return
        self._fill_managers()
        self._fill_life_areas()
        self.reload()

    def reload(self) -> None:
        """Query the cases for the database filters; keeps the selected case if still listed."""
        if self.ctx is None:
            return
        from ..services.cases import list_cases

        phase = self.phase.currentData()
        manager = self.manager.currentData()
        life_area = self.life_area.currentData()
        selected = self.selected_case_id()
        try:
            with self.ctx.read() as session:
                rows = list_cases(
                    session,
                    phase=None if phase == ALL else phase,
                    manager=None if manager == ALL else manager,
                    life_area=None if life_area == ALL else life_area,
                    overdue_only=self.overdue_only.isChecked(),
                    limit=LIMIT,
                )
        except UserError as exc:
            QMessageBox.warning(self, APP_NAME, exc.message)
            return
        self._truncated = len(rows) >= LIMIT
        self.model.set_cases(rows)
        self._select(selected)
        self._update_count()

    def show_phase(self, phase: str | None) -> None:
        """Show the cases of one phase (``"open"``: all open ones; ``None`` or ``"all"``: every case)."""
        index = self.phase.findData(phase if phase else ALL)
        if index < 0:
            return
        if index == self.phase.currentIndex():
            self.reload()
        else:
            self.phase.setCurrentIndex(index)  # reloads
        if self.proxy.rowCount() and not self.table.currentIndex().isValid():
            self.table.selectRow(0)

    # --- view helpers ----------------------------------------------------------------------------------

    def _apply_text(self, text: str) -> None:
        selected = self.selected_case_id()
        self.proxy.set_text(text)
        self._select(selected)
        self._update_count()

    def _select(self, case_id: str | None) -> None:
        if case_id is not None:
            for row in range(self.proxy.rowCount()):
                if self.proxy.index(row, 0).data(ID_ROLE) == case_id:
                    self.table.selectRow(row)
                    return
        if self.proxy.rowCount():
            self.table.selectRow(0)

    def _update_count(self) -> None:
        total = self.model.rowCount()
        shown = self.proxy.rowCount()
        if total == 0:
            text = _("Keine Fälle für diese Auswahl.")
        elif shown == total:
            text = _("1 Fall") if total == 1 else _("{n} Fälle").format(n=format_number(total))
        else:
            text = _("{shown} von {n} Fällen").format(shown=format_number(shown), n=format_number(total))
        if self._truncated:
            text += " " + _("(nur die {n} zuletzt eröffneten)").format(n=format_number(LIMIT))
        self.count_label.setText(text)

    def _to_table(self) -> None:
        if self.proxy.rowCount():
            self.table.setFocus()
            if not self.table.currentIndex().isValid():
                self.table.selectRow(0)

    def _open_index(self, index: QModelIndex) -> None:
        case_id = index.data(ID_ROLE) if index.isValid() else None
        if case_id:
            self.case_requested.emit(case_id)

    def selected_case_id(self) -> str | None:
        index = self.table.currentIndex()
        return index.data(ID_ROLE) if index.isValid() else None

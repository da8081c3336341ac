"""The person list: a lazily paging table model and the page with search-as-you-type.

The model never loads all rows: it asks its source for the count and fetches pages of ``PAGE_SIZE`` rows
when the view asks for them (a few milliseconds per page on the ``ix_person_list_order`` index), keeping at
most ``MAX_PAGES`` pages. In search mode it shows the search engine's ranked hits instead.
"""

from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ..i18n import _
from ..services.person_list import PersonRow
from .widgets import make_list_table

PAGE_SIZE = 100
MAX_PAGES = 50
ID_ROLE = Qt.ItemDataRole.UserRole + 1


class PersonListModel(QAbstractTableModel):
    COLUMNS = ("family_name", "given_names", "birth", "city", "residence_status")

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._source = None
        self._count = 0
        self._pages: OrderedDict[int, list[PersonRow]] = OrderedDict()
        self._hits: list[PersonRow] | None = None  # search mode
        self._status_labels: dict[str, str] = {}
        self._headers = (_("Familienname"), _("Vorname(n)"), _("Geburtsdatum"), _("Ort"), _("Aufenthaltsstatus"))

    # --- feeding -------------------------------------------------------------------------------------

    def set_source(self, source, status_labels: dict[str, str] | None = None) -> None:
        self.beginResetModel()
        self._source = source
        self._pages.clear()
        self._count = source.count() if source is not None else 0
        if status_labels is not None:
            self._status_labels = status_labels
        self.endResetModel()

    def refresh(self) -> None:
        """Reload the count and forget cached pages (after a write)."""
        if self._hits is None:
            self.set_source(self._source)

    def show_hits(self, rows: list[PersonRow]) -> None:
        self.beginResetModel()
        self._hits = list(rows)
        self.endResetModel()

    def show_all(self) -> None:
        if self._hits is None:
            return
        self.beginResetModel()
        self._hits = None
        self._pages.clear()
        if self._source is not None:
            self._count = self._source.count()
        self.endResetModel()

    @property
    def searching(self) -> bool:
        return self._hits is not None

    @property
    def total(self) -> int:
        return self._count

    # --- Qt model interface --------------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        if parent.isValid():
            return 0
        return len(self._hits) if self._hits is not None else self._count

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        horizontal = orientation == Qt.Orientation.Horizontal
        if role == Qt.ItemDataRole.DisplayRole and horizontal and 0 <= section < len(self._headers):
            return self._headers[section]
        return None

    def row_at(self, row: int) -> PersonRow | None:
        if row < 0:
            return None
        if self._hits is not None:
            return self._hits[row] if row < len(self._hits) else None
        if row >= self._count or self._source is None:
            return None
        number = row // PAGE_SIZE
        page = self._pages.get(number)
        if page is None:
            page = self._source.page(number * PAGE_SIZE, PAGE_SIZE)
            self._pages[number] = page
            while len(self._pages) > MAX_PAGES:
                self._pages.popitem(last=False)
        else:
            self._pages.move_to_end(number)
        offset = row - number * PAGE_SIZE
        return page[offset] if offset < len(page) else None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        if role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole, ID_ROLE):
            return None
        person = self.row_at(index.row())
        if person is None:
            return None
        if role == ID_ROLE:
            return person.id
        column = self.COLUMNS[index.column()]
        if column == "birth":
            return person.birth.german() if person.birth else _("unbekannt")
        if column == "residence_status":
            code = person.residence_status
            return self._status_labels.get(code, code or "")
        return getattr(person, column) or ""


class PersonListPage(QWidget):
    """Search field over the table; Enter or double-click opens a person."""

    open_requested = Signal(str)
    new_requested = Signal()
    search_requested = Signal(int, str)  # sequence number, text

    SEARCH_DELAY_MS = 150

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.model = PersonListModel(self)
        self._sequence = 0

        self.search_label = QLabel(_("&Suche:"))
        self.search = QLineEdit()
        self.search.setPlaceholderText(_("Name, Geburtsdatum (TT.MM.JJJJ oder Jahr), Telefon oder Aktenzeichen"))
        self.search.setAccessibleName(_("Personensuche"))
        self.search.setAccessibleDescription(
            _("Suche beim Tippen nach Namen, anderen Schreibweisen, Geburtsdatum, Telefon oder Aktenzeichen")
        )
        self.search.setClearButtonEnabled(True)
        self.search_label.setBuddy(self.search)
        self.new_button = QPushButton(_("&Neue Person"))
        self.new_button.setAccessibleName(_("Neue Person anlegen"))
        self.new_button.clicked.connect(self.new_requested)

        top = QHBoxLayout()
        top.addWidget(self.search_label)
        top.addWidget(self.search, 1)
        top.addWidget(self.new_button)

        self.table = QTableView()
        self.table.setModel(self.model)
        make_list_table(self.table, _("Personenliste"))
        for column, width in enumerate((220, 220, 120, 160)):
            self.table.setColumnWidth(column, width)
        self.table.activated.connect(self._open_index)

        self.count_label = QLabel()
        self.count_label.setAccessibleName(_("Anzahl"))

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.count_label)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(self.SEARCH_DELAY_MS)
        self._timer.timeout.connect(self._emit_search)
        self.search.textChanged.connect(lambda _text: self._timer.start())
        self.search.returnPressed.connect(self._search_now_or_open)
        self.update_count_label()

    def _emit_search(self) -> None:
        text = self.search.text().strip()
        self._sequence += 1
        if not text:
            self.model.show_all()
            self.update_count_label()
            return
        self.search_requested.emit(self._sequence, text)

    def _search_now_or_open(self) -> None:
        if self._timer.isActive():
            self._timer.stop()
            self._emit_search()
        elif self.model.rowCount() > 0:
            self.table.setFocus()
            self.table.selectRow(0)

    def refresh(self) -> None:
        """Show current data after a change: run the current search again, or reload the list."""
        if self.model.searching:
            self._emit_search()
        else:
            self.model.refresh()
            self.update_count_label()

    def apply_hits(self, sequence: int, rows: list[PersonRow]) -> None:
        """Show results unless a newer query has been typed meanwhile."""
        if sequence != self._sequence:
            return
        self.model.show_hits(rows)
        if rows:
            self.table.selectRow(0)
        self.update_count_label()

    def update_count_label(self) -> None:
        if self.model.searching:
            n = self.model.rowCount()
            text = _("Keine Treffer") if n == 0 else (_("1 Treffer") if n == 1 else _("{n} Treffer").format(n=n))
        else:
            from ..i18n import format_number

            total = self.model.total
            if total == 0:
                text = _("Noch keine Personen erfasst")
            elif total == 1:
                text = _("1 Person")
            else:
                text = _("{n} Personen").format(n=format_number(total))
        self.count_label.setText(text)

    def _open_index(self, index: QModelIndex) -> None:
        person_id = self.model.data(index, ID_ROLE)
        if person_id:
            self.open_requested.emit(person_id)

    def selected_person_id(self) -> str | None:
        index = self.table.currentIndex()
        return self.model.data(index, ID_ROLE) if index.isValid() else None

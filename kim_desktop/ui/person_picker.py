"""Pick a person by search (used by the merge tool)."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
)

from ..i18n import _
from ..services.search import search_persons


class PersonPicker(QDialog):
    def __init__(self, ctx, *, exclude_id: str | None = None, parent=None) -> None:
        super().__init__(parent)
        self.ctx, self.exclude_id = ctx, exclude_id
        self.person_id: str | None = None
        self.setWindowTitle(_("Person auswählen"))
        self.resize(520, 420)
        label = QLabel(_("&Suche nach dem anderen Datensatz:"))
        self.search = QLineEdit()
        self.search.setAccessibleName(_("Suche nach dem anderen Datensatz"))
        label.setBuddy(self.search)
        self.results = QListWidget()
        self.results.setAccessibleName(_("Treffer"))
        self.results.itemActivated.connect(lambda _item: self.accept())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(_("&Auswählen"))
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(_("Abbrechen"))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(label)
        layout.addWidget(self.search)
        layout.addWidget(self.results, 1)
        layout.addWidget(buttons)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(150)
        self._timer.timeout.connect(self.run_search)
        self.search.textChanged.connect(lambda _t: self._timer.start())
        self.search.setFocus()

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt API)
        # Enter in the search field searches and moves to the hits. The line edit passes Enter on to the
        # dialog, whose default button "Auswählen" would otherwise choose the first hit unseen.
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.search.hasFocus():
            self._focus_results()
            return
        super().keyPressEvent(event)

    def _focus_results(self) -> None:
        self._timer.stop()
        self.run_search()
        if self.results.count():
            self.results.setCurrentRow(0)
            self.results.setFocus()

    def run_search(self) -> None:
        self.results.clear()
        with self.ctx.read() as session:
            hits = search_persons(session, self.search.text(), limit=50)
        for hit in hits:
            if hit.id == self.exclude_id:
                continue
            birth = hit.birth.german() if hit.birth else _("unbekannt")
            name = f"{hit.family_name}, {hit.given_names}" if hit.given_names else hit.family_name
            item = QListWidgetItem(f"{name} ({birth}){', ' + hit.city if hit.city else ''}")
            item.setData(Qt.ItemDataRole.UserRole, hit.id)
            self.results.addItem(item)

    def accept(self) -> None:
        item = self.results.currentItem()
        if item is None:
            return
        self.person_id = item.data(Qt.ItemDataRole.UserRole)
        super().accept()

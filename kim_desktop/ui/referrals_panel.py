"""The referrals (Vermittlungen) of a case: offer, provider, status, when sent, when feedback is due, outcome.

Overdue feedback is marked in words ("überfällig", also what a screen reader reads), in bold and dark red.
``ReferralDialog`` opens window-modal without blocking (kept as ``dialog``); the list refreshes when it
changes something or closes. ``set_context``/``load`` allow building the panel before the services are
attached, like ``AppointmentsPanel``.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from .. import APP_NAME
from ..errors import UserError
from ..i18n import _, format_date, ngettext
from . import theme
from .widgets import CompactListTable, RowsTableModel, make_list_table

if TYPE_CHECKING:
    from ..services import referrals

ROW_ROLE = Qt.ItemDataRole.UserRole
OVERDUE_COLOUR = theme.colour("error")  # never the only sign: the word "überfällig" says it


class ReferralsModel(RowsTableModel):
    """``referrals.ReferralRow`` as rows: Angebot, Träger, Status, versendet am, Rückmeldung bis, Ergebnis."""

    def __init__(self, parent=None) -> None:
        super().__init__(
            (_("Angebot"), _("Träger"), _("Status"), _("versendet am"), _("Rückmeldung bis"), _("Ergebnis")), parent
        )


    def referral(self, row: int) -> referrals.ReferralRow | None:
        return self.row_at(row)


    @staticmethod
    def status_text(r) -> str:
        if r.override and r.status == "sent":
            return _("{status} (ohne Entbindung)").format(status=r.status_label)
        return r.status_label

    @staticmethod
    def due_text(r) -> str:
        if r.status != "sent" or r.due_on is None:
            return ""
        text = format_date(r.due_on)
        return _("{date} – überfällig").format(date=text) if r.overdue else text

    def _text(self, r, column: int) -> str:
        if column == 0:
            return r.offer_title or _("(ohne Angebot)")
        if column == 1:
            return r.provider_name or ""
        if column == 2:
            return self.status_text(r)
        if column == 3:
            return format_date(r.sent_on) if r.sent_on else ""
        if column == 4:
            return self.due_text(r)
        return r.outcome_label or ""

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        r = self.referral(index.row()) if index.isValid() else None
        if r is None:
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return self._text(r, index.column())
        if role == Qt.ItemDataRole.ToolTipRole:
            parts = [r.offer_title, r.provider_name, self.status_text(r), r.goal_title and _("Ziel: {goal}").format(
                goal=r.goal_title)]  # fmt: skip
            return " · ".join(p for p in parts if p)
        if role == ROW_ROLE:
            return r
        if r.overdue and index.column() == 4:
            if role == Qt.ItemDataRole.ForegroundRole:
                return QColor(OVERDUE_COLOUR)
            if role == Qt.ItemDataRole.FontRole:
                font = QFont()
                font.setBold(True)
                return font
        return None


class ReferralsPanel(QWidget):
    """The referrals of a case; ``changed()`` after a referral was created or changed from here."""

    changed = Signal()

    def __init__(self, ctx=None, *, case_id: str | None = None, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.case_id = case_id
        self.dialog = None
        self.today = date.today()
        self._description = _("Neueste zuerst. Eingabetaste oder Doppelklick öffnet die Vermittlung.")

        self.model = ReferralsModel(self)
        self.table = CompactListTable(4)
        self.table.setModel(self.model)
        make_list_table(self.table, _("Vermittlungen"), self._description)
        header = self.table.horizontalHeader()
        char = self.fontMetrics().averageCharWidth()
        self.table.setColumnWidth(0, 30 * char)
        self.table.setColumnWidth(1, 24 * char)
        for column in (2, 3, 4):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.table.activated.connect(self._open_index)
        self.table.selectionModel().currentRowChanged.connect(lambda *_a: self._update_state())

        # No Alt+letters: the case page owns them.
        self.new_button = QPushButton(_("Neue Vermittlung …"))
        self.new_button.setAccessibleName(_("Neue Vermittlung anlegen"))
        self.new_button.clicked.connect(lambda _c=False: self.new_referral())
        self.open_button = QPushButton(_("Öffnen"))
        self.open_button.setAccessibleName(_("Ausgewählte Vermittlung öffnen"))
        self.open_button.clicked.connect(lambda _c=False: self.open_selected())
        side = QVBoxLayout()
        side.addWidget(self.new_button)
        side.addWidget(self.open_button)
        side.addStretch(1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table, 1)
        layout.addLayout(side)
        self.refresh()

    # --- data ------------------------------------------------------------------------------------------

    def set_context(self, ctx) -> None:
        self.ctx = ctx

    def load(self, case_id: str | None = None) -> None:
        self.case_id = case_id
        self.refresh()

    def refresh(self, select_id: str | None = None) -> None:
        """Reload; keeps (or moves to ``select_id``) the selection."""
        current = self.selected()
        select_id = select_id or (current.id if current else None)
        rows: list = []
        if self.ctx is not None and self.case_id:
            from ..services import referrals

            with self.ctx.read() as session:
                rows = referrals.case_referrals(session, self.case_id)
        self.model.set_rows(rows)
        row = self.model.row_of(select_id)
        if row < 0 and rows:
            row = 0
        if row >= 0:
            self.table.selectRow(row)
            self.table.scrollTo(self.model.index(row, 0))
        self._update_state()

    def selected(self) -> referrals.ReferralRow | None:
        index = self.table.currentIndex()
        return self.model.referral(index.row()) if index.isValid() else None

    def overdue_count(self) -> int:
        return sum(1 for r in self.model._rows if r.overdue)

    def _update_state(self) -> None:
        has_rows = self.model.rowCount() > 0
        self.table.empty_text = "" if has_rows else _("Noch keine Vermittlungen.")
        overdue = self.overdue_count()
        note = _("{n} mit überfälliger Rückmeldung.").format(n=overdue) if overdue else ""
        self.table.setAccessibleDescription(" ".join(t for t in (self.table.empty_text, note, self._description) if t))
        self.table.viewport().update()
        self.new_button.setEnabled(self.ctx is not None and bool(self.case_id))
        self.open_button.setEnabled(self.selected() is not None)

    # --- actions ---------------------------------------------------------------------------------------

    def _open_index(self, index: QModelIndex) -> None:
        if index.isValid():
            self.table.setCurrentIndex(index)
            self.open_selected()

    def new_referral(self, offer_id: str | None = None):
        """The dialog for a new referral of this case (returned, not blocking)."""
        return self._open_dialog(offer_id=offer_id)

    def open_selected(self):
        r = self.selected()
        return self._open_dialog(referral_id=r.id) if r is not None else None

    def _open_dialog(self, **kwargs):
        from .referral_dialog import ReferralDialog

        if self.ctx is None or not self.case_id:
            return None
        try:
            dialog = ReferralDialog(self.ctx, case_id=self.case_id, parent=self, **kwargs)
        except UserError as exc:  # deleted meanwhile
            QMessageBox.warning(self, APP_NAME, exc.message)
            self.refresh()
            return None
        dialog.changed.connect(lambda d=dialog: self._dialog_changed(d))
        dialog.finished.connect(lambda _r, d=dialog: self._dialog_closed(d))
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.open()
        self.dialog = dialog
        return dialog

    def _dialog_changed(self, dialog) -> None:
        self.refresh(select_id=dialog.referral_id)
        self.changed.emit()

    def _dialog_closed(self, dialog) -> None:
        if self.dialog is dialog:
            self.dialog = None
        dialog.deleteLater()
        self.refresh()
        self.table.setFocus()


class ReferralsOverviewDialog(QDialog):
    """Referrals per offer and per provider: where people were sent and what came of it (read, audited)."""

    def __init__(self, ctx, *, offer_id: str, provider_id: str | None, offer_title: str, provider_name: str,
                 parent=None) -> None:  # fmt: skip
        super().__init__(parent)
        from ..services import audit, referrals

        self.setWindowTitle(_("Vermittlungen: {offer}").format(offer=offer_title))
        self.resize(900, 480)
        with ctx.write() as session:
            by_offer = referrals.referrals_by_offer(session, offer_id)
            by_provider = referrals.referrals_by_provider(session, provider_id) if provider_id else []
            audit.record(session, "read", entity_type="referral_list",
                         detail={"offer_id": offer_id, "provider_id": provider_id,
                                 "count": len(by_offer) + len(by_provider)})  # fmt: skip
        tabs = QTabWidget()
        tabs.setAccessibleName(_("Vermittlungen nach Angebot und Träger"))
        self.models = []
        for rows, label in ((by_offer, _("Zu diesem Angebot")),
                            (by_provider, _("An den Träger {name}").format(name=provider_name))):  # fmt: skip
            page = QWidget()
            layout = QVBoxLayout(page)
            summary = QLabel(self.summary(rows))
            summary.setWordWrap(True)
            model = ReferralsModel(page)
            model.set_rows(rows)
            table = QTableView()
            table.setModel(model)
            make_list_table(table, label)
            layout.addWidget(summary)
            layout.addWidget(table, 1)
            tabs.addTab(page, label)
            self.models.append(model)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        outer = QVBoxLayout(self)
        outer.addWidget(tabs, 1)
        outer.addWidget(buttons)

    @staticmethod
    def summary(rows) -> str:
        if not rows:
            return _("Noch keine Vermittlungen.")
        counts: dict[str, int] = {}
        for row in rows:
            counts[row.status_label] = counts.get(row.status_label, 0) + 1
        overdue = sum(1 for r in rows if r.overdue)
        text = ", ".join(f"{label}: {n}" for label, n in sorted(counts.items()))
        if overdue:
            text += " · " + _("Rückmeldung überfällig: {n}").format(n=overdue)
        return ngettext("{n} Vermittlung – {details}", "{n} Vermittlungen – {details}", len(rows)).format(
            n=len(rows), details=text
        )

"""Merge two records of the same person: the fields that differ, side by side, one choice per field."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QMessageBox,
    QRadioButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ..errors import UserError
from ..i18n import _
from ..services import merge
from ..services.persons import _label


class MergeDialog(QDialog):
    """``keep_id`` stays; ``other_id`` is merged into it. Empty fields are filled from the other record."""

    def __init__(self, ctx, keep_id: str, other_id: str, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.keep_id, self.other_id = keep_id, other_id
        self.setWindowTitle(_("Personen zusammenführen"))
        self.resize(760, 520)
        rows = merge.merge_preview(ctx, keep_id, other_id)
        self.fields = [field for field, _left, _right in rows]
        intro = QLabel(
            _(
                "Der linke Datensatz bleibt erhalten. Wählen Sie je Feld den richtigen Wert. Fälle, Verlauf, "
                "Termine und Einwilligungen des rechten Datensatzes werden übernommen; sein Name bleibt als "
                "andere Schreibweise auffindbar."
            )
        )
        intro.setWordWrap(True)
        grid_host = QWidget()
        grid = QGridLayout(grid_host)
        grid.addWidget(QLabel(_("<b>Feld</b>")), 0, 0)
        grid.addWidget(QLabel(_("<b>Bleibt erhalten</b>")), 0, 1)
        grid.addWidget(QLabel(_("<b>Wird übernommen</b>")), 0, 2)
        self.choices: dict[str, QButtonGroup] = {}
        for row, (field, left, right) in enumerate(rows, start=1):
            grid.addWidget(QLabel(_label(field)), row, 0)
            group = QButtonGroup(self)
            # stored values are text: an "&" (e.g. "c/o Meyer & Söhne") must not become an accelerator
            keep_button = QRadioButton(left.replace("&", "&&"))
            other_button = QRadioButton(right.replace("&", "&&"))
            keep_button.setAccessibleName(_("{field}: {value} behalten").format(field=_label(field), value=left))
            other_button.setAccessibleName(_("{field}: {value} übernehmen").format(field=_label(field), value=right))
            group.addButton(keep_button, 0)
            group.addButton(other_button, 1)
            (other_button if left == "–" else keep_button).setChecked(True)
            grid.addWidget(keep_button, row, 1)
            grid.addWidget(other_button, row, 2)
            self.choices[field] = group
        if not rows:
            grid.addWidget(QLabel(_("Die beiden Datensätze stimmen in allen Feldern überein.")), 1, 0, 1, 3)
        grid.setRowStretch(grid.rowCount(), 1)  # spare height below the rows, not between heading and rows
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(grid_host)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(_("&Zusammenführen"))
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(_("Abbrechen"))
        buttons.accepted.connect(self._merge)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(scroll, 1)
        layout.addWidget(buttons)
        for label in grid_host.findChildren(QLabel):
            if label.text().startswith("<b>"):
                label.setTextFormat(Qt.TextFormat.RichText)
            else:
                label.setTextFormat(Qt.TextFormat.PlainText)

    def selection(self) -> set[str]:
        return {field for field, group in self.choices.items() if group.checkedId() == 1}

    def _merge(self) -> None:
        answer = QMessageBox.question(
            self,
            _("Personen zusammenführen"),
            _("Die beiden Datensätze werden dauerhaft zu einer Person zusammengeführt. Fortfahren?"),
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        try:
            merge.merge_persons(self.ctx, self.keep_id, self.other_id, take_from_other=self.selection())
        except UserError as exc:
            QMessageBox.warning(self, _("Personen zusammenführen"), exc.message)
            return
        self.accept()

"""Data subject rights on the person page: restriction (Art. 18 DSGVO) and erasure on request (Art. 17).

``PersonRightsPanel`` sits on the person page: a banner „Verarbeitung eingeschränkt (Art. 18 DSGVO) seit …“
while the person is restricted, and the buttons „Einschränken …“ / „Einschränkung aufheben“ and „Löschen auf
Antrag …“. The work is done by ``services.retention``; its refusals are shown as they are.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from .. import APP_NAME
from ..errors import UserError, ValidationError
from ..i18n import _, format_date
from ..services import retention
from ..services.localtime import local_time
from . import theme


def reason_labels() -> dict[str, str]:
    """The service's Art. 17 reason codes in German words (same order)."""
    labels = {
        "widerruf": _("Einwilligung widerrufen (Art. 17 Abs. 1 b)"),
        "zweck_entfallen": _("Zweck entfallen, Daten nicht mehr nötig (Art. 17 Abs. 1 a)"),
        "widerspruch": _("Widerspruch gegen die Verarbeitung (Art. 17 Abs. 1 c)"),
        "unrechtmaessig": _("Daten wurden unrechtmäßig verarbeitet (Art. 17 Abs. 1 d)"),
        "rechtspflicht": _("Löschung ist rechtlich vorgeschrieben (Art. 17 Abs. 1 e)"),
        "sonstiges": _("Sonstiger Grund"),
    }
    return {code: labels.get(code, code) for code in retention.ART17_REASONS}


class RestrictDialog(QDialog):
    """Asks why the processing is restricted."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle(_("Verarbeitung einschränken (Art. 18 DSGVO)"))
        text = QLabel(
            _(
                "Solange die Verarbeitung eingeschränkt ist, werden die Daten dieser Person nur gespeichert: "
                "Sie können sie nicht ändern, keine Briefe erstellen und keine Einträge hinzufügen."
            )
        )
        text.setWordWrap(True)
        self.reason = QLineEdit()
        self.reason.setMaxLength(retention.REASON_MAX)
        self.reason.setAccessibleName(_("Grund der Einschränkung"))
        form = QFormLayout()
        label = QLabel(_("&Grund:"))
        label.setBuddy(self.reason)
        form.addRow(label, self.reason)
        buttons = QDialogButtonBox()
        ok = buttons.addButton(_("Einschränken"), QDialogButtonBox.ButtonRole.AcceptRole)
        ok.setAccessibleName(_("Verarbeitung einschränken"))
        cancel = buttons.addButton(_("Abbrechen"), QDialogButtonBox.ButtonRole.RejectRole)
        cancel.setAccessibleName(_("Abbrechen"))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addLayout(form)
        layout.addWidget(buttons)


class ErasureDialog(QDialog):
    """Asks for the Art. 17 reason and says plainly what the erasure does."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle(_("Löschen auf Antrag (Art. 17 DSGVO)"))
        text = QLabel(
            _(
                "Die Person wird jetzt endgültig anonymisiert: Namen, Geburtstag, Anschrift, Kontaktdaten, "
                "Notizen, Verlaufstexte, Dokumente, Einwilligungen und Beziehungen werden gelöscht. Übrig bleiben "
                "nur anonyme Angaben für die Statistik. Das lässt sich nicht rückgängig machen."
            )
        )
        text.setWordWrap(True)
        self.reason = QComboBox()
        self.reason.setAccessibleName(_("Grund der Löschung"))
        for code, label in reason_labels().items():
            self.reason.addItem(label, code)
        form = QFormLayout()
        label = QLabel(_("&Grund:"))
        label.setBuddy(self.reason)
        form.addRow(label, self.reason)
        buttons = QDialogButtonBox()
        ok = buttons.addButton(_("Endgültig löschen"), QDialogButtonBox.ButtonRole.AcceptRole)
        ok.setAccessibleName(_("Person endgültig löschen"))
        cancel = buttons.addButton(_("Abbrechen"), QDialogButtonBox.ButtonRole.RejectRole)
        cancel.setAccessibleName(_("Abbrechen"))
        cancel.setDefault(True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def reason_code(self) -> str:
        return self.reason.currentData()


class PersonRightsPanel(QWidget):
    """Banner and buttons for Art. 18 and Art. 17 on the person page."""

    erased = Signal(str)  # person id; the page should go back to the list
    restriction_changed = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.ctx = None
        self.person_id: str | None = None
        self.restricted = False

        self.banner = QLabel()
        self.banner.setObjectName("restrictionBanner")
        self.banner.setTextFormat(Qt.TextFormat.PlainText)
        self.banner.setWordWrap(True)
        self.banner.setAccessibleName(_("Hinweis zur Einschränkung"))
        self.banner.setStyleSheet(
            theme.banner_style("QLabel#restrictionBanner", "padding: 4px; font-weight: bold;")
        )
        self.banner.hide()
        self.restrict_button = QPushButton(_("Einschränken …"))
        self.restrict_button.setAccessibleName(_("Verarbeitung einschränken (Art. 18 DSGVO)"))
        self.restrict_button.clicked.connect(self.toggle_restriction)
        self.erase_button = QPushButton(_("Löschen auf Antrag …"))
        self.erase_button.setAccessibleName(_("Person auf Antrag löschen (Art. 17 DSGVO)"))
        self.erase_button.clicked.connect(self.ask_and_erase)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addStretch(1)
        buttons.addWidget(self.restrict_button)
        buttons.addWidget(self.erase_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.banner)
        layout.addLayout(buttons)
        self.show_person(None)

    def set_context(self, ctx) -> None:
        self.ctx = ctx

    def show_person(self, person_id: str | None) -> None:
        """Read the person's restriction state and show banner and buttons accordingly."""
        from ..db.models import Person

        self.person_id = person_id
        since, reason = None, None
        if person_id and self.ctx is not None:
            with self.ctx.read() as session:
                person = session.get(Person, person_id)
                if person is not None:
                    since, reason = person.restricted_at, person.restriction_reason
        self.restricted = since is not None
        if self.restricted:
            text = _("Verarbeitung eingeschränkt (Art. 18 DSGVO) seit {day}").format(
                day=format_date(local_time(since).date())
            )
            if reason:
                text += " · " + _("Grund: {reason}").format(reason=reason)
            self.banner.setText(text)
            self.banner.show()
            self.restrict_button.setText(_("Einschränkung aufheben"))
            self.restrict_button.setAccessibleName(_("Einschränkung der Verarbeitung aufheben"))
        else:
            self.banner.hide()
            self.banner.clear()
            self.restrict_button.setText(_("Einschränken …"))
            self.restrict_button.setAccessibleName(_("Verarbeitung einschränken (Art. 18 DSGVO)"))
        stored = bool(person_id) and self.ctx is not None
        self.restrict_button.setEnabled(stored)
        self.erase_button.setEnabled(stored)

    # --- actions -----------------------------------------------------------------------------------------

    def toggle_restriction(self) -> None:
        if self.restricted:
            self.ask_and_lift()
        else:
            self.ask_and_restrict()

    def ask_and_restrict(self) -> bool:
        if not self.person_id:
            return False
        dialog = RestrictDialog(self)
        while dialog.exec() == QDialog.DialogCode.Accepted:
            try:
                retention.restrict(self.ctx, self.person_id, dialog.reason.text())
            except ValidationError as exc:  # e.g. no reason: ask again
                QMessageBox.warning(self, APP_NAME, exc.message)
                continue
            except UserError as exc:
                QMessageBox.warning(self, APP_NAME, exc.message)
                break
            self.show_person(self.person_id)
            self.restriction_changed.emit(self.person_id)
            return True
        self.show_person(self.person_id)
        return False

    def ask_and_lift(self) -> bool:
        if not self.person_id:
            return False
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle(_("Einschränkung aufheben"))
        box.setText(
            _(
                "Die Einschränkung nach Art. 18 DSGVO aufheben? Danach können die Daten dieser Person wieder "
                "geändert und verwendet werden."
            )
        )
        yes = box.addButton(_("Aufheben"), QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(box.addButton(_("Abbrechen"), QMessageBox.ButtonRole.RejectRole))
        box.exec()
        if box.clickedButton() is not yes:
            return False
        try:
            retention.lift_restriction(self.ctx, self.person_id)
        except UserError as exc:
            QMessageBox.warning(self, APP_NAME, exc.message)
            return False
        finally:
            self.show_person(self.person_id)
        self.restriction_changed.emit(self.person_id)
        return True

    def ask_and_erase(self) -> bool:
        if not self.person_id:
            return False
        dialog = ErasureDialog(self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return False
        person_id = self.person_id
        try:
            retention.erase_on_request(self.ctx, person_id, reason_code=dialog.reason_code())
        except UserError as exc:
            QMessageBox.warning(self, APP_NAME, exc.message)
            return False
        QMessageBox.information(self, APP_NAME, _("Die Person wurde anonymisiert."))
        self.show_person(None)
        self.erased.emit(person_id)
        return True

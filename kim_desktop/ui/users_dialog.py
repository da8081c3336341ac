"""„Benutzer verwalten …“ (Administration): list the accounts, add one, disable one, reset a password.

Everything goes through ``services.users``, which checks ``users.manage`` and – on an encrypted database –
writes or removes the account's key slot, so a new account can sign in at once and a disabled one no longer
opens the file.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from .. import APP_NAME
from ..errors import UserError, ValidationError
from ..i18n import _
from .widgets import FieldError, RowsTableModel, add_field, make_list_table


class UsersModel(RowsTableModel):
    def __init__(self, parent=None) -> None:
        super().__init__((_("Benutzername"), _("Name"), _("Rollen"), _("Team"), _("Status")), parent)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        user = self.row_at(index.row())
        if user is None or role != Qt.ItemDataRole.DisplayRole:
            return None
        from ..services.permissions import role_label

        return (
            user.username,
            user.display_name,
            ", ".join(role_label(r) for r in user.roles),
            user.team_name or "",
            _("aktiv") if user.active else _("deaktiviert"),
        )[index.column()]


def _password_fields(form: QFormLayout) -> tuple[QLineEdit, QLineEdit, FieldError]:
    password = QLineEdit()
    password.setEchoMode(QLineEdit.EchoMode.Password)
    error = add_field(form, _("&Passwort (mind. 10 Zeichen):"), password)
    repeat = QLineEdit()
    repeat.setEchoMode(QLineEdit.EchoMode.Password)
    add_field(form, _("Passwort &wiederholen:"), repeat)
    return password, repeat, error


def _buttons(dialog: QDialog, ok_text: str, ok_name: str) -> QDialogButtonBox:
    buttons = QDialogButtonBox()
    ok = buttons.addButton(ok_text, QDialogButtonBox.ButtonRole.AcceptRole)
    ok.setAccessibleName(ok_name)
    ok.setDefault(True)
    cancel = buttons.addButton(_("Abbre&chen"), QDialogButtonBox.ButtonRole.RejectRole)
    cancel.setAccessibleName(_("Abbrechen"))
    buttons.rejected.connect(dialog.reject)
    return buttons


class AddUserDialog(QDialog):
    """A new account: user name, display name, roles, team, password twice."""

    def __init__(self, ctx, parent=None) -> None:
        super().__init__(parent)
        from ..services.permissions import ROLES, role_labels
        from ..services.users import _team_names

        self.ctx = ctx
        self.user = None
        self.setWindowTitle(_("Benutzer anlegen"))
        form = QFormLayout()
        self.username = QLineEdit()
        self.username.setMaxLength(40)
        self.errors = {"username": add_field(form, _("&Benutzername:"), self.username)}
        self.display_name = QLineEdit()
        self.display_name.setMaxLength(200)
        self.errors["display_name"] = add_field(form, _("&Anzeigename:"), self.display_name)
        roles_box = QWidget()
        roles_layout = QVBoxLayout(roles_box)
        roles_layout.setContentsMargins(0, 0, 0, 0)
        self.role_boxes: dict[str, QCheckBox] = {}
        for role in ROLES:
            box = QCheckBox(role_labels()[role])
            box.setAccessibleName(_("Rolle {role}").format(role=role_labels()[role]))
            roles_layout.addWidget(box)
            self.role_boxes[role] = box
        roles_caption = QLabel(_("Rollen:"))
        self.roles_error = FieldError()
        roles_cell = QWidget()
        cell_layout = QVBoxLayout(roles_cell)
        cell_layout.setContentsMargins(0, 0, 0, 0)
        cell_layout.addWidget(roles_box)
        cell_layout.addWidget(self.roles_error)
        form.addRow(roles_caption, roles_cell)
        self.errors["roles"] = self.roles_error
        self.team = QComboBox()
        self.team.setEditable(True)
        self.team.addItem("", None)
        with ctx.read() as session:
            for team_id, name in sorted(_team_names(session).items(), key=lambda item: item[1]):
                self.team.addItem(name, team_id)
        self.errors["team"] = add_field(
            form, _("&Team (optional):"), self.team, tip=_("Ein neuer Name legt ein neues Team an.")
        )
        self.password, self.repeat, self.errors["password"] = _password_fields(form)
        self.error = FieldError()
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.setAccessibleName(_("Fehlermeldung"))
        buttons = _buttons(self, _("&Anlegen"), _("Benutzer anlegen"))
        buttons.accepted.connect(self.save)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.setMinimumWidth(440)

    def save(self) -> None:
        from ..services import users

        for error in self.errors.values():
            error.show_message(None)
        self.error.show_message(None)
        roles = [role for role, box in self.role_boxes.items() if box.isChecked()]
        try:
            # Every field at once, before a new team is written (a refused account leaves no team behind).
            users.validate_account(
                self.username.text(),
                self.display_name.text(),
                self.password.text(),
                roles,
                self.repeat.text(),
            )
            team_id = None
            team_text = self.team.currentText().strip()
            if team_text:
                index = self.team.findText(team_text, Qt.MatchFlag.MatchExactly)
                team_id = self.team.itemData(index) if index > 0 else None
            if team_text and team_id is None:
                team_id, _created = users.resolve_team(self.ctx, team_text, create=True)
            self.user = users.add_user(
                self.ctx, self.username.text(), self.display_name.text(), self.password.text(), roles, team_id
            )
        except ValidationError as exc:
            for field, message in exc.field_errors.items():
                (self.errors.get(field) or self.error).show_message(message)
            return
        except UserError as exc:
            self.error.show_message(exc.message)
            return
        self.accept()


class ResetPasswordDialog(QDialog):
    def __init__(self, ctx, user, parent=None) -> None:
        super().__init__(parent)
        self.ctx, self.user = ctx, user
        self.setWindowTitle(_("Passwort zurücksetzen"))
        intro = QLabel(
            _("Neues Passwort für „{name}“ ({user}):").format(name=user.display_name, user=user.username)
        )
        intro.setTextFormat(Qt.TextFormat.PlainText)
        intro.setWordWrap(True)
        form = QFormLayout()
        self.password, self.repeat, self.password_error = _password_fields(form)
        self.error = FieldError()
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        buttons = _buttons(self, _("&Zurücksetzen"), _("Passwort zurücksetzen"))
        buttons.accepted.connect(self.save)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.setMinimumWidth(400)

    def save(self) -> None:
        from ..services import login, users

        self.password_error.show_message(None)
        self.error.show_message(None)
        try:
            login.validate_new_password(self.password.text(), self.repeat.text(), self.user.username)
            users.reset_password(self.ctx, self.user.id, self.password.text())
        except ValidationError as exc:
            self.password_error.show_message(" ".join(exc.field_errors.values()))
            return
        except UserError as exc:
            self.error.show_message(exc.message)
            return
        self.accept()


class UsersDialog(QDialog):
    def __init__(self, ctx, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle(_("Benutzer verwalten"))
        self.model = UsersModel(self)
        self.table = make_list_table(QTableView(), _("Benutzerkonten"))
        self.table.setModel(self.model)
        self.add_button = QPushButton(_("&Neu …"))
        self.add_button.setAccessibleName(_("Neuen Benutzer anlegen"))
        self.add_button.clicked.connect(self.add_user)
        self.disable_button = QPushButton(_("&Deaktivieren"))
        self.disable_button.setAccessibleName(_("Ausgewähltes Konto deaktivieren"))
        self.disable_button.clicked.connect(self.disable_user)
        self.reset_button = QPushButton(_("&Passwort zurücksetzen …"))
        self.reset_button.setAccessibleName(_("Passwort des ausgewählten Kontos zurücksetzen"))
        self.reset_button.clicked.connect(self.reset_password)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        close.button(QDialogButtonBox.StandardButton.Close).setAccessibleName(_("Schließen"))
        self.status = QLabel()
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setWordWrap(True)
        self.status.setAccessibleName(_("Status"))
        buttons = QHBoxLayout()
        for button in (self.add_button, self.disable_button, self.reset_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(close)
        self.resize(760, 420)
        self.table.selectionModel().currentRowChanged.connect(lambda *_a: self._update_buttons())
        self.refresh()

    def refresh(self, select_id: str | None = None) -> None:
        from ..services.users import list_users

        with self.ctx.read() as session:
            self.model.set_rows(list_users(session))
        row = self.model.row_of(select_id) if select_id else 0
        if self.model.rowCount():
            self.table.selectRow(max(row, 0))
        self._update_buttons()

    def selected(self):
        index = self.table.currentIndex()
        return self.model.row_at(index.row()) if index.isValid() else None

    def _update_buttons(self) -> None:
        user = self.selected()
        self.disable_button.setEnabled(user is not None and user.active)
        self.reset_button.setEnabled(user is not None and user.active)

    def add_user(self) -> None:
        dialog = AddUserDialog(self.ctx, self)
        if dialog.exec() and dialog.user is not None:
            self.refresh(dialog.user.id)
            self.status.setText(_("Konto „{user}“ angelegt.").format(user=dialog.user.username))

    def disable_user(self) -> None:
        from ..services.users import disable_user

        user = self.selected()
        if user is None:
            return
        if user.id == self.ctx.actor.user_id:
            self.status.setText(_("Das eigene Konto kann hier nicht deaktiviert werden."))
            return
        answer = QMessageBox.question(
            self,
            APP_NAME,
            _(
                "Konto „{user}“ deaktivieren? Es kann sich danach nicht mehr anmelden; Fälle und Verlauf bleiben."
            ).format(user=user.username),
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        try:
            disable_user(self.ctx, user.id)
        except UserError as exc:
            self.status.setText(exc.message)
            return
        self.refresh(user.id)
        self.status.setText(_("Konto „{user}“ deaktiviert.").format(user=user.username))

    def reset_password(self) -> None:
        user = self.selected()
        if user is None:
            return
        if ResetPasswordDialog(self.ctx, user, self).exec():
            self.status.setText(_("Neues Passwort für „{user}“ gesetzt.").format(user=user.username))

"""Roles in the GUI: each signed-in user sees only what the roles allow; a refused action is a German message."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox


def test_reception_sees_persons_and_calendar_but_no_case_content(qtbot, sign_in, encrypted_db):
    window = sign_in("empfang")
    assert window.user_label.text() == "Angemeldet: Erik Empfang"
    assert window.list_page.model.rowCount() == 3
    for visible in (
        window.find_action,
        window.calendar_action,
        window.persons_action,
        window.new_appointment_action,
    ):
        assert visible.isVisible() and visible.isEnabled()
    for hidden in (window.caseload_action, window.workplace_action, window.bulk_letters_action,
                   window.retention_action, window.settings_action, window.users_action, window.new_action,
                   window.directory_action):  # fmt: skip
        assert not hidden.isVisible() and not hidden.isEnabled()
    assert not window.list_page.new_button.isVisible()

    window.open_person(encrypted_db["mueller"])
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.person_page, timeout=5000)
    page = window.person_page
    assert page.inputs["family_name"].text() == "Müller"
    assert page.inputs["city"].isVisible() and page.inputs["family_name"].isReadOnly()
    assert not page.groups["cases"].isVisible()  # no case list, no "Fall eröffnen"
    assert not page.groups["documents"].isVisible() and not page.groups["consents"].isVisible()
    assert page.groups["appointments"].isVisible()
    assert not page.save_button.isVisible()
    assert not page.letter_button.isVisible() and not page.audit_button.isVisible()
    assert window.case_page is None


def test_case_page_refused_for_reception_shows_a_german_message(qtbot, sign_in, encrypted_db, ui):
    window = sign_in("empfang")
    record = ui.on_modal(qtbot, lambda dialog: dialog.accept())
    window.open_case(encrypted_db["case_id"])
    qtbot.waitUntil(lambda: record["dialog"] is not None, timeout=5000)
    assert isinstance(record["dialog"], QMessageBox)
    assert record["text"].startswith("Keine Berechtigung:")
    assert "Ansehen von Fällen" in record["text"]
    assert window.stack.currentWidget() is not window.case_page


def test_admin_without_case_role_sees_administration_and_the_directory(qtbot, sign_in):
    window = sign_in("technik")
    assert window.user_label.text() == "Angemeldet: Tea Technik"
    assert window.list_page.model.rowCount() == 0
    for visible in (window.users_action, window.settings_action, window.directory_action):
        assert visible.isVisible() and visible.isEnabled()
    for hidden in (window.find_action, window.caseload_action, window.calendar_action, window.new_action,
                   window.workplace_action, window.persons_action):  # fmt: skip
        assert not hidden.isVisible()
    assert window.directory_page is not None and window.stack.currentWidget() is window.directory_page


def test_case_roles_see_the_case_page_with_all_tabs(qtbot, sign_in, encrypted_db):
    window = sign_in("leitung")
    window.open_person(encrypted_db["mueller"])
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.person_page, timeout=5000)
    page = window.person_page
    assert page.groups["cases"].isVisible() and page.case_list.count() == 1
    assert page.save_button.isVisible() and not page.inputs["family_name"].isReadOnly()
    window.open_case(encrypted_db["case_id"])
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.case_page, timeout=5000)
    tabs = window.case_page.tabs
    assert all(tabs.isTabVisible(i) for i in range(tabs.count()))
    assert window.case_page.audit_button.isVisible()


def test_users_dialog_adds_an_account_that_can_sign_in(qtbot, sign_in, encrypted_db):
    from kim_desktop.services import login
    from kim_desktop.ui.users_dialog import AddUserDialog, ResetPasswordDialog, UsersDialog

    window = sign_in("leitung")
    dialog = UsersDialog(window.ctx, window)
    qtbot.addWidget(dialog)
    assert [dialog.model.row_at(i).username for i in range(dialog.model.rowCount())] == [
        "empfang", "leitung", "technik"
    ]  # fmt: skip
    add = AddUserDialog(window.ctx, dialog)
    qtbot.addWidget(add)
    add.username.setText("neu.kollegin")
    add.display_name.setText("Nora Neu")
    add.password.setText("neues-passwort-1")
    add.repeat.setText("neues-passwort-1")
    add.save()
    assert add.errors["roles"].text() == "Mindestens eine Rolle angeben."
    add.role_boxes["case_management"].setChecked(True)
    add.team.setEditText("Team Nord")
    add.save()
    assert (
        add.user is not None and add.user.roles == ("case_management",) and add.user.team_name == "Team Nord"
    )
    dialog.refresh(add.user.id)
    assert dialog.selected().username == "neu.kollegin"

    opened = login.open_context(encrypted_db["path"], username="neu.kollegin", password="neues-passwort-1")
    assert opened.actor.display_name == "Nora Neu"
    opened.database.dispose()

    reset = ResetPasswordDialog(window.ctx, dialog.selected(), dialog)
    qtbot.addWidget(reset)
    reset.password.setText("zweites-passwort-2")
    reset.repeat.setText("zweites-passwort-2")
    reset.save()
    assert reset.result() == reset.DialogCode.Accepted
    opened = login.open_context(encrypted_db["path"], username="neu.kollegin", password="zweites-passwort-2")
    opened.database.dispose()

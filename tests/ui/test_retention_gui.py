"""Löschfristen dialog, restriction (Art. 18) and erasure on request (Art. 17) on the person page.

Real SQLite file (the 250-person database plus one person with a case closed in 2020), real widgets offscreen.
"""

from __future__ import annotations

from datetime import date

import pytest

from kim_desktop.db.models import Person
from kim_desktop.errors import UserError
from kim_desktop.services import cases, persons

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def make_person(ctx, *, closed_on: date | None) -> str:
    person = persons.create_person(
        ctx,
        {
            "family_name": "Zyxwqandor",
            "given_names": "Quiliane",
            "birth_date": "14.07.1990",
            "city": "Dülmen",
        },
        allow_duplicate=True,
    ).id
    case = cases.open_case(ctx, person, opened_on=date(2020, 1, 10), consent_on=date(2020, 1, 10)).id
    if closed_on is not None:
        cases.change_phase(ctx, case, "closed", on=closed_on, closure_reason="kein_kontakt")
    return person


def test_preview_counts_one_due_person(qtbot, ui_ctx):
    from kim_desktop.ui.retention_dialog import RetentionDialog

    make_person(ui_ctx, closed_on=date(2020, 3, 15))
    make_person(ui_ctx, closed_on=None)  # open case: never due
    dialog = RetentionDialog(ui_ctx)
    qtbot.addWidget(dialog)
    assert dialog.preview_data["persons"] == 1
    assert dialog.preview_data["records"]["case_file"] == 1
    assert "3 Jahre" in dialog.period.text()
    assert "Fällige Personen: 1." in dialog.summary.text()
    assert "Fallakten: 1" in dialog.details.toPlainText()
    assert "Zyxwqandor" not in dialog.details.toPlainText() + dialog.summary.text()
    assert dialog.backup_box.isChecked()
    assert dialog.apply_button.isEnabled()


def test_apply_with_backup_anonymises(qtbot, ui, db_path, ui_ctx):
    from kim_desktop.ui.retention_dialog import RetentionDialog

    person = make_person(ui_ctx, closed_on=date(2020, 3, 15))
    dialog = RetentionDialog(ui_ctx)
    qtbot.addWidget(dialog)
    record = ui.on_modal(qtbot, lambda box: ui.click_button(box, "Anonymisieren"))
    dialog.apply_button.click()
    assert record["error"] is None
    assert "anonymisiert werden: 1." in record["text"]
    with ui_ctx.read() as session:
        assert session.get(Person, person).anonymised_at is not None
        assert session.get(Person, person).family_name == ""
    assert dialog.backup_path is not None and dialog.backup_path.is_file()
    assert dialog.backup_path.parent == db_path.parent / "backups"
    assert "Anonymisierte Personen: 1" in dialog.details.toPlainText()
    assert not dialog.apply_button.isEnabled()  # nobody due any more


def test_file_menu_opens_the_dialog(qtbot, ui, window):
    from kim_desktop.ui.retention_dialog import RetentionDialog

    assert window.retention_action.text() == "Löschfristen &prüfen …"
    record = ui.on_modal(qtbot, lambda dialog: dialog.accept())
    window.retention_action.trigger()
    assert record["error"] is None
    assert isinstance(record["dialog"], RetentionDialog)
    assert "Zurzeit ist keine Person fällig." in record["dialog"].summary.text()


class _Page:
    """The rights panel on its own (as the person page shows it under the title)."""

    def __init__(self, qtbot, ctx, person_id) -> None:
        from kim_desktop.ui.person_rights import PersonRightsPanel

        self.rights = PersonRightsPanel()
        qtbot.addWidget(self.rights)
        self.rights.set_context(ctx)
        self.rights.show_person(person_id)
        self.rights.show()
        self.erased: list[str] = []
        self.rights.erased.connect(self.erased.append)


def open_person(qtbot, ctx, person_id) -> _Page:
    return _Page(qtbot, ctx, person_id)


def test_restrict_shows_banner_blocks_edit_and_lift(qtbot, ui, ui_ctx):
    person = make_person(ui_ctx, closed_on=None)
    page = open_person(qtbot, ui_ctx, person)
    rights = page.rights
    assert not rights.banner.isVisible()
    assert rights.restrict_button.text() == "Einschränken …"

    def restrict(dialog):
        dialog.reason.setText("Richtigkeit der Daten wird bestritten")
        ui.click_button(dialog, "Einschränken")

    record = ui.when_modal(qtbot, lambda d: d.windowTitle().startswith("Verarbeitung einschränken"), restrict)
    rights.restrict_button.click()
    assert record["error"] is None
    assert rights.banner.isVisible()
    assert rights.banner.text().startswith("Verarbeitung eingeschränkt (Art. 18 DSGVO) seit ")
    assert rights.restrict_button.text() == "Einschränkung aufheben"
    view = persons.get_person(ui_ctx, person)
    with pytest.raises(UserError, match="Art. 18"):
        persons.update_person(ui_ctx, person, {"city": "Köln"}, expected_version=view.version)

    record = ui.on_modal(qtbot, lambda box: ui.click_button(box, "Aufheben"))
    rights.restrict_button.click()
    assert record["error"] is None
    assert not rights.banner.isVisible()
    assert rights.restrict_button.text() == "Einschränken …"
    view = persons.get_person(ui_ctx, person)
    assert (
        persons.update_person(ui_ctx, person, {"city": "Köln"}, expected_version=view.version).city == "Köln"
    )


def test_erasure_refused_for_open_case_shows_service_message(qtbot, ui, ui_ctx):
    person = make_person(ui_ctx, closed_on=None)
    page = open_person(qtbot, ui_ctx, person)
    seen = {}

    def message(box):
        seen["text"] = box.text()
        box.accept()

    def erase(dialog):
        assert dialog.reason.count() == 6
        dialog.reason.setCurrentIndex(dialog.reason.findData("widerruf"))
        ui.when_modal(
            qtbot, lambda d: d is not dialog and "offenen Fall" in getattr(d, "text", str)(), message
        )
        ui.click_button(dialog, "Endgültig löschen")

    record = ui.when_modal(qtbot, lambda d: d.windowTitle().startswith("Löschen auf Antrag"), erase)
    page.rights.erase_button.click()
    assert record["error"] is None
    assert "Die Person ist in einem offenen Fall" in seen["text"]
    with ui_ctx.read() as session:
        assert session.get(Person, person).anonymised_at is None
    assert page.erased == []
    assert page.rights.erase_button.isEnabled()


def test_erasure_on_request_anonymises_and_returns_to_list(qtbot, ui, ui_ctx):
    person = make_person(ui_ctx, closed_on=date(2024, 5, 2))
    page = open_person(qtbot, ui_ctx, person)

    def erase(dialog):
        dialog.reason.setCurrentIndex(dialog.reason.findData("zweck_entfallen"))
        ui.when_modal(
            qtbot,
            lambda d: d is not dialog and "anonymisiert" in getattr(d, "text", str)(),
            lambda b: b.accept(),
        )
        ui.click_button(dialog, "Endgültig löschen")

    record = ui.when_modal(qtbot, lambda d: d.windowTitle().startswith("Löschen auf Antrag"), erase)
    page.rights.erase_button.click()
    assert record["error"] is None
    with ui_ctx.read() as session:
        assert session.get(Person, person).anonymised_at is not None
    assert page.erased == [person]
    assert not page.rights.erase_button.isEnabled()

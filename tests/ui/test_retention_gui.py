"""Löschfristen dialog, restriction (Art. 18) and erasure on request (Art. 17) on the person page.

Real SQLite file (the 250-person database plus one person with a case closed in 2020), real widgets offscreen.
"""

from __future__ import annotations

from datetime import date

import pytest

from kim_desktop.db.models import Person
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
    assert "1 Personen" in dialog.summary.text()
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
    assert "1 Personen" in record["text"]
    with ui_ctx.read() as session:
        assert session.get(Person, person).anonymised_at is not None
        assert session.get(Person, person).family_name == ""
    assert dialog.backup_path is not None and dialog.backup_path.is_file()
    assert dialog.backup_path.parent == db_path.parent / "backups"
    assert "Anonymisiert: 1 Personen" in dialog.details.toPlainText()
    assert not dialog.apply_button.isEnabled()  # nobody due any more


def test_file_menu_opens_the_dialog(qtbot, ui, window):
    from kim_desktop.ui.retention_dialog import RetentionDialog

    assert window.retention_action.text() == "Löschfristen &prüfen …"
    record = ui.on_modal(qtbot, lambda dialog: dialog.accept())
    window.retention_action.trigger()
    assert record["error"] is None
    assert isinstance(record["dialog"], RetentionDialog)
    assert "Zurzeit ist keine Person fällig." in record["dialog"].summary.text()

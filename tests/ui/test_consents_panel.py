"""The "Einwilligungen" panel: record a consent with a scan, open the scan, revoke (warning in words), states."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from PySide6.QtCore import Qt

from kim_desktop.i18n import format_date


def png_bytes() -> bytes:
    from PySide6.QtCore import QBuffer, QIODevice
    from PySide6.QtGui import QImage

    image = QImage(3, 2, QImage.Format.Format_RGB32)
    image.fill(0xFFFFFF)
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(buffer.data())


@pytest.fixture
def person(ui_ctx):
    from kim_desktop.services import cases, persons

    person_id = persons.create_person(
        ui_ctx, {"family_name": "Haidari", "given_names": "Zahra", "birth_date": "1990"}, allow_duplicate=True
    ).id
    cases.open_case(ui_ctx, person_id)
    return person_id


@pytest.fixture
def panel(qtbot, ui_ctx, person):
    from kim_desktop.ui.consents_panel import ConsentsPanel

    widget = ConsentsPanel()
    qtbot.addWidget(widget)
    widget.set_context(ui_ctx)
    widget.load(person)
    widget.show()
    return widget


def states(panel) -> list[str]:
    return [panel.model.index(r, 5).data() for r in range(panel.model.rowCount())]


def test_record_with_scan_open_it_and_revoke(qtbot, panel, tmp_path):
    assert panel.model.rowCount() == 0
    assert panel.table.empty_text == "Noch keine Einwilligungen erfasst."
    assert not panel.revoke_button.isEnabled() and not panel.scan_button.isEnabled()
    scan = tmp_path / "einwilligung.png"
    scan.write_bytes(png_bytes())

    dialog = panel.record()
    dialog.given_on.setText("31.02.2020")
    assert not dialog.save()
    assert dialog.errors["given_on"].isVisible()  # German message next to the field, nothing saved
    assert dialog.errors["given_on"].text() == "Den 31.02.2020 gibt es nicht."
    dialog.given_on.setText(format_date(date.today() - timedelta(days=2)))
    dialog.scan.setText(str(scan))
    dialog.special.setChecked(True)
    assert dialog.save()
    qtbot.waitUntil(lambda: panel.model.rowCount() == 1)
    assert panel.model.index(0, 0).data() == "Einwilligung Case Management"
    assert states(panel) == ["gültig"]
    assert panel.model.index(0, 6).data() == "ja"

    assert panel.scan_button.isEnabled()
    viewer = panel.open_scan()
    assert viewer is not None and viewer.view.pixmap().width() == 3
    viewer.reject()

    revoke = panel.revoke_selected()
    revoke.revoked_on.setText(format_date(date.today() + timedelta(days=3)))
    assert not revoke.confirm()
    assert "Zukunft" in revoke.error.text()
    revoke.revoked_on.setText(format_date(date.today()))
    assert revoke.confirm()
    assert states(panel) == ["widerrufen"]
    assert panel.notice.isVisible() and "nur noch gespeichert" in panel.notice.text()
    assert not panel.revoke_button.isEnabled()


def test_release_needs_a_recipient_and_shows_expiry(qtbot, panel, ui_ctx):
    from kim_desktop.services import directory as d

    provider = d.save_provider(ui_ctx, d.ProviderData(name="Jobcenter Beispielkreis", city="Coesfeld"))
    dialog = panel.record(kind="release")
    assert dialog.provider.isEnabled()
    assert not dialog.save()
    assert dialog.errors["recipient"].isVisible()
    dialog.provider.setCurrentIndex(dialog.provider.findData(provider))
    dialog.valid_until.setText(format_date(date.today() + timedelta(days=10)))
    assert dialog.save()
    dialog = panel.record(kind="privacy_notice")
    assert not dialog.provider.isEnabled()
    assert dialog.save()
    assert sorted(states(panel)) == ["gültig", "läuft bald ab"]
    row = next(r for r in panel.model._rows if r.kind == "release")
    assert row.recipient == "Jobcenter Beispielkreis"
    panel.table.selectRow(panel.model.row_of(row.id))
    letter = panel.print_form()
    assert letter.template.currentData() == "release"
    letter.reject()


def test_person_page_has_the_consents_group(qtbot, window, person):
    window.open_person(person)
    page = window.person_page
    qtbot.waitUntil(lambda: page.consents.person_id == person)
    assert page.consents.ctx is not None
    assert page.consents.table.accessibleName() == "Einwilligungen"
    assert Qt  # the panel's buttons carry no accelerators (no clash with the page's Alt+letters)
    for button in (page.consents.record_button, page.consents.revoke_button, page.consents.scan_button):
        assert "&" not in button.text()

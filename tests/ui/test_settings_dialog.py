"""Einstellungen: office profile, logo and letter form; the template editor with placeholders, preview,
restore, export/import and the question about unsaved changes. Real widgets offscreen, a real SQLite file."""

from __future__ import annotations

import re
from collections import defaultdict

import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QLabel, QWidget

from kim_desktop.services import letter_templates, office
from kim_desktop.ui.settings_dialog import SettingsDialog


def discard_edits(dialog: SettingsDialog) -> None:
    """Teardown closes the dialog: without this the "unsaved changes" question would block."""
    dialog.template_tab._loaded = dialog.template_tab.edited_values()
    dialog.office_tab._loaded = dialog.office_tab.values()
    dialog.office_tab._loaded_form = dialog.office_tab.selected_form()


@pytest.fixture
def dialog(qtbot, ctx):
    widget = SettingsDialog(ctx)
    qtbot.addWidget(widget, before_close_func=discard_edits)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def stored_template(ctx, key="invitation"):
    with ctx.read() as session:
        return letter_templates.get_template(session, key)


# --- Dienststelle --------------------------------------------------------------------------------------------


def test_edit_profile_and_letter_form_are_saved(dialog, ctx):
    tab = dialog.office_tab
    assert tab.inputs["organisation"].text() == "Kommunales Integrationsmanagement"
    assert tab.form_b.isChecked() and not tab.dirty
    tab.inputs["organisation"].setText("Kreis Coesfeld")
    tab.inputs["street"].setText("Friedrich-Ebert-Straße 7")
    tab.inputs["postcode"].setText("48653")
    tab.inputs["city"].setText("Coesfeld")
    tab.inputs["dpo_contact"].setPlainText("Datenschutz Kreis Coesfeld\ndatenschutz@kreis-coesfeld.example")
    tab.form_a.setChecked(True)
    assert tab.dirty
    dialog.template_tab.preview_timer.stop()
    assert tab.save()
    assert not tab.dirty and tab.status.text() == "Die Angaben der Dienststelle sind gespeichert."
    assert dialog.template_tab.preview_timer.isActive()  # the preview will show the new letterhead
    with ctx.read() as session:
        profile = office.load_profile(session)
        assert office.letter_form(session) == "A"
    assert profile["organisation"] == "Kreis Coesfeld" and profile["postcode"] == "48653"
    assert profile["dpo_contact"] == "Datenschutz Kreis Coesfeld\ndatenschutz@kreis-coesfeld.example"
    reopened = SettingsDialog(ctx)
    assert reopened.office_tab.inputs["city"].text() == "Coesfeld" and reopened.office_tab.form_a.isChecked()
    reopened.deleteLater()


def test_invalid_postcode_shows_the_error_next_to_the_field(dialog, ctx):
    tab = dialog.office_tab
    tab.inputs["city"].setText("Solingen")
    tab.inputs["postcode"].setText("4265")
    assert not tab.save()
    error = tab.errors["postcode"]
    assert error.isVisible() and error.text() == "Die PLZ besteht aus 5 Ziffern, z. B. 42651."
    assert error.text() in tab.inputs["postcode"].accessibleDescription()
    assert tab.inputs["postcode"].hasFocus() or not dialog.isActiveWindow()
    assert "Nicht gespeichert" in tab.status.text()
    with ctx.read() as session:
        assert office.load_profile(session)["city"] == ""  # nothing half-written
    assert tab.inputs["postcode"].text() == "4265"  # the input is kept for correction
    tab.inputs["postcode"].setText("42651")
    assert tab.save() and not error.isVisible()


def test_logo_chosen_shows_a_thumbnail(dialog, ctx, tmp_path):
    tab = dialog.office_tab
    assert tab.logo_view.pixmap().isNull() and not tab.clear_logo_button.isEnabled()
    assert not tab.choose_logo(tmp_path / "fehlt.png")
    assert tab.logo_error.text() == f"Die Logodatei wurde nicht gefunden: {tmp_path / 'fehlt.png'}"
    logo = tmp_path / "wappen.png"
    Image.new("RGB", (1800, 600), (0, 90, 160)).save(logo)
    assert tab.choose_logo(logo)
    assert not tab.logo_view.pixmap().isNull() and tab.clear_logo_button.isEnabled()
    assert "1200 × 400" in tab.logo_error.text()
    with ctx.read() as session:
        assert office.load_logo(session) is not None
    tab.clear_logo()
    assert tab.logo_view.pixmap().isNull()
    with ctx.read() as session:
        assert office.load_logo(session) is None


# --- Briefvorlagen -------------------------------------------------------------------------------------------


def test_template_edit_and_save(dialog, ctx):
    tab = dialog.template_tab
    dialog.tabs.setCurrentWidget(tab)
    assert tab.current_key() == "invitation" and tab.language_code == "de"
    assert tab.title.text() == stored_template(ctx).title and not tab.dirty
    tab.title.setText("Einladung zum Gespräch")
    tab.body.setPlainText("wir laden Sie am {{ termin.datum }} ein.\n\nBitte bringen Sie Ihren Pass mit.")
    assert tab.dirty
    assert tab.save()
    stored = stored_template(ctx)
    assert stored.body == "wir laden Sie am {{ termin.datum }} ein.\n\nBitte bringen Sie Ihren Pass mit."
    assert stored.title == "Einladung zum Gespräch" and stored.revision == 2  # shipped default counts as 1
    assert tab.templates.currentItem().text() == "Einladung zum Gespräch"
    assert tab.status.text() == "Gespeichert (Fassung 2)." and not tab.dirty
    tab.body.setPlainText(tab.body.toPlainText() + "\n\nBis bald.")
    assert tab.save() and stored_template(ctx).revision == 3


def test_unknown_placeholder_names_the_valid_ones_and_stores_nothing(dialog, ctx):
    tab = dialog.template_tab
    dialog.tabs.setCurrentWidget(tab)
    text = "Ihr Alter: {{ person.alter }}"
    tab.body.setPlainText(text)
    assert not tab.save()
    message = tab.errors["body"].text()
    assert message.startswith(
        "Unbekannter Platzhalter „person.alter“. Erlaubt sind: person.anrede, person.name"
    )
    assert tab.errors["body"].isVisible() and "Nicht gespeichert" in tab.status.text()
    assert tab.body.toPlainText() == text and tab.dirty  # the edit is kept
    assert stored_template(ctx).revision == 0  # still the shipped default
    tab.subject.setText("Termin {% if %}")
    assert not tab.save()
    assert tab.errors["subject"].text().startswith("Betreff: Fehler in der Vorlage in Zeile 1")


def test_placeholder_insertion_by_enter_and_double_click(dialog, qtbot):
    tab = dialog.template_tab
    dialog.tabs.setCurrentWidget(tab)
    tab.body.setPlainText("Aktenzeichen: ")
    tab.body.moveCursor(tab.body.textCursor().MoveOperation.End)
    qtbot.keyClicks(tab.placeholder_filter, "aktenz")
    visible = [
        tab.placeholders.topLevelItem(i).text(0)
        for i in range(tab.placeholders.topLevelItemCount())
        if not tab.placeholders.topLevelItem(i).isHidden()
    ]
    assert visible == ["fall.aktenzeichen"]
    item = tab.placeholders.topLevelItem(list(letter_templates.PLACEHOLDERS).index("fall.aktenzeichen"))
    tab.placeholders.setCurrentItem(item)
    assert "Aktenzeichen des Falls" in tab.placeholder_help.text()
    tab.placeholders.setFocus()
    qtbot.keyClick(tab.placeholders, Qt.Key.Key_Return)
    assert tab.body.toPlainText() == "Aktenzeichen: {{ fall.aktenzeichen }}"
    assert tab.body.hasFocus() or not dialog.isActiveWindow()
    tab.placeholder_filter.setText("Telefon")
    item = tab.placeholders.topLevelItem(list(letter_templates.PLACEHOLDERS).index("buero.telefon"))
    tab.body.insertPlainText(", Telefon: ")
    tab.placeholders.doItemsLayout()  # the filter hid rows; lay them out before asking for positions
    rect = tab.placeholders.visualItemRect(item)
    assert rect.isValid()
    # Qt's test double click is only the second click: the view needs the first press to know the item
    qtbot.mouseClick(tab.placeholders.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(tab.placeholders.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert tab.body.toPlainText() == "Aktenzeichen: {{ fall.aktenzeichen }}, Telefon: {{ buero.telefon }}"
    letter_templates.validate(tab.body.toPlainText())


def test_list_placeholders_are_inserted_as_loops_that_validate(dialog):
    tab = dialog.template_tab
    for name in ("person.anschrift", "fall.ziele", "auskunft.abschnitte"):
        tab.body.setPlainText("")
        item = tab.placeholders.topLevelItem(list(letter_templates.PLACEHOLDERS).index(name))
        tab.insert_placeholder(item)
        letter_templates.validate(tab.body.toPlainText())
        assert letter_templates.render(tab.body.toPlainText(), letter_templates.sample_context())


def test_preview_renders_the_edited_text(dialog):
    tab = dialog.template_tab
    dialog.tabs.setCurrentWidget(tab)
    tab.update_preview()
    assert tab.preview_error is None
    pixmap = tab.preview.pixmap()
    assert not pixmap.isNull() and pixmap.height() > pixmap.width()  # an A4 page
    assert tab.preview_timer.interval() == 400 and tab.preview_timer.isSingleShot()
    tab.body.setPlainText("{% if person.name %}ohne Ende")
    assert tab.preview_timer.isActive()  # debounced: typing schedules, the timer renders
    tab.update_preview()
    assert tab.preview.pixmap().isNull()
    assert tab.preview_error.startswith("Fehler in der Vorlage in Zeile 1: Ein Block wird nicht geschlossen")
    assert tab.preview_error in tab.preview.text()
    tab.body.setPlainText("Alles gut, {{ person.vorname }}.")
    tab.reading_size.setChecked(True)
    assert tab.preview_error is None and tab.preview.pixmap().width() > tab.preview_scroll.viewport().width()


def test_translated_templates_show_the_review_banner_and_the_bilingual_preview(dialog):
    tab = dialog.template_tab
    dialog.tabs.setCurrentWidget(tab)
    assert tab.language.itemData(0) == "de" and tab.language.findData("en") > 0
    assert not tab.review_banner.isVisible()
    tab.language.setCurrentIndex(tab.language.findData("en"))
    assert tab.language_code == "en" and tab.current_key() == "invitation"
    assert tab.templates.count() < len(
        letter_templates.TEMPLATE_KEYS
    )  # only the client letters are translated
    assert tab.review_banner.isVisible() and "fachlich prüfen lassen" in tab.review_banner.text()
    tab.update_preview()
    assert tab.preview_error is None
    assert tab.preview.accessibleDescription().endswith("Seiten")  # German letter, then the translation
    assert tab.preview_scroll.verticalScrollBar().value() > 0  # scrolled to where the translation starts


def test_restore_default_after_confirmation(dialog, ctx, qtbot, ui):
    tab = dialog.template_tab
    tab.body.setPlainText("Kurz und knapp.")
    assert tab.save()
    record = ui.on_modal(qtbot, lambda box: ui.click_button(box, "Abbrechen"))
    assert not tab.restore_default()
    assert record["error"] is None and "wiederherstellen" in record["text"]
    assert stored_template(ctx).body == "Kurz und knapp."
    record = ui.on_modal(qtbot, lambda box: ui.click_button(box, "Wiederherstellen"))
    assert tab.restore_default()
    assert record["error"] is None
    default = letter_templates.default_templates()["invitation"]
    stored = stored_template(ctx)
    assert stored.body == default.body and stored.revision == 3
    assert tab.body.toPlainText() == default.body and not tab.dirty


def test_export_then_import_round_trip(dialog, ctx, tmp_path):
    tab = dialog.template_tab
    tab.select_template("referral")
    assert tab.current_key() == "referral"
    tab.body.setPlainText("Bitte melden Sie sich bei {{ vermittlung.traeger }}.")
    assert tab.save()
    path = tab.export_to(tmp_path / "vermittlung")
    assert path == tmp_path / "vermittlung.kimvorlage" and path.is_file()
    assert "key: referral" in path.read_text(encoding="utf-8")
    j2 = tab.export_to(tmp_path / "vermittlung.j2")
    assert j2.suffix == ".j2"
    office.restore_template(ctx, "referral")
    tab.select_template("invitation")
    assert tab.import_from(path)
    assert tab.current_key() == "referral"  # the imported template is shown
    assert tab.body.toPlainText() == "Bitte melden Sie sich bei {{ vermittlung.traeger }}."
    assert stored_template(ctx, "referral").body == tab.body.toPlainText()
    assert "importiert" in tab.status.text() and not tab.review_banner.isVisible()


def test_import_errors_and_review_banner(dialog, ctx, tmp_path):
    tab = dialog.template_tab
    broken = tmp_path / "kaputt.kimvorlage"
    broken.write_text("key: consent\ntitle: X\n---\n{{ person.alter }}\n", encoding="utf-8")
    assert not tab.import_from(broken)
    assert tab.status.text().startswith("Nicht importiert: Unbekannter Platzhalter „person.alter“")
    assert stored_template(ctx, "consent").revision == 0
    reviewed = tmp_path / "uebersetzt.kimvorlage"
    reviewed.write_text(
        "key: consent\ntitle: Einwilligung (Entwurf)\nreview: fachlich prüfen lassen\n---\nText {{ person.name }}.\n",
        encoding="utf-8",
    )
    assert tab.import_from(reviewed)
    assert tab.current_key() == "consent" and tab.review_banner.isVisibleTo(tab)
    assert "fachlich prüfen lassen" in tab.review_banner.text()
    tab.select_template("invitation")
    assert not tab.review_banner.isVisibleTo(tab)


def test_unsaved_changes_are_asked_for_before_switching_and_closing(dialog, ctx, qtbot, ui):
    tab = dialog.template_tab
    dialog.tabs.setCurrentWidget(tab)
    tab.body.setPlainText("Geänderter Text.")
    record = ui.on_modal(qtbot, lambda box: ui.click_button(box, "Abbrechen"))
    tab.templates.setCurrentRow(1)
    assert record["error"] is None and "noch nicht gespeichert" in record["text"]
    assert tab.current_key() == "invitation" and tab.templates.currentRow() == 0
    assert tab.body.toPlainText() == "Geänderter Text."
    record = ui.on_modal(qtbot, lambda box: ui.click_button(box, "Speichern"))
    tab.templates.setCurrentRow(1)
    assert tab.current_key() == "referral" and stored_template(ctx).body == "Geänderter Text."
    tab.body.setPlainText("Noch ein Entwurf.")
    record = ui.on_modal(qtbot, lambda box: ui.click_button(box, "Verwerfen"))
    tab.templates.setCurrentRow(0)
    assert tab.current_key() == "invitation" and stored_template(ctx, "referral").revision == 0
    # closing with an unsaved office profile: Abbrechen keeps the dialog open
    dialog.office_tab.inputs["city"].setText("Solingen")
    record = ui.on_modal(qtbot, lambda box: ui.click_button(box, "Abbrechen"))
    dialog.reject()
    assert record["error"] is None and dialog.isVisible()
    assert dialog.tabs.currentWidget() is dialog.office_tab
    record = ui.on_modal(qtbot, lambda box: ui.click_button(box, "Speichern"))
    dialog.reject()
    assert not dialog.isVisible()
    with ctx.read() as session:
        assert office.load_profile(session)["city"] == "Solingen"


# --- accessibility and the main window ------------------------------------------------------------------------


def _visible_controls(root: QWidget) -> list[QWidget]:
    from PySide6.QtWidgets import QAbstractItemView, QComboBox, QLineEdit, QPlainTextEdit

    kinds = (QLineEdit, QAbstractButton, QAbstractItemView, QComboBox, QPlainTextEdit)
    return [
        w
        for w in root.findChildren(QWidget)
        if w.isVisible() and isinstance(w, kinds) and w.focusPolicy() & Qt.FocusPolicy.TabFocus
    ]


@pytest.mark.parametrize("tab_index", [0, 1])
def test_controls_are_named_and_accelerators_unique(dialog, tab_index):
    dialog.tabs.setCurrentIndex(tab_index)
    controls = _visible_controls(dialog)
    assert len(controls) >= 10
    unnamed = [type(w).__name__ for w in controls if not w.accessibleName().strip()]
    assert not unnamed, unnamed
    names = [w.accessibleName() for w in controls]
    assert not [n for n in names if "&" in n or n.endswith((":", "*"))]
    found: dict[str, list[str]] = defaultdict(list)
    texts = [dialog.tabs.tabText(i) for i in range(dialog.tabs.count())]
    for widget in dialog.findChildren(QWidget):
        if not widget.isVisible():
            continue
        if isinstance(widget, QLabel) and widget.buddy() is not None or isinstance(widget, QAbstractButton):
            texts.append(widget.text())
    for text in texts:
        match = re.search(r"&([^&\s])", text.replace("&&", ""))
        if match:
            found[match.group(1).lower()].append(text)
    clashes = {key: owners for key, owners in found.items() if len(owners) > 1}
    assert not clashes, clashes


def test_settings_from_the_main_window_menu(qtbot, window, ui):
    action = window.settings_action
    assert action.shortcut().toString() == "Ctrl+,"
    seen = {}

    def inspect(settings):
        seen["title"] = settings.windowTitle()
        seen["tabs"] = [settings.tabs.tabText(i) for i in range(settings.tabs.count())]
        settings.reject()

    record = ui.when_modal(qtbot, lambda d: isinstance(d, SettingsDialog), inspect)
    action.trigger()
    assert record["error"] is None
    assert seen == {"title": "Einstellungen", "tabs": ["&Dienststelle", "&Briefvorlagen", "Datensch&utz", "Datenban&k"]}

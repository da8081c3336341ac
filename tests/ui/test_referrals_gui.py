"""A referral from the directory to the outcome, in the GUI: find an offer on "Angebote" by language and
category, refer the case's person, send through the consent gate (the override needs a written reason of at
least ten characters), record acceptance and outcome, see it in the case's "Vermittlungen"; a directory
import with a broken row names the line and stores nothing; Strg+5 shows the page.

Real SQLite file, real widgets offscreen, real services. Secondary dialogs are opened with ``open()`` and
kept as attributes, so the tests press their buttons directly.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QApplication, QLabel, QWidget
from sqlalchemy import func, select

from kim_desktop.db.models import Offer, Person, Provider, Referral
from kim_desktop.services import cases, directory, journal, persons, referrals
from kim_desktop.ui.directory_page import DirectoryPage, ImportErrorsDialog, OfferDialog
from kim_desktop.ui.referral_dialog import ConsentGateDialog, ReferralDialog
from kim_desktop.ui.referrals_panel import ReferralsPanel

TODAY = date.today()
SHORT_REASON = "eilig"
LONG_REASON = "Person hat mündlich zugestimmt, Unterschrift folgt beim nächsten Termin."


@pytest.fixture
def office(ctx):
    """Two fictitious providers with four offers (one expired) and a client with a case and a Hilfeplan."""
    ids: dict[str, str] = {}
    ids["vhs"] = directory.save_provider(
        ctx, directory.ProviderData(name="Volkshochschule Musterstadt (fiktiv)", street="Am Beispielplatz 1",
                                    postcode="12345", city="Musterstadt", municipality="Musterstadt",
                                    phone="01234 5678-0", email="kurse@vhs-musterstadt.invalid",
                                    opening_hours="Mo–Do 9–12 Uhr"),
    )  # fmt: skip
    ids["beratung"] = directory.save_provider(
        ctx, directory.ProviderData(name="Beratungsstelle Beispielhausen (fiktiv)", street="Probeweg 7",
                                    postcode="12346", city="Beispielhausen", municipality="Beispielhausen"),
    )  # fmt: skip
    ids["ik_arabic"] = directory.save_offer(
        ctx, directory.OfferData(provider_id=ids["vhs"], title="Integrationskurs mit Kinderbetreuung",
                                 category="integrationskurs", languages=["ar", "fa_AF"],
                                 access_conditions="auch mit Duldung (Zulassung durch das BAMF)",
                                 cost="kostenlos mit Berechtigung", last_checked_on=TODAY - timedelta(days=10)),
    )  # fmt: skip
    ids["ik_ukrainian"] = directory.save_offer(
        ctx, directory.OfferData(provider_id=ids["vhs"], title="Integrationskurs am Abend",
                                 category="integrationskurs", languages=["uk", "ru"]),
    )  # fmt: skip
    ids["recognition"] = directory.save_offer(
        ctx, directory.OfferData(provider_id=ids["beratung"], title="Anerkennungsberatung",
                                 category="anerkennungsberatung", languages=["ar", "en"]),
    )  # fmt: skip
    ids["old"] = directory.save_offer(
        ctx, directory.OfferData(provider_id=ids["vhs"], title="Sommerkurs Deutsch (alt)",
                                 category="integrationskurs", languages=["ar"],
                                 valid_until=TODAY - timedelta(days=30)),
    )  # fmt: skip
    person = persons.create_person(
        ctx, {"family_name": "Haddad", "given_names": "Rana", "street": "Lindenweg 7", "postcode": "12345",
              "city": "Musterstadt"},
    )  # fmt: skip
    case = cases.open_case(ctx, person.id, consent_on=TODAY - timedelta(days=40))
    goal = journal.add_goal(ctx, case.id, "Deutsch lernen bis B1")
    ids.update(person=person.id, case=case.id, goal=goal if isinstance(goal, str) else goal.id)
    return ids


def show(qtbot, widget: QWidget, size=(1100, 700)) -> QWidget:
    qtbot.addWidget(widget)
    widget.resize(*size)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def titles(page: DirectoryPage) -> list[str]:
    return [page.model.index(r, 0).data() for r in range(page.model.rowCount())]


def choose(combo, data) -> None:
    index = combo.findData(data)
    assert index >= 0, (data, [combo.itemText(i) for i in range(min(combo.count(), 30))])
    combo.setCurrentIndex(index)


def stored_referral(ctx, referral_id: str) -> Referral:
    with ctx.read() as session:
        row = session.get(Referral, referral_id)
        session.expunge(row)
        return row


def mnemonic_clashes(root: QWidget) -> dict[str, list[str]]:
    """Alt+letters used twice among the visible labels (with buddy) and buttons under ``root``."""
    found: dict[str, list[str]] = {}
    for widget in root.findChildren(QWidget):
        if not widget.isVisible():
            continue
        if isinstance(widget, QLabel) and widget.buddy() is not None or isinstance(widget, QAbstractButton):
            match = re.search(r"&([^&\s])", widget.text().replace("&&", ""))
            if match:
                found.setdefault(match.group(1).lower(), []).append(widget.text())
    return {k: v for k, v in found.items() if len(v) > 1}


def unnamed_controls(root: QWidget) -> list[str]:
    from test_accessibility import describe, tab_focusable_controls

    # Qt's own inner line edit of a spin box is announced through the (named) spin box.
    return [
        describe(w)
        for w in tab_focusable_controls(root)
        if not w.accessibleName().strip() and w.objectName() != "qt_spinbox_lineedit"
    ]


# --- the directory page ------------------------------------------------------------------------------------


def test_find_offer_by_language_and_category(qtbot, ctx, office):
    page = show(qtbot, DirectoryPage(ctx))
    assert "Sommerkurs Deutsch (alt)" not in titles(page)  # expired: hidden by default
    assert len(titles(page)) == 3

    choose(page.language, "ar")  # the combo shows the German (CLDR) name
    assert page.language.currentText() == "Arabisch"
    assert sorted(titles(page)) == ["Anerkennungsberatung", "Integrationskurs mit Kinderbetreuung"]
    choose(page.category, "integrationskurs")
    assert titles(page) == ["Integrationskurs mit Kinderbetreuung"]
    row = [page.model.index(0, c).data() for c in range(page.model.columnCount())]
    assert row[1] == "Volkshochschule Musterstadt (fiktiv)" and row[2] == "Musterstadt"
    assert row[3] == "Arabisch, Dari" and row[4].startswith("auch mit Duldung")
    assert row[5] == (TODAY - timedelta(days=10)).strftime("%d.%m.%Y")
    detail = page.detail.toPlainText()
    assert "Integrationskurs mit Kinderbetreuung" in detail and "Am Beispielplatz 1" in detail
    assert "kostenlos mit Berechtigung" in detail and "Mo–Do 9–12 Uhr" in detail

    # words typed into the search field narrow further; Enter searches at once
    page.search.setFocus()
    qtbot.keyClicks(page.search, "abend")
    qtbot.keyClick(page.search, Qt.Key.Key_Return)
    assert titles(page) == [] and "Kein Angebot gefunden" in page.detail.toPlainText()
    assert page.count_label.text() == "0 Angebote"

    # expired offers on request: grey, and "abgelaufen" in words
    page.set_filters(text="", include_expired=True)
    assert "Sommerkurs Deutsch (alt) (abgelaufen)" in titles(page)
    expired_row = titles(page).index("Sommerkurs Deutsch (alt) (abgelaufen)")
    assert page.model.index(expired_row, 0).data(Qt.ItemDataRole.ForegroundRole) is not None
    page.table.selectRow(expired_row)
    assert "Abgelaufen" in page.detail.toPlainText()


def test_residence_status_and_place_filters(qtbot, ctx, office):
    directory.save_offer(
        ctx, directory.OfferData(provider_id=office["beratung"], title="Jobcoaching nur mit Aufenthaltserlaubnis",
                                 category="jobcenter", residence_statuses=["niederlassung"]),
    )  # fmt: skip
    page = show(qtbot, DirectoryPage(ctx))
    assert "Jobcoaching nur mit Aufenthaltserlaubnis" in titles(page)
    page.set_filters(residence_status="duldung")
    assert "Jobcoaching nur mit Aufenthaltserlaubnis" not in titles(page)
    assert "Anerkennungsberatung" in titles(page)  # open to every status
    page.set_filters(residence_status="", municipality="Beispielhausen")
    assert titles(page) == ["Anerkennungsberatung", "Jobcoaching nur mit Aufenthaltserlaubnis"]


def test_offer_dialog_shows_field_errors_and_saves(qtbot, ctx, office):
    page = show(qtbot, DirectoryPage(ctx))
    dialog = page.new_offer()
    assert isinstance(dialog, OfferDialog) and dialog.isVisible()
    dialog.inputs["valid_until"].setText("31.02.2027")
    assert not dialog.save()
    assert dialog.errors["title"].isVisible() and dialog.errors["provider_id"].isVisible()
    assert dialog.errors["category"].isVisible()
    assert "31.02.2027" in dialog.errors["valid_until"].text()
    choose(dialog.provider, office["beratung"])
    dialog.inputs["title"].setText("Psychosoziale Sprechstunde")
    choose(dialog.category, "psychosozial")
    dialog.inputs["valid_until"].setText("")
    dialog.languages.set_checked("ti")
    assert dialog.save()
    assert not dialog.isVisible()
    assert page.selected_offer().title == "Psychosoziale Sprechstunde"
    assert page.model.index(page.table.currentIndex().row(), 3).data() == "Tigrinya"

    # the same title at the same provider: the service's message under the title
    again = page.new_offer()
    choose(again.provider, office["beratung"])
    again.inputs["title"].setText("psychosoziale  Sprechstunde")
    choose(again.category, "psychosozial")
    assert not again.save()
    assert "schon ein Angebot mit diesem Titel" in again.errors["title"].text()
    again.reject()


def test_provider_dialog_with_contacts(qtbot, ctx, office):
    page = show(qtbot, DirectoryPage(ctx))
    dialog = page.edit_providers(office["beratung"])
    assert dialog.inputs["name"].text() == "Beratungsstelle Beispielhausen (fiktiv)"
    dialog.inputs["email"].setText("keine-adresse")
    assert not dialog.save()
    assert dialog.errors["email"].text() == "Die E-Mail-Adresse ist ungültig."
    dialog.inputs["email"].setText("info@beratung.invalid")
    dialog.inputs["contacts"].setPlainText("Frau Beispiel; Anerkennung; 01234 99")
    assert dialog.save()
    with ctx.read() as session:
        assert [c.name for c in directory.contacts(session, office["beratung"])] == ["Frau Beispiel"]
    dialog.reject()
    choose(page.category, "anerkennungsberatung")
    assert "Frau Beispiel, Anerkennung, 01234 99" in page.detail.toPlainText()


def test_import_with_broken_row_names_the_line_and_stores_nothing(qtbot, ctx, tmp_path):
    header = ";".join(directory.CSV_COLUMNS)

    def row(provider: str, title: str, category: str) -> str:
        values = {c: "" for c in directory.CSV_COLUMNS}
        values.update(provider_name=provider, provider_city="Musterstadt", offer_title=title,
                      offer_category=category, offer_languages="ar,fa")  # fmt: skip
        return ";".join(values[c] for c in directory.CSV_COLUMNS)

    path = tmp_path / "verzeichnis.csv"
    path.write_text(
        "\n".join([header, row("Träger A (fiktiv)", "Sprachcafé", "ehrenamt"),
                   row("Träger B (fiktiv)", "Kurs", "gibt-es-nicht")]) + "\n",
        encoding="utf-8",
    )  # fmt: skip
    page = show(qtbot, DirectoryPage(ctx))
    assert page.import_file(path) is None
    dialog = page.import_dialog
    assert isinstance(dialog, ImportErrorsDialog) and dialog.isVisible()
    texts = dialog.texts()
    assert len(texts) == 1 and texts[0].startswith("Zeile 3: ") and "gibt-es-nicht" in texts[0]
    with ctx.read() as session:
        assert session.scalar(select(func.count()).select_from(Offer)) == 0
        assert session.scalar(select(func.count()).select_from(Provider)) == 0
    assert page.model.rowCount() == 0
    dialog.close_button.click()

    # fixed, the same file imports; export and import again changes nothing
    path.write_text(path.read_text(encoding="utf-8").replace("gibt-es-nicht", "integrationskurs"), encoding="utf-8")
    report = page.import_file(path)
    assert report.created == 4 and page.model.rowCount() == 2
    assert page.status.text() == "Import abgeschlossen: 4 neu, 0 aktualisiert."
    exported = page.export_file(tmp_path / "export.json")
    assert exported.read_bytes().startswith(b"{")
    assert page.import_file(exported).updated == 0


# --- the referral workflow ---------------------------------------------------------------------------------


def open_new_referral(qtbot, ctx, office, **kwargs) -> tuple[ReferralsPanel, ReferralDialog]:
    panel = show(qtbot, ReferralsPanel(ctx, case_id=office["case"]), size=(900, 300))
    assert panel.table.empty_text == "Noch keine Vermittlungen."
    dialog = panel.new_referral(**kwargs)
    assert isinstance(dialog, ReferralDialog) and dialog.isVisible()
    qtbot.addWidget(dialog, before_close_func=lambda d: d.discard_changes())
    return panel, dialog


def test_referral_from_the_case_through_the_consent_gate_to_the_outcome(qtbot, ctx, office):
    panel, dialog = open_new_referral(qtbot, ctx, office)
    assert dialog.windowTitle() == "Neue Vermittlung"
    assert not dialog.send_button.isEnabled() and not dialog.letter_button.isEnabled()
    assert not dialog.save()  # no offer yet
    assert dialog.errors["offer_id"].text() == "Bitte ein Angebot wählen."
    # expired offers are not offered; the typed title is found in the list
    assert dialog.offer.findData(office["old"]) < 0
    dialog.offer.setEditText("Integrationskurs mit Kinderbetreuung – Volkshochschule Musterstadt (fiktiv) (Musterstadt)")
    dialog.choose_plan("goal", office["goal"])
    dialog.reason.setPlainText("Deutsch für die Ausbildung")
    dialog.follow_up.setValue(14)
    assert dialog.plan_target() == ("goal", office["goal"])
    assert dialog.save()
    assert dialog.status == "draft" and "Status: Entwurf" in dialog.status_label.text()
    assert "Schweigepflichtentbindung für diese Stelle: fehlt" in dialog.status_label.text()
    assert panel.model.rowCount() == 1
    assert panel.model.index(0, 2).data() == "Entwurf"

    # Versenden: how it goes out, then the gate
    send = dialog.start_send()
    send.choose("email")
    send.ok_button.click()
    assert not send.isVisible()
    gate = dialog.consent_dialog
    assert isinstance(gate, ConsentGateDialog) and gate.isVisible()
    assert gate.heading.text() == "Für diese Stelle liegt keine gültige Schweigepflichtentbindung vor."
    assert "Volkshochschule Musterstadt (fiktiv)" in gate.text.text()
    assert [b.text() for b in (gate.release_button, gate.override_button, gate.cancel_button)] == [
        "Entbindung &erstellen …", "&Trotzdem senden …", "&Abbrechen"]
    assert stored_referral(ctx, dialog.referral_id).status == "draft"

    gate.override_button.click()
    reason = dialog.override_dialog
    assert reason.isVisible()
    reason.text.setPlainText(SHORT_REASON)
    reason.ok_button.click()
    assert reason.isVisible() and reason.text_error.isVisible()
    assert "mindestens 10 Zeichen" in reason.text_error.text()
    assert stored_referral(ctx, dialog.referral_id).status == "draft"

    reason.text.setPlainText(LONG_REASON)
    reason.ok_button.click()
    assert not reason.isVisible()
    stored = stored_referral(ctx, dialog.referral_id)
    assert stored.status == "sent" and stored.sent_via == "email" and stored.sent_on == TODAY
    assert stored.consent_override_reason == LONG_REASON
    assert dialog.status == "sent" and "Status: Versendet" in dialog.status_label.text()
    assert "(E-Mail)" in dialog.status_label.text()
    assert dialog.override_label.isVisible() and LONG_REASON in dialog.override_label.text()
    due = (TODAY + timedelta(days=14)).strftime("%d.%m.%Y")
    assert f"Rückmeldung erwartet bis {due}" in dialog.status_label.text()
    assert dialog.history.count() == 2
    last = dialog.history.item(1).text()
    assert last.startswith(TODAY.strftime("%d.%m.%Y") + ": Entwurf → Versendet · von Einzelplatz")
    assert "ohne Schweigepflichtentbindung" in last
    assert panel.model.index(0, 2).data() == "Versendet (ohne Entbindung)"
    assert panel.model.index(0, 4).data() == due

    # the provider answers: accepted, then completed with the outcome
    assert not dialog.complete_button.isEnabled()
    dialog.accept_button.click()
    assert dialog.status == "accepted" and dialog.complete_button.isEnabled()
    assert not dialog.send_button.isEnabled() and not dialog.accept_button.isEnabled()
    step = dialog.start_complete()
    step.ok_button.click()
    assert step.isVisible() and step.outcome_error.text() == "Bitte das Ergebnis wählen."
    choose(step.outcome, "teilnahme")
    step.text.setPlainText("Kurs hat am Montag begonnen.")
    step.ok_button.click()
    assert not step.isVisible()
    assert dialog.status == "completed"
    assert "Ergebnis: Teilnahme begonnen" in dialog.status_label.text()
    assert "Rückmeldung: Kurs hat am Montag begonnen." in dialog.status_label.text()
    assert not any(b.isEnabled() for b in dialog.workflow_buttons[:-1])
    assert [dialog.history.item(i).text().split(": ", 1)[1].split(" ·")[0] for i in range(4)] == [
        "neu → Entwurf", "Entwurf → Versendet", "Versendet → Angenommen", "Angenommen → Abgeschlossen"]

    # ... and it shows in the case's panel
    dialog.close_button.click()
    assert panel.dialog is None
    assert [panel.model.index(0, c).data() for c in range(6)] == [
        "Integrationskurs mit Kinderbetreuung", "Volkshochschule Musterstadt (fiktiv)", "Abgeschlossen",
        TODAY.strftime("%d.%m.%Y"), "", "Teilnahme begonnen"]
    reopened = panel.open_selected()
    qtbot.addWidget(reopened)
    assert reopened.offer.currentData() == office["ik_arabic"]
    assert reopened.plan_target() == ("goal", office["goal"])
    assert not reopened.offer.isEnabled() and reopened.reason.isReadOnly()
    reopened.close_button.click()

    # the directory shows where people were sent and what came of it, per offer and per provider
    page = show(qtbot, DirectoryPage(ctx))
    page.set_filters(text="Integrationskurs mit Kinderbetreuung")
    page.table.selectRow(0)
    overview = page.show_referrals()
    qtbot.addWidget(overview)
    by_offer, by_provider = overview.models
    assert by_offer.rowCount() == 1 and by_offer.index(0, 5).data() == "Teilnahme begonnen"
    assert by_provider.rowCount() == 1
    assert overview.summary(by_offer._rows) == "1 Vermittlung – Abgeschlossen: 1"
    with ctx.read() as session:
        from kim_desktop.db.models import AuditEvent

        assert session.query(AuditEvent).filter_by(action="read", entity_type="referral_list").count() == 1


def test_release_button_opens_the_release_letter(qtbot, ctx, office):
    _panel, dialog = open_new_referral(qtbot, ctx, office, offer_id=office["recognition"])
    assert dialog.offer.currentData() == office["recognition"]
    assert "Beratungsstelle Beispielhausen (fiktiv)" in dialog.provider_label.text()
    assert dialog.save()
    dialog.send(referrals.SENT_VIA[0])
    gate = dialog.consent_dialog
    assert gate.isVisible()
    gate.release_button.click()
    assert not gate.isVisible()
    letter = dialog.letter_dialog
    qtbot.addWidget(letter)
    assert letter.isVisible() and letter.template.currentData() == "release"
    assert letter.referral_id == dialog.referral_id
    assert letter.preview_pdf is not None
    assert stored_referral(ctx, dialog.referral_id).status == "draft"
    letter.reject()

    # with a release on file the gate stays shut
    referrals.record_release(ctx, person_id=office["person"], provider_id=office["beratung"], given_on=TODAY)
    dialog.consent_dialog = None
    assert dialog.send("personal")
    assert dialog.consent_dialog is None
    stored = stored_referral(ctx, dialog.referral_id)
    assert stored.status == "sent" and stored.consent_override_reason is None
    assert not dialog.override_label.isVisible()


def test_reject_and_revoke_ask_for_reasons(qtbot, ctx, office):
    _panel, dialog = open_new_referral(qtbot, ctx, office, offer_id=office["ik_ukrainian"])
    assert dialog.save()
    dialog.send("post", override_reason=LONG_REASON)
    step = dialog.start_reject()
    step.ok_button.click()
    assert step.isVisible() and step.text_error.text() == "Bitte den Grund der Ablehnung angeben."
    step.text.setPlainText("Kurs ist voll, Warteliste ab Herbst.")
    step.ok_button.click()
    assert dialog.status == "rejected" and "Grund der Ablehnung: Kurs ist voll" in dialog.status_label.text()
    assert not dialog.revoke_button.isEnabled() and dialog.letter_button.isEnabled()

    other = ReferralDialog(ctx, case_id=office["case"], offer_id=office["recognition"])
    qtbot.addWidget(other)
    assert other.save()
    revoke = other.start_revoke()
    revoke.text.setPlainText("Person möchte das Angebot nicht mehr.")
    revoke.ok_button.click()
    assert other.status == "revoked" and not other.letter_button.isEnabled()


def test_overdue_feedback_is_said_in_words(qtbot, ctx, office):
    referral_id = referrals.create_referral(ctx, case_id=office["case"], offer_id=office["ik_arabic"],
                                            follow_up_days=7)  # fmt: skip
    referrals.send_referral(ctx, referral_id, sent_via="post", sent_on=TODAY - timedelta(days=20),
                            override_reason=LONG_REASON)  # fmt: skip
    panel = show(qtbot, ReferralsPanel(ctx, case_id=office["case"]), size=(900, 300))
    due = (TODAY - timedelta(days=13)).strftime("%d.%m.%Y")
    assert panel.model.index(0, 4).data() == f"{due} – überfällig"
    assert panel.model.index(0, 4).data(Qt.ItemDataRole.FontRole).bold()
    assert "1 mit überfälliger Rückmeldung." in panel.table.accessibleDescription()
    dialog = panel.open_selected()
    qtbot.addWidget(dialog)
    assert f"Rückmeldung fällig seit {due} – überfällig" in dialog.status_label.text()


def test_dialogs_are_labelled_and_keyboard_unique(qtbot, ctx, office, screenshot_dir):
    from test_accessibility import tab_chain

    _panel, dialog = open_new_referral(qtbot, ctx, office, offer_id=office["ik_arabic"])
    dialog.choose_plan("goal", office["goal"])
    assert dialog.save()
    assert mnemonic_clashes(dialog) == {}
    assert unnamed_controls(dialog) == []
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow)
    chain = tab_chain(qtbot, dialog.plan)
    assert dialog.offer in chain or dialog.offer.lineEdit() in chain
    for widget in (dialog.reason, dialog.save_button, dialog.send_button, dialog.letter_button,
                   dialog.history, dialog.close_button):  # fmt: skip
        assert widget in chain, widget.accessibleName()
    assert chain.index(dialog.save_button) < chain.index(dialog.send_button) < chain.index(dialog.close_button)
    dialog.grab().save(str(screenshot_dir / "ui_referral_draft.png"))
    dialog.send("email")
    gate = dialog.consent_dialog
    assert mnemonic_clashes(gate) == {} and unnamed_controls(gate) == []
    gate.grab().save(str(screenshot_dir / "ui_referral_consent_gate.png"))
    assert QApplication.focusWidget() is gate.release_button or gate.release_button.isDefault()
    gate.reject()
    for step in (dialog.start_send(), ):
        assert mnemonic_clashes(step) == {} and unnamed_controls(step) == []
        step.reject()
    page = show(qtbot, DirectoryPage(ctx, case_id=office["case"]))
    assert page.refer_button.isVisible() and "Haddad, Rana" in page.case_label.text()
    page.grab().save(str(screenshot_dir / "ui_directory_page.png"))
    assert mnemonic_clashes(page) == {} and unnamed_controls(page) == []
    offer = page.new_offer()
    assert mnemonic_clashes(offer) == {} and unnamed_controls(offer) == []
    offer.reject()
    providers = page.edit_providers()
    assert mnemonic_clashes(providers) == {} and unnamed_controls(providers) == []
    providers.reject()


# --- in the main window ------------------------------------------------------------------------------------


def test_ctrl_5_opens_the_directory_and_refers_from_a_case(qtbot, window, ui_ctx):
    from test_accessibility import mnemonics

    provider = directory.save_provider(ui_ctx, directory.ProviderData(name="Jugendmigrationsdienst (fiktiv)"))
    offer = directory.save_offer(
        ui_ctx, directory.OfferData(provider_id=provider, title="Bewerbungstraining", category="jmd", languages=["ar"])
    )
    view_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Ansicht")
    assert {a.text(): a.shortcut().toString() for a in view_menu.actions()}["An&gebote"] == "Ctrl+5"

    qtbot.keyClick(window, Qt.Key.Key_5, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.directory_page is not None and window.stack.currentWidget() is window.directory_page)
    page = window.directory_page
    assert page.model.rowCount() == 1 and not page.refer_button.isVisible()
    assert QApplication.focusWidget() is page.search
    clashes = {k: v for k, v in mnemonics(window).items() if len(v) > 1}
    assert not clashes, clashes

    # from a case page the directory offers "Vermitteln …"
    with ui_ctx.read() as session:
        person_id = session.scalar(select(Person.id).where(Person.family_name == "Müller"))
    case_id = cases.open_case(ui_ctx, person_id, consent_on=TODAY).id
    window.open_case(case_id)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.case_page)
    tabs = window.case_page.tabs
    assert tabs.tabText(tabs.count() - 1) == "Vermittlungen"
    window.directory_action.trigger()
    qtbot.waitUntil(lambda: window.stack.currentWidget() is page)
    assert page.refer_button.isVisible() and page.refer_button.isEnabled()
    assert "Müller, Hans" in page.case_label.text()
    page.refer_button.click()
    dialog = window.referral_dialog
    assert dialog.offer.currentData() == offer and dialog.case_id == case_id
    assert dialog.save()
    assert window.case_page.referrals.model.rowCount() == 1
    dialog.close()

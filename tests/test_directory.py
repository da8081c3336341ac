"""The directory of offers: one provider never twice, search and filters, CSV/JSON export and an import that is
all or nothing with every broken row named by its line number."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from kim_desktop.db.engine import open_database
from kim_desktop.db.models import AuditEvent, Offer, Provider, ProviderContact
from kim_desktop.errors import ConflictError, NotFoundError, UserError, ValidationError
from kim_desktop.services import directory as d
from kim_desktop.services.context import Actor, ServiceContext

TODAY = date.today()
DAYS = timedelta(days=1)


@pytest.fixture
def filled(ctx):
    """Three providers with offers in different places, languages and residence statuses."""
    school = d.save_provider(ctx, d.ProviderData(name="Bildungswerk Beispielstadt e. V.", postcode="48249",
                                                 city="Dülmen", municipality="Dülmen"))  # fmt: skip
    welfare = d.save_provider(ctx, d.ProviderData(name="Wohlfahrtsverband Musterland", city="Lüdinghausen"))
    legal = d.save_provider(ctx, d.ProviderData(name="Asylverfahrensberatung Beispielland", city="Coesfeld"))
    ids = {
        "course": d.save_offer(ctx, d.OfferData(
            provider_id=school, title="Integrationskurs mit Alphabetisierung", category="integrationskurs",
            languages=["de"], access_conditions="auch mit Duldung", residence_statuses=None,
            cost="Kostenbeitrag 2,29 €")),
        "job_course": d.save_offer(ctx, d.OfferData(
            provider_id=school, title="Berufssprachkurs Pflege", category="berufssprachkurs", languages=["de"],
            residence_statuses=["schutz_25_1_2"], municipality="Coesfeld")),
        "mbe": d.save_offer(ctx, d.OfferData(
            provider_id=welfare, title="Migrationsberatung für Erwachsene", category="mbe",
            languages=["de", "ar", "ru"], target_group="Erwachsene ab 27")),
        "legal_offer": d.save_offer(ctx, d.OfferData(
            provider_id=legal, title="Asylverfahrensberatung", category="rechtsberatung",
            languages=["de", "fa_AF", "ar"], description="Beratung im Asylverfahren und bei Duldung")),
        "old": d.save_offer(ctx, d.OfferData(
            provider_id=legal, title="Sommer-Sprachcafé", category="ehrenamt", languages=["de"],
            valid_until=TODAY - DAYS)),
    }  # fmt: skip
    return {"school": school, "welfare": welfare, "legal": legal, **ids}


def titles(rows) -> set[str]:
    return {r.title for r in rows}


def search(ctx, **kwargs):
    with ctx.read() as session:
        return d.search_offers(session, **kwargs)


# --- providers -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "postcode", "city"),
    [
        ("Bildungswerk Beispielstadt e. V.", "48249", "Dülmen"),
        ("bildungswerk   beispielstadt e.V.", None, "DÜLMEN"),
        ("BILDUNGSWERK BEISPIELSTADT E. V.", "48249", None),
        (" Bildungswerk Beispielstadt e. V. ", None, None),
    ],
)
def test_same_provider_twice_is_refused_naming_the_existing_one(ctx, filled, name, postcode, city):
    with pytest.raises(UserError) as caught:
        d.save_provider(ctx, d.ProviderData(name=name, postcode=postcode, city=city))
    assert "„Bildungswerk Beispielstadt e. V.“ (48249 Dülmen)" in caught.value.message
    assert caught.value.details == {"provider_id": filled["school"]}
    with ctx.read() as session:
        assert session.scalar(select(func.count()).select_from(Provider)) == 3


def test_same_name_in_another_place_is_another_provider(ctx, filled):
    d.save_provider(ctx, d.ProviderData(name="Bildungswerk Beispielstadt e. V.", postcode="48653", city="Coesfeld"))
    d.save_provider(ctx, d.ProviderData(name="Wohlfahrtsverband Musterland", city="Olfen"))
    with ctx.read() as session:
        assert len(d.providers(session)) == 5


def test_provider_update_keeps_itself_and_checks_version(ctx, filled):
    with ctx.read() as session:
        data = d.provider_data(session, filled["school"])
    data.phone = "02594 12345"
    d.save_provider(ctx, data, filled["school"])
    data.phone = "0"
    with pytest.raises(ConflictError):
        d.save_provider(ctx, data, filled["school"])  # stale version
    with ctx.read() as session:
        data = d.provider_data(session, filled["school"])
    data.name = "Wohlfahrtsverband Musterland"
    data.postcode, data.city = None, "Lüdinghausen"
    with pytest.raises(UserError, match="gibt es schon"):
        d.save_provider(ctx, data, filled["school"])


def test_provider_input_is_checked(ctx):
    with pytest.raises(ValidationError) as caught:
        d.save_provider(ctx, d.ProviderData(name="  ", email="kein-at", postcode="123456789012"))
    assert set(caught.value.field_errors) == {"name", "email", "postcode"}


def test_contacts_and_provider_detail(ctx, filled):
    contact = d.save_contact(ctx, filled["school"], d.ContactData(name="Frau Beispiel", function="Kursleitung",
                                                                  email="kurse@bildungswerk.example"))  # fmt: skip
    with pytest.raises(ValidationError):
        d.save_contact(ctx, filled["school"], d.ContactData(name="X", email="nope"))
    with ctx.read() as session:
        row, contacts, offers = d.provider_detail(session, filled["school"])
        detail = d.offer_detail(session, filled["course"])
    assert row.offer_count == 2 and [c.id for c in contacts] == [contact]
    assert row.address_lines == ["Bildungswerk Beispielstadt e. V.", "48249 Dülmen"]
    assert titles(offers) == {"Integrationskurs mit Alphabetisierung", "Berufssprachkurs Pflege"}
    assert detail.contacts[0].name == "Frau Beispiel" and detail.row.category_label == "Integrationskurs"
    d.delete_contact(ctx, contact)
    with ctx.read() as session:
        assert d.contacts(session, filled["school"]) == []


def test_provider_with_offers_cannot_be_deleted(ctx, filled):
    with pytest.raises(UserError, match="noch 2 Angebote"):
        d.delete_provider(ctx, filled["school"])
    empty = d.save_provider(ctx, d.ProviderData(name="Leer e. V."))
    d.delete_provider(ctx, empty)
    with pytest.raises(NotFoundError):
        d.delete_provider(ctx, empty)


def test_writes_are_audited_and_need_a_role(ctx, filled):
    with ctx.read() as session:
        assert session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.entity_type.in_(("provider", "offer")))
        ) == 8
    reception = ServiceContext(ctx.database, Actor(None, "Empfang", frozenset({"reception"})))
    with pytest.raises(UserError, match="Berechtigung"):
        d.save_provider(reception, d.ProviderData(name="Neu"))
    with pytest.raises(UserError, match="Berechtigung"):
        d.import_directory(reception, b"", "csv")


# --- offers --------------------------------------------------------------------------------------------------


def test_offer_input_is_checked(ctx, filled):
    with pytest.raises(ValidationError) as caught:
        d.save_offer(ctx, d.OfferData(provider_id=filled["school"], title="", category="zauberei",
                                      languages=["deutsch!"], residence_statuses=["mond"],
                                      valid_from=TODAY, valid_until=TODAY - DAYS))  # fmt: skip
    assert set(caught.value.field_errors) == {"title", "category", "languages", "residence_statuses", "valid_until"}
    assert "Integrationskurs" in caught.value.field_errors["category"] or "integrationskurs" in caught.value.field_errors["category"]
    with pytest.raises(ValidationError, match="schon ein Angebot"):
        d.save_offer(ctx, d.OfferData(provider_id=filled["school"], title="integrationskurs  mit alphabetisierung",
                                      category="integrationskurs"))  # fmt: skip
    with pytest.raises(ValidationError) as caught:
        d.save_offer(ctx, d.OfferData(provider_id="nope", title="X", category="mbe"))
    assert "provider_id" in caught.value.field_errors


def test_offer_category_by_label_and_languages_normalised(ctx, filled):
    offer = d.save_offer(ctx, d.OfferData(provider_id=filled["welfare"], title="JMD Gruppen",
                                          category="Jugendmigrationsdienst", languages=["DE", "prs", "fa-af"]))  # fmt: skip
    with ctx.read() as session:
        data = d.offer_data(session, offer)
    assert data.category == "jmd" and data.languages == ["de", "fa_AF"]


def test_search_filters(ctx, filled):
    assert titles(search(ctx)) == {"Integrationskurs mit Alphabetisierung", "Berufssprachkurs Pflege",
                                   "Migrationsberatung für Erwachsene", "Asylverfahrensberatung"}  # fmt: skip
    assert titles(search(ctx, category="mbe")) == {"Migrationsberatung für Erwachsene"}
    assert titles(search(ctx, category="Migrationsberatung (MBE)")) == {"Migrationsberatung für Erwachsene"}
    with pytest.raises(UserError, match="Kategorie „Zauberei“ gibt es nicht"):
        search(ctx, category="Zauberei")
    assert titles(search(ctx, language="ar")) == {"Migrationsberatung für Erwachsene", "Asylverfahrensberatung"}
    assert titles(search(ctx, language="fa")) == {"Asylverfahrensberatung"}  # Dari is served by a Farsi offer
    assert titles(search(ctx, language="prs")) == {"Asylverfahrensberatung"}
    assert titles(search(ctx, language="ti")) == set()
    # the offer's municipality first, else the provider's municipality, else its town
    assert titles(search(ctx, municipality="dülmen")) == {"Integrationskurs mit Alphabetisierung"}
    assert titles(search(ctx, municipality="Coesfeld")) == {"Berufssprachkurs Pflege", "Asylverfahrensberatung"}
    assert titles(search(ctx, municipality="Lüdinghausen")) == {"Migrationsberatung für Erwachsene"}
    # open to all statuses (None) or naming the status
    assert "Berufssprachkurs Pflege" not in titles(search(ctx, residence_status="duldung"))
    assert "Berufssprachkurs Pflege" in titles(search(ctx, residence_status="schutz_25_1_2"))
    assert len(search(ctx, residence_status="duldung")) == 3
    # every word, in title, description, target group, access conditions or provider
    assert titles(search(ctx, text="duldung")) == {"Integrationskurs mit Alphabetisierung", "Asylverfahrensberatung"}
    assert titles(search(ctx, text="BILDUNGSWERK pflege")) == {"Berufssprachkurs Pflege"}
    assert titles(search(ctx, text="duldung", category="rechtsberatung", language="fa_AF",
                         municipality="Coesfeld")) == {"Asylverfahrensberatung"}  # fmt: skip
    assert len(search(ctx, limit=2)) == 2


def test_expired_offers_are_hidden_unless_asked_for(ctx, filled):
    assert "Sommer-Sprachcafé" not in titles(search(ctx))
    rows = {r.title: r for r in search(ctx, include_expired=True)}
    assert rows["Sommer-Sprachcafé"].expired and not rows["Asylverfahrensberatung"].expired
    assert "Sommer-Sprachcafé" in titles(search(ctx, today=TODAY - 5 * DAYS))


def test_deleted_offer_leaves_the_search(ctx, filled):
    d.delete_offer(ctx, filled["mbe"])
    assert "Migrationsberatung für Erwachsene" not in titles(search(ctx, include_expired=True))
    with pytest.raises(NotFoundError):
        d.delete_offer(ctx, filled["mbe"])


def test_offer_row_fields(ctx, filled):
    (row,) = search(ctx, category="integrationskurs")
    assert (row.id, row.provider_id, row.provider_name, row.category_label, row.municipality, row.languages) == (
        filled["course"], filled["school"], "Bildungswerk Beispielstadt e. V.", "Integrationskurs", "Dülmen", ["de"]
    )
    assert (row.access_conditions, row.cost, row.residence_statuses, row.expired) == (
        "auch mit Duldung", "Kostenbeitrag 2,29 €", None, False
    )


# --- export and import ---------------------------------------------------------------------------------------


def other_db(tmp_path) -> ServiceContext:
    return ServiceContext(open_database(tmp_path / "other.sqlite3"), Actor.local())


def directory_state(ctx) -> list:
    with ctx.read() as session:
        offers = d.search_offers(session, include_expired=True, limit=10_000)
        provs = d.providers(session)
        return sorted(
            (o.title, o.category, o.provider_name, o.municipality, tuple(o.languages), tuple(o.residence_statuses or ()),
             o.access_conditions, o.cost, o.valid_until)
            for o in offers
        ) + sorted((p.name, p.postcode, p.city, p.municipality, p.offer_count) for p in provs)  # fmt: skip


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_round_trip_into_another_office(ctx, filled, tmp_path, fmt):
    d.save_contact(ctx, filled["legal"], d.ContactData(name="Herr Beispiel", phone="02541 1"))
    empty = d.save_provider(ctx, d.ProviderData(name="Ohne Angebote e. V.", city="Olfen"))
    with ctx.read() as session:
        data = d.export_directory(session, fmt)
    other = other_db(tmp_path)
    try:
        report = d.import_directory(other, data, fmt)
        assert (report.providers_created, report.offers_created, report.errors) == (4, 5, [])
        assert directory_state(other) == directory_state(ctx)
        with other.read() as session:
            contacts = session.scalar(select(func.count()).select_from(ProviderContact))
        assert contacts == (1 if fmt == "json" else 0)
        again = d.import_directory(other, data, fmt)
        assert (again.created, again.updated) == (0, 0)
        assert directory_state(other) == directory_state(ctx)
    finally:
        other.database.dispose()
    assert empty


def test_csv_is_excel_friendly(ctx, filled):
    with ctx.read() as session:
        data = d.export_directory(session, "csv")
    assert data.startswith("\ufeff".encode())
    text = data.decode("utf-8-sig")
    header = text.splitlines()[0].split(";")
    assert header[0] == "provider_name" and "offer_category" in header
    assert "de,fa_AF,ar" in text


def test_reimport_updates_instead_of_duplicating(ctx, filled):
    with ctx.read() as session:
        data = d.export_directory(session, "csv").decode("utf-8-sig")
    changed = data.replace("Kostenbeitrag 2,29 €", "kostenfrei").replace(
        "Wohlfahrtsverband Musterland", "wohlfahrtsverband  musterland"
    )
    changed += "Neuer Träger;;;;Olfen;;;;;;Sprachcafé;ehrenamt;;de;;;;;;;;\r\n"
    report = d.import_directory(ctx, changed.encode("utf-8"), "csv")
    assert (report.providers_created, report.offers_created, report.offers_updated) == (1, 1, 1)
    with ctx.read() as session:
        assert session.scalar(select(func.count()).select_from(Provider)) == 4
        assert session.get(Offer, filled["course"]).cost == "kostenfrei"
        assert session.scalars(select(AuditEvent.detail).where(AuditEvent.action == "import")).one() == {
            "format": "csv", "created": 2, "updated": report.updated
        }


HEADER = ";".join(d.CSV_COLUMNS)


def csv_file(*rows: str) -> bytes:
    return ("\r\n".join([HEADER, *rows]) + "\r\n").encode("utf-8")


def row(provider: str, title: str = "", category: str = "", *, city: str = "Dülmen", languages: str = "de",
        valid_until: str = "", phone: str = "") -> str:  # fmt: skip
    provider_cells = [provider, "", "", "", city, "", phone, "", "", ""]
    offer_cells = [title, category, "", languages, "", "", "", "", "", "", valid_until, ""]
    return ";".join(provider_cells + offer_cells)


def nothing_stored(ctx) -> None:
    with ctx.read() as session:
        assert session.scalar(select(func.count()).select_from(Provider)) == 0
        assert session.scalar(select(func.count()).select_from(Offer)) == 0


def test_broken_rows_are_all_reported_by_line_and_nothing_is_stored(ctx):
    data = csv_file(
        row("Gut e. V.", "Kurs A", "integrationskurs"),  # line 2
        row("Gut e. V.", "Kurs B", "Zauberei"),  # 3: unknown category
        row("", "Kurs C", "mbe"),  # 4: no provider name
        row("Gut e. V.", "", "mbe"),  # 5: no title
        row("Gut e. V.", "Kurs D", "mbe", valid_until="31.02.2026"),  # 6: no such date
        row("Gut e. V.", "Kurs E", "mbe", languages="deutsch!"),  # 7: bad language code
        row("Gut e. V.", "Kurs F", "Migrationsberatung (MBE)"),  # 8: fine (label)
    )
    with pytest.raises(d.DirectoryImportError) as caught:
        d.import_directory(ctx, data, "csv")
    errors = caught.value.report.errors
    assert [line for line, _m in errors] == [3, 4, 5, 6, 7]
    messages = dict(errors)
    assert "Zauberei" in messages[3] and "Kategorie" in messages[3]
    assert "Name" in messages[4] and "Titel" in messages[5] and "31.02.2026" in messages[6]
    assert "Sprachcode" in messages[7]
    assert "5 fehlerhafte Einträge" in caught.value.message and "Nr. 3" in caught.value.message
    nothing_stored(ctx)


def test_unknown_category_alone_stops_the_import(ctx):
    with pytest.raises(d.DirectoryImportError) as caught:
        d.import_directory(ctx, csv_file(row("A e. V.", "Kurs", "mbe"), row("B e. V.", "Kurs", "unbekannt")), "csv")
    assert [line for line, _m in caught.value.report.errors] == [3]
    assert "1 fehlerhafter Eintrag" in caught.value.message
    nothing_stored(ctx)


def test_same_provider_twice_in_a_csv_with_other_details_is_reported(ctx):
    data = csv_file(
        row("Gut e. V.", "Kurs A", "mbe", phone="1"),
        row("gut e.V.", "Kurs B", "mbe", phone="2"),  # same provider, other phone
        row("Gut e. V.", "Kurs A", "mbe", phone="1"),  # same offer twice
        row("Gut e. V.", "Kurs C", "mbe", city="Olfen"),  # another place: another provider, fine
    )
    with pytest.raises(d.DirectoryImportError) as caught:
        d.import_directory(ctx, data, "csv")
    errors = dict(caught.value.report.errors)
    assert set(errors) == {3, 4}
    assert "mehrfach" in errors[3] and "Zeile 2" in errors[3]
    assert "Kurs A" in errors[4] and "Nr. 2" in errors[4]
    nothing_stored(ctx)


def test_json_errors_are_numbered_by_provider(ctx):
    payload = {
        "format": "kim-desktop-directory",
        "providers": [
            {"name": "Gut e. V.", "city": "Dülmen", "offers": [{"title": "Kurs", "category": "mbe"}]},
            {"name": "GUT E.V.", "city": "Dülmen", "offers": []},
            {"name": "Anders", "offers": [{"title": "A", "category": "mbe"}, {"title": "B", "category": "nix"}]},
            "kein Objekt",
            {"name": "Kontakt", "contacts": [{"name": "X", "email": "falsch"}]},
        ],
    }
    with pytest.raises(d.DirectoryImportError) as caught:
        d.import_directory(ctx, json.dumps(payload).encode(), "json")
    errors = caught.value.report.errors
    assert [n for n, _m in errors] == [2, 3, 4, 5]
    messages = dict(errors)
    assert "Eintrag 1" in messages[2]
    assert messages[3].startswith("Angebot 2:") and "nix" in messages[3]
    assert "Ansprechperson 1" in messages[5]
    nothing_stored(ctx)


@pytest.mark.parametrize(
    ("data", "fmt", "message"),
    [
        (b"", "csv", "leer"),
        (b"name;title\r\nA;B\r\n", "csv", "erwarteten Spalten"),
        (HEADER.encode() + b";extra\r\n", "csv", "Unbekannte Spalte"),
        (b"{kaputt", "json", "kein gültiges JSON"),
        (b'{"providers": 3}', "json", "providers"),
        (b"x", "xml", "Unbekanntes Format"),
    ],
)
def test_unreadable_files_get_one_german_message(ctx, data, fmt, message):
    with pytest.raises(UserError, match=message):
        d.import_directory(ctx, data, fmt)
    nothing_stored(ctx)


def test_csv_from_german_excel_and_with_commas(ctx):
    semicolon = csv_file(row("Gesundheitslotsen Musterdorf e. V.", "Begleitung zu Ärzten", "gesundheit",
                             city="Nottuln")).decode("utf-8")  # fmt: skip
    d.import_directory(ctx, semicolon.encode("cp1252"), "csv")
    comma = ",".join(d.CSV_COLUMNS) + "\r\n" + ",".join(
        ["Schuldnerberatung", "", "", "", "Dülmen", "", "", "", "", "", "Beratung", "schuldnerberatung", "",
         '"de,tr"', "", "", "", "", "", "", "", ""]
    ) + "\r\n"  # fmt: skip
    d.import_directory(ctx, comma.encode(), "csv")
    with ctx.read() as session:
        assert titles(d.search_offers(session, municipality="Nottuln")) == {"Begleitung zu Ärzten"}
        (offer,) = d.search_offers(session, category="schuldnerberatung")
        assert offer.languages == ["de", "tr"]

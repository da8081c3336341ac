"""Art. 15 DSGVO: the access-report letter lists the stored data in sections; export-person writes a ZIP with
the letter, every field as JSON and every archived document; confidential journal text is withheld; audited."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, datetime, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from kim_desktop.db.models import AuditEvent, Provider
from kim_desktop.errors import UserError
from kim_desktop.services import appointments, cases, journal, letters, persons, referrals, subject_access


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.fixture
def person(ctx):
    view = persons.create_person(
        ctx,
        {"family_name": "Haddad", "given_names": "Rana", "sex": "f", "birth_date": "1988",
         "street": "Bahnhofstraße 3", "postcode": "48653", "city": "Coesfeld", "phone": "02541 123",
         "nationalities": ["SY"], "languages": ["ar:native", "de:B1"], "residence_status": None},
    )  # fmt: skip
    case = cases.open_case(ctx, view.id, consent_on=date.today())
    goal = journal.add_goal(ctx, case.id, "Sprachkurs B2")
    journal.add_step(ctx, goal, "Anmeldung VHS", due_on=date.today() + timedelta(days=30))
    journal.add_journal_entry(ctx, case.id, text="Erstgespräch offen-ABC")
    journal.add_journal_entry(ctx, case.id, text="Angaben der Schwester VERTRAULICH-XYZ", confidential=True)
    with ctx.write() as session:
        provider = Provider(name="Jugendmigrationsdienst Coesfeld", city="Coesfeld")
        session.add(provider)
        session.flush()
        provider_id = provider.id
    referrals.record_release(ctx, person_id=view.id, provider_id=provider_id, case_id=case.id)
    referral = referrals.create_referral(ctx, case_id=case.id, provider_id=provider_id, reason="Beratung")
    referrals.send_referral(ctx, referral, sent_via="post")
    starts = datetime.combine(date.today() + timedelta(days=7), datetime.min.time()).replace(hour=10)
    appointments.create_appointment(
        ctx,
        appointments.AppointmentData(
            case_id=case.id, type="beratung", starts_at=starts, ends_at=starts + timedelta(hours=1)
        ),
        keep_conflicts=True,
    )
    letters.make_letter(ctx, "consent", person_id=view.id)
    return view.id, case


def test_access_report_letter_lists_the_stored_data_in_sections(ctx, person):
    person_id, case = person
    made = letters.make_letter(ctx, "access-report", person_id=person_id)
    text = text_of(made.pdf)
    for expected in ("Stammdaten", "Sprachen", "Fälle", "Termine", "Vermittlungen", "Einwilligungen", "Dokumente",
                     "Empfänger", "Verlaufseinträge", case.file_number, "Sprachkurs B2", "Jugendmigrationsdienst",
                     "Erstgespräch offen-ABC", "Syrien", "02541 123", "§ 83 SGB X"):  # fmt: skip
        assert expected in text, expected
    assert "VERTRAULICH-XYZ" not in text


def test_export_person_writes_letter_json_and_documents_atomically_and_audited(ctx, person, tmp_path):
    person_id, case = person
    out = tmp_path / "auskunft.zip"
    subject_access.export_person(ctx, person_id, out)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        assert "auskunft.pdf" in names and "daten.json" in names
        pdfs = [n for n in names if n.startswith("dokumente/")]
        assert len(pdfs) == 1 and pdfs[0].endswith(".pdf")
        assert archive.read(pdfs[0]).startswith(b"%PDF")
        assert "Haddad" in text_of(archive.read("auskunft.pdf"))
        data = json.loads(archive.read("daten.json"))
    assert data["person"]["family_name"] == "Haddad" and data["person"]["phone"] == "02541 123"
    assert data["cases"][0]["file_number"] == case.file_number
    assert {lang["language_code"] for lang in data["languages"]} == {"ar", "de"}
    assert len(data["journal_entries"]) == 2 and len(data["referrals"]) == 1 and data["appointments"]
    assert data["documents"][0]["file"] == pdfs[0] and data["documents"][0]["intact"] is True
    assert "VERTRAULICH-XYZ" not in json.dumps(data, ensure_ascii=False)
    assert any(e.get("text_withheld") for e in data["journal_entries"])
    with ctx.read() as session:
        export = session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "subject_access")).one()
    assert export.action == "export" and export.person_id == person_id
    assert set(export.detail) == {"documents", "cases", "letter"}


def test_export_person_refuses_bad_targets_without_leaving_files(ctx, person, tmp_path):
    person_id, _case = person
    with pytest.raises(UserError):
        subject_access.export_person(ctx, person_id, tmp_path)
    with pytest.raises(UserError):
        subject_access.export_person(ctx, person_id, tmp_path / "missing" / "a.zip")
    with pytest.raises(UserError):
        subject_access.export_person(ctx, "0" * 36, tmp_path / "a.zip")
    assert not [p for p in tmp_path.iterdir() if p.suffix in (".zip", ".part")]


def test_access_report_for_a_restricted_person_without_address(ctx, tmp_path):
    """Art. 15 works under an Art. 18 restriction and without a postal address (handed over in person)."""
    import zipfile

    from kim_desktop.services import persons, retention
    from kim_desktop.services.subject_access import export_person

    person = persons.create_person(ctx, {"family_name": "Ohneadresse", "given_names": "Kim"})
    retention.restrict(ctx, person.id, "Richtigkeit wird geprüft")
    out = tmp_path / "auskunft.zip"
    export_person(ctx, person.id, out)
    with zipfile.ZipFile(out) as archive:
        assert "auskunft.pdf" in archive.namelist() and "daten.json" in archive.namelist()
    with pytest.raises(UserError, match="Art. 18"):
        letters.make_letter(ctx, "privacy", person_id=person.id)

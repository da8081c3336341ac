"""Letters from the case file: template + data → PDF, archived with SHA-256, audited; CLI `letter`."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
from datetime import date

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from kim_desktop.db.models import AuditEvent, Document
from kim_desktop.errors import UserError
from kim_desktop.services import cases, journal, letters, persons


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.fixture
def client(ctx):
    person = persons.create_person(
        ctx,
        {
            "family_name": "Nguyễn",
            "given_names": "Thị Lan",
            "sex": "f",
            "birth_date": "01.01.1990",
            "street": "Lindenweg 7",
            "postcode": "48249",
            "city": "Dülmen",
        },
    )
    case = cases.open_case(ctx, person.id, consent_on=date.today())
    goal = journal.add_goal(ctx, case.id, "Integrationskurs abschließen (B1)")
    journal.add_step(ctx, goal, "Anmeldung bei der VHS", due_on=date(2026, 12, 15))
    journal.add_journal_entry(ctx, case.id, text="VERTRAULICH-XYZ Gewalterfahrung", confidential=True)
    return person.id, case


@pytest.mark.parametrize("key", ["consent", "release", "privacy", "certificate", "access-report", "plan", "closing"])
def test_every_person_and_case_letter_renders_and_is_archived(ctx, client, key):
    person_id, case = client
    made = letters.make_letter(ctx, key, case_id=case.id)
    text = text_of(made.pdf)
    assert "Nguyễn" in text and "Lindenweg 7" in text and "48249 Dülmen" in text
    assert "Sehr geehrte Frau Nguyễn," in text
    assert "VERTRAULICH-XYZ" not in text  # confidential journal entries never reach a letter
    with ctx.read() as session:
        document = session.get(Document, made.document_id)
        assert document.kind == key and document.person_id == person_id and document.case_id == case.id
        assert document.sha256 == hashlib.sha256(made.pdf).hexdigest() and document.content == made.pdf
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "print")).all()
        assert any(e.entity_id == made.document_id for e in events)


def test_plan_lists_goals_and_steps(ctx, client):
    _person_id, case = client
    text = text_of(letters.make_letter(ctx, "plan", case_id=case.id).pdf)
    assert "Integrationskurs abschließen (B1)" in text and "Anmeldung bei der VHS" in text
    assert case.file_number in text


def test_person_without_address_is_refused_clearly(ctx):
    person = persons.create_person(ctx, {"family_name": "Ohneadresse", "given_names": "Kim"})
    with pytest.raises(UserError, match="Anschrift"):
        letters.make_letter(ctx, "privacy", person_id=person.id)
    with ctx.read() as session:
        assert session.scalars(select(Document)).all() == []


def test_case_letter_needs_a_case_and_unknown_inputs_are_refused(ctx, client):
    person_id, _case = client
    with pytest.raises(UserError, match="Fall"):
        letters.make_letter(ctx, "plan", person_id=person_id)
    with pytest.raises(UserError, match="Unbekannte Vorlage"):
        letters.make_letter(ctx, "bogus", person_id=person_id)
    with pytest.raises(UserError, match="Sprache"):
        letters.make_letter(ctx, "privacy", person_id=person_id, language="xx")


def test_markup_in_names_prints_literally(ctx):
    person = persons.create_person(
        ctx,
        {"family_name": "O'Connor <GmbH> & Söhne", "given_names": "{{ 7*7 }}", "street": "<b>Weg</b> 1",
         "postcode": "48653", "city": "Coesfeld"},
    )  # fmt: skip
    text = text_of(letters.make_letter(ctx, "privacy", person_id=person.id).pdf)
    assert "O'Connor <GmbH> & Söhne" in text and "{{ 7*7 }}" in text and "<b>Weg</b> 1" in text


def test_cli_letter_writes_the_pdf(ctx, client, tmp_db_path, tmp_path):
    _person_id, case = client
    out = tmp_path / "plan.pdf"
    env = dict(os.environ, KIM_DESKTOP_NO_LOG_FILE="1")
    base = [sys.executable, "-m", "kim_desktop", "letter"]
    done = subprocess.run(
        [*base, "plan", "--case", case.id, "--out", str(out), "--db", str(tmp_db_path)],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert case.file_number in text_of(out.read_bytes())
    bad = subprocess.run(
        [*base, "bogus", "--case", case.id, "--out", str(tmp_path / "x.pdf"), "--db", str(tmp_db_path)],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 1 and bad.stderr.startswith("Fehler:") and "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1 and not (tmp_path / "x.pdf").exists()
    usage = subprocess.run([*base, "plan", "--out", str(out)], capture_output=True, text=True, env=env, timeout=120)
    assert usage.returncode == 2


def _appointment(ctx, case_id: str, participants=()) -> str:
    from datetime import UTC, datetime

    from kim_desktop.db.models import Appointment, AppointmentParticipant

    with ctx.write() as session:
        appointment = Appointment(
            case_id=case_id, type="beratung", starts_at=datetime(2026, 7, 1, 8, 30, tzinfo=UTC),
            ends_at=datetime(2026, 7, 1, 9, 30, tzinfo=UTC), note="Pass und Schreiben des Jobcenters",
            interpreter_language="ar",
        )  # fmt: skip
        session.add(appointment)
        session.flush()
        for person_id in participants:
            session.add(AppointmentParticipant(appointment_id=appointment.id, person_id=person_id))
        return appointment.id


def test_invitation_shows_the_local_time_and_goes_to_the_participant(ctx, client):
    person_id, case = client
    other = persons.create_person(
        ctx, {"family_name": "Petrenko", "given_names": "Oksana", "sex": "f", "street": "Am Markt 2",
              "postcode": "48249", "city": "Dülmen"},
    )  # fmt: skip
    appointment_id = _appointment(ctx, case.id, participants=[other.id])
    text = text_of(letters.make_letter(ctx, "invitation", appointment_id=appointment_id).pdf)
    # 08:30 UTC in summer is 10:30 in Germany (CEST).
    assert "01.07.2026" in text and "10:30" in text and "11:30" in text and "08:30" not in text
    assert "Petrenko" in text and "Am Markt 2" in text and "Lindenweg" not in text
    assert "Pass und Schreiben des Jobcenters" in text
    explicit = text_of(letters.make_letter(ctx, "invitation", appointment_id=appointment_id, person_id=person_id).pdf)
    assert "Lindenweg 7" in explicit


def test_invitation_without_appointment_is_refused_clearly(ctx, client):
    person_id, _case = client
    with pytest.raises(UserError, match="Termin"):
        letters.make_letter(ctx, "invitation", person_id=person_id)


@pytest.mark.parametrize("language", ["en", "uk", "ru", "tr"])
def test_bilingual_invitation_left_to_right(ctx, client, language):
    from kim_desktop.services import letter_languages

    _person_id, case = client
    appointment_id = _appointment(ctx, case.id)
    made = letters.make_letter(ctx, "invitation", appointment_id=appointment_id, language=language)
    text = text_of(made.pdf)
    foreign = letter_languages.texts(language)
    assert "Sehr geehrte Frau Nguyễn," in text  # the German letter comes first and stays complete
    assert foreign["translation_heading"] in " ".join(text.split())
    assert foreign["salutation_f"].format(name="Nguyễn") in " ".join(text.split())
    assert text.index("Sehr geehrte Frau") < text.index(foreign["translation_heading"].split()[0])
    with ctx.read() as session:
        document = session.get(Document, made.document_id)
        assert document.template_key == f"invitation:{language}"
        assert foreign["language_name"] in document.title


@pytest.mark.parametrize("language", ["ar", "fa"])
def test_bilingual_privacy_right_to_left_uses_the_arabic_font(ctx, client, language):
    import unicodedata

    person_id, _case = client
    pdf = letters.make_letter(ctx, "privacy", person_id=person_id, language=language).pdf
    reader = PdfReader(io.BytesIO(pdf))
    fonts = {str(f.get_object()["/BaseFont"]) for page in reader.pages for f in page["/Resources"]["/Font"].values()}
    assert any("NotoSansArabic" in name for name in fonts)
    text = unicodedata.normalize("NFKC", text_of(pdf))
    assert "Sehr geehrte Frau Nguyễn," in text
    assert sum("\u0600" <= ch <= "\u06ff" for ch in text) > 200


def test_bilingual_only_for_client_letters(ctx, client):
    _person_id, case = client
    with pytest.raises(UserError, match="nur auf Deutsch"):
        letters.make_letter(ctx, "plan", case_id=case.id, language="en")

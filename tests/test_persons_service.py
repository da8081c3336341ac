"""Persons through the service layer: validation, duplicates, optimistic locking, audit, search index."""

from __future__ import annotations

import sqlite3
from datetime import date

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm.exc import StaleDataError

from kim_desktop.db.models import AuditEvent, ChangeRecord, Person, SearchKey
from kim_desktop.errors import ConflictError, DuplicateError, NotFoundError, UserError, ValidationError
from kim_desktop.services import persons
from kim_desktop.services.dates import PartialDate
from kim_desktop.services.search import search_persons


def count(ctx, model) -> int:
    with ctx.read() as session:
        return session.scalar(select(func.count()).select_from(model))


def counts(ctx) -> dict[str, int]:
    return {m.__name__: count(ctx, m) for m in (Person, SearchKey, AuditEvent, ChangeRecord)}


def found_ids(ctx, query: str) -> list[str]:
    with ctx.read() as session:
        return [hit.id for hit in search_persons(session, query)]


# --- create and read ------------------------------------------------------------------------------------


def test_create_and_get_round_trip(ctx):
    created = persons.create_person(
        ctx,
        {
            "family_name": "  Yılmaz ",
            "given_names": "Ayşe Nur",
            "birth_name": "Demir",
            "birth_date": "12.05.1990",
            "sex": "f",
            "nationalities": ["tr", "DE"],
            "country_of_birth": "tr",
            "place_of_birth": "İzmir",
            "languages": ["tr:native", "de:B1"],
            "interpreter_needed": "nein",
            "street": "Hauptstraße 5",
            "postcode": "44135",
            "city": "Dortmund",
            "phone": "+49 231 123456",
            "email": "ayse@example.org",
            "residence_status": "duldung",
            "residence_valid_until": "31.12.2027",
            "entry_date": "2015-09-01",
            "note": "Erstgespräch\nmit Tochter",
            "other_spellings": ["Yilmaz, Ayse"],
        },
    )
    view = persons.get_person(ctx, created.id)
    assert view.id == created.id
    assert view.family_name == "Yılmaz"  # stripped, otherwise unchanged
    assert view.given_names == "Ayşe Nur"
    assert view.birth_name == "Demir"
    assert view.birth_date == PartialDate(1990, 5, 12)
    assert view.sex == "f"
    assert view.nationalities == ["TR", "DE"]
    assert view.country_of_birth == "TR"
    assert view.languages == [("tr", "native"), ("de", "B1")]
    assert view.interpreter_needed is False
    assert view.city == "Dortmund"
    assert view.residence_status == "duldung"
    assert view.residence_valid_until == date(2027, 12, 31)
    assert view.entry_date == date(2015, 9, 1)
    assert view.note == "Erstgespräch\nmit Tochter"
    assert view.other_spellings == ["Yilmaz, Ayse"]
    data = view.to_json()
    assert data["birth_date"] == "1990-05-12"
    assert data["residence_valid_until"] == "2027-12-31"


@pytest.mark.parametrize(
    ("given", "iso"), [("1990", "1990"), ("05.1990", "1990-05"), ("01.01.1990", "1990-01-01"), ("", None)]
)
def test_partial_and_placeholder_birth_dates_stored_as_given(ctx, given, iso):
    view = persons.create_person(ctx, {"family_name": "Teklu", "birth_date": given})
    again = persons.get_person(ctx, view.id)
    assert again.to_json()["birth_date"] == iso
    with ctx.read() as session:
        row = session.get(Person, view.id)
        parts = (row.birth_year, row.birth_month, row.birth_day)
    expected = {"1990": (1990, None, None), "05.1990": (1990, 5, None), "01.01.1990": (1990, 1, 1)}
    assert parts == expected.get(given, (None, None, None))


def test_get_unknown_person(ctx):
    with pytest.raises(NotFoundError) as info:
        persons.get_person(ctx, "00000000-0000-0000-0000-000000000000")
    assert "Keine Person" in info.value.message


# --- validation -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "field", "fragment"),
    [
        ({"family_name": ""}, "family_name", "Bitte geben Sie den Familiennamen ein."),
        ({"family_name": "   "}, "family_name", "Bitte geben Sie den Familiennamen ein."),
        ({"family_name": "Ali", "email": "ali@beispiel"}, "email", "E-Mail-Adresse ist unvollständig"),
        ({"family_name": "Ali", "email": "ali beispiel.de"}, "email", "E-Mail-Adresse ist unvollständig"),
        ({"family_name": "Ali", "birth_date": "31.02.2001"}, "birth_date", "Den 31.02.2001 gibt es nicht"),
        ({"family_name": "Ali", "birth_date": "gestern"}, "birth_date", "kein gültiges Datum"),
        ({"family_name": "Ali", "birth_date": "01.01.2099"}, "birth_date", "nicht in der Zukunft"),
        ({"family_name": "Ali", "birth_date": date(2099, 1, 1)}, "birth_date", "nicht in der Zukunft"),
        (
            {"family_name": "Ali", "nationalities": ["SY", "QQ"]},
            "nationalities",
            "Unbekannter Ländercode: QQ",
        ),
        ({"family_name": "Ali", "country_of_birth": "ZZZ"}, "country_of_birth", "Unbekannter Ländercode"),
        ({"family_name": "Ali", "languages": ["xx"]}, "languages", "Unbekannte Sprache"),
        ({"family_name": "Ali", "languages": ["ar:C7"]}, "languages", "Unbekanntes Sprachniveau"),
        ({"family_name": "A" * 201}, "family_name", "Familienname darf höchstens 200 Zeichen lang sein."),
        ({"family_name": "Ali", "given_names": "B" * 201}, "given_names", "höchstens 200 Zeichen"),
        ({"family_name": "Ali", "note": "x" * 100_001}, "note", "Notiz darf höchstens 100000 Zeichen"),
        ({"family_name": "Al\x00i"}, "family_name", "Steuerzeichen"),
        ({"family_name": "Ali", "given_names": "Om\x1bar"}, "given_names", "Steuerzeichen"),
        ({"family_name": "Ali", "street": "Weg 1\nHof 2"}, "street", "Steuerzeichen"),
        ({"family_name": "Ali", "note": "Piep\x07"}, "note", "Steuerzeichen"),
        ({"family_name": "Ali", "city": "Kö\ud800ln"}, "city", "ungültige Zeichen"),
        ({"family_name": "Ali", "phone": "ruf mich an"}, "phone", "Telefonnummer"),
        ({"family_name": "Ali", "postcode": "#"}, "postcode", "Postleitzahl"),
        ({"family_name": "Ali", "sex": "q"}, "sex", "Geschlecht"),
        ({"family_name": "Ali", "entry_date": "05.2020"}, "entry_date", "vollständiges Datum"),
    ],
)
def test_validation_messages_in_german(ctx, values, field, fragment):
    before = counts(ctx)
    with pytest.raises(ValidationError) as info:
        persons.create_person(ctx, values)
    assert field in info.value.field_errors
    assert fragment in info.value.field_errors[field]
    assert fragment in info.value.message
    assert counts(ctx) == before  # no half record, no audit row


def test_several_errors_reported_together(ctx):
    with pytest.raises(ValidationError) as info:
        persons.create_person(ctx, {"family_name": "", "email": "x", "birth_date": "31.02.2001"})
    assert set(info.value.field_errors) == {"family_name", "email", "birth_date"}
    assert "Familiennamen" in info.value.message and "E-Mail" in info.value.message


def test_unknown_residence_status_refused_inside_the_transaction(ctx):
    before = counts(ctx)
    with pytest.raises(ValidationError) as info:
        persons.create_person(ctx, {"family_name": "Haddad", "residence_status": "gibt_es_nicht"})
    assert info.value.field_errors["residence_status"].startswith("Unbekannter Aufenthaltsstatus")
    assert counts(ctx) == before


def test_unknown_field_refused(ctx):
    with pytest.raises(UserError) as info:
        persons.create_person(ctx, {"family_name": "Haddad", "religion": "x"})
    assert "Unbekannte Felder: religion" in info.value.message


def test_multiline_note_keeps_newlines_and_tabs(ctx):
    view = persons.create_person(ctx, {"family_name": "Haddad", "note": "Zeile 1\n\tZeile 2\r\nZeile 3"})
    assert persons.get_person(ctx, view.id).note == "Zeile 1\n\tZeile 2\r\nZeile 3"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("family_name", "الحسن"),  # Arabic, right to left
        ("family_name", "\u202eכהן\u202c"),  # Hebrew wrapped in RTL override / pop formatting
        ("given_names", "<b>Fatima</b>"),
        ("street", "O'Connor <GmbH> & Söhne"),
        ("city", "Köln\u200f"),  # right-to-left mark is a format character, not a control character
        ("note", "<script>alert('x')</script> & ' \" ; DROP TABLE person; --"),
        ("family_name", "Шевченко"),
        ("given_names", "𝔄𝔩𝔦 😀"),  # outside the BMP
    ],
)
def test_text_stored_faithfully(ctx, field, value):
    values = {"family_name": "Nasser", field: value}
    view = persons.create_person(ctx, values)
    again = persons.get_person(ctx, view.id)
    assert getattr(again, field) == value
    # and in the file itself, byte for byte, not escaped
    column = {"family_name": "family_name", "given_names": "given_names"}.get(field, field)
    with sqlite3.connect(ctx.database.location.path) as raw:
        stored = raw.execute(f"SELECT {column} FROM person WHERE id = ?", (view.id,)).fetchone()[0]
    assert stored == value


def test_exactly_200_characters_accepted(ctx):
    name = "Ä" * 200
    view = persons.create_person(ctx, {"family_name": name})
    assert persons.get_person(ctx, view.id).family_name == name


# --- duplicates -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("existing", "new"),
    [
        (("Müller", "Hans", "12.03.1990"), ("Mueller", "Hans", "12.03.1990")),
        (("Mueller", "Hans", "12.03.1990"), ("MÜLLER", "hans", "12.03.1990")),
        (("Müller", "Hans", "12.03.1990"), ("Muller", "Hans", "1990")),  # year only vs full date
        (("Müller", "Hans", "1990"), ("Müller", "Hans", "12.03.1990")),
        (("Müller", "Hans", "03.1990"), ("Müller", "Hans", "12.03.1990")),  # month+year vs full date
        (("Müller", "Hans", "01.01.1990"), ("Müller", "Hans", "12.03.1990")),  # 01.01. placeholder
        (("Müller", "Hans", "12.03.1990"), ("Müller", "Hans", "01.01.1990")),  # ... in either direction
        (("Mohammed", "Ali", "1985"), ("Muhammad", "Ali", "1985")),  # phonetic
        (("Mohammed", "Ali", "01.01.1985"), ("Muhammad", "Aly", "17.08.1985")),  # phonetic + placeholder
        (("Strauß", "Eva", "1970"), ("Strauss", "Eva", "")),  # unknown birth date matches anything
        (("Öztürk", "Emre", ""), ("Oeztuerk", "Emre", "1970")),
        (("Шевченко", "Тарас", "1990"), ("Shevchenko", "Taras", "1990")),
    ],
)
def test_probable_duplicate_refused(ctx, existing, new):
    family, given, birth = existing
    first = persons.create_person(ctx, {"family_name": family, "given_names": given, "birth_date": birth})
    before = counts(ctx)
    family, given, birth = new
    with pytest.raises(DuplicateError) as info:
        persons.create_person(ctx, {"family_name": family, "given_names": given, "birth_date": birth})
    assert "möglicherweise schon erfasst" in info.value.message
    assert [c.id for c in info.value.candidates] == [first.id]
    assert counts(ctx) == before
    # the counsellor can still decide it is another person
    second = persons.create_person(
        ctx, {"family_name": family, "given_names": given, "birth_date": birth}, allow_duplicate=True
    )
    assert second.id != first.id
    assert count(ctx, Person) == before["Person"] + 1


@pytest.mark.parametrize(
    ("existing", "new"),
    [
        (("Müller", "Hans", "12.03.1990"), ("Müller", "Hans", "13.03.1990")),  # different day
        (("Müller", "Hans", "12.03.1990"), ("Müller", "Hans", "04.1990")),  # different month
        (("Müller", "Hans", "1990"), ("Müller", "Hans", "1991")),  # different year
        (("Müller", "Hans", "01.01.1990"), ("Müller", "Hans", "1991")),  # placeholder, other year
        (("Müller", "Hans", "1990"), ("Müller", "Petra", "1990")),  # other given name
        (("Müller", "Hans", "1990"), ("Schmidt", "Hans", "1990")),  # other family name
    ],
)
def test_not_a_duplicate(ctx, existing, new):
    family, given, birth = existing
    persons.create_person(ctx, {"family_name": family, "given_names": given, "birth_date": birth})
    family, given, birth = new
    view = persons.create_person(ctx, {"family_name": family, "given_names": given, "birth_date": birth})
    assert count(ctx, Person) == 2
    assert persons.get_person(ctx, view.id).family_name == family


def test_duplicate_found_through_other_spelling(ctx):
    first = persons.create_person(
        ctx, {"family_name": "Alhasan", "given_names": "Omar", "other_spellings": ["Al-Hassan, Omar"]}
    )
    with pytest.raises(DuplicateError) as info:
        persons.create_person(ctx, {"family_name": "Al-Hassan", "given_names": "Omar"})
    assert info.value.candidates[0].id == first.id


def test_candidates_best_first(ctx):
    exact = persons.create_person(
        ctx, {"family_name": "Mohammed", "given_names": "Ali", "birth_date": "1985"}
    )
    phonetic = persons.create_person(
        ctx, {"family_name": "Muhammad", "given_names": "Ali", "birth_date": "1985"}, allow_duplicate=True
    )
    with pytest.raises(DuplicateError) as info:
        persons.create_person(ctx, {"family_name": "Mohammed", "given_names": "Ali", "birth_date": "1985"})
    ids = [c.id for c in info.value.candidates]
    assert ids == [exact.id, phonetic.id]
    assert info.value.candidates[0].score > info.value.candidates[1].score
    assert info.value.candidates[0].to_json()["birth_date"] == "1985"


# --- update and optimistic locking ----------------------------------------------------------------------


def test_update_changes_only_given_fields(ctx):
    view = persons.create_person(
        ctx, {"family_name": "Haddad", "given_names": "Rami", "city": "Köln", "birth_date": "1980"}
    )
    updated = persons.update_person(ctx, view.id, {"city": "Bonn"}, expected_version=view.version)
    assert updated.city == "Bonn"
    assert updated.version > view.version
    again = persons.get_person(ctx, view.id)
    assert (again.family_name, again.given_names, again.birth_date, again.city) == (
        "Haddad", "Rami", PartialDate(1980), "Bonn",
    )  # fmt: skip


def test_update_validates(ctx):
    view = persons.create_person(ctx, {"family_name": "Haddad"})
    with pytest.raises(ValidationError) as info:
        persons.update_person(ctx, view.id, {"family_name": " ", "email": "kaputt"})
    assert set(info.value.field_errors) == {"family_name", "email"}
    assert persons.get_person(ctx, view.id).family_name == "Haddad"


def test_update_unknown_person(ctx):
    with pytest.raises(NotFoundError):
        persons.update_person(ctx, "00000000-0000-0000-0000-000000000000", {"city": "Bonn"})


def test_update_with_stale_expected_version_is_a_conflict(ctx):
    view = persons.create_person(ctx, {"family_name": "Haddad", "city": "Köln"})
    # someone else saves first
    persons.update_person(ctx, view.id, {"city": "Bonn"}, expected_version=view.version)
    before = counts(ctx)
    with pytest.raises(ConflictError) as info:
        persons.update_person(ctx, view.id, {"city": "Aachen"}, expected_version=view.version)
    assert "von einer anderen Sitzung geändert" in info.value.message
    assert persons.get_person(ctx, view.id).city == "Bonn"  # the other change survives
    after = counts(ctx)
    after["AuditEvent"] -= 1  # the read just above
    assert after == before


def test_lost_update_between_two_sessions_is_refused_by_the_row_version(ctx):
    """A record loaded earlier in another session cannot silently overwrite a newer save."""
    view = persons.create_person(ctx, {"family_name": "Haddad", "city": "Köln"})
    session = ctx.database.session_factory()
    try:
        person = session.get(Person, view.id)  # loaded by window A
        session.commit()  # A's read transaction ends; the object stays in memory
        persons.update_person(ctx, view.id, {"city": "Bonn"})  # window B saves
        person.city = "Aachen"  # window A saves later, based on the old version
        with pytest.raises(StaleDataError):
            session.commit()
        session.rollback()
    finally:
        session.close()
    assert persons.get_person(ctx, view.id).city == "Bonn"


def test_concurrent_version_change_during_update_becomes_conflict_error(ctx):
    """The StaleDataError path of update_person: the row version moves between load and flush."""
    from sqlalchemy import event

    view = persons.create_person(ctx, {"family_name": "Haddad", "city": "Köln"})

    def bump_version(session, _flush_context, _instances):
        # another writer's change, made on the same connection so SQLite's locking does not interfere
        session.connection().execute(
            text("UPDATE person SET version = version + 1 WHERE id = :id"), {"id": view.id}
        )

    event.listen(ctx.database.session_factory, "before_flush", bump_version)
    try:
        with pytest.raises(ConflictError) as info:
            persons.update_person(ctx, view.id, {"city": "Aachen"})
    finally:
        event.remove(ctx.database.session_factory, "before_flush", bump_version)
    assert "anderen Sitzung" in info.value.message
    again = persons.get_person(ctx, view.id)
    assert again.city == "Köln"
    assert again.version == view.version  # the bump was rolled back with the failed update


# --- audit ----------------------------------------------------------------------------------------------


def test_read_is_audited(ctx):
    view = persons.create_person(ctx, {"family_name": "Haddad"})
    with ctx.read() as session:
        before = session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "read")
        )
    persons.get_person(ctx, view.id)
    with ctx.read() as session:
        events = session.execute(
            select(
                AuditEvent.entity_type,
                AuditEvent.entity_id,
                AuditEvent.person_id,
                AuditEvent.at,
                AuditEvent.detail,
            )
            .where(AuditEvent.action == "read")
            .order_by(AuditEvent.id)
        ).all()
    assert len(events) == before + 1
    entity_type, entity_id, person_id, at, detail = events[-1]
    assert (entity_type, entity_id, person_id) == ("person", view.id, view.id)
    assert at is not None
    # no personal data in the access log
    assert "Haddad" not in repr(detail)


def test_create_is_audited(ctx):
    view = persons.create_person(ctx, {"family_name": "Haddad"})
    with ctx.read() as session:
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.person_id == view.id)).all()
        inserts = session.scalars(
            select(ChangeRecord.entity_type).where(
                ChangeRecord.entity_id == view.id, ChangeRecord.operation == "insert"
            )
        ).all()
    assert actions == ["create"]
    assert inserts == ["person"]


def test_update_writes_field_level_change_records(ctx):
    view = persons.create_person(ctx, {"family_name": "Haddad", "city": "Köln", "birth_date": "1980"})
    with ctx.read() as session:
        last_seq = session.scalar(select(func.max(ChangeRecord.seq)))
    persons.update_person(
        ctx, view.id, {"city": "Bonn", "birth_date": "12.05.1980", "email": "r@example.org"}
    )
    with ctx.read() as session:
        records = session.scalars(
            select(ChangeRecord).where(ChangeRecord.seq > last_seq).order_by(ChangeRecord.seq)
        ).all()
        audit_detail = session.scalars(
            select(AuditEvent.detail).where(AuditEvent.action == "update", AuditEvent.person_id == view.id)
        ).one()
        session.expunge_all()  # keep the loaded values readable after the read session ends
    changes = {r.field: (r.old_value, r.new_value) for r in records}
    assert all(
        r.operation == "update" and r.entity_type == "person" and r.entity_id == view.id for r in records
    )
    assert changes["city"] == ("Köln", "Bonn")
    assert changes["email"] == (None, "r@example.org")
    assert changes["birth_month"] == (None, "5")
    assert changes["birth_day"] == (None, "12")
    assert "birth_year" not in changes  # unchanged
    assert "family_name" not in changes
    assert {r.base_version for r in records} == {view.version}
    assert audit_detail == {"fields": ["birth_date", "city", "email"]}


def test_update_without_change_writes_nothing(ctx):
    view = persons.create_person(ctx, {"family_name": "Haddad", "city": "Köln"})
    before = counts(ctx)
    same = persons.update_person(ctx, view.id, {"city": " Köln "})
    assert same.version == view.version
    assert counts(ctx) == before


# --- search index follows every write -------------------------------------------------------------------


def test_search_index_updated_after_update(ctx):
    view = persons.create_person(
        ctx, {"family_name": "Brandtner", "given_names": "Lea", "phone": "0221 123456"}
    )
    assert found_ids(ctx, "Brandtner") == [view.id]
    persons.update_person(ctx, view.id, {"family_name": "Okafor", "phone": "0228 987654"})
    assert found_ids(ctx, "Brandtner") == []
    assert found_ids(ctx, "Okafor") == [view.id]
    assert found_ids(ctx, "Lea") == [view.id]
    assert found_ids(ctx, "0221123456") == []
    assert found_ids(ctx, "0228 987654") == [view.id]


def test_new_person_is_searchable_at_once(ctx):
    view = persons.create_person(
        ctx, {"family_name": "Öztürk", "given_names": "Emre", "birth_date": "03.04.1999"}
    )
    assert found_ids(ctx, "Ozturk") == [view.id]
    assert found_ids(ctx, "03.04.1999") == [view.id]


# --- atomicity ------------------------------------------------------------------------------------------


def test_failure_late_in_the_transaction_leaves_no_half_record(ctx):
    """Person row and search keys are written before the audit row; if that fails, all of it is undone."""
    with sqlite3.connect(ctx.database.location.path) as raw:
        raw.execute(
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_event "
            "BEGIN SELECT RAISE(ABORT, 'audit refused'); END"
        )
    before = counts(ctx)
    with pytest.raises(UserError) as info:
        persons.create_person(ctx, {"family_name": "Haddad", "given_names": "Rami"})
    assert "nichts wurde geändert" in info.value.message
    assert "Haddad" not in info.value.message
    assert counts(ctx) == before
    assert found_ids(ctx, "Haddad") == []

"""Retention (Löschfristen), erasure on request (Art. 17) and restriction of processing (Art. 18).

Real SQLite files throughout; the interrupted run fails through a real trigger in the database.
"""

from __future__ import annotations

import sqlite3
from datetime import date, datetime

import pytest
from sqlalchemy import func, select, text

from kim_desktop.db.models import (
    Appointment,
    AppointmentParticipant,
    Case,
    CasePhaseChange,
    ChangeRecord,
    Consent,
    DeletionProtocol,
    Document,
    JournalEntry,
    Person,
    PersonNameVariant,
    SearchKey,
    Setting,
)
from kim_desktop.errors import UserError
from kim_desktop.services import appointments, cases, journal, letters, persons, retention
from kim_desktop.services import directory as d
from kim_desktop.services import referrals as r
from kim_desktop.services.search import search_persons

NAME = "Zyxwqandor"
GIVEN = "Quiliane"
STREET = "Vorbeckweg 17"
SECRET = "Geheimvermerk Kwartelbusch"


def make_person(
    ctx, family: str = NAME, *, closed_on: date | None = date(2022, 3, 15), opened_on=date(2022, 1, 10)
):
    """A person with a case (closed on ``closed_on``, open with None), a journal entry and a consent."""
    person = persons.create_person(
        ctx,
        {
            "family_name": family, "given_names": GIVEN, "birth_date": "14.07.1990", "sex": "f",
            "nationalities": ["SY"], "street": STREET, "postcode": "48249", "city": "Dülmen",
            "phone": "0157 9988776", "email": "quiliane@example.org", "note": SECRET,
        },
        allow_duplicate=True,
    ).id  # fmt: skip
    case = cases.open_case(ctx, person, opened_on=opened_on, consent_on=opened_on).id
    journal.add_journal_entry(ctx, case, text=f"{SECRET} Erstgespräch", entry_date=opened_on)
    if closed_on is not None:
        cases.change_phase(ctx, case, "closed", on=closed_on, closure_reason="kein_kontakt", note=SECRET)
    return person, case


def due_ids(ctx, today):
    with ctx.read() as session:
        return [item.person_id for item in retention.due(session, today)]


# --- the period ------------------------------------------------------------------------------------------


def test_due_from_first_day_of_the_fourth_year_after_closure(ctx):
    person, _case = make_person(ctx)  # closed 15.03.2022
    assert due_ids(ctx, date(2025, 12, 31)) == []
    assert due_ids(ctx, date(2026, 1, 1)) == [person]
    assert retention.case_due_from(date(2022, 12, 31), None, 3) == date(2026, 1, 1)
    assert retention.case_due_from(date(2022, 1, 1), None, 3) == date(2026, 1, 1)


def test_office_period_and_case_override(ctx):
    person, case = make_person(ctx)
    retention.set_retention_years(ctx, 1)
    assert due_ids(ctx, date(2023, 12, 31)) == []
    assert due_ids(ctx, date(2024, 1, 1)) == [person]
    with ctx.write() as session:  # a case kept longer (e.g. a court case pending)
        session.get(Case, case).retention_until = date(2027, 6, 30)
    assert due_ids(ctx, date(2027, 6, 30)) == []
    assert due_ids(ctx, date(2027, 7, 1)) == [person]
    with ctx.read() as session:
        assert session.get(Setting, retention.SETTING_KEY).value == 1


def test_open_cases_and_restricted_persons_are_never_touched(ctx):
    open_person, _ = make_person(ctx, "Offenfall", closed_on=None)
    second_case_open, _ = make_person(ctx, "Zweitfall")
    cases.open_case(ctx, second_case_open, opened_on=date(2024, 2, 1))  # a new, open case
    restricted, _ = make_person(ctx, "Gesperrt")
    retention.restrict(ctx, restricted, "Person bestreitet die Richtigkeit der Daten")
    assert due_ids(ctx, date(2030, 1, 1)) == []
    report = retention.apply(ctx, date(2030, 1, 1))
    assert report.persons == 0
    with ctx.read() as session:
        names = set(session.scalars(select(Person.family_name)))
        assert {"Offenfall", "Zweitfall", "Gesperrt"} <= names
        assert session.scalar(select(func.count()).select_from(DeletionProtocol)) == 0


def test_preview_counts_and_changes_nothing(ctx):
    make_person(ctx)
    result = retention.preview(ctx, date(2026, 1, 1))
    assert result["persons"] == 1
    assert result["records"]["person"] == 1 and result["records"]["journal_entry"] == 1
    assert result["records"]["consent"] == 1 and result["records"]["search_key"] >= 1
    with ctx.read() as session:
        assert session.scalar(select(Person.family_name)) == NAME


# --- the cascade -----------------------------------------------------------------------------------------


@pytest.fixture
def rich_person(ctx):
    """A person with everything that can hold their data: variants, letters, appointments, referrals."""
    person, case = make_person(ctx, closed_on=None)
    persons.update_person(ctx, person, {"phone": "0157 1112223", "other_spellings": [f"{NAME}i {GIVEN}"]})
    letters.make_letter(ctx, "privacy", person_id=person)
    appointments.create_appointment(
        ctx,
        appointments.AppointmentData(
            type="beratung", starts_at=datetime(2022, 2, 3, 10, 0), ends_at=datetime(2022, 2, 3, 11, 0),
            case_id=case, title=f"Termin {NAME}", note=SECRET,
        ),
        keep_conflicts=True,
    )  # fmt: skip
    provider = d.save_provider(ctx, d.ProviderData(name="Bildungswerk Beispielstadt e. V.", city="Dülmen"))
    referral = r.create_referral(ctx, case_id=case, provider_id=provider, reason=f"{SECRET} Sprachkurs")
    r.send_referral(
        ctx,
        referral,
        sent_via="post",
        sent_on=date(2022, 2, 10),
        override_reason=f"{SECRET} dringend, mündlich besprochen",
    )
    cases.change_phase(ctx, case, "closed", on=date(2022, 3, 15), closure_reason="kein_kontakt", note=SECRET)
    return person, case


def test_apply_removes_every_trace_of_the_name_from_the_file(ctx, rich_person, tmp_db_path):
    person, case = rich_person
    with ctx.read() as session:  # the data really is there before
        assert session.scalar(select(func.count()).select_from(PersonNameVariant)) >= 1
        assert session.scalar(select(func.count()).select_from(Document)) == 1
        assert session.scalar(
            select(func.count()).select_from(ChangeRecord).where(ChangeRecord.old_value.is_not(None))
        )

    report = retention.apply(ctx, date(2026, 1, 1))
    assert (report.persons, report.failed) == (1, 0)

    with ctx.read() as session:
        p = session.get(Person, person)
        assert p.anonymised_at is not None and p.family_name == "" and p.given_names == ""
        assert (p.street, p.city, p.phone, p.email, p.note, p.birth_day, p.birth_month) == (None,) * 7
        # statistics kept
        assert (p.birth_year, p.sex) == (1990, "f")
        assert [n.country_code for n in p.nationalities] == ["SY"]
        c = session.get(Case, case)
        assert (c.opened_on, c.closed_on, c.closure_reason, c.phase) == (
            date(2022, 1, 10),
            date(2022, 3, 15),
            "kein_kontakt",
            "closed",
        )
        assert session.scalar(
            select(func.count()).select_from(CasePhaseChange).where(CasePhaseChange.case_id == case)
        )
        entry = session.scalars(select(JournalEntry).where(JournalEntry.case_id == case)).first()
        assert entry.text == "" and entry.entry_date == date(2022, 1, 10)
        for model in (Document, Consent, SearchKey, PersonNameVariant, AppointmentParticipant):
            assert session.scalar(select(func.count()).select_from(model)) == 0, model
        assert session.scalar(select(Appointment.note)) is None
        assert session.scalar(
            select(func.count()).select_from(ChangeRecord).where(
                ChangeRecord.old_value.is_not(None) | ChangeRecord.new_value.is_not(None)
            )
        ) == 0  # fmt: skip
        assert search_persons(session, NAME) == []
        assert persons.count_persons(session) == 0  # gone from the person list
        rows = session.scalars(select(DeletionProtocol).where(DeletionProtocol.run_id == report.run_id)).all()
        kinds = {(row.action, row.entity_type) for row in rows}
        assert ("anonymised", "person") in kinds and ("deleted", "document") in kinds
        assert ("anonymised", "change_record") in kinds and ("deleted", "search_key") in kinds

    ctx.database.dispose()
    con = sqlite3.connect(tmp_db_path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.execute("VACUUM")
    protocol_text = " ".join(str(v) for row in con.execute("SELECT * FROM deletion_protocol") for v in row)
    con.close()
    raw = tmp_db_path.read_bytes()
    wal = tmp_db_path.with_name(tmp_db_path.name + "-wal")
    if wal.exists():
        raw += wal.read_bytes()
    for secret in (NAME, GIVEN, "Vorbeckweg", "Kwartelbusch", "9988776", "1112223", "quiliane@"):
        assert secret.encode() not in raw, secret
        assert secret.encode("utf-16-le") not in raw, secret
    assert person not in protocol_text and NAME not in protocol_text


def test_merged_tombstone_is_anonymised_with_the_person(ctx):
    from kim_desktop.services import merge

    keep, _case = make_person(ctx)
    other = persons.create_person(
        ctx, {"family_name": "Xerbolind", "given_names": GIVEN}, allow_duplicate=True
    ).id
    merge.merge_persons(ctx, keep, other)
    retention.apply(ctx, date(2026, 1, 1))
    with ctx.read() as session:
        assert set(session.scalars(select(Person.family_name))) == {""}


def test_interrupted_run_leaves_each_person_complete_or_untouched(ctx):
    first, _ = make_person(ctx, "Erstling", closed_on=date(2021, 5, 1), opened_on=date(2021, 1, 4))
    second, second_case = make_person(
        ctx, "Zweitling", closed_on=date(2022, 5, 1), opened_on=date(2022, 1, 4)
    )
    with ctx.write() as session:  # a real failure late inside the second person's transaction
        session.execute(
            text(
                "CREATE TRIGGER block_second BEFORE UPDATE OF anonymised_at ON person "
                f"WHEN OLD.id = '{second}' BEGIN SELECT RAISE(ABORT, 'gesperrt'); END"
            )
        )
    assert due_ids(ctx, date(2026, 1, 1)) == [first, second]
    report = retention.apply(ctx, date(2026, 1, 1))
    assert (report.persons, report.failed) == (1, 1) and report.errors

    with ctx.read() as session:
        assert session.get(Person, first).anonymised_at is not None
        assert session.get(Person, first).family_name == ""
        untouched = session.get(Person, second)
        assert untouched.family_name == "Zweitling" and untouched.anonymised_at is None
        assert untouched.street == STREET
        assert session.scalar(
            select(func.count()).select_from(SearchKey).where(SearchKey.person_id == second)
        )
        assert (
            session.scalar(select(func.count()).select_from(Consent).where(Consent.person_id == second)) == 1
        )
        assert SECRET in session.scalar(select(JournalEntry.text).where(JournalEntry.case_id == second_case))
        assert not session.scalar(select(Case.file_number).where(Case.id == second_case)).startswith("ANON-")

    with ctx.write() as session:
        session.execute(text("DROP TRIGGER block_second"))
    again = retention.apply(ctx, date(2026, 1, 1))
    assert (again.persons, again.failed) == (1, 0)


# --- Art. 17 and Art. 18 ---------------------------------------------------------------------------------


def test_erase_on_request_refused_in_open_case_and_under_restriction(ctx):
    person, case = make_person(ctx, closed_on=None)
    with pytest.raises(UserError, match="offenen Fall.*schließen Sie den Fall zuerst ab"):
        retention.erase_on_request(ctx, person, reason_code="widerruf")
    cases.change_phase(ctx, case, "closed", on=date(2022, 3, 15), closure_reason="kein_kontakt")
    retention.restrict(ctx, person, "Widerspruch wird geprüft")
    with pytest.raises(UserError, match="Art. 18 DSGVO eingeschränkt.*Einschränkung zuerst auf"):
        retention.erase_on_request(ctx, person, reason_code="widerruf")
    with pytest.raises(UserError, match="Löschgrund"):
        retention.erase_on_request(ctx, person, reason_code="einfach so")
    retention.lift_restriction(ctx, person)

    report = retention.erase_on_request(ctx, person, reason_code="widerruf")  # before the period ends
    assert report.persons == 1
    with ctx.read() as session:
        assert session.get(Person, person).anonymised_at is not None
        rules = set(session.scalars(select(DeletionProtocol.rule)))
        assert rules == {"request_art17:widerruf"}
    with pytest.raises(UserError, match="bereits gelöscht"):
        retention.erase_on_request(ctx, person, reason_code="widerruf")


def test_restriction_blocks_the_write_paths_but_not_storage(ctx):
    person, case = make_person(ctx, closed_on=None)
    provider = d.save_provider(ctx, d.ProviderData(name="Jobcenter Beispielkreis", city="Coesfeld"))
    referral = r.create_referral(ctx, case_id=case, provider_id=provider)
    retention.restrict(ctx, person, "Richtigkeit bestritten")
    blocked = "Art. 18 DSGVO eingeschränkt"
    with pytest.raises(UserError, match=blocked):
        persons.update_person(ctx, person, {"city": "Coesfeld"})
    with pytest.raises(UserError, match=blocked):
        journal.add_journal_entry(ctx, case, text="Anruf")
    with pytest.raises(UserError, match=blocked):
        letters.make_letter(ctx, "privacy", person_id=person)
    with pytest.raises(UserError, match=blocked):
        r.send_referral(
            ctx, referral, sent_via="post", override_reason="dringend, mündlich besprochen worden"
        )
    with pytest.raises(UserError, match=blocked):
        appointments.create_appointment(
            ctx,
            appointments.AppointmentData(
                type="beratung",
                starts_at=datetime(2026, 12, 3, 10),
                ends_at=datetime(2026, 12, 3, 11),
                case_id=case,
            ),
        )
    with pytest.raises(UserError, match="bereits eingeschränkt"):
        retention.restrict(ctx, person, "nochmal")
    with ctx.read() as session:  # stored data is kept as it was
        p = session.get(Person, person)
        assert p.city == "Dülmen" and p.restricted_at is not None
        assert session.scalar(select(func.count()).select_from(JournalEntry)) == 1
    retention.lift_restriction(ctx, person)
    persons.update_person(ctx, person, {"city": "Coesfeld"})
    with pytest.raises(UserError, match="nicht eingeschränkt"):
        retention.lift_restriction(ctx, person)


# --- the command line ------------------------------------------------------------------------------------


def cli(capsys, db, *args: str) -> tuple[int, str, str]:
    from kim_desktop.cli import main

    code = main([*args, "--db", str(db)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_preview_apply_and_person_rights(ctx, tmp_db_path, capsys):
    due_person, _ = make_person(ctx, "Altfall", closed_on=date(2020, 5, 1), opened_on=date(2020, 1, 6))
    other, other_case = make_person(ctx, "Offenfall", closed_on=None)
    ctx.database.dispose()

    code, out, _err = cli(capsys, tmp_db_path, "retention", "--json")
    import json

    preview = json.loads(out)
    assert code == 0 and preview["persons"] == 1 and preview["items"][0]["person_id"] == due_person
    assert "Altfall" not in out
    code, out, _err = cli(capsys, tmp_db_path, "retention")
    assert code == 0 and "1 Person ist zur Löschung fällig." in out and "Nichts wurde geändert" in out
    code, out, _err = cli(capsys, tmp_db_path, "retention", "--apply")
    assert code == 0 and "1 Person anonymisiert." in out and "Altfall" not in out
    code, out, _err = cli(capsys, tmp_db_path, "retention", "--json")
    assert json.loads(out)["persons"] == 0

    code, _out, err = cli(capsys, tmp_db_path, "person", "restrict", other, "--reason", "Widerspruch")
    assert code == 0
    code, _out, err = cli(capsys, tmp_db_path, "person", "update", other, "--city", "Coesfeld")
    assert code == 1 and "Art. 18" in err
    code, _out, err = cli(capsys, tmp_db_path, "person", "erase", other, "--yes")
    assert code == 1 and "Art. 18" in err
    assert cli(capsys, tmp_db_path, "person", "unrestrict", other)[0] == 0
    code, _out, err = cli(capsys, tmp_db_path, "person", "erase", other)
    assert code == 1 and "--yes" in err
    code, _out, err = cli(capsys, tmp_db_path, "person", "erase", other, "--yes")
    assert code == 1 and "offenen Fall" in err

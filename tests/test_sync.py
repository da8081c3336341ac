"""Laptop replica and sync (issue 9): checkout, field-level merge, conflicts, tombstones, crash safety, locks.

The office database is a plain KIM SQLite file here (fast); tests/test_sync_postgres.py runs the same flows
against the real PostgreSQL server.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sync_office import PASSWORD, Office

from kim_desktop.db.models import ChangeRecord, JournalEntry, Person, SyncReceipt
from kim_desktop.errors import UserError
from kim_desktop.services import journal, login, persons, sync

pytestmark = pytest.mark.usefixtures("fast_kdf")


@pytest.fixture
def office(tmp_path):
    office = Office(tmp_path / "office.sqlite3")
    yield office
    office.close()


def take(office, path, **kwargs):
    result = sync.checkout(office.url, path, "anna", PASSWORD, **kwargs)
    return result, login.open_context(path, username="anna", password=PASSWORD)


def person_of(ctx, person_id):
    with ctx.read() as session:
        return session.get(Person, person_id)


def test_checkout_copies_the_caseload_encrypted_with_own_key_and_offline_login(office, tmp_path):
    path = tmp_path / "laptop.sqlite3"
    result, laptop = take(office, path)
    try:
        assert result.cases == 3 and result.persons == 3
        assert login.is_encrypted(path)
        assert laptop.actor.user_id == office.anna
        with laptop.read() as session:
            ids = set(session.scalars(select(Person.id)))
            # the colleague's case stays in the office; directory and code lists came along
            assert ids == set(office.persons)
            assert session.scalar(select(func.count()).select_from(ChangeRecord)) == 0
        # search works on the laptop
        from kim_desktop.services.search import search_persons

        with laptop.read() as session:
            assert [h.id for h in search_persons(session, "Klientin1")] == [office.persons[1]]
        with pytest.raises(UserError):
            login.open_context(path, username="anna", password="falsch-falsch-1")
    finally:
        laptop.database.dispose()


def test_checkout_refuses_an_existing_file_and_a_wrong_password(office, tmp_path):
    path = tmp_path / "laptop.sqlite3"
    with pytest.raises(UserError):
        sync.checkout(office.url, path, "anna", "nicht-das-passwort")
    assert not path.exists()
    take(office, path)[1].database.dispose()
    with pytest.raises(UserError, match="gibt es schon"):
        sync.checkout(office.url, path, "anna", PASSWORD)


def test_checkout_of_chosen_case_and_invisible_case(office, tmp_path):
    result, laptop = take(office, tmp_path / "a.sqlite3", case_ids=[office.cases[0]])
    laptop.database.dispose()
    assert result.cases == 1
    with pytest.raises(UserError, match="nicht sehen"):
        sync.checkout(office.url, tmp_path / "b.sqlite3", "anna", PASSWORD, case_ids=[office.other_case])
    assert not (tmp_path / "b.sqlite3").exists()


def test_fields_merge_and_both_sides_change_goes_to_inbox(office, tmp_path):
    _, laptop = take(office, tmp_path / "laptop.sqlite3")
    try:
        pid = office.persons[0]
        persons.update_person(laptop, pid, {"phone": "0221 111"})
        persons.update_person(office.ctx, pid, {"street": "Domstraße 1"})
        persons.update_person(laptop, pid, {"city": "Bonn"})
        persons.update_person(office.ctx, pid, {"city": "Düren"})
        result = sync.sync(laptop, office.url)
        assert result.pushed >= 1 and result.conflicts == 1
        assert result.pulled >= 1
        here, there = person_of(laptop, pid), office.person(pid)
        assert (here.phone, here.street) == ("0221 111", "Domstraße 1")
        assert (there.phone, there.street) == ("0221 111", "Domstraße 1")
        assert (here.city, there.city) == ("Bonn", "Düren")  # never overwritten
        [conflict] = sync.open_conflicts(laptop)
        assert (conflict.field, conflict.base_value, conflict.local_value, conflict.remote_value) == (
            "city",
            "Köln",
            "Bonn",
            "Düren",
        )
        sync.resolve_conflict(laptop, conflict.id, value="Bonn-Düren")
        assert sync.open_conflicts(laptop) == []
        again = sync.sync(laptop, office.url)
        assert again.pushed == 1 and again.conflicts == 0
        assert office.person(pid).city == person_of(laptop, pid).city == "Bonn-Düren"
        # nothing left: a further sync moves nothing
        assert sync.sync(laptop, office.url).to_json() == {"pushed": 0, "pulled": 0, "conflicts": 0}
    finally:
        laptop.database.dispose()


def test_new_rows_and_tombstones_travel_both_ways(office, tmp_path):
    _, laptop = take(office, tmp_path / "laptop.sqlite3")
    try:
        case = office.cases[1]
        mine = journal.add_journal_entry(laptop, case, text="Hausbesuch unterwegs")
        theirs = journal.add_journal_entry(office.ctx, case, text="Anruf im Büro")
        old = journal.add_journal_entry(office.ctx, case, text="wird gelöscht")
        sync.sync(laptop, office.url)
        journal.delete_journal_entry(laptop, old)
        sync.sync(laptop, office.url)
        for ctx in (laptop, office.ctx):
            with ctx.read() as session:
                entries = {
                    e.id: e for e in session.scalars(select(JournalEntry).where(JournalEntry.case_id == case))
                }
            assert {mine, theirs, old} <= set(entries)
            assert entries[old].deleted_at is not None and entries[mine].deleted_at is None
        # a new case of the office for anna comes along; the colleague's case does not
        new_case = office.add_case("Neu", office.anna)
        result = sync.sync(laptop, office.url)
        assert result.added_cases == 1
        with laptop.read() as session:
            assert session.get(Person, office.persons[-1]) is not None
            assert session.scalar(select(func.count()).select_from(Person)) == 4
        assert new_case
    finally:
        laptop.database.dispose()


def test_reassigned_case_leaves_the_laptop_only_after_sync(office, tmp_path):
    _, laptop = take(office, tmp_path / "laptop.sqlite3")
    try:
        case, pid = office.cases[2], office.persons[2]
        persons.update_person(laptop, pid, {"phone": "0170 222"})
        from kim_desktop.db.models import Case

        with office.ctx.write() as session:
            session.get(Case, case).case_manager_id = office.bernd
        result = sync.sync(laptop, office.url)
        assert result.purged_cases == 1 and result.pushed >= 1
        assert office.person(pid).phone == "0170 222"  # pushed first, then removed
        with laptop.read() as session:
            assert session.get(Person, pid) is None
            assert session.scalar(select(func.count()).where(ChangeRecord.entity_id == pid)) == 0
    finally:
        laptop.database.dispose()


def test_cut_connection_after_office_commit_is_finished_by_next_sync(office, tmp_path):
    _, laptop = take(office, tmp_path / "laptop.sqlite3")
    try:
        pid = office.persons[0]
        persons.update_person(laptop, pid, {"phone": "0221 1"})
        persons.update_person(laptop, pid, {"phone": "0221 2"})
        journal.add_journal_entry(laptop, office.cases[0], text="unterwegs")

        class Cut(Exception):
            pass

        def hook(point):
            if point == "push_remote_committed":
                raise Cut

        with pytest.raises(Cut):
            sync.sync(laptop, office.url, hook=hook)
        assert office.person(pid).phone == "0221 2"  # the office has it
        with office.ctx.read() as session:
            receipts = session.scalar(select(func.count()).select_from(SyncReceipt))
        with laptop.read() as session:
            unsynced = session.scalar(select(func.count()).where(ChangeRecord.synced.is_(False)))
        assert receipts == unsynced == 4  # phone twice, updated_by, the new entry: applied, not confirmed
        # someone in the office edits the same field after the cut: the retry must not treat the laptop's
        # already applied change as a new one (it is answered from its receipt)
        persons.update_person(office.ctx, pid, {"phone": "0221 3"})
        result = sync.sync(laptop, office.url)
        assert result.conflicts == 0 and result.pushed == 4
        assert office.person(pid).phone == person_of(laptop, pid).phone == "0221 3"
        with office.ctx.read() as session:
            n = session.scalar(
                select(func.count()).where(
                    JournalEntry.case_id == office.cases[0], JournalEntry.text == "unterwegs"
                )
            )
            assert n == 1
        sync.sync(laptop, office.url)
        with office.ctx.read() as session:  # confirmed receipts are cleaned up
            assert session.scalar(select(func.count()).select_from(SyncReceipt)) == 0
    finally:
        laptop.database.dispose()


@pytest.mark.parametrize("point", ["pull_fetched", "pull_committed", "push_local_committed"])
def test_cut_at_other_points_leaves_both_consistent(office, tmp_path, point):
    _, laptop = take(office, tmp_path / "laptop.sqlite3")
    try:
        pid = office.persons[0]
        persons.update_person(laptop, pid, {"phone": "0221 5"})
        persons.update_person(office.ctx, pid, {"street": "Ring 2"})

        def hook(p):
            if p == point:
                raise ConnectionError

        with pytest.raises(ConnectionError):
            sync.sync(laptop, office.url, hook=hook)
        sync.sync(laptop, office.url)
        here, there = person_of(laptop, pid), office.person(pid)
        assert (here.phone, here.street) == (there.phone, there.street) == ("0221 5", "Ring 2")
        assert sync.open_conflicts(laptop) == []
    finally:
        laptop.database.dispose()


def test_replica_of_another_office_is_refused(office, tmp_path):
    _, laptop = take(office, tmp_path / "laptop.sqlite3")
    other = Office(tmp_path / "other.sqlite3", n_cases=1)
    try:
        persons.update_person(laptop, office.persons[0], {"phone": "0221 9"})
        with pytest.raises(UserError, match="anderen Dienststelle"):
            sync.sync(laptop, other.url)
        with other.ctx.read() as session:
            assert session.scalar(select(func.count()).select_from(SyncReceipt)) == 0
        assert sync.sync(laptop, office.url).pushed >= 1  # nothing lost
        assert office.person(office.persons[0]).phone == "0221 9"
    finally:
        laptop.database.dispose()
        other.close()


def test_second_sync_at_once_is_refused(office, tmp_path):
    path = tmp_path / "laptop.sqlite3"
    _, laptop = take(office, path)
    second = login.open_context(path, username="anna", password=PASSWORD)
    try:
        persons.update_person(laptop, office.persons[0], {"phone": "0221 7"})
        messages = []

        def hook(point):
            if point == "push_remote_committed" and not messages:
                with pytest.raises(UserError, match="läuft bereits") as info:
                    sync.sync(second, office.url)
                messages.append(info.value.message)

        result = sync.sync(laptop, office.url, hook=hook)
        assert messages and result.pushed >= 1
        assert office.person(office.persons[0]).phone == "0221 7"
    finally:
        laptop.database.dispose()
        second.database.dispose()


def test_wrong_laptop_clock_changes_nothing_in_the_order(office, tmp_path):
    _, laptop = take(office, tmp_path / "laptop.sqlite3")
    try:
        pid = office.persons[0]
        persons.update_person(laptop, pid, {"city": "Frühstadt"})
        persons.update_person(laptop, pid, {"city": "Spätstadt"})
        with laptop.write() as session:  # the laptop's clock was a day behind: the later edit looks older
            first, second = session.scalars(
                select(ChangeRecord).where(ChangeRecord.field == "city").order_by(ChangeRecord.seq)
            )
            first.at, second.at = second.at, first.at - timedelta(days=1)
        persons.update_person(office.ctx, pid, {"street": "Uhrweg 1"})
        result = sync.sync(laptop, office.url)
        assert result.conflicts == 0
        assert office.person(pid).city == "Spätstadt" and person_of(laptop, pid).street == "Uhrweg 1"
    finally:
        laptop.database.dispose()


def test_sync_on_a_database_that_is_no_replica(office, tmp_path):
    with pytest.raises(UserError, match="keine Replik"):
        sync.sync(office.ctx, office.url)


# --- command line ---------------------------------------------------------------------------------------


def test_cli_checkout_sync_conflicts(office, tmp_path, monkeypatch, capsys):
    from kim_desktop.cli import main

    path = tmp_path / "laptop.sqlite3"
    monkeypatch.setenv("KIM_USER", "anna")
    monkeypatch.setenv("KIM_DB_PASSWORD", PASSWORD)
    assert main(["checkout", "--remote", office.url, "--db", str(path), "--case", office.cases[0]]) == 0
    assert "1" in capsys.readouterr().out
    laptop = login.open_context(path, username="anna", password=PASSWORD)
    try:
        persons.update_person(laptop, office.persons[0], {"city": "Aachen"})
    finally:
        laptop.database.dispose()
    persons.update_person(office.ctx, office.persons[0], {"city": "Essen"})
    assert main(["sync", "--remote", office.url, "--db", str(path), "--json"]) == 0
    # pushed: "updated_by" (who saved last) travels; the city is in the inbox
    assert json.loads(capsys.readouterr().out) == {"pushed": 1, "pulled": 0, "conflicts": 1}
    assert main(["conflicts", "--db", str(path), "--json"]) == 0
    [item] = json.loads(capsys.readouterr().out)
    assert (item["field"], item["local_value"], item["remote_value"]) == ("city", "Aachen", "Essen")
    assert main(["conflicts", "--db", str(path), "--resolve", item["id"], "--take", "local"]) == 0
    assert main(["sync", "--remote", office.url, "--db", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["conflicts"] == 0
    assert office.person(office.persons[0]).city == "Aachen"
    assert main(["conflicts", "--db", str(path)]) == 0
    assert "Keine offenen Konflikte" in capsys.readouterr().out
    assert main(["sync", "--remote", str(tmp_path / "fehlt.sqlite3"), "--db", str(path), "--json"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Fehler:") and len(err.strip().splitlines()) == 1


def test_pull_brings_only_rows_in_scope_and_checkout_by_person(office, tmp_path):
    result, laptop = take(office, tmp_path / "laptop.sqlite3", person_ids=[office.persons[1]])
    try:
        assert result.cases == 1
        with office.ctx.read() as session:
            from kim_desktop.db.models import Case

            other_person = session.get(Case, office.other_case).person_id
        persons.update_person(office.ctx, other_person, {"city": "Münster"})
        journal.add_journal_entry(office.ctx, office.other_case, text="nicht für den Laptop")
        journal.add_journal_entry(office.ctx, office.cases[0], text="auch nicht: anderer Fall")
        persons.update_person(office.ctx, office.persons[1], {"city": "Siegen"})
        sync.sync(laptop, office.url)
        with laptop.read() as session:
            assert session.get(Person, other_person) is None
            assert session.scalar(select(func.count()).select_from(JournalEntry)) == 0
            assert session.get(Person, office.persons[1]).city == "Siegen"
    finally:
        laptop.database.dispose()


def _nationalities(ctx, pid):
    from kim_desktop.db.models import PersonNationality

    with ctx.read() as session:
        return sorted(
            session.scalars(select(PersonNationality.country_code).where(PersonNationality.person_id == pid))
        )


def test_child_rows_without_history_travel_and_conflict(office, tmp_path):
    _, laptop = take(office, tmp_path / "laptop.sqlite3")
    try:
        first, second = office.persons[0], office.persons[1]
        persons.update_person(laptop, first, {"nationalities": ["SY", "TR"]})
        persons.update_person(office.ctx, second, {"nationalities": ["UA"]})
        sync.sync(laptop, office.url)
        assert _nationalities(office.ctx, first) == ["SY", "TR"]
        assert _nationalities(laptop, second) == ["UA"]
        # both sides change the same person's nationalities: both sets go to the inbox, nothing is overwritten
        persons.update_person(laptop, first, {"nationalities": ["SY"]})
        persons.update_person(office.ctx, first, {"nationalities": ["IQ"]})
        result = sync.sync(laptop, office.url)
        assert result.conflicts == 1
        assert (_nationalities(laptop, first), _nationalities(office.ctx, first)) == (["SY"], ["IQ"])
        [conflict] = [c for c in sync.open_conflicts(laptop) if c.field == "person_nationality"]
        assert "SY" in conflict.local_value and "IQ" in conflict.remote_value
        sync.resolve_conflict(laptop, conflict.id, choice="local")
        sync.sync(laptop, office.url)
        assert _nationalities(office.ctx, first) == _nationalities(laptop, first) == ["SY"]
        assert sync.open_conflicts(laptop) == []
    finally:
        laptop.database.dispose()


def test_laptop_clock_a_day_behind_gets_a_warning_and_loses_nothing(office, tmp_path, monkeypatch, capsys):
    from kim_desktop.cli import main

    path = tmp_path / "laptop.sqlite3"
    _, laptop = take(office, path)
    laptop.database.dispose()
    persons.update_person(office.ctx, office.persons[0], {"city": "Morgenstadt"})
    with office.ctx.write() as session:  # the office's newest change lies a day ahead of this laptop's clock
        newest = session.scalars(select(ChangeRecord).order_by(ChangeRecord.seq.desc()).limit(1)).one()
        newest.at = newest.at + timedelta(days=1)
    monkeypatch.setenv("KIM_USER", "anna")
    monkeypatch.setenv("KIM_DB_PASSWORD", PASSWORD)
    assert main(["sync", "--remote", office.url, "--db", str(path), "--json"]) == 0
    captured = capsys.readouterr()
    assert "Uhr dieses Rechners" in captured.err
    assert json.loads(captured.out)["pulled"] >= 1
    laptop = login.open_context(path, username="anna", password=PASSWORD)
    try:
        assert person_of(laptop, office.persons[0]).city == "Morgenstadt"
    finally:
        laptop.database.dispose()

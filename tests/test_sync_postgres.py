"""Laptop replica and sync against the real office server (PostgreSQL, ``KIM_TEST_POSTGRES_URL``).

Skipped locally when the variable is unset; in CI (``CI`` set) a missing or unreachable server fails.
"""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sync_office import PASSWORD, Office

from kim_desktop.db.engine import resolve_location
from kim_desktop.errors import UserError
from kim_desktop.services import journal, login, persons, sync

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("fast_kdf")]


@pytest.fixture
def office(pg_database, tmp_path):
    office = Office(None, url=pg_database())
    yield office
    office.close()


class TestSyncWithPostgres:
    def _laptop(self, office, path):
        sync.checkout(office.url, path, "anna", PASSWORD)
        return login.open_context(path, username="anna", password=PASSWORD)

    def test_checkout_merge_conflict_and_tombstone(self, office, tmp_path):
        laptop = self._laptop(office, tmp_path / "laptop.sqlite3")
        try:
            pid, case = office.persons[0], office.cases[0]
            persons.update_person(laptop, pid, {"phone": "0221 1", "city": "Bonn"})
            persons.update_person(office.ctx, pid, {"street": "Ring 1", "city": "Düren"})
            entry = journal.add_journal_entry(laptop, case, text="unterwegs")
            gone = journal.add_journal_entry(office.ctx, case, text="im Büro")
            journal.delete_journal_entry(office.ctx, gone)
            result = sync.sync(laptop, office.url)
            assert result.conflicts == 1 and result.pushed >= 2 and result.pulled >= 2
            there = office.person(pid)
            assert (there.phone, there.street, there.city) == ("0221 1", "Ring 1", "Düren")
            from kim_desktop.db.models import JournalEntry

            with office.ctx.read() as session:
                assert session.get(JournalEntry, entry).text == "unterwegs"
            with laptop.read() as session:
                assert session.get(JournalEntry, gone).deleted_at is not None
            [conflict] = sync.open_conflicts(laptop)
            sync.resolve_conflict(laptop, conflict.id, choice="remote")
            assert sync.sync(laptop, office.url).to_json() == {"pushed": 0, "pulled": 0, "conflicts": 0}
        finally:
            laptop.database.dispose()

    def test_cut_after_office_commit_and_second_copy_refused_by_server_lock(self, office, tmp_path):
        path = tmp_path / "laptop.sqlite3"
        laptop = self._laptop(office, path)
        copy = tmp_path / "copy.sqlite3"
        shutil.copy(path, copy)
        shutil.copy(path.with_name(path.name + ".keys"), copy.with_name(copy.name + ".keys"))
        twin = login.open_context(copy, username="anna", password=PASSWORD)
        try:
            pid = office.persons[1]
            persons.update_person(laptop, pid, {"phone": "0221 42"})
            refused = []

            def hook(point):
                if point == "push_remote_committed":
                    with pytest.raises(UserError, match="läuft bereits") as info:
                        sync.sync(twin, office.url)  # same replica, other file: the server's lock says no
                    refused.append(info.value.message)
                    raise ConnectionError

            with pytest.raises(ConnectionError):
                sync.sync(laptop, office.url, hook=hook)
            assert refused and office.person(pid).phone == "0221 42"
            persons.update_person(office.ctx, pid, {"phone": "0221 43"})
            result = sync.sync(laptop, office.url)
            assert result.conflicts == 0
            with laptop.read() as session:
                from kim_desktop.db.models import Person

                assert session.get(Person, pid).phone == "0221 43"
        finally:
            laptop.database.dispose()
            twin.database.dispose()


def test_pull_never_skips_a_change_that_commits_late(office, tmp_path, monkeypatch):
    """A transaction that took a change number earlier but commits later is waited for, never skipped."""
    from sqlalchemy import create_engine

    from kim_desktop.db.engine import resolve_location

    path = tmp_path / "laptop.sqlite3"
    sync.checkout(office.url, path, "anna", PASSWORD)
    laptop = login.open_context(path, username="anna", password=PASSWORD)
    slow = create_engine(resolve_location(office.url).url)
    try:
        pid = office.persons[0]
        with slow.connect() as early:
            # an office transaction changes the city and takes its change numbers, but has not committed yet
            early.execute(
                text("UPDATE person SET city = 'Spätlingen', version = version + 1 WHERE id = :id"),
                {"id": pid},
            )
            early.execute(
                text(
                    "INSERT INTO change_record (at, entity_type, entity_id, operation, field, old_value, new_value,"
                    " synced) VALUES (now(), 'person', :id, 'update', 'city', 'Köln', 'Spätlingen', false)"
                ),
                {"id": pid},
            )
            persons.update_person(office.ctx, office.persons[1], {"city": "Schnellhausen"})  # commits first
            monkeypatch.setattr(sync, "PG_WAIT_S", 0.5)
            with pytest.raises(UserError, match="längere Änderung"):
                sync.sync(laptop, office.url)
            early.commit()
        result = sync.sync(laptop, office.url)
        assert result.pulled >= 2
        with laptop.read() as session:
            from kim_desktop.db.models import Person

            assert session.get(Person, pid).city == "Spätlingen"
            assert session.get(Person, office.persons[1]).city == "Schnellhausen"
    finally:
        slow.dispose()
        laptop.database.dispose()


def _own_role_url(office) -> str:
    """The office server without a database user: programs connect with the user's own role. (``URL.set``
    keeps a user given as None, hence ``_replace``.)"""
    url = make_url(resolve_location(office.url).url)._replace(username=None, password=None)
    assert url.username is None
    return url.render_as_string(hide_password=False)


def _as_role(office, role: str):
    """A SQL tool connected with a user's own database role (what a curious user could do)."""
    return create_engine(make_url(office.url).set(username=role, password=PASSWORD))


def test_sync_as_the_users_own_role(office, tmp_path):
    """Anna checks out and syncs with her own database role (row security applies, migration 0012): her
    colleague's change of a case she may see is pulled, his change of a case she may not see neither travels
    nor is readable in the change log; her own changes reach the office; a field changed on both sides goes
    to the conflict inbox."""
    from kim_desktop.db.models import CaseShare, JournalEntry, Person

    with office.ctx.write() as session:  # Bernd deputises for Anna's first case
        session.add(CaseShare(case_id=office.cases[0], user_id=office.bernd))
    server = _own_role_url(office)
    remote = sync._open_remote(server, "anna", PASSWORD)
    try:
        with remote.engine.connect() as connection:  # the sync's connection: Anna's role, no other
            assert connection.execute(text("SELECT session_user")).scalar() == "kim_anna"
    finally:
        remote.dispose()
    path = tmp_path / "laptop.sqlite3"
    made = sync.checkout(server, path, "anna", PASSWORD)
    assert made.cases == len(office.cases)
    laptop = login.open_context(path, username="anna", password=PASSWORD)
    bernd = login.open_context(server, username="bernd", password=PASSWORD)
    anna_sql = _as_role(office, "kim_anna")
    pid, case = office.persons[0], office.cases[0]
    try:
        assert bernd.actor.user_id == office.bernd  # the colleague works with his own role, too
        persons.update_person(laptop, pid, {"phone": "0221 77", "city": "Bonn"})
        mine = journal.add_journal_entry(laptop, case, text="unterwegs")
        persons.update_person(bernd, pid, {"street": "Rolle 1", "city": "Düren"})
        seen = journal.add_journal_entry(bernd, case, text="Vertretung im Büro")
        hidden = journal.add_journal_entry(bernd, office.other_case, text="Nur für Bernds Fall")

        result = sync.sync(laptop, server, username="anna", password=PASSWORD)

        assert result.conflicts == 1 and result.pushed >= 3 and result.pulled >= 2
        with laptop.read() as session:
            person = session.get(Person, pid)
            assert (person.phone, person.street, person.city) == ("0221 77", "Rolle 1", "Bonn")
            assert session.get(JournalEntry, seen).text == "Vertretung im Büro"
            assert session.get(JournalEntry, hidden) is None
            assert all(e.text != "Nur für Bernds Fall" for e in session.query(JournalEntry))
        [conflict] = sync.open_conflicts(laptop)
        assert (conflict.entity_id, conflict.field) == (pid, "city")
        assert (conflict.local_value, conflict.remote_value) == ("Bonn", "Düren")
        there = office.person(pid)
        assert (there.phone, there.street, there.city) == ("0221 77", "Rolle 1", "Düren")
        with bernd.read() as session:  # the office sees the laptop's entry
            assert session.get(JournalEntry, mine).text == "unterwegs"
        with anna_sql.connect() as connection:  # the change log does not leak the hidden case
            count = "SELECT count(*) FROM change_record WHERE entity_id = :id"
            assert connection.execute(text(count), {"id": hidden}).scalar() == 0
            assert connection.execute(text(count), {"id": office.other_case}).scalar() == 0
            assert connection.execute(text(count), {"id": seen}).scalar() >= 1
            assert (
                connection.execute(
                    text("SELECT count(*) FROM journal_entry WHERE id = :id"), {"id": hidden}
                ).scalar()
                == 0
            )

        sync.resolve_conflict(laptop, conflict.id, choice="local")
        again = sync.sync(laptop, server, username="anna", password=PASSWORD)
        assert (again.pushed, again.conflicts) == (1, 0)
        assert office.person(pid).city == "Bonn"
        assert sync.sync(laptop, server, username="anna", password=PASSWORD).to_json() == {
            "pushed": 0, "pulled": 0, "conflicts": 0,
        }  # fmt: skip
    finally:
        anna_sql.dispose()
        bernd.database.dispose()
        laptop.database.dispose()


def test_sync_as_own_role_refused_without_the_feed_policy(office, tmp_path):
    """A server database without migration 0012 hides the colleagues' changes from the user's own role: the
    sync says so in German before it reads or writes anything."""
    server = _own_role_url(office)
    path = tmp_path / "laptop.sqlite3"
    sync.checkout(office.url, path, "anna", PASSWORD)
    laptop = login.open_context(path, username="anna", password=PASSWORD)
    try:
        persons.update_person(laptop, office.persons[0], {"phone": "0221 78"})
        with office.ctx.write() as session:
            session.execute(text("DROP POLICY kim_sync_feed ON change_record"))
        with pytest.raises(UserError, match="kim-desktop init") as info:
            sync.sync(laptop, server, username="anna", password=PASSWORD)
        assert "Änderungsprotokoll" in info.value.message
        assert office.person(office.persons[0]).phone is None
        sync.sync(laptop, office.url)  # the schema owner's connection still works
        assert office.person(office.persons[0]).phone == "0221 78"
    finally:
        laptop.database.dispose()

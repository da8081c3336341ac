"""The office server enforces roles and caseloads itself: own PostgreSQL role per user, row-level security
(issue 9, part 2; migration 0011, services.server_roles, decision record 013).

Two case managers A and B, reception and administration log in with their own roles (``kim_<username>``).
A SQL tool connected as A sees A's journal and nothing of B's; reception sees names, not case content; the
audit trail is append-only for everyone. The same server as tests/test_postgres.py (``KIM_TEST_POSTGRES_URL``,
a fresh database per module). PostgreSQL roles are server-wide: the user names carry a random suffix and the
login roles are dropped at the end.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import date

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from kim_desktop.db.engine import resolve_location
from kim_desktop.errors import UserError
from kim_desktop.services import cases, followups, journal, login, persons, users
from kim_desktop.services.permissions import PermissionDeniedError
from kim_desktop.services.server_roles import login_role

pytestmark = pytest.mark.postgres

IN_CI = bool(os.environ.get("CI"))
SUFFIX = uuid.uuid4().hex[:6]
NAMES = {key: f"{key}-{SUFFIX}" for key in ("chef", "anna", "ben", "empfang", "lea")}
PASSWORD = {key: f"Geheim-{key}-2026!" for key in NAMES}


def _admin_url() -> str:
    url = os.environ.get("KIM_TEST_POSTGRES_URL")
    if not url:
        if IN_CI:
            pytest.fail("KIM_TEST_POSTGRES_URL ist nicht gesetzt: in CI müssen die PostgreSQL-Tests laufen.")
        pytest.skip("KIM_TEST_POSTGRES_URL not set (PostgreSQL tests run in CI)")
    return resolve_location(url).url


@pytest.fixture(scope="module")
def office():
    """A fresh office database: migrated by the owner (the test server's admin), the first administrator
    ``chef`` made by ``init``, then case managers anna and ben, reception and a second case manager lea,
    each with their own login role. Yields the owner's URL and the users' URL (no user, no password)."""
    engine = create_engine(_admin_url(), isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        engine.dispose()
        if IN_CI:
            pytest.fail(f"PostgreSQL unreachable: {type(exc).__name__}")
        pytest.skip(f"PostgreSQL unreachable: {type(exc).__name__}")
    name = f"kim_test_{uuid.uuid4().hex[:12]}"
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    owner_url = make_url(_admin_url()).set(database=name).render_as_string(hide_password=False)
    server_url = make_url(owner_url).set(username=None, password=None).render_as_string(hide_password=False)
    try:
        ctx, first = login.init_server(owner_url, NAMES["chef"], PASSWORD["chef"])
        assert first == NAMES["chef"]
        ctx.database.dispose()
        admin = login.open_context(server_url, username=NAMES["chef"], password=PASSWORD["chef"])
        try:
            assert admin.actor.user_id is not None and "admin" in admin.actor.roles
            for key, roles in (
                ("anna", ["case_management"]),
                ("ben", ["case_management"]),
                ("empfang", ["reception"]),
                ("lea", ["case_management"]),
            ):
                users.add_user(admin, NAMES[key], key.capitalize() + " Beispiel", PASSWORD[key], roles)
        finally:
            admin.database.dispose()
        yield {"owner": owner_url, "server": server_url, "engine": engine}
    finally:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            for key in NAMES:
                connection.execute(text(f'DROP ROLE IF EXISTS "{login_role(NAMES[key])}"'))
        engine.dispose()


def app(office, key: str):
    """The program as user ``key`` (services on their own login, as the GUI after the login dialog)."""
    return login.open_context(office["server"], username=NAMES[key], password=PASSWORD[key])


def sql_tool(office, key: str, password: str | None = None) -> psycopg.Connection:
    """A SQL tool connected with the user's own role and password (what a curious user could do)."""
    url = make_url(office["server"])
    return psycopg.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        dbname=url.database,
        user=login_role(NAMES[key]),
        password=password or PASSWORD[key],
        connect_timeout=5,
        autocommit=True,
    )


@pytest.fixture(scope="module")
def caseloads(office):
    """Anna and Ben each open a case for a client of their own and write a journal entry, through the app."""
    made = {}
    for key, family in (("anna", "Haddad"), ("ben", "Petrenko")):
        ctx = app(office, key)
        try:
            person = persons.create_person(ctx, {"family_name": family, "given_names": "Test"})
            case = cases.open_case(ctx, person.id, consent_on=date.today(), case_manager_id=ctx.actor.user_id)
            entry = journal.add_journal_entry(ctx, case.id, text=f"Gespräch mit {family}")
            made[key] = {"person": person.id, "case": case.id, "entry": getattr(entry, "id", entry)}
        finally:
            ctx.database.dispose()
    return made


# --- the logins -----------------------------------------------------------------------------------------


def test_every_user_has_an_own_role_in_the_right_groups(office):
    with office["engine"].connect() as connection:
        groups = dict(
            connection.execute(
                text(
                    "SELECT m.rolname, array_agg(g.rolname ORDER BY g.rolname) FROM pg_auth_members a "
                    "JOIN pg_roles m ON m.oid = a.member JOIN pg_roles g ON g.oid = a.roleid "
                    "WHERE m.rolname = ANY(:names) GROUP BY m.rolname"
                ),
                {"names": [login_role(n) for n in NAMES.values()]},
            ).all()
        )
        attributes = connection.execute(
            text(
                "SELECT bool_or(rolsuper OR rolcreaterole OR rolbypassrls) FROM pg_roles WHERE rolname = ANY(:n)"
            ),
            {"n": [login_role(n) for n in NAMES.values()]},
        ).scalar()
    assert groups[login_role(NAMES["anna"])] == ["kim_case_management", "kim_user"]
    assert groups[login_role(NAMES["empfang"])] == ["kim_reception", "kim_user"]
    assert set(groups[login_role(NAMES["chef"])]) == {
        "kim_user", "kim_case_management", "kim_team_lead", "kim_reception", "kim_admin",
    }  # fmt: skip
    assert attributes is False  # nobody gets CREATEROLE or BYPASSRLS: user management runs through functions
    ctx = app(office, "anna")
    try:
        with ctx.read() as session:
            assert session.execute(text("SELECT session_user")).scalar() == login_role(NAMES["anna"])
            view = users.find_user(session, NAMES["anna"])
            assert view.password_hash is None  # the server checks the password; no copy in the table
    finally:
        ctx.database.dispose()
    assert ctx.actor.roles == frozenset({"case_management"})


def test_the_server_checks_the_password(office):
    try:
        sql_tool(office, "anna", password="falsch-falsch-falsch").close()
    except psycopg.OperationalError:
        pass
    else:
        if IN_CI:
            pytest.fail("the server does not check passwords of kim_user members (.ci/postgres, pg_hba.conf)")
        pytest.skip("this server trusts local connections (pg_hba.conf): passwords are not checked")
    with pytest.raises(UserError, match="Benutzername oder Passwort"):
        login.open_context(office["server"], username=NAMES["anna"], password="falsch-falsch-falsch")


# --- row-level security, seen from a SQL tool ---------------------------------------------------------------


def test_a_case_manager_sees_only_the_own_journal(office, caseloads):
    with sql_tool(office, "anna") as conn:
        entries = conn.execute("SELECT id, case_id FROM journal_entry").fetchall()
        assert {case for _id, case in entries} == {caseloads["anna"]["case"]}
        case_ids = {row[0] for row in conn.execute("SELECT id FROM case_file")}
        assert case_ids == {caseloads["anna"]["case"]}
        # Names stay visible (the person list), Ben's client included; his case content does not.
        families = {row[0] for row in conn.execute("SELECT family_name FROM person")}
        assert {"Haddad", "Petrenko"} <= families
        assert (
            conn.execute(
                "SELECT count(*) FROM consent WHERE person_id = %s", (caseloads["ben"]["person"],)
            ).fetchone()[0]
            == 0
        )
    with sql_tool(office, "ben") as conn:
        entries = conn.execute("SELECT case_id FROM journal_entry").fetchall()
        assert {row[0] for row in entries} == {caseloads["ben"]["case"]}


def test_the_sync_feed_shows_the_change_records_of_visible_rows_only(office, caseloads):
    """Migration 0012: a case manager reads the change records of every row the table policies show them
    (whoever changed it), and none of another case's content; reception reads only its own entries."""
    content = ("case_file", "goal", "journal_entry", "consent", "follow_up", "document", "referral")
    for key in ("anna", "ben", "lea"):
        with sql_tool(office, key) as conn:
            for table in content:
                in_feed = {
                    row[0]
                    for row in conn.execute(
                        "SELECT DISTINCT entity_id FROM change_record WHERE entity_type = %s", (table,)
                    )
                }
                visible = {row[0] for row in conn.execute(f"SELECT id FROM {table}")}  # noqa: S608
                assert in_feed <= visible, (key, table)
                if table in ("case_file", "journal_entry"):  # made through the app: every row has its records
                    assert in_feed == visible, (key, table)
            mine = caseloads.get(key)
            entry_feed = {
                row[0]
                for row in conn.execute(
                    "SELECT entity_id FROM change_record WHERE entity_type = 'journal_entry'"
                )
            }
            others = {caseloads[k]["entry"] for k in ("anna", "ben") if k != key}
            assert not entry_feed & others
            if mine:
                assert mine["entry"] in entry_feed and mine["case"] in {
                    row[0]
                    for row in conn.execute(
                        "SELECT entity_id FROM change_record WHERE entity_type = 'case_file'"
                    )
                }
            # Names are open to every account of this database, so are their change records.
            persons_seen = {
                row[0]
                for row in conn.execute("SELECT entity_id FROM change_record WHERE entity_type = 'person'")
            }
            assert {caseloads["anna"]["person"], caseloads["ben"]["person"]} <= persons_seen
    with sql_tool(office, "empfang") as conn:
        assert (
            conn.execute(
                "SELECT count(*) FROM change_record WHERE entity_type IN ('case_file', 'journal_entry')"
            ).fetchone()[0]
            == 0
        )


def test_a_case_manager_cannot_change_or_add_to_another_case(office, caseloads):
    ben_case = caseloads["ben"]["case"]
    with sql_tool(office, "anna") as conn:
        assert conn.execute("UPDATE case_file SET phase = 'closed' WHERE id = %s", (ben_case,)).rowcount == 0
        assert (
            conn.execute("UPDATE journal_entry SET text = 'x' WHERE case_id = %s", (ben_case,)).rowcount == 0
        )
        assert conn.execute("DELETE FROM journal_entry WHERE case_id = %s", (ben_case,)).rowcount == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            conn.execute(
                "INSERT INTO journal_entry (id, case_id, entry_date, text, created_at, updated_at, version, "
                "system_generated, confidential) VALUES (%s, %s, current_date, 'x', now(), now(), 1, false, false)",
                (str(uuid.uuid4()), ben_case),
            )
    with sql_tool(office, "ben") as conn:
        texts = [
            row[0] for row in conn.execute("SELECT text FROM journal_entry WHERE case_id = %s", (ben_case,))
        ]
        assert texts == ["Gespräch mit Petrenko"]


def test_a_shared_case_becomes_visible_and_expires(office, caseloads):
    ben = app(office, "ben")
    try:
        with ben.read() as session:
            lea_id = users.find_user(session, NAMES["lea"]).id
    finally:
        ben.database.dispose()
    ben_case = caseloads["ben"]["case"]
    with sql_tool(office, "ben") as conn:
        conn.execute("INSERT INTO case_share (case_id, user_id) VALUES (%s, %s)", (ben_case, lea_id))
    with sql_tool(office, "lea") as conn:
        assert (
            conn.execute("SELECT count(*) FROM journal_entry WHERE case_id = %s", (ben_case,)).fetchone()[0]
            == 1
        )
    with sql_tool(office, "ben") as conn:
        conn.execute("UPDATE case_share SET until = current_date - 1 WHERE case_id = %s", (ben_case,))
    with sql_tool(office, "lea") as conn:
        assert conn.execute("SELECT count(*) FROM journal_entry").fetchone()[0] == 0


def test_reception_sees_names_but_no_case_content(office, caseloads):
    app(office, "empfang").database.dispose()  # a login through the program: one audit row of its own
    with sql_tool(office, "empfang") as conn:
        families = {row[0] for row in conn.execute("SELECT family_name FROM person")}
        assert {"Haddad", "Petrenko"} <= families
        for table in ("journal_entry", "case_file", "assessment", "goal", "consent", "document", "referral"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"SELECT * FROM {table}")
        conn.execute("SELECT count(*) FROM appointment").fetchone()  # the calendar is reception's work
        assert conn.execute("SELECT count(*) FROM audit_event").fetchone()[0] >= 1  # its own logins only
        own = conn.execute("SELECT count(DISTINCT user_id) FROM audit_event").fetchone()[0]
        assert own == 1


def test_the_audit_trail_is_append_only_for_everyone(office, caseloads):
    for key in ("anna", "chef"):
        with sql_tool(office, key) as conn:
            assert conn.execute("SELECT count(*) FROM audit_event").fetchone()[0] >= 1
            for statement in (
                "UPDATE audit_event SET action = 'x'",
                "DELETE FROM audit_event",
                "TRUNCATE audit_event",
            ):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(statement)
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("DELETE FROM change_record")
    # Even the schema owner (who is not subject to the policies) cannot rewrite it: a trigger refuses.
    owner = make_url(office["owner"])
    conn = psycopg.connect(
        host=owner.host, port=owner.port or 5432, dbname=owner.database, user=owner.username,
        password=owner.password, autocommit=True,
    )  # fmt: skip
    with conn, pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
        conn.execute("DELETE FROM audit_event")


def test_the_team_lead_role_reads_the_whole_audit_trail(office, caseloads):
    owner = create_engine(office["owner"])
    with owner.connect() as connection:
        everything = connection.execute(
            text("SELECT count(*), count(DISTINCT user_id) FROM audit_event")
        ).one()
    owner.dispose()
    with sql_tool(office, "chef") as conn:  # chef holds every role, team lead included
        seen = conn.execute("SELECT count(*), count(DISTINCT user_id) FROM audit_event").fetchone()
    assert seen[1] >= 3 and seen[0] >= everything[0]  # every user's rows (and chef's login since)


# --- the program under row-level security ---------------------------------------------------------------


def test_the_app_shows_a_case_manager_what_the_sql_tool_shows(office, caseloads):
    ctx = app(office, "anna")
    try:
        anna_case = caseloads["anna"]["case"]
        journal.add_journal_entry(ctx, anna_case, text="Zweiter Termin")
        with ctx.read() as session:
            page = followups.workplace(session, user_id=ctx.actor.user_id)
            listed = {c.id for c in cases.list_cases(session)}
            texts = sorted(e.text for e in journal.journal(session, anna_case))
            person_rows = persons.list_persons(session, 0, 100)
        assert listed == {anna_case}
        assert texts == ["Gespräch mit Haddad", "Zweiter Termin"]
        assert page is not None
        assert len(person_rows) >= 2
        with pytest.raises(UserError):  # Ben's case does not exist for Anna ("nicht gefunden")
            journal.add_journal_entry(ctx, caseloads["ben"]["case"], text="fremd")
    finally:
        ctx.database.dispose()
    with sql_tool(office, "anna") as conn:
        rows = sorted(r[0] for r in conn.execute("SELECT text FROM journal_entry"))
    assert rows == texts


def test_the_app_for_reception_lists_persons(office, caseloads):
    ctx = app(office, "empfang")
    try:
        with ctx.read() as session:
            rows = persons.list_persons(session, 0, 100)
        assert len(rows) >= 2
        with pytest.raises(PermissionDeniedError):
            cases.get_case(ctx, caseloads["anna"]["case"])
    finally:
        ctx.database.dispose()


# --- disabling and new passwords ---------------------------------------------------------------------------


def test_disabled_user_cannot_connect_and_reset_password_works(office, caseloads):
    admin = app(office, "chef")
    try:
        with admin.read() as session:
            lea_id = users.find_user(session, NAMES["lea"]).id
        users.reset_password(admin, lea_id, "Ganz-Neues-Passwort-1")
    finally:
        admin.database.dispose()
    with sql_tool(office, "lea", password="Ganz-Neues-Passwort-1") as conn:
        assert conn.execute("SELECT session_user").fetchone()[0] == login_role(NAMES["lea"])
    ctx = login.open_context(office["server"], username=NAMES["lea"], password="Ganz-Neues-Passwort-1")
    ctx.database.dispose()
    PASSWORD["lea"] = "Ganz-Neues-Passwort-1"

    still_open = sql_tool(office, "lea")  # a session opened before the account is disabled
    admin = app(office, "chef")
    try:
        users.disable_user(admin, lea_id)
    finally:
        admin.database.dispose()
    with pytest.raises(psycopg.OperationalError, match="not permitted to log in"):
        sql_tool(office, "lea")
    with pytest.raises(UserError):
        login.open_context(office["server"], username=NAMES["lea"], password=PASSWORD["lea"])
    with still_open:  # the policies need an active account: the open session sees no names any more
        assert still_open.execute("SELECT count(*) FROM person").fetchone()[0] == 0


def test_only_administration_manages_logins(office, caseloads):
    with sql_tool(office, "anna") as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("SELECT kim_create_login('kim_eve-x', 'x', ARRAY['admin'])")
    foreign = f"kim_foreign-{SUFFIX}"
    NAMES["foreign"] = f"foreign-{SUFFIX}"  # dropped with the others at the end
    with office["engine"].connect() as connection:
        connection.execute(text(f'CREATE ROLE "{foreign}" LOGIN'))
    with sql_tool(office, "chef") as conn:  # an administrator cannot take over a role that is not KIM's
        with pytest.raises(psycopg.errors.InvalidParameterValue):
            conn.execute("SELECT kim_set_login_password('postgres', 'x')")
        with pytest.raises(psycopg.errors.InvalidParameterValue):
            conn.execute("SELECT kim_create_login('kim_user', 'x', ARRAY['admin'])")
        for statement in ("SELECT kim_create_login(%s, 'x', ARRAY['admin'])", "SELECT kim_disable_login(%s)"):
            with pytest.raises(psycopg.errors.DuplicateObject):
                conn.execute(statement, (foreign,))
    ctx = app(office, "anna")
    try:
        with pytest.raises(PermissionDeniedError):
            users.add_user(ctx, f"eve-{SUFFIX}", "Eve", "Passwort-Passwort-1", ["admin"])
    finally:
        ctx.database.dispose()


def test_cli_users_add_and_login_in_server_mode(office, caseloads):
    env = {
        **os.environ,
        "KIM_DESKTOP_NO_LOG_FILE": "1",
        "KIM_USER": NAMES["chef"],
        "KIM_DB_PASSWORD": PASSWORD["chef"],
        "KIM_NEW_PASSWORD": "Cli-Passwort-2026",
    }
    name = f"tom-{SUFFIX}"
    NAMES["tom"] = name  # dropped with the others at the end
    result = subprocess.run(
        [sys.executable, "-m", "kim_desktop", "users", "add", name, "--name", "Tom Beispiel", "--role", "reception",
         "--db", office["server"]],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Benutzer angelegt" in result.stdout
    PASSWORD["tom"] = "Cli-Passwort-2026"
    with sql_tool(office, "tom") as conn:
        assert conn.execute("SELECT count(*) FROM person").fetchone()[0] >= 2
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM journal_entry")

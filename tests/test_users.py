"""User accounts on real SQLite files: add with username and password rules, list without hashes, disable
(never the last admin), reset a password, log in with growing lock delays (injected ``now``), identical
messages for unknown users and wrong passwords, rehash on new Argon2 parameters, audit events."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from kim_desktop import cli
from kim_desktop.db.models import AuditEvent, ChangeRecord, UserAccount
from kim_desktop.errors import NotFoundError, UserError, ValidationError
from kim_desktop.services import users
from kim_desktop.services.context import Actor, ServiceContext
from kim_desktop.services.permissions import PermissionDeniedError

PASSWORD = "Korrekt-Pferd-42"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fast_hasher(monkeypatch):
    """Cheap Argon2id parameters keep the tests fast (the algorithm stays the same)."""
    monkeypatch.setattr(users, "hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    monkeypatch.setattr(users, "_dummy_hash", None)


def _add(ctx, name="amira", roles=("case_management",), password=PASSWORD, **kw):
    return users.add_user(ctx, name, name.title() + " Test", password, list(roles), **kw)


def _events(ctx, action):
    with ctx.read() as session:
        return session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        ).all()


def test_add_and_list_users(ctx):
    view = _add(ctx, " Amira.K ", roles=["case_management", "team_lead", "case_management"], email="a@x.de")
    assert view.username == "amira.k" and view.roles == ("case_management", "team_lead") and view.active
    with ctx.read() as session:
        listed = users.list_users(session)
        stored = session.get(UserAccount, view.id)
        assert stored.password_hash.startswith("$argon2id$") and PASSWORD not in stored.password_hash
        changes = session.scalars(select(ChangeRecord).where(ChangeRecord.entity_id == view.id)).all()
    assert [u.username for u in listed] == ["amira.k"]
    assert "password_hash" not in json.dumps(listed[0].to_json()) and "argon2" not in json.dumps(
        listed[0].to_json()
    )
    assert not any(c.field == "password_hash" for c in changes)


@pytest.mark.parametrize(
    ("username", "password", "field"),
    [
        ("a", PASSWORD, "username"),
        ("hans peter", PASSWORD, "username"),
        ("-hans", PASSWORD, "username"),
        ("x" * 41, PASSWORD, "username"),
        ("hans", "kurz123", "password"),
        ("hans", "123456789", "password"),
        ("hansmeier12", "HansMeier12", "password"),
        ("hans", " " * 12, "password"),
    ],
)
def test_add_rejects_bad_username_or_password(ctx, username, password, field):
    with pytest.raises(ValidationError) as info:
        users.add_user(ctx, username, "Hans", password, ["reception"])
    assert field in info.value.field_errors


def test_add_rejects_duplicate_unknown_role_no_role_unknown_team(ctx):
    _add(ctx)
    with pytest.raises(ValidationError, match="bereits vergeben"):
        _add(ctx, "AMIRA")
    with pytest.raises(ValidationError, match="Unbekannte Rolle"):
        _add(ctx, "bea", roles=["boss"])
    with pytest.raises(ValidationError, match="Mindestens eine Rolle"):
        _add(ctx, "bea", roles=[])
    with pytest.raises(NotFoundError):
        _add(ctx, "bea", team_id="no-such-team")


def test_writes_require_users_manage(ctx):
    view = _add(ctx)
    clerk = ServiceContext(ctx.database, Actor("x", "Clerk", frozenset({"case_management", "team_lead"})))
    with pytest.raises(PermissionDeniedError, match="Verwalten der Benutzer"):
        _add(clerk, "bea")
    with pytest.raises(PermissionDeniedError):
        users.disable_user(clerk, view.id)
    with pytest.raises(PermissionDeniedError):
        users.reset_password(clerk, view.id, "Neues-Passwort-1")


def test_last_active_admin_cannot_be_disabled(ctx):
    first = _add(ctx, "admin1", roles=["admin"])
    other = _add(ctx, "amira")
    with pytest.raises(UserError, match="letzte aktive Konto"):
        users.disable_user(ctx, first.id)
    second = _add(ctx, "admin2", roles=["admin", "case_management"])
    assert users.disable_user(ctx, first.id).active is False
    with pytest.raises(UserError, match="letzte aktive Konto"):
        users.disable_user(ctx, second.id)
    assert users.disable_user(ctx, other.id).active is False
    assert users.disable_user(ctx, other.id).active is False  # again: no error
    with pytest.raises(NotFoundError):
        users.disable_user(ctx, "nope")


def test_login_success_returns_actor_and_is_audited(ctx):
    view = _add(ctx, roles=["case_management", "reception"])
    actor = users.authenticate(ctx.database, "Amira", PASSWORD, now=T0)
    assert actor == Actor(view.id, "Amira Test", frozenset({"case_management", "reception"}))
    (event,) = _events(ctx, "login")
    assert event.user_id == view.id and "amira" not in json.dumps(event.detail or {}).lower()


def test_failure_messages_identical_for_unknown_user_wrong_password_locked_disabled(ctx):
    view = _add(ctx)
    _add(ctx, "bea")
    users.disable_user(ctx, _bea_id(ctx))
    messages = set()
    for name, password in [("nobody", PASSWORD), ("amira", "falsch-falsch"), ("bea", PASSWORD), ("", "")]:
        with pytest.raises(users.AuthenticationError) as info:
            users.authenticate(ctx.database, name, password, now=T0)
        messages.add(str(info.value))
    for _ in range(3):
        with pytest.raises(users.AuthenticationError):
            users.authenticate(ctx.database, "amira", "falsch-falsch", now=T0)
    with pytest.raises(users.AuthenticationError) as info:  # locked now, even with the right password
        users.authenticate(ctx.database, "amira", PASSWORD, now=T0)
    messages.add(str(info.value))
    assert len(messages) == 1
    (message,) = messages
    assert message.startswith("Anmeldung nicht möglich") and "amira" not in message.lower()
    failed = _events(ctx, "login_failed")
    assert failed[0].user_id is None and failed[1].user_id == view.id
    for event in failed:
        text = json.dumps(event.detail or {}).lower()
        assert "amira" not in text and "falsch" not in text and "nobody" not in text


def _bea_id(ctx):
    with ctx.read() as session:
        return users.find_user(session, "bea").id


def test_lock_durations():
    assert [users.lock_duration(n) for n in range(0, 4)] == [None, None, None, None]
    assert users.lock_duration(4) == timedelta(seconds=30)
    assert users.lock_duration(5) == timedelta(seconds=60)
    assert users.lock_duration(6) == timedelta(seconds=120)
    assert users.lock_duration(8) == timedelta(seconds=480)
    assert users.lock_duration(9) == timedelta(minutes=15)
    assert users.lock_duration(1000) == timedelta(minutes=15)


def _locked_until(ctx, name="amira"):
    with ctx.read() as session:
        user = users.find_user(session, name)
        return user.failed_logins, users._aware(user.locked_until)


def test_growing_delay_with_injected_now(ctx):
    _add(ctx)
    now = T0
    for n in (1, 2, 3):
        with pytest.raises(users.AuthenticationError):
            users.authenticate(ctx.database, "amira", "falsch-falsch", now=now)
        assert _locked_until(ctx) == (n, None)
    expected = [30, 60, 120, 240, 480, 900, 900]
    for n, seconds in enumerate(expected, start=4):
        with pytest.raises(users.AuthenticationError):
            users.authenticate(ctx.database, "amira", "falsch-falsch", now=now)
        assert _locked_until(ctx) == (n, now + timedelta(seconds=seconds))
        # During the lock even the right password is refused, and the attempt does not count.
        with pytest.raises(users.AuthenticationError):
            users.authenticate(ctx.database, "amira", PASSWORD, now=now + timedelta(seconds=seconds - 1))
        assert _locked_until(ctx)[0] == n
        now = now + timedelta(seconds=seconds)
    actor = users.authenticate(ctx.database, "amira", PASSWORD, now=now)
    assert actor.user_id and _locked_until(ctx) == (0, None)


def test_reset_password_lifts_lock_and_is_audited_without_hash(ctx):
    view = _add(ctx)
    for _ in range(5):
        with pytest.raises(users.AuthenticationError):
            users.authenticate(ctx.database, "amira", "falsch-falsch", now=T0)
    with pytest.raises(ValidationError):
        users.reset_password(ctx, view.id, "amira")
    with pytest.raises(ValidationError):
        users.reset_password(ctx, view.id, "kurz")
    users.reset_password(ctx, view.id, "Ganz-Neues-Passwort")
    assert _locked_until(ctx) == (0, None)
    with pytest.raises(users.AuthenticationError):
        users.authenticate(ctx.database, "amira", PASSWORD, now=T0)
    assert users.authenticate(ctx.database, "amira", "Ganz-Neues-Passwort", now=T0).user_id == view.id
    (event,) = [e for e in _events(ctx, "update") if e.entity_id == view.id]
    assert event.detail == {"field": "password"}
    with ctx.read() as session:
        assert not session.scalars(select(ChangeRecord).where(ChangeRecord.field == "password_hash")).all()


def test_rehash_when_parameters_change(ctx, monkeypatch):
    view = _add(ctx)
    with ctx.read() as session:
        old_hash = session.get(UserAccount, view.id).password_hash
    monkeypatch.setattr(users, "hasher", PasswordHasher(time_cost=2, memory_cost=16, parallelism=1))
    users.authenticate(ctx.database, "amira", PASSWORD, now=T0)
    with ctx.read() as session:
        new_hash = session.get(UserAccount, view.id).password_hash
    assert new_hash != old_hash and "t=2" in new_hash and "m=16" in new_hash
    assert users.authenticate(ctx.database, "amira", PASSWORD, now=T0).user_id == view.id
    with ctx.read() as session:
        assert session.get(UserAccount, view.id).password_hash == new_hash


# --- CLI --------------------------------------------------------------------------------------------------


def call(capsys, *args: str) -> tuple[int, str, str]:
    try:
        code = cli.main(list(args))
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_users_add_list_disable_reset(ctx, tmp_db_path, capsys, monkeypatch):
    db = str(tmp_db_path)
    monkeypatch.setenv("KIM_NEW_PASSWORD", PASSWORD)
    code, out, err = call(
        capsys, "users", "add", "amira", "--db", db, "--name", "Amira K.", "--role", "case_management",
        "--role", "team_lead", "--team", "Team Nord",
    )  # fmt: skip
    assert code == 0, err
    assert "amira" in out
    code, _out, err = call(capsys, "users", "add", "root", "--db", db, "--name", "Admin", "--role", "admin")
    assert code == 0, err
    code, out, err = call(capsys, "users", "list", "--db", db, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert [u["username"] for u in data] == ["amira", "root"]
    assert data[0]["team"] == "Team Nord" and data[0]["roles"] == ["case_management", "team_lead"]
    assert "argon2" not in out and "password" not in out
    code, out, _err = call(capsys, "users", "list", "--db", db)
    assert code == 0 and "amira" in out and "Amira K." in out
    code, _out, err = call(capsys, "users", "disable", "root", "--db", db)
    assert code == 1 and err.startswith("Fehler:") and "Traceback" not in err
    code, out, err = call(capsys, "users", "disable", "amira", "--db", db)
    assert code == 0, err
    monkeypatch.setenv("KIM_NEW_PASSWORD", "Noch-ein-Passwort")
    code, out, err = call(capsys, "users", "reset-password", "root", "--db", db)
    assert code == 0, err
    assert users.authenticate(ctx.database, "root", "Noch-ein-Passwort").user_id
    code, _out, err = call(capsys, "users", "disable", "nobody", "--db", db)
    assert code == 1 and "nicht gefunden" in err


def test_cli_users_add_errors(ctx, tmp_db_path, capsys, monkeypatch):
    db = str(tmp_db_path)
    monkeypatch.delenv("KIM_NEW_PASSWORD", raising=False)
    monkeypatch.setattr(cli, "_stdin_is_interactive", lambda: False)
    code, _out, err = call(capsys, "users", "add", "amira", "--db", db, "--name", "A", "--role", "admin")
    assert code == 1 and "KIM_NEW_PASSWORD" in err and len(err.strip().splitlines()) == 1
    monkeypatch.setenv("KIM_NEW_PASSWORD", "kurz")
    code, _out, err = call(capsys, "users", "add", "amira", "--db", db, "--name", "A", "--role", "admin")
    assert code == 1 and "mindestens 10 Zeichen" in err
    code, _out, err = call(capsys, "users", "add", "amira", "--db", db, "--name", "A", "--role", "boss")
    assert code == 2
    code, _out, err = call(capsys, "users", "add", "amira", "--db", db, "--name", "A")
    assert code == 2


def test_cli_users_interactive_prompt(ctx, tmp_db_path, capsys, monkeypatch):
    db = str(tmp_db_path)
    monkeypatch.delenv("KIM_NEW_PASSWORD", raising=False)
    monkeypatch.setattr(cli, "_stdin_is_interactive", lambda: True)
    answers = iter([PASSWORD, PASSWORD + "x"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    code, _out, err = call(capsys, "users", "add", "amira", "--db", db, "--name", "A", "--role", "reception")
    assert code == 1 and "stimmen nicht überein" in err
    answers = iter([PASSWORD, PASSWORD])
    code, _out, err = call(capsys, "users", "add", "amira", "--db", db, "--name", "A", "--role", "reception")
    assert code == 0, err


def test_a_new_account_reports_every_wrong_field_at_once():
    from kim_desktop.errors import ValidationError
    from kim_desktop.services.users import validate_account

    with pytest.raises(ValidationError) as caught:
        validate_account("<b>M</b>", "x" * 10_000, "kurz", [], repeat="anders")
    assert set(caught.value.field_errors) == {"username", "display_name", "password", "roles"}
    assert validate_account(" Anna ", " Anna Beispiel ", "lang-genug-123", ["reception"]) == (
        "anna",
        "Anna Beispiel",
        ["reception"],
    )
